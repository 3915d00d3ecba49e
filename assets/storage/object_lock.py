"""Whether a bucket keeps what is written in it: S3 Object Lock's default retention.

In a bucket with Object Lock and a default retention, every object version written is locked for
that long: in compliance mode nobody, the account's root included, may delete or overwrite it
before then; in governance mode an account holding ``s3:BypassGovernanceRetention`` may. A local
folder promises nothing of the kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from assets.storage.filesystem import StorageRoot

_MODES = ("COMPLIANCE", "GOVERNANCE")


@dataclass(frozen=True, slots=True)
class Retention:
    """A bucket's default Object Lock retention: ``mode`` (``COMPLIANCE`` or ``GOVERNANCE``)
    for ``days``."""

    mode: str
    days: int

    def __post_init__(self) -> None:
        if self.mode not in _MODES or self.days <= 0:
            raise ValueError(f"not an Object Lock retention: {self.mode!r} for {self.days} days")

    @property
    def binding(self) -> bool:
        """Whether no one, whoever wrote it, can remove a locked version before it expires."""
        return self.mode == "COMPLIANCE"

    def __str__(self) -> str:
        return f"S3 Object Lock, {self.mode.lower()} mode, {self.days} days"


def object_lock_retention(root: StorageRoot) -> Retention | None:
    """The default Object Lock retention of ``root``'s bucket; None for a local folder or a
    bucket without Object Lock or without a default retention. Raises ``OSError`` when the
    bucket cannot be asked."""
    if root.is_local or not root.url.startswith(("s3://", "s3a://")):
        return None
    bucket = root.fs.split_path(root.root)[0]
    try:
        answer = root.fs.call_s3("get_object_lock_configuration", Bucket=bucket)
    except OSError as exc:
        if _code(exc) == "ObjectLockConfigurationNotFoundError":
            return None
        raise
    rule = answer.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention", {})
    days = int(rule.get("Days") or 0) + 365 * int(rule.get("Years") or 0)
    mode = str(rule.get("Mode", ""))
    return Retention(mode, days) if mode in _MODES and days > 0 else None


def stored_objects(root: StorageRoot, folder: str) -> list[tuple[str, str]]:
    """``(path, version id)`` of every object version under ``folder`` of a bucket, also those a
    delete marker hides from a listing or a later write replaced (S3 keeps them when the bucket
    is versioned, as Object Lock requires). Raises ``OSError`` when the bucket cannot be read."""
    bucket, prefix, _ = root.fs.split_path(folder.rstrip("/") + "/")
    found: list[tuple[str, str]] = []
    marker: dict[str, str] = {}
    while True:
        page = root.fs.call_s3("list_object_versions", Bucket=bucket, Prefix=prefix, **marker)
        found += [(f"{bucket}/{v['Key']}", str(v["VersionId"])) for v in page.get("Versions", ())]
        if not page.get("IsTruncated"):
            return found
        marker = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}


def read_version(root: StorageRoot, path: str, version_id: str) -> bytes:
    """The bytes of one version of an object (see :func:`stored_objects`)."""
    from fsspec.asyn import sync

    bucket, key, _ = root.fs.split_path(path)

    async def read() -> bytes:
        answer = await root.fs._call_s3("get_object", Bucket=bucket, Key=key, VersionId=version_id)
        body = answer["Body"]
        try:
            return bytes(await body.read())
        finally:
            body.close()
    return bytes(sync(root.fs.loop, read))


def _code(exc: BaseException) -> str:
    """S3's error code behind an ``OSError`` (s3fs keeps botocore's error as its cause)."""
    for error in (exc, exc.__cause__, exc.__context__):
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code", ""))
    return ""
