"""Grant requests in the state database, for a mesh whose ``[state] url`` names one.

A request and its approvals so far are a row of ``grant_requests``, seen by everyone who shares
the database, whatever host they run ``mesh access`` on. Approvals are signed exactly as in
``mesh.toml`` (:mod:`governance.identity.approvals`), so a request is checked with the same
rules. The approval that completes a request writes it, with every approval and signature, to
``mesh.toml`` as a ``[[grants]]`` entry (the council's file stays the one source of policy) and
marks the row ``granted``; a revoked request is marked ``withdrawn``. Each change of a row holds
its row lock (``SELECT ... FOR UPDATE``; SQLite's write lock), so two approvers at once both
count.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy import Connection, RowMapping, String, insert, select, type_coerce, update

from assets.errors import MeshError
from governance.policy import Grant, MeshPolicy
from governance.state import StateDatabase, StateError, state_database
from governance.state.rows import checked, require_texts
from governance.state.schema import grant_requests
from governance.state.stored import FIX as STORED_FIX
from governance.state.stored import column_json

PENDING, GRANTED, WITHDRAWN = "pending", "granted", "withdrawn"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


#: Where a grant request's row is.
WHERE = "the state database's grant_requests table"
#: The columns of a request, its expiry date read as the database holds it: SQLAlchemy's date type
#: would parse SQLite's text as it fetches the row, before :func:`_grant` could check it.
_COLUMNS = (*(c for c in grant_requests.c if c.name != "expires"),
            type_coerce(grant_requests.c.expires, String).label("expires"))


def _grant(row: RowMapping) -> Grant:
    """The grant a row of ``grant_requests`` asks for, with its approvals so far; :class:`StateError`
    naming the request unless the row holds what the mesh writes."""
    what = f"grant request {str(row['id'])[:80]}"
    with checked(what, WHERE):
        require_texts(row, ("id", "nonce", "product", "consumer", "purpose", "requested_by", "state"))
        expires = _date(row["expires"])
    approvals = column_json(row["approvals"], what=f"the approvals of {what}", where=WHERE)
    if not isinstance(approvals, dict) or not all(isinstance(v, str) for v in approvals.values()):
        raise StateError(f"the approvals of {what} are not a JSON object of signatures", where=WHERE, fix=STORED_FIX)
    try:
        return Grant(id=row["id"], nonce=row["nonce"], product=row["product"], consumer=row["consumer"],
                     purpose=row["purpose"], requested_by=row["requested_by"], expires=expires,
                     approved_by=tuple(approvals), signatures=approvals)
    except MeshError as exc:  # the checks of a [[grants]] entry: name the row, not mesh.toml
        raise StateError(f"{what} is not one the mesh wrote ({exc.heading[:200]})", where=WHERE,
                         fix=STORED_FIX) from None


def _date(value: object) -> dt.date:
    """An expiry date as the database holds it (a date; ISO text in SQLite); :class:`ValueError`
    for anything else."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("its expires is no date")


@dataclass(frozen=True, slots=True)
class GrantRequests:
    """The pending grant requests in ``database``."""

    database: StateDatabase

    def add(self, grant: Grant) -> None:
        """Record the new request ``grant`` (no approvals yet)."""
        with self.database.write() as conn:
            conn.execute(insert(grant_requests).values(
                id=grant.id, nonce=grant.nonce, product=grant.product, consumer=grant.consumer, purpose=grant.purpose,
                requested_by=grant.requested_by, expires=grant.expires, approvals="{}", state=PENDING,
                created_at=_now(), updated_at=_now()))

    def ids(self) -> set[str]:
        """Every id a request ever had (granted and withdrawn ones too: ids are never reused)."""
        with self.database.read() as conn:
            return set(conn.execute(select(grant_requests.c.id)).scalars())

    def pending(self) -> list[Grant]:
        """The requests still waiting, oldest first, as grants with the approvals they have."""
        with self.database.read() as conn:
            rows = conn.execute(select(*_COLUMNS).where(grant_requests.c.state == PENDING)
                                .order_by(grant_requests.c.created_at)).mappings().all()
        return [_grant(r) for r in rows]

    def find(self, grant_id: str) -> Grant | None:
        """The pending request ``grant_id``, or ``None``."""
        return next((g for g in self.pending() if g.id == grant_id), None)

    @contextmanager
    def changing(self, grant_id: str) -> Iterator[RequestChange | None]:
        """The pending request ``grant_id`` under its row lock, to change in one transaction;
        ``None`` if it is no longer pending."""
        with self.database.write() as conn:
            query = select(*_COLUMNS).where(grant_requests.c.id == grant_id,
                                                 grant_requests.c.state == PENDING)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).mappings().first()
            yield RequestChange(conn, _grant(row)) if row is not None else None


@dataclass
class RequestChange:
    """A pending request being changed in an open transaction."""

    conn: Connection
    grant: Grant

    def approve(self, who: str, signature: str, *, nonce: str) -> Grant:
        """Add ``who``'s signed approval (replacing an earlier one of theirs), made over ``nonce``;
        the request as now (with ``nonce``, if it had none)."""
        approvals = {**self.grant.signatures, who: signature}
        self.conn.execute(update(grant_requests).where(grant_requests.c.id == self.grant.id)
                          .values(approvals=json.dumps(approvals, sort_keys=True), nonce=nonce, updated_at=_now()))
        self.grant = replace(self.grant, approved_by=tuple(approvals), signatures=approvals, nonce=nonce)
        return self.grant

    def close(self, state: str) -> None:
        """Mark the request ``granted`` or ``withdrawn``."""
        self.conn.execute(update(grant_requests).where(grant_requests.c.id == self.grant.id)
                          .values(state=state, updated_at=_now()))


def grant_requests_of(policy: MeshPolicy) -> GrantRequests | None:
    """Where the mesh keeps grant requests: the state database when ``[state]`` names one;
    ``None`` when they are pending ``[[grants]]`` entries of ``mesh.toml``."""
    return GrantRequests(state_database(policy)) if policy.state.shared else None
