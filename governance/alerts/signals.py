"""Signals: a condition an operator should hear of began (:class:`Signal`) or ended
(:class:`Recovery`). One condition of one subject is one incident: ``incident_key``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from governance.policy.signal_kinds import KINDS, SEVERITIES, Severity, SignalKind

__all__ = ["KINDS", "SEVERITIES", "Recovery", "Severity", "Signal", "SignalKind", "SignalSink"]


def _check(kind: str, subject: str, at: dt.datetime) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown signal kind {kind!r}: one of {', '.join(KINDS)}")
    if not subject:
        raise ValueError("a signal names its subject (an asset key, a region, a key id or 'audit')")
    if at.tzinfo is None:
        raise ValueError("a signal's time is timezone-aware (UTC)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """A condition began: ``kind`` of ``subject`` (an asset key, a region, a key id, ``audit``),
    in ``domain`` when it belongs to one, at ``at``; ``summary`` is one line for a person,
    ``details`` what a notifier may add (a quarantine report's summary, a predicted time)."""

    kind: SignalKind
    subject: str
    domain: str | None
    severity: Severity
    summary: str
    at: dt.datetime
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check(self.kind, self.subject, self.at)
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}: one of {', '.join(SEVERITIES)}")

    @property
    def incident_key(self) -> str:
        """The incident this signal opens or updates: one per kind and subject."""
        return f"{self.kind}:{self.subject}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Recovery:
    """The condition ``kind`` of ``subject`` ended at ``at`` (a good version, fresh again)."""

    kind: SignalKind
    subject: str
    at: dt.datetime
    summary: str

    def __post_init__(self) -> None:
        _check(self.kind, self.subject, self.at)

    @property
    def incident_key(self) -> str:
        return f"{self.kind}:{self.subject}"


class SignalSink(Protocol):
    """Hears conditions begin and end. It never raises: an alert that cannot be sent now waits
    in an outbox, and the work that fired it goes on."""

    def fire(self, signal: Signal) -> None: ...

    def recover(self, recovery: Recovery) -> None: ...
