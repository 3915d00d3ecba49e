"""The audit log in the state database, for a mesh whose ``[state] url`` names one: every
worker on every host appends to one chain.

The records are rows of ``audit_lines``: the exact line bytes the folder store would write, the
record's hash, its number (``seq``) and ``start``, the line's first byte in the log's byte
stream. Concatenated in ``seq`` order they are ``audit.jsonl`` byte for byte, so the block roots
of the signed heads, verification, backups (exported as files) and the witnesses work as for
the folder. Appends are serialised by the database: a transaction that takes the advisory lock
``audit-log`` on PostgreSQL (``BEGIN IMMEDIATE`` on SQLite), reads the head, writes the records,
the head and any signed head, and commits all of them or none. There is no torn line to set
aside: a crashed writer's transaction never commits.

The head, the pinned public key and the signed scan marks (:mod:`governance.audit.marks`, row
``mark:<name>``) are rows of ``audit_meta``; a mark is written in a transaction of its own.

An audit folder the mesh kept before ``[state]`` named the database is imported into an empty
log on first use (lines, signed heads and public key unchanged, so what the witnesses saw still
verifies); the folder is left as it was.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Connection, delete, func, insert, select

from governance.audit.lines import decode_line
from governance.audit.storage import CHECKPOINTS, LOG, PUBLIC_KEY
from governance.state import StateDatabase
from governance.state.legacy import import_once, insert_new
from governance.state.schema import audit_checkpoints, audit_lines, audit_meta

#: The lock every appender takes.
APPEND_LOCK = "audit-log"
#: The lock writers of scan marks take.
MARK_LOCK = "audit-mark"
#: The ``audit_meta`` row of scan mark ``name`` is ``mark:<name>``.
_MARK = "mark:"
#: Lines fetched per query when the log's bytes are read.
BATCH = 2048
#: Rows inserted per statement when a log is imported.
IMPORT_BATCH = 1000


class DatabaseLogStorage:
    """The audit log in ``database``; ``legacy`` is an audit folder to import into an empty log."""

    def __init__(self, database: StateDatabase, legacy: Path | None = None) -> None:
        self.database = database
        self.legacy = legacy
        self.where = f"the audit log in the state database {database.where}"
        self._local = threading.local()

    # -- the lock ---------------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        self._import()
        with self.database.write(lock=APPEND_LOCK) as conn:
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """The locked transaction of this thread, which sees what it wrote; else a reading one."""
        held = getattr(self._local, "conn", None)
        if held is not None:
            yield held
            return
        self._import()
        with self.database.read() as conn:
            yield conn

    # -- the bytes --------------------------------------------------------------------------
    def size(self) -> int:
        with self._connection() as conn:
            return _size(conn)

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        with self._connection() as conn:
            with io.BufferedReader(_LinesReader(conn, _size(conn)), buffer_size=1 << 20) as reader:
                yield reader

    def write(self, lines: Sequence[tuple[bytes, str]], first_seq: int) -> int:
        conn = self._local.conn
        start = _size(conn)
        rows = []
        for offset, (line, digest) in enumerate(lines):
            rows.append({"seq": first_seq + offset, "start": start, "line": line, "hash": digest})
            start += len(line)
        conn.execute(insert(audit_lines), rows)
        return start

    def cut_torn_tail(self, signed: Callable[[], int]) -> tuple[str, int, int] | None:
        return None  # a transaction commits whole lines or none

    # -- the rest of the log ----------------------------------------------------------------
    def head(self) -> bytes | None:
        return self._meta("head")

    def save_head(self, data: bytes) -> None:
        self._set_meta("head", data)

    def checkpoints(self) -> bytes:
        with self._connection() as conn:
            return b"".join(bytes(line) for line in conn.execute(
                select(audit_checkpoints.c.line).order_by(audit_checkpoints.c.n)).scalars())

    def add_checkpoint(self, line: bytes) -> None:
        conn = self._local.conn
        count = conn.execute(select(func.count()).select_from(audit_checkpoints)).scalar_one()
        conn.execute(insert(audit_checkpoints).values(n=count, line=line))

    def public_key(self) -> bytes | None:
        return self._meta("public_key")

    def keep_public_key(self, pem: bytes) -> None:
        if self.public_key() is None:
            self._set_meta("public_key", pem)

    def mark(self, name: str) -> bytes | None:
        return self._meta(_MARK + name)

    def save_mark(self, name: str, data: bytes) -> None:
        """In a transaction of its own, serialised with the other writers of marks (not with the
        log's appenders: a mark is written after a read, never under the log's lock)."""
        if (held := getattr(self._local, "conn", None)) is not None:
            _set_meta(held, _MARK + name, data)
            return
        with self.database.write(lock=MARK_LOCK) as conn:
            _set_meta(conn, _MARK + name, data)

    def export(self, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        with self.open() as reader, open(dest / LOG, "wb") as out:
            while chunk := reader.read(1 << 20):
                out.write(chunk)
        (dest / CHECKPOINTS).write_bytes(self.checkpoints())
        if (pem := self.public_key()) is not None:
            (dest / PUBLIC_KEY).write_bytes(pem)

    def replace_with(self, folder: Path, aside: Path) -> None:
        with self.locked():
            self.export(aside)
            conn = self._local.conn
            for table in (audit_lines, audit_checkpoints, audit_meta):
                conn.execute(delete(table))
            load_folder(conn, folder)

    # -- internals --------------------------------------------------------------------------
    def _meta(self, name: str) -> bytes | None:
        with self._connection() as conn:
            value = conn.execute(select(audit_meta.c.value).where(audit_meta.c.name == name)).scalar()
        if value is None:
            return None
        # SQLite keeps whatever type it is given: text or a number put there by hand is damaged
        # bytes (never bytes(text), a TypeError, nor bytes(n), n zero bytes)
        return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else b""

    def _set_meta(self, name: str, value: bytes) -> None:
        _set_meta(self._local.conn, name, value)

    def _import(self) -> None:
        if self.legacy is not None:
            import_once(self.database, "audit", self.legacy / LOG, self._copy_legacy)

    def _copy_legacy(self, conn: Connection) -> int:
        """The folder's log, into a log that is still empty (one the database already holds is
        never mixed with another)."""
        assert self.legacy is not None
        if _size(conn):
            return 0
        return load_folder(conn, self.legacy)


def load_folder(conn: Connection, folder: Path) -> int:
    """Copy the log in ``folder`` (the folder store's files) into the empty tables, byte for
    byte: its complete lines, signed heads and public key. Returns the records copied."""
    count, start, rows = 0, 0, []
    path = folder / LOG
    if path.exists():
        with open(path, "rb") as fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    break  # a torn last line: never covered by a signed head, not a record
                try:
                    digest = decode_line(line)[1]
                except ValueError:
                    digest = ""  # kept as it is: verification names the bad line
                rows.append({"seq": count, "start": start, "line": line, "hash": digest[:64]})
                count, start = count + 1, start + len(line)
                if len(rows) == IMPORT_BATCH:
                    conn.execute(insert(audit_lines), rows)
                    rows = []
    if rows:
        conn.execute(insert(audit_lines), rows)
    if (folder / CHECKPOINTS).exists():
        lines = (folder / CHECKPOINTS).read_bytes().splitlines(keepends=True)
        if lines:
            conn.execute(insert(audit_checkpoints), [{"n": n, "line": line} for n, line in enumerate(lines)])
    if (folder / PUBLIC_KEY).exists():
        conn.execute(insert_new(conn, audit_meta).values(name="public_key", value=(folder / PUBLIC_KEY).read_bytes()))
    return count


def _set_meta(conn: Connection, name: str, value: bytes) -> None:
    """Row ``name`` of ``audit_meta`` set to ``value``, made or replaced."""
    if conn.execute(select(audit_meta.c.name).where(audit_meta.c.name == name)).first() is None:
        conn.execute(insert(audit_meta).values(name=name, value=value))
    else:
        conn.execute(audit_meta.update().where(audit_meta.c.name == name).values(value=value))


def _size(conn: Connection) -> int:
    last = conn.execute(select(audit_lines.c.start, func.length(audit_lines.c.line))
                        .order_by(audit_lines.c.seq.desc()).limit(1)).first()
    return 0 if last is None else int(last[0]) + int(last[1])


class _LinesReader(io.RawIOBase):
    """The first ``size`` bytes of the lines in ``audit_lines``, in ``seq`` order, as a
    seekable stream: a seek finds the line holding the offset by its ``start``."""

    def __init__(self, conn: Connection, size: int) -> None:
        super().__init__()
        self._conn, self._size, self._pos = conn, size, 0
        self._buffer, self._buffer_start = b"", 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._pos >= self._size:
            return 0
        if not self._buffer_start <= self._pos < self._buffer_start + len(self._buffer):
            self._fill()
        at = self._pos - self._buffer_start
        count = min(len(buffer), len(self._buffer) - at, self._size - self._pos)
        buffer[:count] = self._buffer[at:at + count]
        self._pos += count
        return count

    def _fill(self) -> None:
        first = self._conn.execute(select(audit_lines.c.seq).where(audit_lines.c.start <= self._pos)
                                   .order_by(audit_lines.c.start.desc()).limit(1)).scalar_one()
        rows = self._conn.execute(select(audit_lines.c.start, audit_lines.c.line).where(audit_lines.c.seq >= first)
                                  .order_by(audit_lines.c.seq).limit(BATCH)).all()
        self._buffer_start = int(rows[0][0])
        self._buffer = b"".join(bytes(line) for _, line in rows)
