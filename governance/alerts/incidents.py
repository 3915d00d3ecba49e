"""Incidents in the state database: one per condition of one subject while it lasts.

A signal opens an incident, or updates the open one with the same ``incident_key`` (a count
and the latest summary: no new alert); a recovery resolves it; a person acknowledges it; an
incident nobody acknowledged in its route's ``ack_minutes`` escalates to the next route. Each
change that tells someone writes its notifications to the outbox in the same transaction, so
an incident is never changed without its messages, nor a message queued without its change.

The partitions of an asset alert together. A failed partition (a signal whose details name its
``partition``) is its own incident, resolved when that partition publishes, but while another
partition of the same asset has an open, alerted incident of the same kind, it sends no alert of
its own: it is *alerted with* that one (``details["alerted_with"]``), whose ``fired`` counts it.
When the alerted incident resolves while others of its group are still open, the oldest of them
takes its routes, escalation clock and acknowledgement, and no resolve is sent yet: one resolve
goes out when the last failed partition publishes. A backfill whose 365 days all fail sends one
alert, not 365.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update

from assets.partition_reads import split_label
from governance.alerts.message import AlertMessage, Event
from governance.alerts.signals import Recovery, Signal
from governance.policy.alerts import Route
from governance.state import StateDatabase, StateError
from governance.state.outbox import stamp
from governance.state.prepared import Prepared
from governance.state.rows import checked, require_texts, stored_count, stored_time
from governance.state.schema import incidents, notifications
from governance.state.stored import FIX as STORED_FIX
from governance.state.stored import column_json

#: The write lock of the incidents (PostgreSQL; SQLite has one writer anyway).
LOCK = "incidents"
#: Which of the incident keys ``keys`` are open: every good run reads it, so it is prepared once.
_OPEN_AMONG = Prepared(select(incidents.c.key).where(incidents.c.key.in_(bindparam("keys", expanding=True)),
                                                     incidents.c.resolved_at.is_(None)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """One incident as stored. ``routes`` lists every route alerted, in order; ``level`` is how
    many times it escalated; ``fired`` how many signals it took."""

    id: int
    key: str
    kind: str
    subject: str
    domain: str | None
    severity: str
    summary: str
    details: dict[str, Any]
    state: str
    route: str | None
    routes: tuple[str, ...]
    fired: int
    opened_at: str
    updated_at: str
    notified_at: str
    acked_at: str | None = None
    acked_by: str | None = None
    resolved_at: str | None = None

    @property
    def level(self) -> int:
        return max(len(self.routes) - 1, 0)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "severity": self.severity, "kind": self.kind,
                "subject": self.subject, "domain": self.domain, "summary": self.summary, "route": self.route,
                "escalations": self.level, "fired": self.fired, "opened_at": self.opened_at,
                "updated_at": self.updated_at, "acked_by": self.acked_by, "acked_at": self.acked_at,
                "resolved_at": self.resolved_at, "details": self.details}

    @classmethod
    def of(cls, row: Row[Any]) -> Incident:
        """The incident a row of the ``incidents`` table holds; :class:`StateError` if its JSON
        columns are not JSON the mesh wrote."""
        m = dict(row._mapping)
        where = "the state database's incidents table"
        _check_columns(m, where)
        m["details"] = column_json(m["details"], what=f"the details of incident {m.get('id')}", where=where)
        routes = column_json(m["routes"], what=f"the routes of incident {m.get('id')}", where=where)
        if not isinstance(m["details"], dict) or not isinstance(routes, list) \
                or not all(isinstance(r, str) for r in routes):
            raise StateError(f"incident {m.get('id')} holds details or routes of the wrong shape", where=where,
                             fix=STORED_FIX)
        m["routes"] = tuple(routes)
        return cls(**m)


#: The columns of an incident row that hold text, and those that may be empty (NULL).
_TEXTS = ("key", "kind", "subject", "severity", "summary", "state", "opened_at", "updated_at", "notified_at")
_OPTIONAL_TEXTS = ("domain", "route", "acked_at", "acked_by", "resolved_at")
_TIMES = ("opened_at", "updated_at", "notified_at", "acked_at", "resolved_at")
_STATES = frozenset({"open", "acknowledged", "resolved"})


def _check_columns(m: Mapping[str, Any], where: str) -> None:
    """Raise :class:`StateError` unless the scalar columns of an incident row hold what the mesh
    writes: a row edited by hand (a number for a time, a time without a zone, an unknown state)
    would otherwise fail its readers (the dashboard compares its times with aware ones)."""
    with checked(f"incident {str(m.get('id'))[:40]}", where):
        stored_count(m["id"], "id")
        stored_count(m["fired"], "fired")
        require_texts(m, _TEXTS, _OPTIONAL_TEXTS)
        if m["state"] not in _STATES:
            raise ValueError(f"its state is none of {', '.join(sorted(_STATES))}")
        for column in _TIMES:
            if m[column] is not None:
                stored_time(m[column], column)


class IncidentStore:
    """The incidents and their outbox in ``database``; messages name the mesh ``mesh``."""

    def __init__(self, database: StateDatabase, mesh: str) -> None:
        self.database = database
        self.mesh = mesh

    def fire(self, signal: Signal, route: Route | None) -> tuple[Incident, bool]:
        """Open an incident for ``signal`` (alerting ``route``'s notifiers), or update the open one.
        Returns the incident and whether it is new."""
        at = stamp(signal.at)
        with self.database.write(lock=LOCK, durable=False) as conn:
            found = self._open(conn, signal.incident_key)
            details = dict(signal.details)
            if found is not None:
                if "alerted_with" in found.details:  # it stays alerted with its group's incident
                    details["alerted_with"] = found.details["alerted_with"]
                conn.execute(update(incidents).where(incidents.c.id == found.id).values(
                    fired=incidents.c.fired + 1, updated_at=at, summary=signal.summary,
                    details=json.dumps(details, default=str)))
                return self._get(conn, found.id), False
            lead = self._alerted_in_group(conn, signal.kind, signal.subject, details)
            if lead is not None:
                details["alerted_with"] = lead.id
                route = None  # told already: the open alert of its group covers it
                conn.execute(update(incidents).where(incidents.c.id == lead.id).values(
                    fired=incidents.c.fired + 1, updated_at=at))
            new_id = conn.execute(insert(incidents).values(
                key=signal.incident_key, kind=signal.kind, subject=signal.subject, domain=signal.domain,
                severity=signal.severity, summary=signal.summary, details=json.dumps(details, default=str),
                state="open", route=route.name if route else None, routes=json.dumps([route.name] if route else []),
                fired=1, opened_at=at, updated_at=at, notified_at=at).returning(incidents.c.id)).scalar_one()
            incident = self._get(conn, new_id)
            if route is not None:
                self._enqueue(conn, incident, "alert", route.notify, at, route.name)
            return incident, True

    def open_among(self, keys: Iterable[str]) -> set[str]:
        """Which of the incident ``keys`` are open (not resolved), in one read."""
        with self.database.read() as conn:
            return set(_OPEN_AMONG.execute(conn, {"keys": list(keys)}).scalars())

    def resolve(self, recovery: Recovery, notify: Mapping[str, Sequence[str]]) -> Incident | None:
        """Resolve the open incident of ``recovery``, telling the notifiers of each route it
        alerted (``notify``: route name to notifiers); ``None`` if none is open."""
        at = stamp(recovery.at)
        with self.database.read() as conn:  # most runs recover nothing: no write for them
            if self._open(conn, recovery.incident_key) is None:
                return None
        with self.database.write(lock=LOCK, durable=False) as conn:
            found = self._open(conn, recovery.incident_key)
            if found is None:
                return None
            return self._resolve(conn, found, recovery.summary, at, notify)

    def close(self, incident_id: int, summary: str, at: dt.datetime, notify: Mapping[str, Sequence[str]]) -> Incident:
        """Resolve the incident ``incident_id`` whatever its condition (its asset was removed, or
        a person closed it), telling the routes it alerted as :meth:`resolve` does. Raises
        :class:`LookupError` for an unknown id, :class:`ValueError` for one resolved already."""
        with self.database.write(lock=LOCK, durable=False) as conn:
            found = self._find(conn, incident_id)
            if found.resolved_at is not None:
                raise ValueError(f"incident {incident_id} is resolved already (at {found.resolved_at[:19]})")
            return self._resolve(conn, found, summary, stamp(at), notify)

    def _resolve(self, conn: Connection, found: Incident, summary: str, at: str,
                 notify: Mapping[str, Sequence[str]]) -> Incident:
        conn.execute(update(incidents).where(incidents.c.id == found.id).values(
            state="resolved", resolved_at=at, updated_at=at, summary=summary))
        incident = self._get(conn, found.id)
        if incident.routes and self._hand_over(conn, incident, at):
            return incident  # its group is still failing: the resolve waits for the last of it
        sent: set[str] = set()
        for route in incident.routes:
            fresh = [n for n in notify.get(route, ()) if n not in sent]
            self._enqueue(conn, incident, "resolve", fresh, at, route)
            sent.update(fresh)
        return incident

    def acknowledge(self, incident_id: int, who: str, at: dt.datetime) -> Incident:
        """Mark an open incident acknowledged by ``who``: it no longer escalates. Raises
        :class:`LookupError` for an unknown id, :class:`ValueError` for one not open."""
        with self.database.write(lock=LOCK, durable=False) as conn:
            found = self._find(conn, incident_id)
            if found.state != "open":
                raise ValueError(f"incident {incident_id} is {found.state}"
                                 + (f" (by {found.acked_by})" if found.acked_by else ""))
            conn.execute(update(incidents).where(incidents.c.id == incident_id).values(
                state="acknowledged", acked_at=stamp(at), acked_by=who, updated_at=stamp(at)))
            return self._get(conn, incident_id)

    def escalate(self, incident_id: int, to: Route, at: dt.datetime) -> Incident:
        """Hand the open incident to route ``to``: its notifiers are told, its ack window starts."""
        with self.database.write(lock=LOCK, durable=False) as conn:
            found = self._find(conn, incident_id)
            conn.execute(update(incidents).where(incidents.c.id == incident_id).values(
                route=to.name, routes=json.dumps([*found.routes, to.name]), notified_at=stamp(at),
                updated_at=stamp(at)))
            incident = self._get(conn, incident_id)
            self._enqueue(conn, incident, "escalation", to.notify, stamp(at), to.name)
            return incident

    def unacknowledged(self) -> list[Incident]:
        """Open incidents nobody acknowledged, oldest first."""
        with self.database.read() as conn:
            return [Incident.of(r) for r in conn.execute(
                select(incidents).where(incidents.c.state == "open").order_by(incidents.c.id))]

    def incidents(self, *, everything: bool = False) -> list[Incident]:
        """The incidents not resolved (every incident with ``everything``), newest first."""
        query = select(incidents).order_by(incidents.c.id.desc())
        if not everything:
            query = query.where(incidents.c.resolved_at.is_(None))
        with self.database.read() as conn:
            return [Incident.of(r) for r in conn.execute(query)]

    def get(self, incident_id: int) -> Incident:
        with self.database.read() as conn:
            return self._find(conn, incident_id)

    def sent(self) -> int:
        """How many notifications were delivered."""
        with self.database.read() as conn:
            return int(conn.execute(select(func.count()).select_from(notifications)
                                    .where(notifications.c.sent_at.is_not(None))).scalar_one())

    # -- in a transaction -------------------------------------------------------------------------
    def _enqueue(self, conn: Connection, incident: Incident, event: Event, notifiers: Iterable[str], at: str,
                 route: str) -> None:
        message = AlertMessage(mesh=self.mesh, incident=incident.id, event=event, kind=incident.kind,
                               subject=incident.subject, domain=incident.domain, severity=incident.severity,
                               summary=incident.summary, route=route, level=incident.level, at=at,
                               details=incident.details)
        rows = [{"incident": incident.id, "notifier": n, "event": event, "body": message.to_json(), "created_at": at}
                for n in notifiers]
        if rows:
            conn.execute(insert(notifications), rows)

    @staticmethod
    def _group(conn: Connection, kind: str, subject: str, details: Mapping[str, Any]) -> list[Incident]:
        """The open incidents of ``kind`` of the other partitions of the asset of ``subject``,
        oldest first; none when ``subject`` is not a partition's."""
        if "partition" not in details:
            return []
        asset = split_label(subject)[0]
        rows = conn.execute(select(incidents).where(
            incidents.c.kind == kind, incidents.c.subject.startswith(f"{asset}/", autoescape=True),
            incidents.c.subject != subject, incidents.c.resolved_at.is_(None)).order_by(incidents.c.id))
        return [Incident.of(r) for r in rows]

    def _alerted_in_group(self, conn: Connection, kind: str, subject: str,
                          details: Mapping[str, Any]) -> Incident | None:
        """The open incident of the group of ``subject`` whose alert went out, if any."""
        return next((i for i in self._group(conn, kind, subject, details) if i.routes), None)

    def _hand_over(self, conn: Connection, resolved: Incident, at: str) -> bool:
        """Give ``resolved``'s routes, escalation clock and acknowledgement to the oldest open
        incident of its group, which the others are now alerted with. ``False`` when none is open."""
        group = self._group(conn, resolved.kind, resolved.subject, resolved.details)
        if not group:
            return False
        heir, rest = group[0], group[1:]
        details = {k: v for k, v in heir.details.items() if k != "alerted_with"}
        conn.execute(update(incidents).where(incidents.c.id == heir.id).values(
            route=resolved.route, routes=json.dumps(list(resolved.routes)), notified_at=resolved.notified_at,
            state="open" if resolved.acked_at is None else "acknowledged", acked_at=resolved.acked_at,
            acked_by=resolved.acked_by, fired=heir.fired + len(rest), updated_at=at,
            details=json.dumps(details, default=str)))
        for other in rest:
            conn.execute(update(incidents).where(incidents.c.id == other.id).values(
                details=json.dumps({**other.details, "alerted_with": heir.id}, default=str)))
        return True

    @staticmethod
    def _open(conn: Connection, key: str) -> Incident | None:
        row = conn.execute(select(incidents).where(incidents.c.key == key, incidents.c.resolved_at.is_(None))).first()
        return Incident.of(row) if row is not None else None

    @staticmethod
    def _get(conn: Connection, incident_id: int) -> Incident:
        return Incident.of(conn.execute(select(incidents).where(incidents.c.id == incident_id)).one())

    @staticmethod
    def _find(conn: Connection, incident_id: int) -> Incident:
        row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
        if row is None:
            raise LookupError(f"no incident {incident_id}")
        return Incident.of(row)
