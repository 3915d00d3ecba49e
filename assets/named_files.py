"""Reading and writing a file a person names on the command line (a report, a proof, a key, a
data contract): bounded, never waiting, and never replacing what is not a file.

``open`` on a FIFO waits for a writer, and ``read`` of ``/dev/zero`` never ends, so a file named
by a person is opened without blocking and must be a regular file, of at most the size the reader
allows; the bytes are read with that bound too, as the file may grow while it is read.

A file written for a person (``--out``) is written atomically, so it replaces what stands at the
path: over a device such as ``/dev/full``, run as root, that removed the device. An existing path
that is not a regular file (a link to one is followed) is therefore refused, unwritten.
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


def _kind(st: os.stat_result) -> str:
    return ("a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
            else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "a special file")


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

    Raises :class:`TooLarge` for a larger file, ``OSError`` (``EINVAL``) for a folder, a FIFO, a
    device or a socket, and ``OSError`` as ``open`` does (missing, not permitted)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"{_kind(st)}, not a regular file", str(path))
        raw = b"" if st.st_size > most else fh.read(most + 1)
    if st.st_size > most or len(raw) > most:
        raise TooLarge(errno.EFBIG, f"more than {most:,} bytes", str(path))
    return raw
