"""What the operations layer tells the dashboard: freshness, SLA compliance, incidents, MTTR.

The web app asks an :class:`OperationsView` for these figures and shows them only when it
answers: each method answers ``None`` for what it does not measure, and the dashboard then says
"not measured" rather than show a made-up number.
:func:`governance.ops.measured_view.operations_view` (the one place the web app asks) builds the
measured view of a mesh; :data:`NOT_MEASURED` measures nothing (a view to test the page's empty
states with).

The contract: an object with the three methods below (structural typing, no base class).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainHealth:
    """A domain's operational figures now and over a window of days."""

    share_fresh: float | None = None
    sla_compliance: float | None = None
    open_incidents: int | None = None
    mttr_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("share_fresh", "sla_compliance"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} is a share between 0 and 1, not {value}")
        if self.open_incidents is not None and self.open_incidents < 0:
            raise ValueError("open_incidents is a count, not negative")
        if self.mttr_seconds is not None and self.mttr_seconds < 0:
            raise ValueError("mttr_seconds is a duration, not negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyOperations:
    """Per day of the window (oldest first): SLA compliance (0..1) and incidents opened."""

    sla_compliance: tuple[float | None, ...]
    incidents: tuple[int, ...]


@runtime_checkable
class OperationsView(Protocol):
    """Operational figures for the dashboard; ``None`` means "not measured"."""

    def domain_health(self, domain: str, *, days: int, now: dt.datetime) -> DomainHealth | None: ...

    def daily(self, domain: str, *, days: int, now: dt.datetime) -> DailyOperations | None: ...

    def asset_fresh(self, key: str, *, now: dt.datetime) -> bool | None: ...


class _NotMeasured:
    """A view that measures nothing."""

    def domain_health(self, domain: str, *, days: int, now: dt.datetime) -> DomainHealth | None:
        return None

    def daily(self, domain: str, *, days: int, now: dt.datetime) -> DailyOperations | None:
        return None

    def asset_fresh(self, key: str, *, now: dt.datetime) -> bool | None:
        return None


#: The view that measures nothing (shown as "not measured").
NOT_MEASURED: OperationsView = _NotMeasured()

