"""What the operations layer tells the dashboard: freshness, SLA compliance, incidents, MTTR.

HOOK for the operations layer (freshness, SLA, incidents). The web app asks an
:class:`OperationsView` for these figures and shows them only when it answers; until the
operations layer implements the view, :data:`NOT_MEASURED` answers ``None`` everywhere and the
dashboard says "not measured" rather than show a made-up number.

The plug-in contract: an object with the three methods below (structural typing, no base class).
Each answers ``None`` for what it does not measure. Build it in :func:`operations_view` (the one
place the web app asks), from the mesh.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from assets.mesh import Mesh


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
    """The view before the operations layer lands: it measures nothing."""

    def domain_health(self, domain: str, *, days: int, now: dt.datetime) -> DomainHealth | None:
        return None

    def daily(self, domain: str, *, days: int, now: dt.datetime) -> DailyOperations | None:
        return None

    def asset_fresh(self, key: str, *, now: dt.datetime) -> bool | None:
        return None


#: The view that measures nothing (shown as "not measured").
NOT_MEASURED: OperationsView = _NotMeasured()


def operations_view(mesh: Mesh) -> OperationsView:
    """The operations view of ``mesh``. HOOK: the operations layer returns its implementation here."""
    return NOT_MEASURED
