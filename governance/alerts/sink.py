"""The alert sink: :class:`~governance.alerts.signals.SignalSink` implemented with incidents, routes,
an outbox and notifiers.

``fire`` opens an incident (its route's notifiers are alerted) or updates the open one (no new
alert); ``recover`` resolves it and tells every route it alerted; ``flush`` escalates what
nobody acknowledged in time, then sends the outbox, each notifier's messages oldest first, a
notifier that fails waiting with exponential back-off while the others go on. Nothing here
raises into the caller's work: a run is never failed by an alert. Every alert sent, escalation,
acknowledgement and resolve is audited (actor ``service:alerts``, or the person who acknowledged).
An acknowledgement is an authenticated person's (an :class:`~governance.identity.Actor`), whose
right to it :meth:`AlertSink.acknowledge` checks itself, whoever calls it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Row, select

from assets.errors import MeshError, printable
from assets.ports import AuditEvent, AuditSink
from assets.backoff import Backoff
from governance.alerts.incidents import Incident, IncidentStore
from governance.alerts.outbox_rows import message_of, pending_message
from governance.alerts.notifiers import Notifier, NotifierError, notifier_for
from governance.alerts.routing import Router, Selector
from governance.alerts.signals import Recovery, Signal
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.policy import MeshPolicy
from governance.policy.alerts import AlertsPolicy
from governance.state import StateDatabase, StateError
from governance.state.outbox import OUTBOX_BACKOFF, Flushed, flush_outbox
from governance.state.schema import notifications

log = logging.getLogger(__name__)
#: The lock of the one sender of the alert outbox.
SENDER_LOCK = "alert-outbox"
ACTOR = "service:alerts"


class AlertSink:
    """Alerts of the mesh ``mesh`` (its folder ``root``) by ``policy``, kept in ``database``,
    audited in ``audit``. ``clock`` is the mesh's clock (escalation and back-off use it);
    ``access`` is the mesh's policy, whose roles and owners say who may acknowledge."""

    def __init__(self, *, mesh: str, root: Path, policy: AlertsPolicy, access: MeshPolicy, database: StateDatabase,
                 audit: AuditSink, selector: Selector, clock: Callable[[], dt.datetime],
                 backoff: Backoff = OUTBOX_BACKOFF, notifiers: Mapping[str, Notifier] | None = None) -> None:
        self.policy = policy
        self.access = access
        self.store = IncidentStore(database, mesh)
        self.database = database
        self.audit = audit
        self.router = Router(policy, selector)
        self.clock = clock
        self.backoff = backoff
        self.notifiers = dict(notifiers) if notifiers is not None else \
            {name: notifier_for(config, root) for name, config in policy.notifiers.items()}

    # -- SignalSink ---------------------------------------------------------------------------------
    def fire(self, signal: Signal) -> None:
        """Open or update the incident of ``signal``, and send what is due. Never raises."""
        try:
            incident, new = self.store.fire(signal, self.router.route_for(signal))
            if new:
                self._audit("incident_open", incident, "opened", route=incident.route, severity=incident.severity,
                            summary=incident.summary)
            self.flush()
        except Exception as exc:  # an alert never fails the work that raised it
            log.warning("alert for %s not recorded: %s: %s", signal.incident_key, type(exc).__name__, exc)

    def recover(self, recovery: Recovery) -> None:
        """Resolve the open incident of ``recovery`` (if any) and send the resolve. Never raises."""
        try:
            incident = self.store.resolve(recovery, self._notify())
            if incident is not None:
                self._audit("incident_resolve", incident, "resolved", summary=recovery.summary)
                self.flush()
        except Exception as exc:  # as in fire
            log.warning("recovery of %s not recorded: %s: %s", recovery.incident_key, type(exc).__name__, exc)

    def recover_all(self, recoveries: Sequence[Recovery]) -> None:
        """:meth:`recover` each of ``recoveries``, with one read for all of them when none has an
        open incident (every good run recovers its asset's failures, most of which never were).
        Never raises."""
        try:
            open_ = self.store.open_among(r.incident_key for r in recoveries)
        except Exception as exc:  # as in fire
            log.warning("recoveries of %s not recorded: %s: %s", ", ".join(r.incident_key for r in recoveries),
                        type(exc).__name__, exc)
            return
        for recovery in recoveries:
            if recovery.incident_key in open_:
                self.recover(recovery)

    # -- people and time ----------------------------------------------------------------------------
    def acknowledge(self, incident_id: int, actor: Actor, at: dt.datetime | None = None) -> Incident:
        """``actor`` takes the incident: it stops escalating. ``actor`` needs ``operate_dr`` or to
        own the incident's domain; a refusal is audited and raises
        :class:`~governance.identity.authorization.PermissionDeniedError`, the incident as it was.
        Raises :class:`LookupError` for an unknown id, :class:`ValueError` for one not open.
        Audited, with how ``actor`` proved who they are."""
        found = self.store.get(incident_id)
        require(self.access, self.audit, actor, "operate_dr", action="incident_ack", target=f"incident:{found.id}",
                owners_of=found.domain)
        incident = self.store.acknowledge(incident_id, actor.id, at or self.clock())
        self.audit.append(AuditEvent(actor=actor.id, action="incident_ack", target=f"incident:{incident.id}",
                                     outcome="acknowledged", source="governance",
                                     details={"kind": incident.kind, "subject": incident.subject,
                                              "route": incident.route, "escalations": incident.level,
                                              **identity_details(actor)}))
        return incident

    def close(self, incident_id: int, actor: Actor, reason: str, at: dt.datetime | None = None) -> Incident:
        """``actor`` resolves the incident by hand, for ``reason`` (a condition no signal will end:
        the check that raised it was removed, a false alarm). ``actor`` needs ``operate_dr`` or to
        own the incident's domain; a refusal is audited and raises
        :class:`~governance.identity.authorization.PermissionDeniedError`, the incident as it was.
        Raises :class:`LookupError` for an unknown id, :class:`ValueError` for one resolved already.
        The routes it alerted are told; audited with the reason and how ``actor`` proved who they are."""
        reason = close_reason(reason)
        found = self.store.get(incident_id)
        require(self.access, self.audit, actor, "operate_dr", action="incident_close", target=f"incident:{found.id}",
                owners_of=found.domain)
        incident = self.store.close(incident_id, f"closed by {actor.id}: {reason}", at or self.clock(),
                                    self._notify())
        self.audit.append(AuditEvent(actor=actor.id, action="incident_close", target=f"incident:{incident.id}",
                                     outcome="resolved", source="governance",
                                     details={"kind": incident.kind, "subject": incident.subject, "reason": reason,
                                              **identity_details(actor)}))
        self.flush()
        return incident

    def resolve_removed(self, incident_id: int, reason: str, at: dt.datetime | None = None) -> Incident:
        """Resolve the incident of an asset the operations pass found removed from the mesh (no
        run or check will ever recover it), for ``reason``; audited as ``service:alerts``. Raises
        :class:`LookupError` for an unknown id, :class:`ValueError` for one resolved already."""
        found = self.store.get(incident_id)
        incident = self.store.close(incident_id, f"{found.subject}: {reason}", at or self.clock(), self._notify())
        self._audit("incident_resolve", incident, "resolved", summary=incident.summary, reason=reason)
        return incident

    def _notify(self) -> dict[str, Sequence[str]]:
        """Each route's notifiers, by route name."""
        return {r.name: r.notify for r in self.policy.routes}

    def escalate(self, now: dt.datetime | None = None) -> list[Incident]:
        """Hand each open incident nobody acknowledged within its route's ``ack_minutes`` to the
        route it escalates to (one step per call). Returns the escalated incidents."""
        now = now or self.clock()
        done = []
        routes = {r.name: r for r in self.policy.routes}
        for incident in self.store.unacknowledged():
            route = routes.get(incident.route or "")
            if route is None or route.ack_minutes is None or route.escalate_to is None:
                continue
            if dt.datetime.fromisoformat(incident.notified_at) + dt.timedelta(minutes=route.ack_minutes) > now:
                continue
            escalated = self.store.escalate(incident.id, routes[route.escalate_to], now)
            self._audit("incident_escalate", escalated, "escalated", source_route=route.name,
                        route=escalated.route, after_minutes=route.ack_minutes)
            done.append(escalated)
        return done

    def flush(self, now: dt.datetime | None = None) -> Flushed:
        """Escalate what is due, then send the outbox (what waits out its back-off stays)."""
        now = now or self.clock()
        self.escalate(now)
        return flush_outbox(self.database, notifications, SENDER_LOCK, self._send, now=now, channel="notifier",
                            backoff=self.backoff, describe=_describe)

    def incidents(self, *, everything: bool = False) -> list[Incident]:
        return self.store.incidents(everything=everything)

    def pending(self) -> list[dict[str, Any]]:
        """The messages not delivered yet, oldest first: notifier, event, incident (``None`` for a
        subscriber's notice), attempts, last error and when the next attempt is due. Raises
        :class:`~governance.state.StateError` for a row the mesh did not write."""
        with self.database.read() as conn:
            rows = conn.execute(select(notifications).where(notifications.c.sent_at.is_(None))
                                .order_by(notifications.c.seq)).all()
        return [pending_message(r) for r in rows]

    def sent(self) -> int:
        """How many notifications were delivered, ever."""
        return self.store.sent()

    # -- inside ---------------------------------------------------------------------------------------
    def _send(self, row: Row[Any]) -> None:
        message = message_of(row)  # a row the mesh did not write stays pending, this error kept
        notifier = self.notifiers.get(row.notifier)
        if notifier is None:
            raise NotifierError(f"notifier '{row.notifier}' is no longer in mesh.toml", where="[alerts.notifiers]",
                                fix=f"declare [alerts.notifiers.{row.notifier}] again to deliver its messages")
        notifier.send(message)
        target = message.subject if message.event == "notice" else f"incident:{message.incident}"
        self.audit.append(AuditEvent(actor=ACTOR, action="alert_sent", target=target,
                                     outcome="sent", source="alerts",
                                     details={"notifier": notifier.name, "kind": notifier.kind, "event": message.event,
                                              "signal": message.kind, "subject": message.subject,
                                              "route": message.route}))

    def _audit(self, action: str, incident: Incident, outcome: str, **details: Any) -> None:
        self.audit.append(AuditEvent(actor=ACTOR, action=action, target=f"incident:{incident.id}", outcome=outcome,
                                     source="alerts", details={"kind": incident.kind, "subject": incident.subject,
                                                               **details}))


class CloseReasonError(MeshError):
    """The reason given for closing an incident by hand is empty or too long."""


#: The longest reason for closing an incident by hand, in characters.
MAX_REASON = 500


def close_reason(text: str) -> str:
    """``text`` as the reason an incident is closed for: one line (runs of white space and
    newlines made one space), every character printable (a control character or a lone surrogate
    shown as its escape), at most :data:`MAX_REASON` characters. Raises :class:`CloseReasonError`
    for an empty or longer one."""
    reason = printable(" ".join(str(text).split()))
    if not reason:
        raise CloseReasonError("no reason was given for closing the incident", where="--reason",
                               fix="say why no signal will end it, e.g. --reason 'the check was removed'")
    if len(reason) > MAX_REASON:
        raise CloseReasonError(f"the reason is {len(reason)} characters long, more than {MAX_REASON}",
                               where="--reason", fix=f"say it in {MAX_REASON} characters or fewer")
    return reason


def _describe(exc: Exception) -> str:
    """The error kept with an unsent message: a notifier's own message (secret-free), the one
    naming a row the mesh did not write, or the exception's type only."""
    return str(exc).split("\n")[0][:300] if isinstance(exc, NotifierError | StateError) else type(exc).__name__
