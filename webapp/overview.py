"""What the executive dashboard shows, computed from the mesh's own records.

Sources, each what it already holds: the asset graph (assets, lineage), the audit log's
``materialize`` records (every run of every asset, whatever its outcome: runs, failures and gate
failures per day), the run history (published versions), each region's store (bytes per domain)
and the replication state (:func:`governance.dr.dr_status`). The last recovery drill comes from
the audit log's ``dr_drill`` records when there are any. Freshness, SLA compliance and incidents
come from the operations layer's :class:`~governance.ops.OperationsView`, and are ``None`` (shown
as "not measured") until it measures them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from assets.mesh import Mesh
from governance.audit import AuditLog
from governance.ops import DailyOperations, DomainHealth, OperationsView
from governance.services import governed

#: The window of the dashboard's figures and trends.
WINDOW_DAYS = 30
#: Outcomes of a run that count as failures.
FAILED = frozenset({"gate_failed", "error"})
_MATERIALIZE = b'"action":"materialize"'
_DRILL = b'"action":"dr_drill"'


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run of one asset, as the audit log recorded it."""

    key: str
    at: dt.datetime
    outcome: str
    version: str | None
    failed_checks: tuple[str, ...]
    error: str | None

    @property
    def domain(self) -> str:
        return self.key.split(".", 1)[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainRow:
    """One domain's line of the dashboard."""

    name: str
    owners: tuple[str, ...]
    assets: int
    runs: int
    failures: int
    gate_failures: int
    versions: int
    storage_bytes: Mapping[str, int]
    replication: Mapping[str, int]
    rpo_versions: int
    rpo_seconds: float
    health: DomainHealth | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Trends:
    """Per day of the window, oldest first: runs and failures per domain (and the operations
    layer's daily figures per domain, when it measures them)."""

    days: tuple[str, ...]
    runs: Mapping[str, tuple[int, ...]]
    failures: Mapping[str, tuple[int, ...]]
    operations: Mapping[str, DailyOperations] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Drill:
    """The last recovery drill the audit log recorded."""

    at: str
    ok: bool
    rto_seconds: float | None
    rpo_versions: int | None
    rpo_seconds: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Overview:
    """Everything the dashboard page shows."""

    mesh: str
    now: dt.datetime
    window_days: int
    domains: tuple[DomainRow, ...]
    trends: Trends
    states: Mapping[str, str]
    active_region: str
    standby_region: str | None
    ready_to_fail_over: bool
    last_drill: Drill | None

    def totals(self) -> dict[str, int]:
        return {"assets": sum(d.assets for d in self.domains), "runs": sum(d.runs for d in self.domains),
                "failures": sum(d.failures for d in self.domains),
                "gate_failures": sum(d.gate_failures for d in self.domains),
                "versions": sum(d.versions for d in self.domains)}


def materialize_records(log: AuditLog, *, since: dt.datetime | None = None, key: str | None = None
                        ) -> Iterator[RunRecord]:
    """Every run the audit log recorded (oldest first), from ``since``, of ``key`` if given.
    Lines of other actions are skipped before they are parsed."""
    needle = f'"target":"{key}"'.encode() if key else b""
    for body in _bodies(log, _MATERIALIZE, needle):
        at = dt.datetime.fromisoformat(body["at"])
        if since is not None and at < since:
            continue
        details = body.get("details") or {}
        yield RunRecord(key=body["target"], at=at, outcome=body["outcome"], version=details.get("version"),
                        failed_checks=tuple(details.get("failed_checks") or ()), error=details.get("error"))


def last_drill(log: AuditLog) -> Drill | None:
    """The newest ``dr_drill`` record of the audit log, or ``None``."""
    found = None
    for body in _bodies(log, _DRILL, b""):
        found = body
    if found is None:
        return None
    details = found.get("details") or {}
    return Drill(at=found["at"], ok=found.get("outcome") == "ok", rto_seconds=details.get("rto_seconds"),
                 rpo_versions=details.get("rpo_versions"), rpo_seconds=details.get("rpo_seconds"))


def _bodies(log: AuditLog, action: bytes, needle: bytes) -> Iterator[dict[str, Any]]:
    with log.storage.open() as fh:
        for line in fh:
            if action in line and needle in line and line.endswith(b"\n"):
                yield json.loads(line)


def overview(mesh: Mesh, operations: OperationsView, *, now: dt.datetime | None = None,
             days: int = WINDOW_DAYS) -> Overview:
    """The dashboard's figures for ``mesh`` at ``now`` over the last ``days`` days."""
    from governance.dr import dr_status

    now = now or dt.datetime.now(dt.UTC)
    services = governed(mesh)
    start = (now - dt.timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    day_names = tuple((start + dt.timedelta(days=i)).date().isoformat() for i in range(days))
    runs: dict[str, Counter[str]] = defaultdict(Counter)
    failures: dict[str, Counter[str]] = defaultdict(Counter)
    gate_failures: Counter[str] = Counter()
    last_outcome: dict[str, str] = {}
    for run in materialize_records(services.audit):
        last_outcome[run.key] = run.outcome
        if run.at < start:
            continue
        day = run.at.date().isoformat()
        runs[run.domain][day] += 1
        if run.outcome in FAILED:
            failures[run.domain][day] += 1
        if run.outcome == "gate_failed":
            gate_failures[run.domain] += 1
    published = services.history.published()
    status = dr_status(mesh)
    lag_by_domain: dict[str, Counter[str]] = defaultdict(Counter)
    rpo: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    for lag in status.assets:
        domain = lag.key.split(".", 1)[0]
        lag_by_domain[domain][lag.state] += 1
        versions, seconds = rpo[domain]
        rpo[domain] = (versions + lag.versions_behind, max(seconds, lag.seconds_behind))
    regions = list(mesh.regions.storage)
    by_domain: dict[str, list[str]] = defaultdict(list)
    for key in mesh.graph:
        by_domain[mesh.graph[key].spec.domain].append(key)
    rows = []
    for name, policy in sorted(mesh.policy.active_domains.items()):
        keys = by_domain.get(name, [])
        rows.append(DomainRow(
            name=name, owners=tuple(policy.owners), assets=len(keys), runs=sum(runs[name].values()),
            failures=sum(failures[name].values()), gate_failures=gate_failures[name],
            versions=sum(len(v) for k, v in published.items() if k.split(".", 1)[0] == name),
            storage_bytes={r: mesh.store(r).storage_bytes(name) for r in regions},
            replication=dict(lag_by_domain[name]), rpo_versions=rpo[name][0], rpo_seconds=rpo[name][1],
            health=operations.domain_health(name, days=days, now=now)))
    daily_ops = {r.name: d for r in rows if (d := operations.daily(r.name, days=days, now=now)) is not None}
    trends = Trends(days=day_names,
                    runs={r.name: tuple(runs[r.name][d] for d in day_names) for r in rows},
                    failures={r.name: tuple(failures[r.name][d] for d in day_names) for r in rows},
                    operations=daily_ops)
    states = {key: asset_state(last_outcome.get(key), operations.asset_fresh(key, now=now)) for key in mesh.graph}
    return Overview(mesh=mesh.policy.settings.name, now=now, window_days=days, domains=tuple(rows), trends=trends,
                    states=states, active_region=status.active, standby_region=status.standby,
                    ready_to_fail_over=status.ready, last_drill=last_drill(services.audit))


def asset_state(last_outcome: str | None, fresh: bool | None) -> str:
    """An asset's colour on the graph: its last run's outcome, ``stale`` when the operations
    layer says it is not fresh, ``never run`` without any run."""
    if last_outcome is None:
        return "never run"
    if last_outcome in FAILED:
        return last_outcome
    if fresh is False:
        return "stale"
    return last_outcome
