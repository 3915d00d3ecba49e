"""Leftovers of killed writers: bytes written where no reader looks, that no one will finish.

Local folders write a version in a staging folder and rename it into place: a leftover is a
staging folder whose writer is gone (see :mod:`assets.storage.staging`). Object stores have no
folder rename: a version is written in its own folder and its manifest, written last, makes it
a version. There the writer first puts an empty mark, named as a staging folder would be
(``.staging/<version>-<random>-<host>.<pid>``), and removes it once the manifest is written.
A version folder (or a mark) is a leftover when its writer is a gone process of this host, or
when nothing in it changed for the grace period, whoever wrote it; a version folder without a
manifest and without a mark (a replica copy killed before marks existed) only by age. A folder
that a live writer is still filling is never one: it is not removed, and counts in
``stored_bytes`` once published.

Leftovers count in the storage quota until removed. The next publish of an asset removes its
own (:func:`in_asset`, which on object stores lists only the marks and their folders, so it
costs the same however many versions the asset has), ``mesh gc`` every one (:func:`everywhere`,
one listing of the root). :func:`remove` removes one, with its marks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from collections.abc import Iterable
from typing import Any

from assets.storage.filesystem import StorageRoot
from assets.storage.layout import MANIFEST_FILE, STAGING, VERSION_NAME
from assets.storage.staging import GRACE_SECONDS, is_leftover, writer_gone

Found = list[tuple[str, int]]


def in_asset(root: StorageRoot, folder: str, grace_seconds: float) -> Found:
    """The leftovers of one asset (of one partition), ``folder`` being its path under ``root``,
    each with its bytes."""
    if root.is_local:
        return _local(root, [f"{folder}/{STAGING}"], grace_seconds)
    files = _listing(root, folder, f"{STAGING}/")
    for version in {m["version"] for m in map(_mark, files) if m}:
        files |= _listing(root, folder, f"{version}/")
    return [found for found, abandoned in _scan(root, files, grace_seconds) if abandoned]


def everywhere(root: StorageRoot, grace_seconds: float) -> Found:
    """Every leftover under ``root``, each with its bytes."""
    if not root.exists(root.root):
        return []
    if root.is_local:
        return _local(root, (f"{folder.rstrip('/')}/{STAGING}" for folder, dirs, _files in root.fs.walk(root.root)
                             if STAGING in dirs), grace_seconds)
    return [found for found, abandoned in _scan(root, _listing(root, root.root), grace_seconds) if abandoned]


def stored_bytes(root: StorageRoot, folder: str) -> int:
    """Bytes stored under ``folder``: every file, leftovers included, but not the versions that
    live writers are still writing (they count once published)."""
    if not root.exists(folder):
        return 0
    if root.is_local:
        return _local_bytes(root, folder)
    files = _listing(root, folder)
    writing = sum(size for (_path, size), abandoned in _scan(root, files, GRACE_SECONDS) if not abandoned)
    return sum(int(info["size"]) for info in files.values()) - writing


def remove(root: StorageRoot, path: str) -> None:
    """Remove a leftover found here, and on object stores the marks of its version."""
    root.remove(path)
    if root.is_local:
        return
    parent, _, name = path.rpartition("/")
    if VERSION_NAME.fullmatch(name):
        for mark in root.listdir(f"{parent}/{STAGING}"):
            if mark.startswith(f"{name}-"):
                root.remove(f"{parent}/{STAGING}/{mark}")


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
_MARK = re.compile(rf"(?P<version>{VERSION_NAME.pattern})-[0-9a-f]{{8}}-(?P<writer>[^/]+)")


def _listing(root: StorageRoot, folder: str, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every object under ``folder`` (whose path there starts with ``prefix``) with its size and
    time, in one listing (paged by a thousand)."""
    try:
        return dict(root.fs.find(folder, detail=True, prefix=prefix) if prefix else root.fs.find(folder, detail=True))
    except FileNotFoundError:
        return {}


def _mark(path: str) -> re.Match[str] | None:
    """The version and writer a mark names, if ``path`` is a mark."""
    folder, _, name = path.rpartition("/")
    return _MARK.fullmatch(name) if folder.rpartition("/")[2] == STAGING else None


def _scan(root: StorageRoot, files: dict[str, dict[str, Any]],
          grace_seconds: float) -> list[tuple[tuple[str, int], bool]]:
    """Each unfinished version among ``files`` (a version folder without a manifest, or a mark):
    what a removal would take, with its bytes, and whether its writer abandoned it."""
    marks: dict[str, list[tuple[str, dict[str, Any], str]]] = {}
    folders: dict[str, list[dict[str, Any]]] = {}
    for path, info in files.items():
        if mark := _mark(path):
            asset = path.rpartition("/")[0].rpartition("/")[0]
            marks.setdefault(f"{asset}/{mark['version']}", []).append((path, info, mark["writer"]))
        else:
            folder = path.rpartition("/")[0]
            if VERSION_NAME.fullmatch(folder.rpartition("/")[2]):
                folders.setdefault(folder, []).append(info)
    found = []
    now = time.time()
    for folder in sorted(marks.keys() | folders.keys()):
        infos, its_marks = folders.get(folder, []), marks.get(folder, [])
        published = any(i["name"].rpartition("/")[2] == MANIFEST_FILE for i in infos)
        if published and not its_marks:
            continue
        changed = max(_modified(i) for i in [*infos, *(info for _path, info, _writer in its_marks)])
        writers = [writer for _path, _info, writer in its_marks]
        abandoned = now - changed >= grace_seconds or bool(writers) and all(writer_gone(w) for w in writers)
        if published or not infos:  # only marks are left (killed right after the manifest, or before any data)
            found += [((path, 0), abandoned) for path, _info, _writer in its_marks]
        else:
            found.append(((folder, sum(int(i["size"]) for i in infos)), abandoned))
    return found
def _modified(info: dict[str, Any]) -> float:
    """When an object was written; now if the store does not say (so never taken for old)."""
    stamp: Any = info.get("LastModified") or info.get("mtime") or info.get("last_modified")
    if isinstance(stamp, dt.datetime):
        return stamp.timestamp()
    return float(stamp) if isinstance(stamp, int | float) else time.time()
