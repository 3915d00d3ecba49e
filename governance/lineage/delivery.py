"""Delivery of lineage events: an outbox first, then the transport, and re-sends later.

Every event is written to a SQLite outbox (``.mesh/state/lineage.sqlite``) before it is sent,
keyed by run id and event type, so a replayed update emits nothing twice. Sending goes
oldest first; the first failure stops the pass (the backend is down, and waiting on each event's
timeout would only slow the run), leaving the rest for the next pass. A data run never fails
because lineage could not be delivered: the miss is kept, counted and reported.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from openlineage.client.event_v2 import RunEvent
from openlineage.client.serde import Serde
from openlineage.client.transport import Transport, get_default_factory

from assets.errors import StorageError
from governance.sqlite_migrations import migrate

#: The outbox schema, one step per version (governance.sqlite_migrations): append, never edit.
MIGRATIONS = ("""
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS pending ON events (seq) WHERE sent_at IS NULL;
""",)

#: How long a writer waits for the outbox when another process holds it.
BUSY_SECONDS = 30.0
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one emit or flush: events sent now, still pending, and the last error."""

    new: bool
    sent: int
    pending: int
    error: str | None = None

    def describe(self) -> str:
        if self.error:
            return (f"lineage backend unreachable ({self.error}); {self.pending} event(s) kept for re-sending "
                    "(mesh lineage --flush)")
        return f"{self.sent} event(s) sent, {self.pending} pending"


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    pending: int
    sent: int
    oldest_pending: str | None
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"pending": self.pending, "sent": self.sent, "oldest_pending": self.oldest_pending,
                "last_error": self.last_error}


class LineageOutbox:
    """The outbox at ``path`` and the transport it delivers to."""

    def __init__(self, path: Path, transport: dict[str, Any]) -> None:
        self.path = path
        self.transport_config = transport
        self._transport: Transport | None = None
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def emit(self, event: RunEvent) -> Delivery:
        """Record ``event`` and deliver everything pending."""
        body = Serde.to_json(event)
        assert event.eventType is not None  # the mesh's events always have one
        event_id = f"{event.run.runId}:{event.eventType.value}"
        with self._lock:
            new = _patiently(lambda: self._connection().execute(
                "INSERT OR IGNORE INTO events (id, body, created_at) VALUES (?, ?, ?)",
                (event_id, body, _now())).rowcount == 1)
        delivery = self.flush()
        return Delivery(new, delivery.sent, delivery.pending, delivery.error)

    def flush(self) -> Delivery:
        """Send pending events, oldest first, until one fails."""
        sent, error = 0, None
        with self._lock, self._exclusive():
            conn = self._connection()
            for seq, body in conn.execute("SELECT seq, body FROM events WHERE sent_at IS NULL ORDER BY seq").fetchall():
                try:
                    self.transport.emit(json.loads(body))
                except Exception as exc:  # any transport failure: keep the event, report the miss
                    error = f"{type(exc).__name__}: {str(exc)[:300]}"
                    conn.execute("UPDATE events SET attempts = attempts + 1, last_error = ? WHERE seq = ?", (error, seq))
                    break
                conn.execute("UPDATE events SET sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE seq = ?",
                             (_now(), seq))
                sent += 1
            pending = conn.execute("SELECT COUNT(*) FROM events WHERE sent_at IS NULL").fetchone()[0]
        return Delivery(False, sent, pending, error)

    def status(self) -> OutboxStatus:
        if not self.path.exists():
            return OutboxStatus(0, 0, None, None)
        with self._lock:
            conn = self._connection()
            pending, sent = conn.execute(
                "SELECT COUNT(*) FILTER (WHERE sent_at IS NULL), COUNT(*) FILTER (WHERE sent_at IS NOT NULL) "
                "FROM events").fetchone()
            oldest, error = conn.execute("SELECT created_at, last_error FROM events WHERE sent_at IS NULL "
                                         "ORDER BY seq LIMIT 1").fetchone() or (None, None)
        return OutboxStatus(pending, sent, oldest, error)

    def events(self) -> list[dict[str, Any]]:
        """Every recorded event, oldest first (sent or not)."""
        if not self.path.exists():
            return []
        with self._lock:
            return [json.loads(body) for (body,) in self._connection().execute("SELECT body FROM events ORDER BY seq")]

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = get_default_factory().create(config=self.transport_config)
        return self._transport

    def _connection(self) -> sqlite3.Connection:
        """One connection per process, kept open (closing one checkpoints the WAL: slow)."""
        if self._conn is None or self._pid != os.getpid():
            self._conn, self._pid = self._connect(), os.getpid()
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
            # Switching to WAL while another connection writes fails at once ("database is
            # locked"), without waiting on the busy timeout: retry until it is free.
            _patiently(lambda: conn.execute("PRAGMA journal_mode=WAL"))
            # NORMAL in WAL mode: a commit survives a crash of the process, not a power cut; a lost
            # event then is a gap in lineage, never in the audit log, which syncs every append.
            conn.execute("PRAGMA synchronous=NORMAL")
            _patiently(lambda: migrate(conn, self.path, MIGRATIONS))
        except sqlite3.DatabaseError as exc:
            conn.close()
            if "locked" in str(exc):  # still busy after waiting: not a damaged file
                raise
            raise StorageError(f"the lineage outbox is not a readable SQLite database ({exc})", where=str(self.path),
                               fix="move the file aside and run again: a new, empty outbox is made (events it "
                                   "had not delivered are lost)") from None
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One sender at a time across processes, so no event is sent twice by two flushes."""
        with open(self.path.with_suffix(".lock"), "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _patiently(step: Callable[[], _T], seconds: float = BUSY_SECONDS) -> _T:
    """Run ``step``, again while SQLite answers that the database is locked or busy (for up to
    ``seconds``), so an event is recorded once another writer lets go, never dropped."""
    deadline, pause = time.monotonic() + seconds, 0.005
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if not ("locked" in str(exc) or "busy" in str(exc)) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
