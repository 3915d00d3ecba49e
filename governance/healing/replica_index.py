"""What the replica remediation already knows, so that a pass does not re-read the whole history.

A pass must find every version the standby lacks and every replica whose data changed since it
verified. Read naively that is, per version and per pass, a manifest read, an existence check
and a checksum check: a pass slows down as the history grows (a simulated month spent most of
its self-healing time there). :class:`ReplicaIndex` remembers, per asset (per partition of a
partitioned one: each has its own folder of versions) and pair of stores, the active region's
versions listed so far (a pass lists the folder again only when its modification time changed,
and then takes only the newer ones, :meth:`~assets.storage.VersionStore.versions` with
``after``) and, per version, the state of its replica's data file (size, modification and
change time: :meth:`stamp`) when it last verified. A pass then costs one file status per
replica; only a replica whose file is gone or changed is looked at again in full (exists,
manifest, checksum). Nothing is taken on trust that the file system does not confirm: a
deleted or rewritten replica changes its status.

The index lives in the process (like the store's memory of verified files): a new process
starts by checking everything once.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from assets.errors import StorageError
from assets.storage import VersionStore


@dataclass(slots=True)
class _Known:
    """One asset between two stores: the active versions listed (oldest first) and the data
    file status of each replica when it last verified."""

    versions: list[str] = field(default_factory=list)
    good: dict[str, tuple[int, object]] = field(default_factory=dict)
    listed: int | None = None


@dataclass(frozen=True, slots=True)
class ReplicaScan:
    """The versions of an asset missing from the target, and those whose replica does not
    match its checksum (oldest first)."""

    missing: tuple[str, ...] = ()
    corrupt: tuple[str, ...] = ()


class ReplicaIndex:
    """See the module docstring."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str, str, str | None], _Known] = {}
        self._lock = threading.Lock()

    def scan(self, source: VersionStore, target: VersionStore, key: str,
             partition: str | None = None) -> ReplicaScan:
        """What ``target`` lacks of ``key``'s versions (of ``partition``) in ``source``, or holds broken."""
        ident = (source.root.uri_of(source.root.path()), target.root.uri_of(target.root.path()), key, partition)
        with self._lock:
            known = self._known.setdefault(ident, _Known())
            listed = _folder_stamp(source, key, partition)  # taken before listing: a version added meanwhile changes it
            if listed is None or listed != known.listed:
                known.versions.extend(source.versions(key, partition,
                                                      after=known.versions[-1] if known.versions else None))
                known.listed = listed
            missing, corrupt, gone = [], [], []
            for version in known.versions:
                stamp = _stamp(target, key, version, partition)
                if stamp is not None and known.good.get(version) == stamp:
                    continue
                known.good.pop(version, None)
                if not source.has_version(key, version, partition):  # collected since it was listed
                    gone.append(version)
                elif not target.has_version(key, version, partition):
                    missing.append(version)
                elif not _verifies(target, key, version, partition):
                    corrupt.append(version)
                elif stamp is not None:
                    known.good[version] = stamp
            if gone:
                known.versions = [v for v in known.versions if v not in gone]
            return ReplicaScan(missing=tuple(missing), corrupt=tuple(corrupt))


def _stamp(store: VersionStore, key: str, version: str, partition: str | None) -> tuple[int, object] | None:
    try:
        return store.root.stamp(store.data_path(key, version, partition))
    except OSError:  # gone (or unreadable): looked at in full
        return None


def _folder_stamp(store: VersionStore, key: str, partition: str | None) -> int | None:
    """The modification time (ns) of the local folder of ``key``'s versions (of ``partition``),
    which adding or removing a version changes; ``None`` for an object store (listed every pass)
    or no folder."""
    if not store.root.is_local:
        return None
    try:
        return os.stat(Path(store.data_path(key, "v", partition)).parent.parent).st_mtime_ns
    except OSError:
        return None


def _verifies(store: VersionStore, key: str, version: str, partition: str | None) -> bool:
    try:
        store.check(store.manifest(key, version, partition))
    except StorageError:
        return False
    return True


#: The index of this process.
INDEX = ReplicaIndex()
