"""Where an audit log is kept: the interface :class:`~governance.audit.log.AuditLog` writes and
verifies through, and its first implementation, a folder of files.

- :class:`LogBytes`: the log's bytes, every record's line in order: what the block roots of
  the signed heads are computed over (:mod:`governance.audit.blocks`) and what verification
  reads (:mod:`governance.audit.verification`). One implementation of both serves every store.
- :class:`LogStorage`: those bytes plus the rest of a log (the signed heads, the head cache,
  the pinned public key), and the lock that serialises writers.

A store keeps the exact bytes it was given: a log moved from one store to another (imported,
exported to a backup, restored) has the same block roots, so every head a witness saw still
verifies. :class:`FileLogStorage` is the folder described in :mod:`governance.audit.log`;
:mod:`governance.audit.database` keeps the same in the state database.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import io
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from assets.atomic import atomic_write
from assets.errors import MeshError
from assets.named_files import NotRegularFile, open_regular

LOG, HEAD, CHECKPOINTS, LOCK, PUBLIC_KEY = "audit.jsonl", "head.json", "checkpoints.jsonl", "audit.lock", "audit.ed25519.pub"


#: The most a scan mark file may hold (its revocations and requesters of years fit in far less);
#: a larger one reads as damaged, never as a read that fills the memory.
MAX_MARK_BYTES = 64 << 20
#: The most bytes of ``head.json`` read (a few hashes): a larger file reads as a lost cache.
MAX_HEAD_BYTES = 1 << 20
#: The most bytes after the log's last newline that are set aside as a torn write: more is no
#: write a crash cut (a sparse 10 GB file without a newline), and is not read into memory.
MAX_TORN_BYTES = 64 << 20
#: The most bytes of ``checkpoints.jsonl`` (a signed head of a few hundred bytes per thousands of
#: records) and of the public key read; a larger file is refused, not read whole.
MAX_CHECKPOINTS_BYTES = 256 << 20
MAX_PUBLIC_KEY_BYTES = 64 << 10
#: The most bytes of one record's line: an append refuses a larger record, and a read stops at a
#: larger line (a sparse 10 GB file of one line) instead of reading it whole into memory.
MAX_RECORD_BYTES = 64 << 20


def mark_file(name: str) -> str:
    """The file of the scan mark ``name`` in an audit folder."""
    return f"{name}.mark.json"


class AuditError(MeshError):
    """A file of the audit log is unreadable, or a record could not be written."""


def open_log_file(path: Path, flags: int, mode: int = 0o644) -> int:
    """A descriptor of the regular file ``path`` opened with ``flags`` (see
    :func:`~assets.named_files.open_regular`). Raises :class:`AuditError` naming the file,
    with the fix, when it is a link, a FIFO, a folder or a device; ``OSError`` as ``open`` does
    otherwise (``FileNotFoundError`` when it is missing and not created)."""
    try:
        return open_regular(path, flags, mode)
    except NotRegularFile as exc:
        raise AuditError(f"it is {exc.strerror}, so the audit log does not use it", where=str(path),
                         fix="move it aside (mv it to a .bak name); if it held the log, restore the audit folder from "
                             "the last backup (mesh dr restore) and investigate who put it there") from None


def _read_log_file(path: Path, most: int) -> bytes | None:
    """The bytes of the log's file ``path`` (see :func:`open_log_file`), or ``None`` when it is
    missing; :class:`AuditError` when it holds more than ``most`` bytes, which are not read."""
    try:
        fd = open_log_file(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with open(fd, "rb") as fh:
        raw = fh.read(most + 1)
    if len(raw) > most:
        raise AuditError(f"it holds more than {most:,} bytes, more than the audit log ever writes there",
                         where=str(path), fix="move it aside (mv it to a .bak name), restore the audit folder from "
                                              "the last backup (mesh dr restore) and investigate who changed it")
    return raw


class LogBytes(Protocol):
    """The bytes of a log: its records' lines, in order."""

    def size(self) -> int:
        """How many bytes the log holds."""
        ...

    def open(self) -> AbstractContextManager[BinaryIO]:
        """A seekable reader of the bytes (a real file has a ``fileno``, and is mapped)."""
        ...


