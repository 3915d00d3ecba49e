"""The dashboard's slow figures, computed off the request path.

Freshness, SLA compliance, incidents and MTTR (the operations view) and the month's costs
(``mesh usage``) read the run records and the month of the audit log: at 1,000 assets with a
year of history that takes seconds, too long for every page. :class:`FiguresCache` keeps one
:class:`DashboardFigures` snapshot, computed when the server prepares and again in a background thread
once it is older than ``max_age``; a page meanwhile shows the last one, with its time.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from assets.errors import MeshError
from assets.mesh import Mesh
from governance.ops import DailyOperations, DomainHealth, OperationsView
from governance.reports import Period, UsageReport, measure_usage

_log = logging.getLogger(__name__)

#: How old a snapshot may be before a page asks for a fresh one.
MAX_AGE = dt.timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class DashboardFigures:
    """The operational figures and the month's costs of every domain as of ``at``; answers as
    an :class:`~governance.ops.OperationsView` whatever moment it is asked about."""

    at: dt.datetime
    healths: Mapping[str, DomainHealth | None]
    dailies: Mapping[str, DailyOperations | None]
    freshness: Mapping[str, bool | None]
    usage: UsageReport | None

    @staticmethod
    def measure(mesh: Mesh, operations: OperationsView, *, days: int, now: dt.datetime) -> DashboardFigures:
        """Ask ``operations`` about every domain and asset of ``mesh``, and price the month."""
        domains = sorted(mesh.policy.active_domains)
        try:
            usage: UsageReport | None = measure_usage(mesh, Period.containing(now, quarter=False), today=now.date())
        except (MeshError, OSError) as exc:  # an unreadable audit log or store: the costs say so
            _log.warning("the month's usage could not be measured: %s", exc)
            usage = None
        return DashboardFigures(at=now, healths={d: operations.domain_health(d, days=days, now=now) for d in domains},
                       dailies={d: operations.daily(d, days=days, now=now) for d in domains},
                       freshness={k: operations.asset_fresh(k, now=now) for k in mesh.graph}, usage=usage)

    def domain_health(self, domain: str, *, days: int, now: dt.datetime) -> DomainHealth | None:
        return self.healths.get(domain)

    def daily(self, domain: str, *, days: int, now: dt.datetime) -> DailyOperations | None:
        return self.dailies.get(domain)

    def asset_fresh(self, key: str, *, now: dt.datetime) -> bool | None:
        return self.freshness.get(key)


@dataclass
class FiguresCache:
    """One :class:`DashboardFigures` snapshot per loaded mesh, refreshed in the background when stale."""

    operations: Callable[[Mesh], OperationsView]
    days: int
    max_age: dt.timedelta = MAX_AGE
    _figures: DashboardFigures | None = field(default=None, init=False)
    _mesh: Mesh | None = field(default=None, init=False)
    _refreshing: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def get(self, mesh: Mesh, now: dt.datetime) -> DashboardFigures:
        """The snapshot of ``mesh``: computed now if there is none for it yet, else the last one
        (a refresh started in the background when it is older than ``max_age``)."""
        with self._lock:
            current = self._figures if self._mesh is mesh else None
            stale = current is not None and now - current.at > self.max_age and not self._refreshing
            if stale:
                self._refreshing = True
        if current is None:
            return self.refresh(mesh, now)
        if stale:
            threading.Thread(target=self._refresh_in_background, args=(mesh,), daemon=True,
                             name="dashboard-figures").start()
        return current

    def refresh(self, mesh: Mesh, now: dt.datetime) -> DashboardFigures:
        """Compute the snapshot of ``mesh`` at ``now`` and keep it."""
        figures = DashboardFigures.measure(mesh, self.operations(mesh), days=self.days, now=now)
        with self._lock:
            self._figures, self._mesh = figures, mesh
        return figures

    def _refresh_in_background(self, mesh: Mesh) -> None:
        try:
            self.refresh(mesh, dt.datetime.now(dt.UTC))
        except Exception:  # a failed refresh keeps the last snapshot; the next page tries again
            _log.exception("the dashboard's figures could not be refreshed")
        finally:
            with self._lock:
                self._refreshing = False
