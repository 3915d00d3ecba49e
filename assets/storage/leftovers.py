"""Leftovers of killed writers: bytes written where no reader looks, that no one will finish.

Local folders write a version in a staging folder and rename it into place: a leftover is a
staging folder whose writer is gone (see :mod:`assets.storage.staging`). Object stores have no
folder rename, so a version is written in its own folder and its manifest, written last, makes
it a version: a leftover there is a version folder without a manifest whose writer (named in
its ``.writer`` file) is a gone process of this host, or in which nothing changed for the grace
period, whoever wrote it (a replica copy killed midway is one too). A folder that a live writer
is still filling is neither: it is never removed, and counts in ``stored_bytes`` once published.

Leftovers count in the storage quota until removed; the next publish of an asset removes its
own (:func:`in_asset`), ``mesh gc`` every one (:func:`everywhere`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterable
from typing import Any

from assets.storage.filesystem import StorageRoot
from assets.storage.layout import MANIFEST_FILE, STAGING, VERSION_NAME, WRITER_FILE
from assets.storage.staging import GRACE_SECONDS, is_leftover, writer_gone

Found = list[tuple[str, int]]


def in_asset(root: StorageRoot, folder: str, grace_seconds: float) -> Found:
    """The leftovers of one asset (of one partition), ``folder`` being its path under ``root``,
    each with its bytes."""
    if root.is_local:
        return _local(root, [f"{folder}/{STAGING}"], grace_seconds)
    return _leftover(_unpublished(root, folder, only_children=True), grace_seconds, root)


def everywhere(root: StorageRoot, grace_seconds: float) -> Found:
    """Every leftover under ``root``, each with its bytes."""
    if not root.exists(root.root):
        return []
    if root.is_local:
        return _local(root, (f"{folder.rstrip('/')}/{STAGING}" for folder, dirs, _files in root.fs.walk(root.root)
                             if STAGING in dirs), grace_seconds)
    return _leftover(_unpublished(root, root.root, only_children=False), grace_seconds, root)


def stored_bytes(root: StorageRoot, folder: str) -> int:
    """Bytes stored under ``folder``: every file, leftovers included, but not the versions that
    live writers are still writing (they count once published)."""
    if not root.exists(folder):
        return 0
    if root.is_local:
        return _local_bytes(root, folder)
    files = _listing(root, folder)
    writing = {f for f, infos in _by_version(files).items() if not _abandoned(root, f, infos, None)}
    return sum(int(info["size"]) for path, info in files.items() if path.rpartition("/")[0] not in writing)


# -- local folders -------------------------------------------------------------------------------
def _local(root: StorageRoot, stagings: Iterable[str], grace_seconds: float) -> Found:
    return [(folder, sum(root.size(p) for p in root.walk_files(folder)))
            for staging in stagings for folder in (f"{staging}/{name}" for name in root.listdir(staging))
            if is_leftover(folder, grace_seconds)]


def _local_bytes(root: StorageRoot, folder: str) -> int:
    leftover: dict[str, bool] = {}
    total = 0
    for path in root.walk_files(folder):
        head, sep, tail = path.partition(f"/{STAGING}/")
        if sep:
            staged = f"{head}{sep}{tail.split('/', 1)[0]}"
            if staged not in leftover:
                leftover[staged] = is_leftover(staged)
            if not leftover[staged]:
                continue
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile
            total += root.size(path)
    return total


# -- object stores -------------------------------------------------------------------------------
def _listing(root: StorageRoot, folder: str) -> dict[str, dict[str, Any]]:
    """Every object under ``folder`` with its size and time, in one (paged) listing."""
    try:
        return dict(root.fs.find(folder, detail=True))
    except FileNotFoundError:
        return {}


def _by_version(files: dict[str, dict[str, Any]], parent: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """The objects of each version folder among ``files`` that has no manifest (only the
    folders right under ``parent`` if given)."""
    folders: dict[str, list[dict[str, Any]]] = {}
    for path, info in files.items():
        folder = path.rpartition("/")[0]
        above, _, name = folder.rpartition("/")
        if VERSION_NAME.fullmatch(name) and (parent is None or above == parent):
            folders.setdefault(folder, []).append(info)
    return {f: infos for f, infos in folders.items()
            if not any(i["name"].rpartition("/")[2] == MANIFEST_FILE for i in infos)}


def _unpublished(root: StorageRoot, folder: str, *, only_children: bool) -> dict[str, list[dict[str, Any]]]:
    return _by_version(_listing(root, folder), folder if only_children else None)


def _leftover(unpublished: dict[str, list[dict[str, Any]]], grace_seconds: float, root: StorageRoot) -> Found:
    return [(folder, sum(int(i["size"]) for i in infos)) for folder, infos in sorted(unpublished.items())
            if _abandoned(root, folder, infos, grace_seconds)]


def _abandoned(root: StorageRoot, folder: str, infos: list[dict[str, Any]], grace_seconds: float | None) -> bool:
    """Whether no live writer fills this manifest-less version folder: untouched for the grace
    period (the default one if None), or its writer is a gone process of this host."""
    changed = max(_modified(i) for i in infos)
    if time.time() - changed >= (GRACE_SECONDS if grace_seconds is None else grace_seconds):
        return True
    if not any(i["name"].rpartition("/")[2] == WRITER_FILE for i in infos):
        return False
    try:
        writer = root.read_bytes(f"{folder}/{WRITER_FILE}").decode("utf-8", "replace")
    except FileNotFoundError:  # published or removed meanwhile
        return False
    return writer_gone(writer)


def _modified(info: dict[str, Any]) -> float:
    """When an object was written; now if the store does not say (so never taken for old)."""
    stamp: Any = info.get("LastModified") or info.get("mtime") or info.get("last_modified")
    if isinstance(stamp, dt.datetime):
        return stamp.timestamp()
    return float(stamp) if isinstance(stamp, int | float) else time.time()
