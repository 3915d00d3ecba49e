"""Which stored files were already verified against their manifest, so each is hashed once.

A file is identified by its URL, the checksum it was checked against, and a stamp of its
state: size and, on a local filesystem, modification time, inode and change time (which
``os.utime`` cannot set back); an object store gives ETag or modification time. Rewriting,
replacing or touching the file changes the stamp, so the next read hashes it again.

The memory is bounded and thread-safe. With a ``path`` it also lasts across processes: each
entry is appended to that file as one JSON line (one ``write``), read by other processes when
they miss, and the file is compacted (rewritten atomically with the newest entries) before it
outgrows ``max_bytes``. The file is only a cache: a line that is torn, garbage or of the wrong
shape is skipped, a file that cannot be read or is larger than ``max_bytes`` is ignored, and a
damaged file is rewritten from what the process knows; no failure to read or write it fails a
read. Whoever can write the file can make a changed data file pass unhashed, so it lives with
the mesh's other local state (owned by the mesh's user), never with the data.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path

from assets.atomic import atomic_write
from assets.named_files import NotRegularFile, open_regular
from assets.stored_json import load_json

#: (file URL, expected checksum, stamp of the file's state)
Entry = tuple[str, str, Hashable]

#: The cache file is compacted to half of this before it would grow past it.
MAX_BYTES = 1024 * 1024

class VerifiedFiles:
    """A bounded, thread-safe set of (file, checksum, stamp) found to match, oldest dropped
    first; kept in the file ``path`` too when given (module docstring)."""

    def __init__(self, capacity: int = 65536, *, path: Path | None = None, max_bytes: int = MAX_BYTES) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        if max_bytes < 1024:
            raise ValueError(f"max_bytes must be at least 1024, got {max_bytes}")
        self.capacity = capacity
        self.path = path
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._read_to: tuple[int, int] | None = None  # (inode, offset) of the file read so far
        self._damaged = False

    def __contains__(self, entry: Entry) -> bool:
        key = _key(entry)
        with self._lock:
            if key not in self._entries and self.path is not None:
                self._read_file()
            if key not in self._entries:
                return False
            self._entries.move_to_end(key)
            return True

    def remember(self, entry: Entry) -> None:
        key = _key(entry)
        with self._lock:
            new = key not in self._entries
            self._add(key)
            if self.path is not None and new:
                self._append(key)

    def clear(self) -> None:
        """Forget what this process remembers (the file, if any, stays)."""
        with self._lock:
            self._entries.clear()
            self._read_to = None

    # -- the file ----------------------------------------------------------------------------------
    def _add(self, key: str) -> None:
        self._entries[key] = None
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def _read_file(self) -> None:
        """Take in the lines appended since the last read (all of them if the file was replaced)."""
        assert self.path is not None
        try:
            with open(open_regular(self.path, os.O_RDONLY), "rb") as fh:
                st = os.fstat(fh.fileno())
                if st.st_size > self.max_bytes:  # rewritten
                    self._damaged = True
                    return
                inode, offset = self._read_to or (st.st_ino, 0)
                if inode != st.st_ino or offset > st.st_size:
                    offset = 0
                fh.seek(offset)
                raw = fh.read(self.max_bytes)
        except NotRegularFile:  # a link, a FIFO, a folder: replaced by a file at the next compaction
            self._damaged = True
            return
        except OSError:  # missing or unreadable: nothing to take in
            return
        complete = raw.rfind(b"\n") + 1  # a line still being written is read next time
        for line in raw[:complete].splitlines():
            key = _parse(line)
            if key is None:
                self._damaged = True
            else:
                self._add(key)
        self._read_to = (st.st_ino, offset + complete)

    def _append(self, key: str) -> None:
        assert self.path is not None
        line = f"{key}\n".encode()
        try:
            self._read_file()  # what others appended, so a compaction keeps it
            size = self.path.stat().st_size if self.path.exists() else 0
            torn = size > (self._read_to[1] if self._read_to else 0)  # bytes after the last whole line
            if self._damaged or torn or size + len(line) > self.max_bytes:
                self._compact()
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = open_regular(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError:  # a read-only or full disk: remembered in this process only
            return

    def _compact(self) -> None:
        """Rewrite the file with the newest entries, up to half of ``max_bytes``."""
        assert self.path is not None
        lines: list[bytes] = []
        size = 0
        for key in reversed(self._entries):
            line = f"{key}\n".encode()
            if size + len(line) > self.max_bytes // 2:
                break
            lines.append(line)
            size += len(line)
        data = b"".join(reversed(lines))
        atomic_write(self.path, data, mode=0o600)
        self._damaged = False
        with contextlib.suppress(OSError):
            self._read_to = (self.path.stat().st_ino, len(data))


def _key(entry: Entry) -> str:
    """An entry as its line in the file (tuples become JSON arrays)."""
    return json.dumps(entry, separators=(",", ":"))


def _parse(line: bytes) -> str | None:
    """The entry of a line of the file, or ``None`` for anything but [URL, checksum, stamp]."""
    try:
        value = load_json(line)
    except ValueError:
        return None
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str) and isinstance(value[1], str)
            and _is_stamp(value[2])):
        return None
    return json.dumps(value, separators=(",", ":"))


def _is_stamp(value: object) -> bool:
    """[size, state]: state is a string (object stores) or a list of integers (local files)."""
    if not (isinstance(value, list) and len(value) == 2 and type(value[0]) is int):
        return False
    state = value[1]
    return isinstance(state, str) or isinstance(state, list) and all(type(n) is int for n in state)


#: The process-wide memory every :class:`~assets.storage.VersionStore` shares unless given one.
VERIFIED = VerifiedFiles()

_files: dict[Path, VerifiedFiles] = {}
_files_lock = threading.Lock()


def verified_files_at(path: Path) -> VerifiedFiles:
    """The memory kept in the file ``path``: one object per file in a process."""
    with _files_lock:
        return _files.setdefault(path, VerifiedFiles(path=path))
