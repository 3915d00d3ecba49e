"""Atomic writes of local files: a reader sees the old bytes or the new ones, never a part, and
after a crash (power loss included) the file is one or the other.

Every local file the mesh replaces in place goes through :func:`atomic_write`: pointers
(``CURRENT``, the active region, ``kek.active``), manifests, ``mesh.toml``, the audit head,
key files. Object stores (fsspec URLs) have their own mechanism: one ``put`` is atomic there.

:func:`sync_together` makes several files and folders durable at once, for a writer that
needs all of them on disk before its next step (a version's data, manifest and folder before
the folder is renamed into place).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Prepared", "atomic_write", "discard", "install", "prepare", "sync_together"]


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None,
                 exclusive: bool = False, durable: bool = True) -> bool:
    """Write ``data`` to ``path`` atomically and durably; returns whether ``path`` was written.

    The steps: a temporary file in the same folder (created with ``mode`` when given, so an
    owner-only file is never readable by others, not even while it is written), write, flush,
    fsync, then ``os.replace`` over ``path``, then fsync the folder so the rename itself survives
    a crash. Missing parent folders are created.

    With ``exclusive``, an existing ``path`` is never replaced: the file is linked into place
    and ``False`` is returned when another writer got there first (the first writer wins).

    ``durable=False`` skips both fsyncs, for caches that are rebuilt when lost: a crash then
    leaves the old file or the new one, never a torn one, but maybe the old one.

    On any failure the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    folder = target.parent
    tmp = _write_temporary(target, data, mode=mode, durable=durable)
    try:
        if exclusive:
            try:
                os.link(tmp, target)
            except FileExistsError:
                return False
            finally:
                tmp.unlink()
        else:
            os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_folder(folder)
    return True


def _write_temporary(target: Path, data: bytes, *, mode: int | None = None, durable: bool = True) -> Path:
    """``data`` in a new temporary file beside ``target`` (created with ``mode`` when given),
    fsync-ed if ``durable``; missing parent folders are created (the nearest owner-only too when
    ``mode`` is owner-only: a key file's new folder is no more listable than the file is
    readable). Removed again on failure."""
    owner_only = mode is not None and not mode & 0o077
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if owner_only else 0o777)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)  # exactly ``mode``, whatever the umask
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
    except OSError as exc:  # a full disk says ENOSPC without a name: the error names the file meant
        tmp.unlink(missing_ok=True)
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


@dataclass(frozen=True, slots=True)
class Prepared:
    """The next content of ``path``, written beside it as ``tmp`` by :func:`prepare`, not yet
    in place: :func:`install` or :func:`discard` it."""

    path: Path
    tmp: Path
    data: bytes


def prepare(path: str | os.PathLike[str], data: bytes) -> Prepared:
    """The first half of :func:`atomic_write`, for a writer that syncs several files at once:
    ``data`` in a temporary file beside ``path``, not synced. Sync ``tmp`` (with
    :func:`sync_together`) before :func:`install`."""
    target = Path(path)
    return Prepared(target, _write_temporary(target, data, durable=False), data)


def install(prepared: Prepared) -> None:
    """The second half: the synced temporary file replaces ``path``, and the rename is synced."""
    os.replace(prepared.tmp, prepared.path)
    _fsync_folder(prepared.path.parent)


def discard(prepared: Prepared) -> None:
    """Drop a prepared write that will not be installed (nothing happens once it was)."""
    prepared.tmp.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX: fsync the directory)."""
    _fsync_path(folder)


def sync_together(paths: Sequence[str | os.PathLike[str]]) -> None:
    """``fsync`` every file and folder of ``paths``; returns once all of them are on disk, and
    raises the first failure (``OSError``) after every sync has ended.

    The syncs are issued at the same time, from threads: a journaling file system (ext4, XFS)
    commits concurrent syncs in one journal transaction, so the wait is about one sync's, not
    one per path (4 files: 2.4 ms against 13 ms one after the other, measured on a loaded disk).
    """
    if len(paths) < 2:
        for path in paths:
            _fsync_path(path)
        return
    futures = [_sync_pool().submit(_fsync_path, path) for path in paths[1:]]
    errors: list[BaseException] = []
    try:
        _fsync_path(paths[0])
    except OSError as exc:
        errors.append(exc)
    for future in futures:
        if (error := future.exception()) is not None:
            errors.append(error)
    if errors:
        raise errors[0]


def _fsync_path(path: str | os.PathLike[str]) -> None:
    """fsync a file or a folder by name (a read-only descriptor syncs the whole inode)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_POOL: list[ThreadPoolExecutor] = []
_POOL_LOCK = [threading.Lock()]


def _sync_pool() -> ThreadPoolExecutor:
    """The threads :func:`sync_together` syncs from: made on first use, once per process (a
    forked child makes its own: its parent's threads do not exist there)."""
    with _POOL_LOCK[0]:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(max_workers=4, thread_name_prefix="fsync"))
            os.register_at_fork(after_in_child=_forget_pool)
        return _POOL[0]


def _forget_pool() -> None:
    _POOL.clear()
    _POOL_LOCK[0] = threading.Lock()  # a parent's thread may have held it at the fork