class LogStorage(LogBytes, Protocol):
    """Everything of one audit log, and the lock its writers take."""

    where: str  # names the log in messages: a folder, or the state database

    def locked(self) -> AbstractContextManager[None]:
        """Hold the writers' lock (one writer at a time across processes) for the block; what
        the block writes becomes durable and visible together when it ends."""
        ...

    def write(self, lines: Sequence[tuple[bytes, str]], first_seq: int) -> int:
        """Append ``lines`` (each a record's line and its hash; the first is record
        ``first_seq``) whole, or nothing; returns the log's size after them. Under the lock."""
        ...

    def cut_torn_tail(self, signed: Callable[[], int]) -> tuple[str, int, int] | None:
        """Set aside a torn final line a crash left, unless a signed head of ``signed()`` records
        covers it (then raise: tampering). Returns (where it was put, its bytes, the complete
        lines before it), or ``None`` when the log ends with a whole line. Under the lock."""
        ...

    def head(self) -> bytes | None:
        """The head cache as stored, or ``None``."""
        ...

    def save_head(self, data: bytes) -> None:
        ...

    def checkpoints(self) -> bytes:
        """The signed heads, one canonical JSON line each."""
        ...

    def add_checkpoint(self, line: bytes) -> None:
        """Append one signed head's line, durably. Under the lock."""
        ...

    def public_key(self) -> bytes | None:
        """The pinned public key as stored next to the log (PEM), or ``None``."""
        ...

    def keep_public_key(self, pem: bytes) -> None:
        """Store ``pem`` unless a key is stored already."""
        ...

    def mark(self, name: str) -> bytes | None:
        """The scan mark ``name`` as stored (:mod:`governance.audit.marks`), or ``None``."""
        ...

    def save_mark(self, name: str, data: bytes) -> None:
        """Replace the scan mark ``name`` by ``data``, whole (a reader sees the old or the new)."""
        ...

    def export(self, dest: Path) -> None:
        """Write the log, its signed heads and public key to the folder ``dest`` as files (the
        layout of :class:`FileLogStorage`), for a backup. Under the lock."""
        ...

    def replace_with(self, folder: Path, aside: Path) -> None:
        """Replace the whole log by the one in ``folder`` (a verified backup), after keeping
        the current one in the folder ``aside`` as evidence."""
        ...


def _last_line_end(fh: BinaryIO, size: int, most: int) -> int | None:
    """Where the last whole line of ``fh`` (of ``size`` bytes) ends, 0 if it has none, read back
    from its end a megabyte at a time; ``None`` when more than ``most`` bytes follow it."""
    at = size
    while at > 0 and size - at <= most:
        begin = max(0, at - (1 << 20))
        fh.seek(begin)
        chunk = fh.read(at - begin)
        if (cut := chunk.rfind(b"\n")) >= 0:
            end = begin + cut + 1
            return end if size - end <= most else None
        at = begin
    return 0 if size <= most else None


@dataclass(frozen=True, slots=True)
class FileBytes:
    """The bytes of the file ``path`` (none when it does not exist)."""

    path: Path

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """The file to read (see :func:`open_log_file`), or an empty one when it does not exist."""
        try:
            fd = open_log_file(self.path, os.O_RDONLY)
        except FileNotFoundError:
            fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        with _LogReader(io.FileIO(fd, "rb"), where=str(self.path)) as fh:
            yield fh


class _LogReader(io.BufferedReader):
    """The log's file, read line by line at most :data:`MAX_RECORD_BYTES` at a time: a longer
    line is :class:`AuditError`, never read whole."""

    def __init__(self, raw: io.FileIO, *, where: str) -> None:
        super().__init__(raw)
        self.where = where

    def __next__(self) -> bytes:
        line = self.readline(MAX_RECORD_BYTES + 1)
        if not line:
            raise StopIteration
        if len(line) > MAX_RECORD_BYTES:
            raise line_too_long(self.where)
        return line


def line_too_long(where: str) -> AuditError:
    """The error of a log whose file ``where`` holds a line longer than any record may be."""
    return AuditError(f"it holds a line of more than {MAX_RECORD_BYTES:,} bytes, longer than any audit record",
                      where=where, fix="move it aside (mv it to a .bak name), restore the audit folder from the last "
                                       "backup (mesh dr restore) and investigate who changed it")


