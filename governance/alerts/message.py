"""What a notifier is handed: one :class:`AlertMessage` about one incident, whatever the medium."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

#: ``alert``: an incident opened; ``escalation``: nobody acknowledged it in time, a further
#: route is told; ``resolve``: the condition ended; ``notice``: news for the subscribers of an
#: asset (:mod:`governance.subscriptions`; no incident, ``incident`` is 0).
Event = Literal["alert", "escalation", "resolve", "notice"]
_EVENTS = frozenset(get_args(Event))
_TEXTS = ("mesh", "kind", "subject", "severity", "summary", "route", "at")


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertMessage:
    """An incident as one notification tells it. ``at`` is when the event happened (ISO 8601)."""

    mesh: str
    incident: int
    event: Event
    kind: str
    subject: str
    domain: str | None
    severity: str
    summary: str
    route: str
    level: int
    at: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        wrong = [name for name in _TEXTS if not isinstance(getattr(self, name), str)]
        if wrong:
            raise TypeError(f"an alert message's {', '.join(wrong)} must be text")
        if self.domain is not None and not isinstance(self.domain, str):
            raise TypeError("an alert message's domain must be text or None")
        for name in ("incident", "level"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise TypeError(f"an alert message's {name} must be a whole number of at least 0")
        if self.event not in _EVENTS:
            raise ValueError(f"an alert message's event must be one of {', '.join(sorted(_EVENTS))}")
        if not isinstance(self.details, Mapping) or not all(isinstance(k, str) for k in self.details):
            raise TypeError("an alert message's details must be a mapping with text keys")

    @property
    def title(self) -> str:
        """One line: ``[acme] CRITICAL run_failed sales.orders (incident 3)``, or RESOLVED; a
        notice: ``[acme] NOTICE new_version sales.orders``."""
        if self.event == "notice":
            return f"[{self.mesh}] NOTICE {self.kind} {self.subject}"
        state = {"alert": self.severity.upper(), "escalation": f"ESCALATED {self.severity.upper()}",
                 "resolve": "RESOLVED"}[self.event]
        return f"[{self.mesh}] {state} {self.kind} {self.subject} (incident {self.incident})"

    def lines(self) -> list[str]:
        """The message as plain lines of text (e-mail body, a chat message)."""
        out = [self.title, self.summary]
        if self.domain:
            out.append(f"domain: {self.domain}")
        out.append(f"route: {self.route}" + (f" (escalation {self.level})" if self.level else ""))
        out.extend(f"{k}: {_text(v)}" for k, v in self.details.items())
        if self.event in ("alert", "escalation"):
            out.append(f"acknowledge: mesh ops ack {self.incident} --as <you>")
        return out

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
