"""The operations view the dashboard reads (:class:`~governance.ops.views.OperationsView`),
measured: freshness from the monitor's statuses, SLA compliance and MTTR from the operating
report (:mod:`governance.ops.report`), incidents from the alert sink's incident store.

Each figure comes from the same functions as ``mesh ops status``, ``mesh ops report`` and
``mesh ops incidents``; nothing is computed a second way. Statuses and reports are kept per
moment asked for, so one page (every domain, every day) reads each once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assets.mesh import Mesh
from governance.ops.freshness import AssetStatus
from governance.ops.monitor import OpsView, mesh_view
from governance.ops.report import Report
from governance.ops.views import DailyOperations, DomainHealth, OperationsView
from governance.policy.ops import OpsPolicy
from governance.services import governed

#: The states of an asset the mesh tracks (an ``untracked`` one has no deadline to be fresh by).
_TRACKED = frozenset({"fresh", "late", "breached", "unknown"})


@dataclass(frozen=True, slots=True)
class OpenedIncident:
    """What the view needs of an alert incident: its domain, when it opened, whether it is open."""

    domain: str | None
    opened_at: dt.datetime
    open: bool


@dataclass
class MeasuredOperations:
    """Operational figures of a mesh, measured (see the module's docstring)."""

    view: OpsView
    ops: OpsPolicy
    incidents: Callable[[], Sequence[OpenedIncident]]
    _statuses: dict[dt.datetime, dict[str, AssetStatus]] = field(default_factory=dict)
    _reports: dict[tuple[dt.datetime, dt.datetime], Report] = field(default_factory=dict)
    _incidents: list[OpenedIncident] | None = None

    def domain_health(self, domain: str, *, days: int, now: dt.datetime) -> DomainHealth | None:
        tracked = [s for k, s in self._statuses_at(now).items() if _domain(k) == domain and s.state in _TRACKED]
        figures = self._report(now - dt.timedelta(days=days), now).domains.get(domain)
        sla = figures.sla if figures is not None else None
        return DomainHealth(
            share_fresh=sum(s.state == "fresh" for s in tracked) / len(tracked) if tracked else None,
            sla_compliance=_share(sla),
            open_incidents=sum(inc.open and inc.domain == domain for inc in self._all_incidents()),
            mttr_seconds=figures.mttr_seconds if figures is not None else None)

    def daily(self, domain: str, *, days: int, now: dt.datetime) -> DailyOperations | None:
        start = dt.datetime.combine((now - dt.timedelta(days=days - 1)).date(), dt.time(), tzinfo=dt.UTC)
        sla: list[float | None] = []
        opened: list[int] = []
        for day in range(days):
            since, until = start + dt.timedelta(days=day), min(start + dt.timedelta(days=day + 1), now)
            figures = self._report(since, until).domains.get(domain) if since < until else None
            share = figures.sla if figures is not None else None
            sla.append(_share(share))
            opened.append(sum(inc.domain == domain and since <= inc.opened_at < until for inc in self._all_incidents()))
        return DailyOperations(sla_compliance=tuple(sla), incidents=tuple(opened))

    def asset_fresh(self, key: str, *, now: dt.datetime) -> bool | None:
        status = self._statuses_at(now).get(key)
        if status is None or status.state not in _TRACKED or status.state == "unknown":
            return None
        return status.state == "fresh"

    def _statuses_at(self, now: dt.datetime) -> dict[str, AssetStatus]:
        if now not in self._statuses:
            self._statuses[now] = self.view.statuses(now)
        return self._statuses[now]

    def _report(self, since: dt.datetime, until: dt.datetime) -> Report:
        if (since, until) not in self._reports:
            self._reports[(since, until)] = self.view.report(since, until, self.ops)
        return self._reports[(since, until)]

    def _all_incidents(self) -> list[OpenedIncident]:
        if self._incidents is None:
            self._incidents = list(self.incidents())
        return self._incidents


def operations_view(mesh: Mesh) -> OperationsView:
    """The measured operations view of ``mesh``: freshness (``mesh ops status``), SLA and MTTR
    (``mesh ops report``) and incidents (``mesh ops incidents``), read when first asked."""
    def incidents() -> list[OpenedIncident]:
        return [OpenedIncident(domain=i.domain, opened_at=dt.datetime.fromisoformat(i.opened_at),
                               open=i.state != "resolved")
                for i in governed(mesh).alerts.incidents(everything=True)]

    return MeasuredOperations(view=mesh_view(mesh), ops=mesh.policy.ops, incidents=incidents)


def _domain(key: str) -> str:
    return key.split(".", 1)[0]


def _share(percent: float | None) -> float | None:
    """A percentage as a share of one (sums of float seconds may pass 100 by a rounding error)."""
    return None if percent is None else min(max(percent / 100, 0.0), 1.0)
