"""Versioned, atomically published asset data in one storage root.

Layout under the root: see :mod:`assets.storage.layout`.

Publishing writes a version under ``.staging``, moves the finished folder into place, and
only then replaces ``CURRENT`` in one atomic write. A crash at any point leaves ``CURRENT``
naming the previous, complete version. Locally the data file, the manifest, the staging folder
and ``CURRENT``'s next content are fsync-ed together before the folder moves (one wait for the
disk), and the asset's folder, which holds both renames, after ``CURRENT`` moves: a version
that was reported published survives a power cut. On object stores (no folder rename) the data goes
straight into the version's folder, marked as being written under ``.staging`` until done, and
the manifest, written last, makes it a version: readers list only versions with a manifest. What a killed writer
leaves (a staging folder; on object stores a version folder without a manifest) is never read,
counts in ``storage_bytes`` and is removed by the next publish of the asset and by ``mesh gc``
(:mod:`assets.storage.leftovers`).

``CURRENT`` only moves forward in version order (versions sort by time), so of concurrent
publishers the newest version stays current; going back is an explicit rollback. The move is
one :meth:`StorageRoot.update` (a lock locally, conditional writes on S3). Old versions stay
until retention removes them, so rollback and time travel read them by name.

Public methods wrap storage failures in :class:`StorageError` naming the asset key and URI.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from assets.atomic import Prepared, discard
from assets.disk_full import disk_full_reason, is_disk_full
from assets.errors import AssetNotMaterializedError, CorruptDataError, StorageError
from assets.named_files import NotRegularFile, TooLarge
from assets.storage.digest import UnknownChecksumAlgorithm, algorithm_of, checksum_of
from assets.storage.filesystem import StorageRoot
from assets.storage.layout import (
    CURRENT_FILE,
    DATA_FILE,
    MANIFEST_FILE,
    REPLICA_LOCK,
    STAGING,
    VERSION_NAME,
    new_version,
)
from assets.storage.layout import asset_dir as _asset_folder
from assets.storage.leftovers import everywhere, in_asset, remove, stored_bytes
from assets.storage.manifest import Manifest
from assets.storage.staging import GRACE_SECONDS, staging_name
from assets.storage.verified import VERIFIED, VerifiedFiles
from assets.stored_json import load_json

log = logging.getLogger(__name__)

__all__ = ["PublishRequest", "StagedVersion", "VersionStore", "new_version"]
#: Data files up to this size are, on their first read, read into memory once and hashed while
#: they decode; larger ones are hashed first, then scanned lazily.
EAGER_VERIFY_BYTES = 128 * 1024 * 1024
UNREACHABLE_FIX = "check that the storage root is reachable and writable"
#: A data file larger than this is hashed in a thread while Parquet decodes it; a smaller one
#: first, in the reading thread (a thread's start and join cost about 0.1 ms, hashing 256 KiB less).
HASH_BESIDE_DECODE_BYTES = 256 * 1024

_COPY_BACK = ("copy the version back from the other region (`mesh dr replicate --verify` repairs a standby's copy; "
              "for the active region's, `mesh dr failover`, then `mesh dr failback`, which re-copies every version "
              "verified)")

CORRUPT_FIX = f"{_COPY_BACK}, or roll back to an earlier version"

NOT_REGULAR_FIX = f"remove it, then {_COPY_BACK} or restore it from a backup (`mesh dr restore`)"

#: The most bytes of a ``CURRENT`` pointer (``{"version": "<id>"}``) and of a manifest the mesh
#: reads: a larger file (a sparse 10 GB one) is no file the mesh wrote, and is not read whole.
MAX_POINTER_BYTES = 64 * 1024
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """Everything a publish records besides the data itself."""

    key: str
    contract_version: str
    code_version: str
    run_id: str
    input_versions: Mapping[str, str]
    protection: Mapping[str, str]
    partition: str | None = None
    data_key: Mapping[str, str] | None = None
    contract: Mapping[str, Any] | None = None
    warnings: tuple[Mapping[str, Any], ...] = ()
    content_checksum: str | None = None
    observed: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedCopy:
    """A version's data copied from another store and verified, not yet visible to any reader."""

    manifest: Manifest
    folder: str
    bytes: int
    #: On object stores, the mark that names ``folder`` a write in progress until it is published.
    mark: str | None = None


@dataclass(frozen=True, slots=True)
class StagedVersion:
    """A version written aside, not yet visible to any reader."""

    request: PublishRequest
    version: str
    folder: str
    rows: int
    schema: dict[str, str]
    #: Object stores: the mark of the version being written (see :mod:`assets.storage.leftovers`).
    mark: str | None = None


