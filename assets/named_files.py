"""Opening, reading and writing files safely: never through a link where none belongs, never
waiting, never reading without a bound, and never replacing what is not a file.

``open`` on a FIFO waits for a writer, and ``read`` of ``/dev/zero`` never ends, so a file is
opened without blocking and must be a regular file, of at most the size the reader allows; the
bytes are read with that bound too, as the file may grow while it is read.

- The mesh's own files (a stored version's data, the audit log, caches, the alert file) are
  opened with :func:`open_regular`: a symbolic link there is refused, not followed (a write
  through one to /etc/passwd, as root, would overwrite it).
- A file a person names on the command line (a report, a proof, a key, a data contract) is read
  with :func:`read_named_file`: a link to one is followed, as the person named it.
- A file written for a person (``--out``) is written atomically, so it replaces what stands at
  the path: over a device such as ``/dev/full``, run as root, that removed the device. An
  existing path that is not a regular file (a link to one is followed) is therefore refused,
  unwritten.

This module imports neither polars nor the storage layer: the DAG files' parse reaches it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from assets.atomic import atomic_write
from assets.errors import StorageError


class TooLarge(OSError):
    """The file holds more than the reader allows (``errno.EFBIG``); it was not read."""


class NotRegularFile(OSError):
    """A file that is a symbolic link, a device, a FIFO, a socket or a folder where a regular file
    belongs: it is not read (a device or a FIFO could be read forever or block)."""


#: Added to the flags of every :func:`open_regular`: never through a symbolic link, and without
#: waiting (a FIFO blocks its opener until the other end comes; to write, with O_NONBLOCK, it
#: fails with ENXIO instead).
_NO_LINK_NO_WAIT = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
#: The errors of that ``open`` that mean "not a regular file": a link, a FIFO to write, a folder.
_REFUSED_BY_OPEN = frozenset({errno.ELOOP, errno.ENXIO, errno.EISDIR})


def _kind(st: os.stat_result) -> str:
    """What a file that is not a regular file is, from its ``stat`` (or ``lstat``)."""
    return ("a symbolic link" if stat.S_ISLNK(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
            else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a folder" if stat.S_ISDIR(st.st_mode) else "a socket or other special file")


def require_regular(st: os.stat_result, path: str) -> None:
    """Raise :class:`NotRegularFile` unless ``st`` (an ``fstat``, or an ``lstat`` to name a link
    as one) is a regular file's; its ``strerror`` says what the file is ("a FIFO, not a regular
    file")."""
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(errno.EINVAL, f"{_kind(st)}, not a regular file", path)


def open_regular(path: str | os.PathLike[str], flags: int, mode: int = 0o644) -> int:
    """A descriptor of the regular file ``path``, opened with ``flags`` (``os.O_RDONLY``,
    ``os.O_WRONLY | os.O_APPEND | os.O_CREAT``, ...) without following a symbolic link nor
    waiting on a FIFO, and checked on its descriptor.

    Raises :class:`NotRegularFile` for a link, a FIFO, a folder, a device or a socket (its
    ``strerror`` says which), and ``OSError`` as ``open`` does otherwise (``FileNotFoundError``
    when it is missing and not created). The caller closes the descriptor."""
    name = os.fspath(path)
    try:
        fd = os.open(name, flags | _NO_LINK_NO_WAIT, mode)
    except OSError as exc:
        if exc.errno not in _REFUSED_BY_OPEN:
            raise
        require_regular(os.lstat(name), name)  # names what open refused
        raise NotRegularFile(exc.errno, "not a regular file when it was opened (replaced since)", name) from None
    try:
        require_regular(os.fstat(fd), name)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_named_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`~assets.atomic.atomic_write`), making its
    folder. Raises :class:`~assets.errors.StorageError` when ``path`` exists and is not a regular
    file (the write would replace a folder, a FIFO or a device), and ``OSError`` as the write does."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise StorageError(f"is {_kind(st)}, not a regular file: writing there would replace it", where=str(path),
                           fix="name a new file, or a regular file to replace")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)


def read_named_file(path: Path, most: int) -> bytes:
    """The bytes of the regular file ``path`` (a link to one is followed), at most ``most``.

    Raises :class:`TooLarge` for a larger file, :class:`NotRegularFile` for a folder, a FIFO, a
    device or a socket, and ``OSError`` as ``open`` does (missing, not permitted)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        require_regular(st, str(path))
        raw = b"" if st.st_size > most else fh.read(most + 1)
    if st.st_size > most or len(raw) > most:
        raise TooLarge(errno.EFBIG, f"more than {most:,} bytes", str(path))
    return raw
