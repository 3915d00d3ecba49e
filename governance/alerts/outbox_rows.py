"""Reading the rows of the alert outbox (the ``notifications`` table): each is checked to hold
what :mod:`governance.alerts.sink` and :mod:`governance.subscriptions.store` write before a
reader computes with it (`mesh ops incidents` lists them, `mesh ops heal` compares their times, the
sender counts their attempts); a row that does not is one :class:`StateError` naming it."""

from __future__ import annotations

from typing import Any, get_args

from governance.alerts.message import AlertMessage, Event
from governance.state import StateError
from governance.state.rows import checked, require_texts, stored_count, stored_time
from governance.state.stored import FIX as STORED_FIX
from governance.state.stored import column_json

WHERE = "the state database's notifications table"
_EVENTS = frozenset(get_args(Event))


def pending_message(row: Any) -> dict[str, Any]:
    """The notifications row ``row`` as the outbox's pending list shows it: notifier, event,
    incident (``None`` for a subscriber's notice), attempts, last error and when the next attempt
    is due. Raises :class:`StateError` naming the row unless it holds what the mesh writes."""
    r = row._mapping
    with checked(_what(r), WHERE):
        require_texts(r, ("notifier", "event", "created_at"), ("sent_at", "last_error", "next_attempt_at"))
        incident, attempts = stored_count(r["incident"], "incident"), stored_count(r["attempts"], "attempts")
        if r["event"] not in _EVENTS:
            raise ValueError(f"its event is none of {', '.join(sorted(_EVENTS))}")
        for column in ("created_at", "sent_at", "next_attempt_at"):
            if r[column] is not None:
                stored_time(r[column], column)
    return {"incident": incident or None, "notifier": r["notifier"], "event": r["event"], "attempts": attempts,
            "last_error": r["last_error"], "next_attempt_at": r["next_attempt_at"]}


def message_of(row: Any) -> AlertMessage:
    """The message the notifications row ``row`` holds, to send. Raises :class:`StateError`
    naming the row unless its columns and its body are what the mesh wrote."""
    pending_message(row)
    r = row._mapping
    body = column_json(r["body"], what=f"the body of {_what(r)}", where=WHERE)
    try:
        if not isinstance(body, dict):
            raise TypeError("not a JSON object")
        return AlertMessage(**body)
    except (TypeError, ValueError) as exc:
        raise StateError(f"the body of {_what(r)} is not a message the mesh wrote ({str(exc)[:120]})", where=WHERE,
                         fix=STORED_FIX) from None


def _what(r: Any) -> str:
    return f"alert message {str(r['seq'])[:40]}"