class FileLogStorage:
    """The log in the folder ``folder``: ``audit.jsonl`` and its companions
    (:mod:`governance.audit.log`), writers serialised by an ``flock`` on ``audit.lock``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / LOG
        self.where = str(folder)
        self._bytes = FileBytes(self.path)
        self._lock, self._head = folder / LOCK, folder / HEAD  # the files every append opens

    def size(self) -> int:
        return self._bytes.size()

    def open(self) -> AbstractContextManager[BinaryIO]:
        return self._bytes.open()

    @contextmanager
    def locked(self) -> Iterator[None]:
        try:  # every append takes it: the folder is made only when the lock file cannot be opened without it
            lock = open_log_file(self._lock, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = open_log_file(self._lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        finally:
            os.close(lock)

    def write(self, lines: Sequence[tuple[bytes, str]], first_seq: int) -> int:
        """One ``write`` of every line, ``fsync``-ed; cut back to where it was if it fails."""
        data = b"".join(line for line, _ in lines)
        fd = open_log_file(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            start = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError as exc:
                os.ftruncate(fd, start)
                raise AuditError(f"the audit record could not be written ({exc.strerror}); nothing was recorded",
                                 where=str(self.path), fix="free space on that disk and run the command again") from None
            return start + len(data)
        finally:
            os.close(fd)

    def torn(self) -> bool:
        """Whether the file ends inside a line."""
        try:
            with self._bytes.open() as fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell() == 0:
                    return False
                fh.seek(-1, os.SEEK_END)
                return fh.read(1) != b"\n"
        except FileNotFoundError:
            return False

    def cut_torn_tail(self, signed: Callable[[], int]) -> tuple[str, int, int] | None:
        if not self.torn():
            return None
        with self._bytes.open() as fh:
            size = fh.seek(0, os.SEEK_END)
            end = _last_line_end(fh, size, MAX_TORN_BYTES)
            if end is None:
                raise AuditError(f"the audit log ends in more than {MAX_TORN_BYTES:,} bytes after its last whole "
                                 "line, more than any write of records: no crash cut them", where=str(self.path),
                                 fix="run `mesh audit verify`, restore the audit folder from the last backup "
                                     "(mesh dr restore) and investigate who changed it")
            fh.seek(end)
            tail = fh.read()
            fh.seek(0)
            complete = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) if end else 0
        if (covered := signed()) > complete:  # a signed head covered that line: not a crash
            raise AuditError(f"the last line of the audit log is cut, inside what signed head {covered} covers: "
                             "the log was tampered with", where=str(self.path),
                             fix="run `mesh audit verify`, restore the audit folder from the last backup "
                                 "(mesh dr restore) and investigate who changed it")
        name = f"torn-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S%fZ')}.jsonl"
        atomic_write(self.folder / name, tail)
        with open(open_log_file(self.path, os.O_RDWR), "r+b") as fh:
            fh.truncate(end)
            os.fsync(fh.fileno())
        return name, len(tail), complete

    def head(self) -> bytes | None:
        """The head cache, or ``None`` when it is missing or its digest line does not match
        (a torn write, an older mesh's format): the log rebuilds it."""
        try:
            with open(open_log_file(self._head, os.O_RDONLY), "rb") as fh:
                raw = fh.read(MAX_HEAD_BYTES + 1)
        except FileNotFoundError:
            return None
        if len(raw) > MAX_HEAD_BYTES:  # no head the log wrote: rebuilt, and overwritten by the next append
            return None
        body, newline, digest = raw.rpartition(b"\n")
        return body if newline and hashlib.sha256(body).hexdigest().encode() == digest else None

    def save_head(self, data: bytes) -> None:
        """Overwrite the head cache in place, its last line the SHA-256 of the rest.

        A cache, rebuilt from the log when it is lost, stale or unreadable, and written on every
        append: not worth a temporary file, a rename (1-4 ms each on a loaded disk, against
        0.03 ms in place) or an fsync. A write torn by a crash fails its digest and reads as
        missing. Under the writers' lock, so no reader sees a write in progress."""
        content = data + b"\n" + hashlib.sha256(data).hexdigest().encode()
        fd = open_log_file(self._head, os.O_RDWR | os.O_CREAT)
        try:
            view = memoryview(content)
            while view:
                view = view[os.pwrite(fd, view, len(content) - len(view)):]
            os.ftruncate(fd, len(content))
        finally:
            os.close(fd)

    def checkpoints(self) -> bytes:
        return _read_log_file(self.folder / CHECKPOINTS, MAX_CHECKPOINTS_BYTES) or b""

    def add_checkpoint(self, line: bytes) -> None:
        with open(open_log_file(self.folder / CHECKPOINTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT), "ab") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def public_key(self) -> bytes | None:
        return _read_log_file(self.folder / PUBLIC_KEY, MAX_PUBLIC_KEY_BYTES)

    def keep_public_key(self, pem: bytes) -> None:
        try:  # created, never through a link: a dangling one would have the key written where it points
            fd = open_log_file(self.folder / PUBLIC_KEY, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return  # stored already, or something else is there, which reading the key refuses
        with open(fd, "wb") as fh:
            fh.write(pem)

    def mark(self, name: str) -> bytes | None:
        """The mark's bytes; those of anything but a regular file (a link, a FIFO, a device someone
        put there) read as empty: a damaged mark, never a read that blocks or never ends."""
        try:
            fd = open_regular(self.folder / mark_file(name), os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError:  # a link, a FIFO, a device (NotRegularFile), or not readable
            return b""
        with open(fd, "rb") as fh:
            data = fh.read(MAX_MARK_BYTES + 1)
        return data if len(data) <= MAX_MARK_BYTES else b""

    def save_mark(self, name: str, data: bytes) -> None:
        """Replaced atomically (a temporary file renamed over it), not fsync-ed: a mark lost to a
        crash is written again after the next long scan."""
        atomic_write(self.folder / mark_file(name), data, durable=False)

    def export(self, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        for name in (LOG, CHECKPOINTS, PUBLIC_KEY):
            if (self.folder / name).exists():
                shutil.copyfile(self.folder / name, dest / name)

    def replace_with(self, folder: Path, aside: Path) -> None:
        # copied beside it first: a copy that fails (a full disk) leaves the current log as it was
        incoming = self.folder.with_name(f".{self.folder.name}.incoming")
        shutil.rmtree(incoming, ignore_errors=True)
        try:
            shutil.copytree(folder, incoming)
        except BaseException:
            shutil.rmtree(incoming, ignore_errors=True)
            raise
        if self.folder.exists():
            os.replace(self.folder, aside)
        os.replace(incoming, self.folder)
