"""An outbox in the state database: rows written before they are sent, sent oldest first by one
sender at a time, kept with their last error when sending fails, and sent again later.

Used by the lineage events (:mod:`governance.lineage.delivery`) and the alert notifications
(:mod:`governance.alerts.sink`). A table is an outbox when it has the columns ``seq`` (the order),
``sent_at``, ``attempts`` and ``last_error``; with ``next_attempt_at`` as well, a failed row waits
an exponentially growing pause (:data:`OUTBOX_BACKOFF`, an :class:`assets.retrying.Backoff`) before it is tried again.

Rows go to ``channel`` (a column naming the destination, such as a notifier; one destination when
``None``): the first failure of a channel ends that channel's pass (it is down, and waiting on each
row's timeout would only slow the caller), leaving its rows for the next pass; the other
channels go on. Commits are not synced to disk: a power cut may send a row twice or lose the
last ones, never the audit log's records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)

from assets.backoff import Backoff
from governance.state.database import StateDatabase
from governance.state.prepared import Prepared
from governance.state.rows import stored_count

#: The pause before an outbox row is tried again: 30 s, doubled after each failure, at most an hour.
OUTBOX_BACKOFF = Backoff(first=30.0, factor=2.0, cap=3600.0)


#: Rows read at a time: a pass whose destination is down stops after the first batch, so a
#: long outage (many rows waiting) does not make every pass read them all.
BATCH = 256


@dataclass(frozen=True, slots=True)
class Flushed:
    """One pass: rows sent now, rows still pending (waiting or failed), the last error, and the
    rows the pass read."""

    sent: int
    pending: int
    error: str | None = None
    read: int = 0


def stamp(at: dt.datetime) -> str:
    """A time as the outboxes store it: UTC ISO 8601 in milliseconds, so text order is time order."""
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class _Statements:
    """The statements of a pass over one outbox table, built once per table (a pass runs for
    nearly every run of an asset; a statement built each time costs SQLAlchemy its cache key and
    the coercion of each value again; the marking and counting every pass ends with are prepared:
    :mod:`governance.state.prepared`). Their values come as parameters: ``b_now`` (with a
    back-off), ``b_after``, ``b_seqs``, ``b_sent_at``, ``b_seq``, ``b_error``, ``b_next``."""

    pending: Select[tuple[object, ...]]
    after: Select[tuple[object, ...]]
    mark_sent: Prepared
    mark_failed: Update
    left: Prepared


@cache
def _statements(table: Table, backoff: bool) -> _Statements:
    due: ColumnElement[bool] = table.c.sent_at.is_(None)
    if backoff:
        due = and_(due, or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= bindparam("b_now")))
    failed = {"attempts": table.c.attempts + 1, "last_error": bindparam("b_error")}
    if backoff:
        failed["next_attempt_at"] = bindparam("b_next")
    return _Statements(
        pending=select(table).where(due).order_by(table.c.seq).limit(BATCH),
        after=select(table).where(and_(due, table.c.seq > bindparam("b_after"))).order_by(table.c.seq).limit(BATCH),
        mark_sent=Prepared(update(table).where(table.c.seq.in_(bindparam("b_seqs", expanding=True)))
                           .values(sent_at=bindparam("b_sent_at"), attempts=table.c.attempts + 1, last_error=None)),
        mark_failed=update(table).where(table.c.seq == bindparam("b_seq")).values(failed),
        left=Prepared(select(func.count()).select_from(table).where(table.c.sent_at.is_(None))))


def flush_outbox(database: StateDatabase, table: Table, lock: str, send: Callable[[Row], None], *,
                 now: dt.datetime, channel: str | None = None, backoff: Backoff | None = None,
                 describe: Callable[[Exception], str] | None = None,
                 record: Callable[[Connection], None] | None = None) -> Flushed:
    """Send the pending rows of ``table`` with ``send`` (which raises when a row could not be
    delivered), holding the lock ``lock`` across processes. ``describe`` turns a failure into the
    text kept in ``last_error`` (default: its type and message); it must not hold secrets.

    ``record`` writes the caller's new rows first, in the transaction that reads the pending
    ones (so recording and sending one row is two transactions, not three); they are committed
    before anything is sent."""
    describe = describe or (lambda exc: f"{type(exc).__name__}: {str(exc)[:300]}")
    sent: list[int] = []
    failed: list[dict[str, object]] = []
    error, down = None, set()
    statements = _statements(table, backoff is not None)
    at = {"b_now": stamp(now)} if backoff is not None else {}
    read = 0
    with database.exclusive(lock):
        with database.write(durable=False) if record is not None else database.read() as conn:
            if record is not None:
                record(conn)
            rows = conn.execute(statements.pending, at).all()
        if not rows and backoff is None:  # nothing pending at all: nothing to mark or count
            return Flushed(0, 0)
        while rows:
            read += len(rows)
            for row in rows:
                where = row._mapping[channel] if channel is not None else None
                if where in down:
                    continue
                try:
                    send(row)
                except Exception as exc:  # any failure of the destination: keep the row, report the miss
                    error = describe(exc)
                    down.add(where)
                    values: dict[str, object] = {"b_seq": row.seq, "b_error": error}
                    if backoff is not None:
                        values["b_next"] = stamp(now + dt.timedelta(seconds=backoff.wait(_failed_attempt(row))))
                    failed.append(values)
                    continue
                sent.append(row.seq)
            if len(rows) < BATCH or (channel is None and down):
                break
            with database.read() as conn:
                rows = conn.execute(statements.after, {**at, "b_after": rows[-1].seq}).all()
        # one transaction for the pass: a crash before it sends this pass's rows again, never loses one
        with database.write(durable=False) as conn:
            for start in range(0, len(sent), BATCH):  # bounded statements, however long the backlog
                statements.mark_sent.execute(conn, {"b_seqs": sent[start:start + BATCH], "b_sent_at": stamp(now)})
            for values in failed:
                conn.execute(statements.mark_failed, values)
            left = statements.left.execute(conn, {}).scalars()[0]
    return Flushed(len(sent), left, error, read)


def _failed_attempt(row: Row) -> int:
    """Which attempt (1-based) at sending ``row`` just failed: one more than the attempts it
    counts, or the first when its count is none the mesh keeps (a row edited by hand: its error,
    which the sender's check of the row raised, says so)."""
    try:
        return stored_count(row.attempts, "attempts") + 1
    except ValueError:
        return 1
