"""What a notifier is handed: one :class:`AlertMessage` about one incident, whatever the medium."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from assets.stored_json import load_json

#: ``alert``: an incident opened; ``escalation``: nobody acknowledged it in time, a further
#: route is told; ``resolve``: the condition ended; ``notice``: news for the subscribers of an
#: asset (:mod:`governance.subscriptions`; no incident, ``incident`` is 0).
Event = Literal["alert", "escalation", "resolve", "notice"]


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

    @classmethod
    def from_json(cls, text: str) -> AlertMessage:
        return cls(**load_json(text))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
