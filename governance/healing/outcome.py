"""What a pass of the runbook found and did: one :class:`HealAction` per finding, gathered in a
:class:`HealReport` whose :class:`HealCounts` a report over many passes sums."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

#: ``healed``: done; ``failed``: tried and failed (``attempts`` times); ``would heal``: a dry run's;
#: ``breaker open``: not tried, the remediation failed too often on this subject; ``left``: not a
#: remediation's to heal (a failed gate: the last good version stays current, its owners act).
Outcome = Literal["healed", "failed", "would heal", "breaker open", "left"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)


@dataclass(frozen=True, slots=True, kw_only=True)
class HealAction:
    """One finding of one remediation and what came of it: ``found`` the problem, ``action``
    what was (or would be) done, ``why`` the reason, ``result`` what it gave."""

    remediation: str
    subject: str
    found: str
    action: str
    why: str
    outcome: Outcome
    attempts: int = 0
    result: str = ""
    error: str | None = None
    breaker_opened: bool = False

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}: one of {', '.join(OUTCOMES)}")
        if self.attempts < 0:
            raise ValueError("attempts must not be negative")

    def to_dict(self) -> dict[str, Any]:
        return {"remediation": self.remediation, "subject": self.subject, "found": self.found, "action": self.action,
                "why": self.why, "outcome": self.outcome, "attempts": self.attempts, "result": self.result,
                "error": self.error, "breaker_opened": self.breaker_opened}


@dataclass(frozen=True, slots=True)
class HealCounts:
    """Counts of findings by outcome, and the attempts made; ``+`` adds two passes' counts."""

    found: int = 0
    healed: int = 0
    failed: int = 0
    would_heal: int = 0
    breaker_open: int = 0
    left: int = 0
    attempts: int = 0

    def __add__(self, other: HealCounts) -> HealCounts:
        return HealCounts(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def as_tuple(self) -> tuple[int, ...]:
        return (self.found, self.healed, self.failed, self.would_heal, self.breaker_open, self.left, self.attempts)

    @classmethod
    def of(cls, actions: Iterable[HealAction]) -> HealCounts:
        actions = list(actions)
        by = {o: sum(a.outcome == o for a in actions) for o in OUTCOMES}
        return cls(found=len(actions), healed=by["healed"], failed=by["failed"], would_heal=by["would heal"],
                   breaker_open=by["breaker open"], left=by["left"], attempts=sum(a.attempts for a in actions))

    def to_dict(self) -> dict[str, int]:
        return {"found": self.found, "healed": self.healed, "failed": self.failed, "would_heal": self.would_heal,
                "breaker_open": self.breaker_open, "left": self.left, "attempts": self.attempts}


@dataclass(frozen=True, slots=True, kw_only=True)
class HealReport:
    """One pass of the runbook at ``at``, by ``actor``; ``dry_run`` if it only looked."""

    at: dt.datetime
    actor: str
    dry_run: bool
    actions: tuple[HealAction, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> HealCounts:
        return HealCounts.of(self.actions)

    @property
    def healthy(self) -> bool:
        """Whether the pass found nothing to heal."""
        return not self.actions

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "actor": self.actor, "dry_run": self.dry_run,
                "counts": self.counts.to_dict(), "actions": [a.to_dict() for a in self.actions]}
