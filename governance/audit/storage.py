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
import os
import shutil
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from assets.atomic import atomic_write
from assets.errors import MeshError

LOG, HEAD, CHECKPOINTS, LOCK, PUBLIC_KEY = "audit.jsonl", "head.json", "checkpoints.jsonl", "audit.lock", "audit.ed25519.pub"


#: The most a scan mark file may hold (its revocations and requesters of years fit in far less);
#: a larger one reads as damaged, never as a read that fills the memory.
MAX_MARK_BYTES = 64 << 20


def mark_file(name: str) -> str:
    """The file of the scan mark ``name`` in an audit folder."""
    return f"{name}.mark.json"


class AuditError(MeshError):
    """A file of the audit log is unreadable, or a record could not be written."""


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
        with open(self.path, "rb") if self.path.exists() else open(os.devnull, "rb") as fh:
            yield fh


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
            lock = os.open(self._lock, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = os.open(self._lock, os.O_RDWR | os.O_CREAT, 0o666)
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
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
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
            with open(self.path, "rb") as fh:
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
        raw = self.path.read_bytes()
        end = raw.rfind(b"\n") + 1
        complete = raw.count(b"\n")
        if (covered := signed()) > complete:  # a signed head covered that line: not a crash
            raise AuditError(f"the last line of the audit log is cut, inside what signed head {covered} covers: "
                             "the log was tampered with", where=str(self.path),
                             fix="run `mesh audit verify`, restore the audit folder from the last backup "
                                 "(mesh dr restore) and investigate who changed it")
        name = f"torn-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S%fZ')}.jsonl"
        atomic_write(self.folder / name, raw[end:])
        with open(self.path, "r+b") as fh:
            fh.truncate(end)
            os.fsync(fh.fileno())
        return name, len(raw) - end, complete

    def head(self) -> bytes | None:
        """The head cache, or ``None`` when it is missing or its digest line does not match
        (a torn write, an older mesh's format): the log rebuilds it."""
        try:
            raw = self._head.read_bytes()
        except FileNotFoundError:
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
        fd = os.open(self._head, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            view = memoryview(content)
            while view:
                view = view[os.pwrite(fd, view, len(content) - len(view)):]
            os.ftruncate(fd, len(content))
        finally:
            os.close(fd)

    def checkpoints(self) -> bytes:
        try:
            return (self.folder / CHECKPOINTS).read_bytes()
        except FileNotFoundError:
            return b""

    def add_checkpoint(self, line: bytes) -> None:
        with open(self.folder / CHECKPOINTS, "ab") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def public_key(self) -> bytes | None:
        try:
            return (self.folder / PUBLIC_KEY).read_bytes()
        except FileNotFoundError:
            return None

    def keep_public_key(self, pem: bytes) -> None:
        path = self.folder / PUBLIC_KEY
        if not path.exists():
            path.write_bytes(pem)

    def mark(self, name: str) -> bytes | None:
        """The mark's bytes; those of anything but a regular file (a link, a FIFO, a device someone
        put there) read as empty: a damaged mark, never a read that blocks or never ends."""
        try:
            fd = os.open(self.folder / mark_file(name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError:  # a symbolic link (ELOOP), or not readable
            return b""
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return b""
            with open(fd, "rb", closefd=False) as fh:
                data = fh.read(MAX_MARK_BYTES + 1)
            return data if len(data) <= MAX_MARK_BYTES else b""
        finally:
            os.close(fd)

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
