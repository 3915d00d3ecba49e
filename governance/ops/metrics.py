"""Prometheus metrics of the mesh, computed when scraped (prometheus-client's custom collector).

Names and labels follow Prometheus' conventions (``mesh_`` prefix, base units, ``_total`` for
counters, one series per label set):

- ``mesh_asset_freshness_state{asset,domain,state}``: 1 for the asset's current state, 0 for the others;
- ``mesh_asset_age_seconds{asset,domain}``: since its current version was published;
- ``mesh_asset_predicted_breach{asset,domain}``: 1 while its next version is expected late;
- ``mesh_asset_runs_total{asset,domain,status}`` and ``mesh_asset_gate_failures_total{asset,domain}``;
- ``mesh_asset_run_duration_seconds{asset,domain}``: a histogram of the runs of the last 30 days;
- ``mesh_replication_lag_seconds{asset}`` and ``mesh_replication_versions_behind{asset}``
  (when the mesh has a standby region);
- ``mesh_open_incidents{domain}``: failures not yet followed by a good version (from run records);
- ``mesh_metrics_up``: 1, or 0 (and no other family) when the mesh's records cannot be read.

Every figure comes from the same functions as ``mesh ops status`` and ``mesh ops report``, at
the time of the mesh's clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select

from assets.errors import MeshError
from assets.mesh import Mesh
from governance.ops.freshness import AssetStatus
from governance.ops.monitor import LEARN_WINDOW, OpsView, mesh_view
from governance.ops.report import build_report
from governance.policy.ops import OpsPolicy
from governance.state.schema import runs

STATES = ("fresh", "late", "breached", "unknown", "untracked")
_log = logging.getLogger(__name__)
#: Buckets of the run duration histogram, in seconds.
BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0)


@dataclass(frozen=True, eq=False)
class MeshCollector(Collector):
    """Collects the mesh's operating figures at each scrape. ``replication`` (optional) gives
    each asset's replication lag as ``(seconds, versions)``."""

    view: OpsView
    clock: Callable[[], dt.datetime]
    replication: Callable[[dt.datetime], dict[str, tuple[float, int]]] | None = None
    ops: OpsPolicy = field(default_factory=OpsPolicy)

    def collect(self) -> Iterator[Metric]:
        """Every family, then ``mesh_metrics_up``: 0, alone, when the mesh's records cannot be read
        (a damaged state database), which is logged in one line; never a scrape's 500 and traceback."""
        try:
            families = list(self._families(self.clock()))
        except (MeshError, OSError) as exc:
            _log.warning("the mesh's metrics cannot be read: %s", exc)
            families = []
        yield from families
        yield GaugeMetricFamily("mesh_metrics_up", "1 when the mesh's records could be read at this scrape, else 0.",
                                value=1.0 if families else 0.0)

    def _families(self, now: dt.datetime) -> Iterator[Metric]:
        current = self.view.statuses(now)
        yield from self._freshness(current)
        predicted = self.view.predictions(now, current)
        breach = GaugeMetricFamily("mesh_asset_predicted_breach", "1 while the asset's next version is expected "
                                   "past its deadline.", labels=["asset", "domain"])
        for key, p in predicted.items():
            breach.add_metric([key, current[key].domain], 1.0 if p.breach else 0.0)
        yield breach
        yield from self._runs(now)
        if self.replication is not None:
            lag = GaugeMetricFamily("mesh_replication_lag_seconds", "How far the standby region's copy is "
                                    "behind the active one.", labels=["asset"])
            behind = GaugeMetricFamily("mesh_replication_versions_behind", "Versions not yet in the standby "
                                       "region.", labels=["asset"])
            for key, (seconds, versions) in sorted(self.replication(now).items()):
                lag.add_metric([key], seconds)
                behind.add_metric([key], float(versions))
            yield lag
            yield behind

    def _freshness(self, current: dict[str, AssetStatus]) -> Iterator[Metric]:
        state = GaugeMetricFamily("mesh_asset_freshness_state", "1 for the asset's current freshness state.",
                                  labels=["asset", "domain", "state"])
        age = GaugeMetricFamily("mesh_asset_age_seconds", "Seconds since the asset's current version was "
                                "published.", labels=["asset", "domain"])
        for key, s in current.items():
            for name in STATES:
                state.add_metric([key, s.domain, name], 1.0 if s.state == name else 0.0)
            if s.age is not None:
                age.add_metric([key, s.domain], s.age.total_seconds())
        yield state
        yield age

    def _runs(self, now: dt.datetime) -> Iterator[Metric]:
        domain = {a.key: a.domain for a in self.view.assets}
        total = CounterMetricFamily("mesh_asset_runs", "Runs of the asset, by outcome.",
                                    labels=["asset", "domain", "status"])
        gate = CounterMetricFamily("mesh_asset_gate_failures", "Runs of the asset its contract gate stopped.",
                                   labels=["asset", "domain"])
        with self.view.database.read() as conn:
            counts = conn.execute(select(runs.c.key, runs.c.status, func.count())
                                  .group_by(runs.c.key, runs.c.status)).all()
        failures: dict[str, int] = dict.fromkeys(domain, 0)
        for key, status, n in counts:
            total.add_metric([key, _domain(domain, key), status], float(n))
            if status == "gate_failed":
                failures[key] = failures.get(key, 0) + n
        for key, n in sorted(failures.items()):
            gate.add_metric([key, _domain(domain, key)], float(n))
        yield total
        yield gate
        recent = self.view.records.ended_between(now - LEARN_WINDOW, now)
        histogram = HistogramMetricFamily("mesh_asset_run_duration_seconds", "Duration of the asset's runs "
                                          "(last 30 days).", labels=["asset", "domain"])
        durations: dict[str, list[float]] = {}
        for r in recent:
            if r.seconds is not None:
                durations.setdefault(r.key, []).append(r.seconds)
        for key, values in sorted(durations.items()):
            buckets: list[tuple[str, float]] = [(str(b), float(sum(v <= b for v in values))) for b in BUCKETS]
            buckets.append(("+Inf", float(len(values))))
            histogram.add_metric([key, _domain(domain, key)], buckets, sum_value=sum(values))
        yield histogram
        report = build_report(self.view.assets, recent, self.ops, since=now - LEARN_WINDOW, until=now)
        open_incidents = GaugeMetricFamily("mesh_open_incidents", "Failed assets not yet followed by a good "
                                           "version.", labels=["domain"])
        for name, figures in report.domains.items():
            open_incidents.add_metric([name], float(figures.open_incidents))
        yield open_incidents


def _domain(domains: dict[str, str], key: str) -> str:
    return domains.get(key, key.split(".", 1)[0])


def mesh_registry(mesh: Mesh) -> CollectorRegistry:
    """A registry holding the collector of ``mesh`` (and nothing else)."""
    registry = CollectorRegistry(auto_describe=False)
    replication = None
    if mesh.standby_region is not None:
        def replication(now: dt.datetime) -> dict[str, tuple[float, int]]:
            from governance.dr import dr_status

            return {a.key: (a.seconds_behind, a.versions_behind) for a in dr_status(mesh, now=now).assets}
    registry.register(MeshCollector(mesh_view(mesh), mesh.services.clock, replication, mesh.policy.ops))
    return registry


def serve_metrics(mesh: Mesh, port: int, addr: str = "127.0.0.1") -> tuple[Any, Any]:
    """Serve ``/metrics`` of ``mesh`` on ``addr:port`` (0: any free port) in a background thread;
    returns the server (``server_port``, ``shutdown()``) and its thread."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=addr, registry=mesh_registry(mesh))
