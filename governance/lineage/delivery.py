"""Delivery of lineage events: an outbox first, then the transport, and re-sends later.

Every event is written to an outbox (the ``events`` table of the state database, sent by
:mod:`governance.state.outbox`) before it is sent, keyed by run id and event type, so a replayed update emits nothing twice. Sending goes
oldest first, by one sender at a time across processes and hosts (the database's lock
``lineage-outbox``), so no event is sent twice; the first failure stops the pass (the backend is
down, and waiting on each event's timeout would only slow the run), leaving the rest for the
next pass. A data run never fails because lineage could not be delivered: the miss is kept,
counted and reported. Its commits are not synced to disk (a power cut may lose the last events
or send one again: a gap in lineage, never in the audit log). The outbox an earlier mesh kept in ``.mesh/state/lineage.sqlite`` is
imported on first use.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select

from assets.named_files import require_regular
from governance.lineage.config import file_transport_paths
from governance.lineage.event_json import EventJSON
from governance.state import StateDatabase, StateError
from governance.state.legacy import import_once, insert_new, insert_new_in, sqlite_rows
from governance.state.outbox import flush_outbox, stamp
from governance.state.prepared import Prepared
from governance.state.rows import checked, require_texts, stored_time
from governance.state.schema import events
from governance.state.stored import FIX as STORED_FIX
from governance.state.stored import column_json

if TYPE_CHECKING:  # the client is imported when an event is built or sent (see governance.lineage.event_json)
    from openlineage.client.event_v2 import RunEvent
    from openlineage.client.transport import Transport

#: The file an earlier mesh kept the outbox in, under ``.mesh``.
LEGACY_FILE = Path("state") / "lineage.sqlite"
#: The lock of the one sender.
SENDER_LOCK = "lineage-outbox"


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
    """The outbox in ``database`` and the transport it delivers to; ``legacy`` is an earlier
    mesh's outbox file to import first."""

    def __init__(self, database: StateDatabase, transport: dict[str, Any], legacy: Path | None = None) -> None:
        self.database = database
        self.transport_config = transport
        self.legacy = legacy
        self._transport: Transport | None = None
        self._files = file_transport_paths(transport)
        self._lock = threading.RLock()

    def emit(self, event: RunEvent | EventJSON) -> Delivery:
        """Record ``event`` and deliver everything pending."""
        new: list[bool] = []
        delivery = self._flush(lambda conn: new.append(_insert(conn, event)))  # in the transaction that reads what is pending
        return Delivery(new[0], delivery.sent, delivery.pending, delivery.error)

    def record(self, event: RunEvent | EventJSON) -> bool:
        """Record ``event`` to be delivered by a later flush (in the state database's joined
        block, if one is open: see :meth:`StateDatabase.joined`); whether it is new."""
        self._import()
        with self.database.write(durable=False) as conn:
            return _insert(conn, event)

    def flush(self) -> Delivery:
        """Send pending events, oldest first, until one fails."""
        return self._flush(None)

    def _flush(self, record: Callable[[Connection], None] | None) -> Delivery:
        self._import()
        with self._lock:
            done = flush_outbox(self.database, events, SENDER_LOCK,
                                lambda row: self._send(self._event(row.seq, row.body)), now=dt.datetime.now(dt.UTC),
                                record=record)
        return Delivery(False, done.sent, done.pending, done.error)

    def _send(self, event: RunEvent) -> None:
        """Hand ``event`` to the transport. Its file transports append with ``open(path, "a")``,
        which waits for a reader on a FIFO and follows a link (to /etc/passwd, as root): each file
        must be missing or a regular file, else :class:`NotRegularFile` is the send's failure (the
        event stays in the outbox, and the miss names the file)."""
        for file in self._files:
            try:
                require_regular(os.lstat(file), str(file))
            except FileNotFoundError:
                pass
        self.transport.emit(event)

    def status(self) -> OutboxStatus:
        """How many events are pending and sent, and when the oldest pending one was recorded and
        its last error; :class:`StateError` naming that event unless its row is the mesh's."""
        self._import()
        with self._lock, self.database.read() as conn:
            pending = conn.execute(select(func.count()).where(events.c.sent_at.is_(None))).scalar_one()
            sent = conn.execute(select(func.count()).where(events.c.sent_at.is_not(None))).scalar_one()
            oldest = conn.execute(select(events.c.seq, events.c.created_at, events.c.last_error)
                                  .where(events.c.sent_at.is_(None)).order_by(events.c.seq).limit(1)).first()
        if oldest is None:
            return OutboxStatus(pending, sent, None, None)
        with checked(f"lineage event {oldest.seq} in the outbox", self.database.where):
            require_texts(oldest._mapping, ("created_at",), ("last_error",))
            stored_time(oldest.created_at, "created_at")
        return OutboxStatus(pending, sent, oldest.created_at, oldest.last_error)

    def events(self) -> list[dict[str, Any]]:
        """Every recorded event, oldest first (sent or not)."""
        self._import()
        with self._lock, self.database.read() as conn:
            rows = conn.execute(select(events.c.seq, events.c.body).order_by(events.c.seq)).all()
        return [self._event(seq, body) for seq, body in rows]

    def _event(self, seq: int, body: str) -> Any:
        """The OpenLineage event the outbox row ``seq`` holds; :class:`StateError` unless it is
        the JSON object the mesh wrote (a row that is not stays pending, its error kept)."""
        what = f"lineage event {seq} in the outbox"
        event = column_json(body, what=what, where=self.database.where)
        if not isinstance(event, dict):
            raise StateError(f"{what} is not a JSON object", where=self.database.where, fix=STORED_FIX)
        return event

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            from openlineage.client.transport import get_default_factory

            self._transport = get_default_factory().create(config=self.transport_config)
        return self._transport

    def _import(self) -> None:
        if self.legacy is not None:
            import_once(self.database, "lineage", self.legacy, self._copy_legacy)

    def _copy_legacy(self, conn: Connection) -> int:
        assert self.legacy is not None
        rows = sqlite_rows(self.legacy, "SELECT id, body, created_at, sent_at, attempts, last_error FROM events "
                                        "ORDER BY seq")
        if rows:
            conn.execute(insert_new(conn, events), rows)
        return len(rows)


#: The outbox's insert-or-ignore of one event (by dialect), prepared once per process (its values
#: come as parameters: building it per event cost SQLAlchemy a cache key and coercions).
_INSERT = Prepared(lambda dialect: insert_new_in(dialect, events).returning(events.c.seq))


def _insert(conn: Connection, event: RunEvent | EventJSON) -> bool:
    """Write ``event`` into the outbox, keyed by its run and type; whether it was not there yet."""
    recorded = event if isinstance(event, EventJSON) else EventJSON.of(event)
    return _INSERT.execute(conn, {"id": recorded.id, "body": recorded.body, "created_at": _now()}).first() is not None


def _now() -> str:
    return stamp(dt.datetime.now(dt.UTC))