class VersionStore:
    """Read and publish asset versions in one :class:`StorageRoot`.

    ``admit(key, size)`` is called before any byte of a version of ``key`` is written (``size``
    None) and again before a staged version of ``size`` bytes is made visible; it raises to
    refuse (the mesh enforces residency and storage quotas with it, for every writer).
    ``verified`` remembers which data files matched their manifest (default: the process-wide
    memory; a mesh gives one kept in its state folder, see :mod:`assets.storage.verified`).
    """

    def __init__(self, root: StorageRoot, admit: Callable[[str, int | None], None] | None = None, *,
                 verified: VerifiedFiles | None = None) -> None:
        self.root = root
        self.admit = admit
        self.verified = VERIFIED if verified is None else verified

    def __repr__(self) -> str:
        return f"VersionStore({self.root.url!r})"

    # -- publishing -----------------------------------------------------------------------------
    def publish(self, frame: pl.DataFrame, request: PublishRequest) -> Manifest:
        """Write ``frame`` as a new version and make it current, atomically."""
        return self.commit(self.stage(frame, request))

    def stage(self, frame: pl.DataFrame, request: PublishRequest) -> StagedVersion:
        """Write ``frame`` aside, where no reader looks. :meth:`commit` or :meth:`discard` it."""
        if self.admit is not None:
            self.admit(request.key, None)
        version = new_version()
        asset_dir = self._asset_dir(request.key, request.partition)
        with contextlib.suppress(OSError):  # a leftover that cannot go now goes next time
            for leftover, _size in in_asset(self.root, self.root.path(asset_dir), GRACE_SECONDS):
                remove(self.root, leftover)
        folder, mark = self._aside(asset_dir, version)
        staged = StagedVersion(request=request, version=version, folder=folder, mark=mark,
                               rows=frame.height, schema={c: str(t) for c, t in frame.schema.items()})
        try:
            self._begin(staged.folder, staged.mark)
            self.root.write_parquet(f"{staged.folder}/{DATA_FILE}", frame)
        except OSError as exc:
            self.discard(staged)
            raise self._error(request.key, f"writing the new version failed: {exc}", staged.folder,
                              fix="free space on the region's disk (or raise the process's file-size limit), then "
                                  "run it again: nothing was published and the current version is unchanged") from exc
        return staged

    def commit(self, staged: StagedVersion) -> Manifest:
        """Finish a staged version and make it current: manifest, then move, then pointer."""
        request = staged.request
        final = self.root.path(self._asset_dir(request.key, request.partition), staged.version)
        data_path = f"{staged.folder}/{DATA_FILE}"
        if self.admit is not None:
            try:
                self.admit(request.key, self.root.size(data_path))
            except Exception:
                self.discard(staged)
                raise
        pointer: Prepared | None = None
        try:
            stamp = self.root.stamp(data_path)
            manifest = Manifest(
                key=request.key, version=staged.version, checksum=self.root.checksum(data_path),
                rows=staged.rows, bytes=stamp[0], schema=staged.schema,
                contract_version=request.contract_version, code_version=request.code_version,
                input_versions=dict(request.input_versions),
                produced_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                run_id=request.run_id, partition=request.partition, protection=dict(request.protection),
                data_key=dict(request.data_key) if request.data_key else None,
                contract=dict(request.contract) if request.contract else None, warnings=request.warnings,
                content_checksum=request.content_checksum,
                observed=dict(request.observed) if request.observed else None)
            # the data, the manifest, their folder and CURRENT's next content reach the disk
            # together, before the folder is moved into place; moving CURRENT then syncs the
            # asset's folder, which holds both renames
            pointer = self.root.prepare(self._pointer_path(request.key, request.partition), _pointer(staged.version))
            self.root.finish_folder(staged.folder, {MANIFEST_FILE: manifest.to_json()}, ahead=pointer)
            if staged.folder != final:
                self.root.rename(staged.folder, final)
            self._end(staged.mark)
            self._remember(f"{final}/{DATA_FILE}", manifest.checksum, stamp)  # a rename keeps the stamp
            self._move_current(request.key, staged.version, request.partition, prepared=pointer)
        except OSError as exc:
            self.discard(staged)
            raise self._error(request.key, "publishing failed", final, cause=exc) from exc
        finally:
            if pointer is not None:  # installed by now, unless publishing failed
                discard(pointer)
        return manifest

    def remove_version(self, key: str, version: str, partition: str | None = None) -> None:
        """Delete a version that is not current (retention). The current one is refused."""
        if version == self.current_version(key, partition):
            raise self._error(key, f"version '{version}' is current and cannot be removed",
                              self.root.path(self._asset_dir(key, partition), version),
                              fix="publish or roll back to another version first")
        self.root.remove(self.root.path(self._asset_dir(key, partition), version))

    def discard(self, staged: StagedVersion) -> None:
        """Remove a staged version that will not be published."""
        self.root.remove(staged.folder)
        self._end(staged.mark)

    def set_current(self, key: str, version: str, partition: str | None = None, *,
                    allow_backward: bool = False, prepared: Prepared | None = None) -> Manifest:
        """Make an existing, complete version current. ``CURRENT`` moves forward only (to a
        newer version id); going back to an older version is a rollback and needs
        ``allow_backward`` (callers audit it). Raises :class:`StorageError` otherwise.
        ``prepared`` (from :meth:`prepare_current`) is put in place instead of writing anew."""
        manifest = self.manifest(key, version, partition)
        now = self._move_current(key, version, partition, allow_backward=allow_backward, prepared=prepared)
        if now != version:
            raise self._error(key, f"setting version '{version}' would move CURRENT back from the newer '{now}'",
                              self.root.path(self._asset_dir(key, partition), CURRENT_FILE),
                              fix="a rollback is explicit: pass allow_backward=True from an audited rollback path")
        return manifest

    def prepare_current(self, key: str, version: str, partition: str | None = None) -> Prepared | None:
        """``CURRENT``'s next content, naming ``version``, written and synced beside it (on a
        local root; ``None`` on an object store, where one ``put`` is atomic): a caller moving
        many pointers prepares them all first, so that a full disk stops it before any moved.
        Pass it to :meth:`set_current`, or :func:`assets.atomic.discard` it."""
        return self.root.prepare(self._pointer_path(key, partition), _pointer(version))

    def reset_current(self, key: str, version: str | None, partition: str | None = None, *,
                      only_from: str | None = None) -> None:
        """Put ``CURRENT`` back as it was before a move that a larger operation undoes:
        naming ``version``, or absent (``None``). With ``only_from``, only while ``CURRENT``
        still names that version (the move undone): a move since then stays. Callers audit the
        operation it undoes."""
        path = self._pointer_path(key, partition)
        pointer = _pointer(version) if version is not None else None

        def back(raw: bytes | None) -> bytes | None:
            return None if only_from is not None and (raw is None or _named(raw) != only_from) else pointer
        try:
            if pointer is not None:
                self.root.update(path, back)
            elif only_from is None or self.current_version(key, partition) == only_from:
                self.root.remove(path)
        except OSError as exc:
            raise self._error(key, "putting CURRENT back failed", path, cause=exc) from exc

    def withdraw(self, key: str, version: str, previous: str | None, partition: str | None = None) -> bool:
        """Undo the publish of ``version`` that a larger operation cannot complete (its audit
        record could not be written): ``CURRENT`` back at ``previous`` (or absent, ``None``) if it
        still names ``version`` (a newer publish since then stays), then ``version`` removed.
        Returns whether ``CURRENT`` no longer names ``version``; raises :class:`StorageError` if
        it cannot be put back."""
        self.reset_current(key, previous, partition, only_from=version)
        if self.current_version(key, partition) == version:
            return False
        try:
            self.remove_version(key, version, partition)
        except (StorageError, OSError) as exc:  # not current: never served; retention removes it later
            log.warning("withdrawn version %s of %s not removed: %s", version, key, exc)
        return True

    def _move_current(self, key: str, version: str, partition: str | None, *, allow_backward: bool = False,
                      prepared: Prepared | None = None) -> str:
        """Point ``CURRENT`` at ``version`` unless it is older than the current one (and not
        ``allow_backward``); returns the version ``CURRENT`` names afterwards. The read and the
        write are one :meth:`StorageRoot.update`, so the moves take effect one after the other,
        as if serial: concurrent movers never leave it on the older."""
        def change(raw: bytes | None) -> bytes | None:
            current = _named(raw) if raw is not None else None  # a corrupt pointer is replaced
            if current == version or (current is not None and version < current and not allow_backward):
                return None
            return _pointer(version)

        after = self.root.update(self._pointer_path(key, partition), change, prepared=prepared)
        return _pointed(after) if after is not None else version

    # -- reading --------------------------------------------------------------------------------
    def current_version(self, key: str, partition: str | None = None) -> str | None:
        pointer = self.root.path(self._asset_dir(key, partition), CURRENT_FILE)
        try:
            raw = self.root.read_small(pointer, MAX_POINTER_BYTES)
        except FileNotFoundError:
            return None
        except (NotRegularFile, TooLarge) as exc:  # a FIFO, a folder, a link, a sparse 10 GB file: not read
            raise self._error(key, f"the CURRENT pointer is {exc.strerror}, so it is not read", pointer,
                              fix=f"move it aside, then {self._pointer_fix(key, partition)}") from None
        except OSError as exc:
            raise self._error(key, f"the CURRENT pointer is unreadable: {exc}", pointer) from exc
        try:
            version = _pointed(raw)
        except (ValueError, KeyError, TypeError) as exc:  # not UTF-8, not JSON, not {"version": "..."}
            raise self._error(key, f"the CURRENT pointer is corrupt ({type(exc).__name__}: {exc})", pointer,
                              fix=self._pointer_fix(key, partition)) from exc
        return version

    def _pointer_fix(self, key: str, partition: str | None) -> str:
        """How to mend a ``CURRENT`` pointer that cannot be read: name the newest version again."""
        latest = (self.versions(key, partition) or ["<version>"])[-1]
        return (f"write {{\"version\": \"{latest}\"}} to it (the newest complete version), "
                "or restore it with `mesh dr restore`")

    def current(self, key: str, partition: str | None = None) -> Manifest | None:
        """The manifest of the current version, or ``None`` if never published."""
        version = self.current_version(key, partition)
        return self.manifest(key, version, partition) if version else None

    def require_current(self, key: str, partition: str | None = None) -> Manifest:
        manifest = self.current(key, partition)
        if manifest is None:
            raise AssetNotMaterializedError(
                f"'{key}' has no published version", where=self.root.uri_of(self.root.path(self._asset_dir(key, partition))),
                fix=f"materialize it first: mesh materialize {key}")
        return manifest

    def manifest(self, key: str, version: str, partition: str | None = None) -> Manifest:
        """The manifest of ``version`` of ``key`` (of ``partition``); refused unless ``version``
        is a version id and the manifest says it is that version of that asset and partition."""
        if not isinstance(version, str) or not VERSION_NAME.fullmatch(version):
            raise self._error(key, f"{str(version)[:80]!r} is not a version id (like 20261127T101500123456Z-a1b2c3)",
                              self.root.path(self._asset_dir(key, partition)),
                              fix=f"name one of the versions `mesh history {key}` lists", kind=AssetNotMaterializedError)
        path = self.root.path(self._asset_dir(key, partition), version, MANIFEST_FILE)
        try:
            manifest = Manifest.from_json(self.root.read_small(path, MAX_MANIFEST_BYTES))
        except FileNotFoundError:
            raise self._error(key, f"version '{version}' does not exist", path,
                              fix=f"list the versions with `mesh history {key}`") from None
        except (NotRegularFile, TooLarge) as exc:  # a FIFO, a folder, a link, a sparse 10 GB file: not read
            raise self._error(key, f"the manifest of version '{version}' is {exc.strerror}, so it is not read", path,
                              fix=NOT_REGULAR_FIX, kind=CorruptDataError) from None
        except OSError as exc:
            raise self._error(key, f"the manifest of version '{version}' is unreadable: {exc}", path) from exc
        except (ValueError, TypeError) as exc:  # not JSON, or not a manifest: damaged where it is stored
            raise self._error(key, f"the manifest of version '{version}' is damaged: {exc}", path, fix=CORRUPT_FIX,
                              kind=CorruptDataError) from exc
        if (manifest.key, manifest.version, manifest.partition) != (key, version, partition):
            raise self._error(key, f"the manifest in version folder '{version}' describes version "
                                   f"'{manifest.version}' of '{manifest.key}'"
                                   + (f" partition '{manifest.partition}'" if manifest.partition else "")
                                   + ": it was copied or moved there", path, fix=CORRUPT_FIX, kind=CorruptDataError)
        return manifest

    def versions(self, key: str, partition: str | None = None, *, after: str | None = None) -> list[str]:
        """Complete versions (with a manifest), oldest first; only those newer than ``after``
        if given (versions sort by time), so a caller that knows where it stopped pays for the
        new ones only."""
        asset_dir = self._asset_dir(key, partition)
        return [v for v in self.root.listdir(self.root.path(asset_dir))
                if not v.startswith(".") and v != CURRENT_FILE and (after is None or v > after)
                and self.root.exists(self.root.path(asset_dir, v, MANIFEST_FILE))]

    def partitions(self, key: str) -> list[str]:
        """The partitions of ``key`` that have a current version, in key order (time keys sort
        in time order): the folders under the asset's folder holding a ``CURRENT`` pointer."""
        asset_dir = self._asset_dir(key, None)
        return [p for p in self.root.listdir(self.root.path(asset_dir))
                if not p.startswith(".") and p != CURRENT_FILE and not VERSION_NAME.fullmatch(p)
                and self.root.exists(self.root.path(asset_dir, p, CURRENT_FILE))]

    def newest_partition(self, key: str) -> str | None:
        """The last partition of ``key`` in key order that has a current version (for time
        partitions, the newest), or None: the partition whose version stands for the asset."""
        return max(self.partitions(key), default=None)

    def newest_current(self, key: str, *, partitioned: bool) -> Manifest | None:
        """The manifest that stands for ``key``: its current version; for a ``partitioned``
        asset, the current version of its newest partition. None if nothing is published."""
        partition = self.newest_partition(key) if partitioned else None
        return None if partitioned and partition is None else self.current(key, partition)

    def partition_of(self, key: str, version: str) -> str | None:
        """The partition holding ``version`` of ``key`` (``None``: the asset's own versions, or
        not found), for callers that know a version but not its partition (the run history)."""
        if self.has_version(key, version):
            return None
        return next((p for p in self.partitions(key) if self.has_version(key, version, p)), None)

    def data_path(self, key: str, version: str, partition: str | None = None) -> str:
        return self.root.path(self._asset_dir(key, partition), version, DATA_FILE)

    def scan(self, key: str, version: str | None = None, partition: str | None = None) -> pl.LazyFrame:
        """A view of a version (the current one by default), verified: data that no longer
        matches its manifest is never served (see :meth:`check`). Locally, a file verified
        before (and unchanged since) is scanned lazily; on its first read it is read once,
        hashed while it is decoded, and served from memory (larger than ``EAGER_VERIFY_BYTES``:
        hashed, then scanned). On an object store the file is read in one request that also
        gives its ETag, and served from memory: unhashed only if those very bytes were verified
        before, so an object replaced after its check is never served."""
        return self.scan_manifest(self.manifest(key, version, partition) if version is not None
                                  else self.require_current(key, partition))

    def scan_manifest(self, manifest: Manifest) -> pl.LazyFrame:
        """:meth:`scan` of the version ``manifest`` describes, for a caller that read the
        manifest already (the manifest is not read again)."""
        key, partition = manifest.key, manifest.partition
        path = self.data_path(key, manifest.version, partition)
        try:
            if not self.root.is_local:
                return self._read_object(manifest, path)
            stamp = self._stamp(manifest, path)
            if (self.root.uri_of(path), manifest.checksum, stamp) not in self.verified:
                if stamp[0] != manifest.bytes:  # refused before it is read
                    self._refuse_unless_matching(manifest, path, stamp[0], None)
                if stamp[0] <= EAGER_VERIFY_BYTES:
                    raw, opened = self.root.read_regular(path, manifest.bytes + 1)
                    return self._read_verified(manifest, path, raw, opened)
                self.check(manifest)
            return pl.scan_parquet(path)
        except NotRegularFile as exc:
            raise self._not_regular(manifest, path, exc) from None
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise self._error(key, f"reading version '{manifest.version}' failed: {exc}", path) from exc

    def _read_object(self, manifest: Manifest, path: str) -> pl.LazyFrame:
        """An object store's data file: its bytes and their stamp from one request (see
        :meth:`StorageRoot.read_stamped`); decoded from memory, hashed unless remembered."""
        try:
            raw, stamp = self.root.read_stamped(path)
        except FileNotFoundError:
            raise self._error(manifest.key, f"version '{manifest.version}' has no data file", path,
                              fix=CORRUPT_FIX) from None
        if (self.root.uri_of(path), manifest.checksum, stamp) in self.verified:
            return pl.read_parquet(io.BytesIO(raw)).lazy()
        return self._read_verified(manifest, path, raw, stamp, stamp_of_raw=True)

    def check(self, manifest: Manifest) -> None:
        """Raise :class:`StorageError` unless the stored data matches ``manifest`` (size and
        checksum). A file is hashed once per state: a match is remembered, keyed by the file,
        its size and modification time (see :mod:`assets.storage.verified`)."""
        path = self.data_path(manifest.key, manifest.version, manifest.partition)
        stamp = self._stamp(manifest, path)
        if (self.root.uri_of(path), manifest.checksum, stamp) in self.verified:
            return
        try:
            checksum = self.root.checksum(path, self._algorithm(manifest)) if stamp[0] == manifest.bytes else None
        except NotRegularFile as exc:
            raise self._not_regular(manifest, path, exc) from None
        except OSError as exc:
            raise self._error(manifest.key, f"reading version '{manifest.version}' failed: {exc}", path) from exc
        self._refuse_unless_matching(manifest, path, stamp[0], checksum)
        self._remember(path, manifest.checksum, stamp)

    def _read_verified(self, manifest: Manifest, path: str, raw: bytes, stamp: tuple[int, object], *,
                       stamp_of_raw: bool = False) -> pl.LazyFrame:
        """Hash ``raw`` (the file's bytes, read once) in a thread while Parquet decodes it (both
        release the GIL); serve it only if it matches. The match is remembered under ``stamp``:
        at once if it is the stamp of exactly these bytes (``stamp_of_raw``), else only if the
        file still has it."""
        algorithm = self._algorithm(manifest)
        digest: list[str] = []
        hasher = threading.Thread(target=lambda: digest.append(checksum_of(raw, algorithm)), name="verify-read")
        if len(raw) > HASH_BESIDE_DECODE_BYTES:
            hasher.start()
        else:  # hashed in microseconds: starting a thread would cost more than it saves
            hasher.run()
        try:
            frame, failure = pl.read_parquet(io.BytesIO(raw)), None
        except pl.exceptions.PolarsError as exc:  # corrupt data often does not decode: the checksum says why
            frame, failure = None, exc
        finally:
            if hasher.ident is not None:
                hasher.join()
        self._refuse_unless_matching(manifest, path, len(raw), digest[0])
        if frame is None:
            raise self._error(manifest.key, f"reading version '{manifest.version}' failed: {failure}", path)
        if stamp_of_raw:
            self.verified.remember((self.root.uri_of(path), manifest.checksum, stamp))
        else:
            self._remember(path, manifest.checksum, stamp)  # only if the file did not change while read
        return frame.lazy()

    def _stamp(self, manifest: Manifest, path: str) -> tuple[int, object]:
        """The stamp of a version's data file, which must be a regular file."""
        try:
            return self.root.data_stamp(path)
        except NotRegularFile as exc:
            raise self._not_regular(manifest, path, exc) from None
        except FileNotFoundError:
            raise self._error(manifest.key, f"version '{manifest.version}' has no data file", path,
                              fix=CORRUPT_FIX, kind=CorruptDataError) from None
        except OSError as exc:
            raise self._error(manifest.key, f"reading version '{manifest.version}' failed: {exc}", path) from exc

    def _not_regular(self, manifest: Manifest, path: str, exc: NotRegularFile) -> StorageError:
        """The refusal to read a data file that is not a regular file (a link, a device, a FIFO)."""
        return self._error(manifest.key, f"the data file of version '{manifest.version}' is {exc.strerror}, so it "
                           "is not read", path, fix=NOT_REGULAR_FIX, kind=CorruptDataError)

    def _refuse_unless_matching(self, manifest: Manifest, path: str, size: int, checksum: str | None) -> None:
        if size == manifest.bytes and checksum == manifest.checksum:
            return
        found = f"{checksum}, {size} bytes" if checksum and size == manifest.bytes else f"{size} bytes"
        raise self._error(manifest.key, f"the data of version '{manifest.version}' does not match its manifest "
                          f"(found {found}; expected {manifest.checksum}, {manifest.bytes} bytes), "
                          "so it is not served", path, fix=CORRUPT_FIX, kind=CorruptDataError)

    def verify(self, manifest: Manifest) -> bool:
        """Whether the stored data still matches the manifest's checksum, hashed now (not from
        memory); a match is remembered for later reads."""
        path = self.data_path(manifest.key, manifest.version, manifest.partition)
        try:
            stamp = self.root.data_stamp(path)
            if stamp[0] != manifest.bytes or self.root.checksum(path, self._algorithm(manifest)) != manifest.checksum:
                return False
        except (FileNotFoundError, NotRegularFile):  # a link, a device or a FIFO is not the version's data
            return False
        self._remember(path, manifest.checksum, stamp)
        return True

    def _algorithm(self, manifest: Manifest) -> str:
        """The algorithm of the manifest's checksum, or a :class:`StorageError` naming the manifest."""
        try:
            return algorithm_of(manifest.checksum)
        except UnknownChecksumAlgorithm as exc:
            path = self.root.path(self._asset_dir(manifest.key, manifest.partition), manifest.version, MANIFEST_FILE)
            raise self._error(manifest.key, f"version '{manifest.version}' cannot be verified: {exc}", path,
                              fix="a newer mesh wrote it: upgrade this one; or the manifest was altered: "
                                  + CORRUPT_FIX) from None

    def _remember(self, path: str, checksum: str, stamp: tuple[int, object]) -> None:
        """Remember a match if the file did not change while it was hashed."""
        try:
            now = self.root.data_stamp(path)
        except OSError:  # gone or replaced meanwhile: nothing to remember
            return
        if now == stamp:
            self.verified.remember((self.root.uri_of(path), checksum, stamp))

    def storage_bytes(self, domain: str) -> int:
        """Bytes stored for a domain, every version counted, and what killed writers left (for
        quotas); versions being written now count once published."""
        return stored_bytes(self.root, self.root.path(domain))

    def leftovers(self, *, grace_seconds: float = GRACE_SECONDS) -> list[tuple[str, int]]:
        """Everything killed writers left under this root, each with its bytes: staging folders
        locally, version folders without a manifest on object stores (see
        :mod:`assets.storage.leftovers`)."""
        return everywhere(self.root, grace_seconds)

    def remove_leftovers(self, *, grace_seconds: float = GRACE_SECONDS) -> list[tuple[str, int]]:
        """Remove every leftover under this root; returns each one's path and bytes."""
        found = self.leftovers(grace_seconds=grace_seconds)
        for folder, _size in found:
            remove(self.root, folder)
        return found

    # -- replicas -------------------------------------------------------------------------------
    def has_version(self, key: str, version: str, partition: str | None = None) -> bool:
        """Whether a complete version (its manifest written) is here."""
        return self.root.exists(self.root.path(self._asset_dir(key, partition), version, MANIFEST_FILE))

    @contextlib.contextmanager
    def claim(self, key: str, partition: str | None = None) -> Iterator[None]:
        """The exclusive right to write replicas of ``key`` here, held for the block: a
        concurrent copier waits, then finds the versions there and copies nothing. Local folders
        lock a file beside the versions; S3 holds a lease object there (see
        :mod:`assets.storage.lease`)."""
        with self.root.lock(self.root.path(self._asset_dir(key, partition), REPLICA_LOCK)):
            yield

    def receive(self, manifest: Manifest, source: VersionStore) -> int:
        """Copy a complete version from ``source`` and return the bytes copied:
        :meth:`receive_aside`, then :meth:`publish_received`."""
        return self.publish_received(self.receive_aside(manifest, source))

    def receive_aside(self, manifest: Manifest, source: VersionStore) -> ReceivedCopy:
        """Copy the data of a version from ``source`` where no reader looks, verified: the bytes
        are hashed as they are written (one pass, see :meth:`StorageRoot.copy_from`) with the
        algorithm the manifest names, and must match its checksum and size. Raises
        :class:`StorageError` otherwise, leaving nothing behind. Several copies may run at
        once (on threads); :meth:`publish_received` makes each a version, or :meth:`discard_received`
        drops it."""
        if self.admit is not None:
            self.admit(manifest.key, manifest.bytes)
        algorithm = self._algorithm(manifest)
        asset_dir = self._asset_dir(manifest.key, manifest.partition)
        final = self.root.path(asset_dir, manifest.version)
        # Local folders: build the replica aside and rename it in. Object stores have no folder
        # rename, so the data goes in place and the manifest, written last, makes it visible.
        folder, mark = self._aside(asset_dir, manifest.version)
        try:
            self._begin(folder, mark)
            if not self.root.is_local:
                self.root.remove(f"{final}/{MANIFEST_FILE}")
            checksum, size = self.root.copy_from(
                source.root, source.data_path(manifest.key, manifest.version, manifest.partition), f"{folder}/{DATA_FILE}",
                algorithm=algorithm)
            if checksum != manifest.checksum or size != manifest.bytes:
                raise self._error(manifest.key, f"the copy of version '{manifest.version}' does not match its manifest "
                                  f"({checksum}, {size} bytes; expected {manifest.checksum}, {manifest.bytes} bytes)",
                                  folder, fix="the source copy may be corrupt: verify it with `mesh dr status --verify`")
        except (OSError, StorageError) as exc:
            with contextlib.suppress(OSError):  # the staging folder, or an object store's incomplete replica
                self.root.remove(folder)
                self._end(mark)
            if isinstance(exc, StorageError):
                raise
            raise self._error(manifest.key, f"copying version '{manifest.version}' failed", final, cause=exc) from exc
        return ReceivedCopy(manifest=manifest, folder=folder, bytes=size, mark=mark)

    def publish_received(self, copy: ReceivedCopy) -> int:
        """Make a verified copy a version: its manifest written last, then (local folders) the
        folder moved into place, replacing an existing replica (a repair). A replica is complete
        or absent. Returns the bytes copied."""
        manifest = copy.manifest
        final = self.root.path(self._asset_dir(manifest.key, manifest.partition), manifest.version)
        try:
            self.root.write_atomic(f"{copy.folder}/{MANIFEST_FILE}", manifest.to_json())
            if copy.folder != final:
                self.root.remove(final)
                self.root.rename(copy.folder, final)
            self._end(copy.mark)
        except OSError as exc:
            self.discard_received(copy)
            raise self._error(manifest.key, f"copying version '{manifest.version}' failed", final, cause=exc) from exc
        return copy.bytes

    def discard_received(self, copy: ReceivedCopy) -> None:
        """Drop a copy that will not be published (an object store's is in the version's own
        folder, still without a manifest: no reader lists it)."""
        with contextlib.suppress(OSError):
            self.root.remove(copy.folder)
        self._end(copy.mark)

    # -- helpers --------------------------------------------------------------------------------
    def _aside(self, asset_dir: str, version: str) -> tuple[str, str | None]:
        """Where a version is written before it is visible, and its mark. Local folders: a
        staging folder, renamed into place; no mark. Object stores have no folder rename, so the
        version's own folder (its manifest, written last, is what makes it a version), and a
        mark named as a staging folder, so a killed writer's folder is recognised."""
        name = staging_name(version)
        if self.root.is_local:
            return self.root.path(asset_dir, STAGING, name), None
        return self.root.path(asset_dir, version), self.root.path(asset_dir, STAGING, name)

    def _begin(self, folder: str, mark: str | None) -> None:
        """Make the folder a version is written in; on object stores put its mark first."""
        if mark is not None:
            self.root.write_atomic(mark, b"")
        self.root.makedirs(folder)

    def _end(self, mark: str | None) -> None:
        """The version is complete (or gone): remove its mark. One that cannot go now is a
        leftover of no bytes, removed later."""
        if mark is not None:
            with contextlib.suppress(OSError):
                self.root.fs.rm_file(mark)

    def _pointer_path(self, key: str, partition: str | None) -> str:
        return self.root.path(self._asset_dir(key, partition), CURRENT_FILE)

    @staticmethod
    def _asset_dir(key: str, partition: str | None) -> str:
        return _asset_folder(key, partition)

    def _error(self, key: str, what: str, path: str, fix: str = "",
               kind: type[StorageError] = StorageError, cause: BaseException | None = None) -> StorageError:
        """The error of ``key`` at ``path``; with ``cause``, ``what`` is followed by the cause, and a
        cause that is a full disk says so, with the fix to free space on the region's disk."""
        if cause is not None and is_disk_full(cause):  # not "unreachable": it is full
            return kind(f"asset '{key}': {what}: {disk_full_reason(cause)}", where=self.root.uri_of(path),
                        fix=fix or f"free space on the disk that holds {self.root.uri_of(self.root.root)} (df), then "
                                   "run it again: nothing of this version was published, and what was there is "
                                   "unchanged")
        if cause is not None:
            what = f"{what}: {cause}"
        return kind(f"asset '{key}': {what}", where=self.root.uri_of(path), fix=fix or UNREACHABLE_FIX
                    + ("" if self.root.is_local else " (an s3:// root: the endpoint and credentials of "
                       "the AWS_* variables, such as AWS_ENDPOINT_URL and AWS_ACCESS_KEY_ID)")
                    + "; if the region is down, `mesh dr failover --to <standby>` serves its replicas")


def _pointer(version: str) -> bytes:
    """The ``CURRENT`` pointer naming ``version``."""
    return json.dumps({"version": version}).encode()


def _named(raw: bytes) -> str | None:
    """The version a ``CURRENT`` pointer names, ``None`` if it is corrupt."""
    try:
        return _pointed(raw)
    except (ValueError, KeyError, TypeError):
        return None


def _pointed(raw: bytes) -> str:
    """The version a ``CURRENT`` pointer names; raises ValueError, KeyError or TypeError if it
    is not ``{"version": "<id>"}``."""
    version = load_json(raw)["version"]
    if not isinstance(version, str) or not VERSION_NAME.fullmatch(version):
        raise ValueError(f"version {str(version)[:80]!r} is not a version id")
    return version
