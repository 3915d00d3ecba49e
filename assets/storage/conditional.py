"""Conditional writes on S3: create-once and compare-and-swap of one small object.

S3 refuses a ``PutObject`` sent with ``If-None-Match: *`` when the key exists, and one sent
with ``If-Match: <etag>`` when the object changed since that ETag was read; likewise a
``DeleteObject`` with ``If-Match``. The refusal is 412 PreconditionFailed, or 409
ConditionalRequestConflict while another conditional write to the key is in flight. Either
means "another writer got there first": the caller reads again and decides again. These
primitives carry the forward-only ``CURRENT`` pointer (:meth:`StorageRoot.update`) and the
claims of :mod:`assets.storage.lease`; they need ``s3fs`` (any other object store is refused
with an ``OSError`` that says so).

A request whose response was lost is retried by botocore and may then be refused although it
was applied: callers read what is there and recognise their own write (a pointer already at
their version, a lease holding their token).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import fsspec
from fsspec.asyn import sync

#: The S3 error codes that mean "the condition did not hold": read again, decide again.
LOST_RACE = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
#: Attempts of a compare-and-swap loop before it gives up (each lost attempt means another
#: writer succeeded, so the loop only fails under a storm of writers to one object).
MAX_ATTEMPTS = 100


def read_tagged(fs: fsspec.AbstractFileSystem, path: str) -> tuple[bytes, str] | None:
    """The bytes of the object at ``path`` and their ETag, from one ``GetObject`` (so the two
    agree); ``None`` if there is no such object."""
    bucket, key = _split(fs, path)

    async def get() -> tuple[bytes, str]:
        response = await fs._call_s3("get_object", Bucket=bucket, Key=key)
        try:
            body = await response["Body"].read()
        finally:
            response["Body"].close()
        return bytes(body), str(response["ETag"])

    try:
        found: tuple[bytes, str] = sync(fs.loop, get)
        return found
    except FileNotFoundError:
        return None


def put_if(fs: fsspec.AbstractFileSystem, path: str, data: bytes, *, match: str | None) -> str | None:
    """Write ``data`` to ``path`` only if the object is still the one with ETag ``match`` (or,
    ``match`` None, only if there is none). Returns the new ETag, or ``None`` when the condition
    failed (another writer got there first, or deleted it)."""
    bucket, key = _split(fs, path)
    condition = {"IfNoneMatch": "*"} if match is None else {"IfMatch": match}
    try:
        response = fs.call_s3("put_object", Bucket=bucket, Key=key, Body=data, **condition)
    except (OSError, ValueError) as exc:
        if lost_race(exc) or (match is not None and isinstance(exc, FileNotFoundError)):
            return None
        raise
    finally:
        fs.invalidate_cache(path)
    return str(response["ETag"])


def delete_if(fs: fsspec.AbstractFileSystem, path: str, match: str) -> bool:
    """Delete ``path`` only if it is still the object with ETag ``match``; whether it was."""
    bucket, key = _split(fs, path)
    try:
        fs.call_s3("delete_object", Bucket=bucket, Key=key, IfMatch=match)
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        if lost_race(exc):
            return False
        raise
    finally:
        fs.invalidate_cache(path)
    return True


def compare_and_swap(fs: fsspec.AbstractFileSystem, path: str,
                     change: Callable[[bytes | None], bytes | None]) -> bytes | None:
    """Replace the object at ``path`` with ``change(old)`` (``old`` None when absent; ``change``
    returns None to leave it), retrying from a fresh read whenever another writer changed it
    first; returns the bytes there afterwards. ``change`` may be called several times."""
    for attempt in range(MAX_ATTEMPTS):
        found = read_tagged(fs, path)
        old, etag = found if found is not None else (None, None)
        new = change(old)
        if new is None:
            return old
        if put_if(fs, path, new, match=etag) is not None:
            return new
        pause(attempt)
    raise OSError(f"{path}: {MAX_ATTEMPTS} conditional writes in a row lost to other writers")


def pause(attempt: int, cap: float = 1.0) -> None:
    """Back off before attempt ``attempt + 1``: exponential from 10 ms up to ``cap`` seconds,
    jittered so that contenders spread out."""
    time.sleep(random.uniform(0.5, 1.0) * min(cap, 0.01 * 2 ** min(attempt, 16)))


def lost_race(exc: BaseException) -> bool:
    """Whether ``exc`` (s3fs translates botocore's error into an ``OSError`` whose cause it is)
    is a failed precondition: 412, or 409 ConditionalRequestConflict."""
    seen: BaseException | None = exc
    while seen is not None:
        response: dict[str, Any] = getattr(seen, "response", None) or {}
        code = response.get("Error", {}).get("Code")
        if code in LOST_RACE or response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 412:
            return True
        seen = seen.__cause__ or seen.__context__
    return isinstance(exc, FileExistsError)  # s3fs: a failed If-None-Match


def _split(fs: fsspec.AbstractFileSystem, path: str) -> tuple[str, str]:
    if not hasattr(fs, "split_path") or "s3" not in fs.protocol:
        raise OSError(f"{path}: conditional writes are implemented for S3 (s3://) only, not "
                      f"{fs.protocol!r}; keep concurrent writers on a local folder or S3")
    bucket, key, _version = fs.split_path(path)
    return bucket, key
