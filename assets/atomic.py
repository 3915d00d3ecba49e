"""Atomic writes of local files: a reader sees the old bytes or the new ones, never a part, and
after a crash (power loss included) the file is one or the other.

Every local file the mesh replaces in place goes through :func:`atomic_write`: pointers
(``CURRENT``, the active region, ``kek.active``), manifests, ``mesh.toml``, the audit head,
key files. Object stores (fsspec URLs) have their own mechanism: one ``put`` is atomic there.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

__all__ = ["atomic_write"]


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
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{target.name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)  # exactly ``mode``, whatever the umask
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
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


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX: fsync the directory)."""
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
