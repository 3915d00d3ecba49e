"""What the executive dashboard shows, computed from the mesh's own records.

Sources, each what it already holds: the asset graph (assets, lineage), the audit log's
``materialize`` records (every run of every asset, whatever its outcome: runs, failures and gate
failures per day), the run history (published versions), each region's store (bytes per domain)
and the replication state (:func:`governance.dr.dr_status`). The last recovery drill comes from
the audit log's ``dr_drill`` records when there are any. :class:`RunIndex` reads the log once
and then only what is appended. Freshness, SLA compliance and incidents
come from the operations layer's :class:`~governance.ops.OperationsView`, and are ``None`` (shown
as "not measured") until it measures them.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from assets.mesh import Mesh
from governance.audit import AuditError, AuditLog, AuditRecord, parse_record
from governance.dr import dr_status
from governance.ops import DailyOperations, DomainHealth, OperationsView
from governance.reports import UsageReport
from governance.services import governed

#: The window of the dashboard's figures and trends.
WINDOW_DAYS = 30
#: Outcomes of a run that count as failures.
FAILED = frozenset({"gate_failed", "error"})
#: How many of each asset's latest runs its page lists.
RECENT = 30
_MATERIALIZE_LINE = b'{"action":"materialize",'
_DRILL_LINE = b'{"action":"dr_drill",'
_AT, _OUTCOME, _TARGET = b',"at":"', b',"outcome":"', b',"target":"'


def _run_fields(line: bytes) -> tuple[str, str, str]:
    """``at``, ``outcome`` and ``target`` of a ``materialize`` record line, found without parsing
    the line: it is canonical JSON (sorted keys, no spaces; governance.audit.lines), so ``at`` is
    the first key of that name (only ``action`` and ``actor`` come before it), ``outcome`` and
    ``target`` the last ones (only ``prev``, ``seq``, ``source``, ``where`` and ``hash`` follow
    them). A JSON string cannot hold an unescaped quote, so no value can fake a key. A line
    that is not so is parsed."""
    a, o, t = line.find(_AT), line.rfind(_OUTCOME), line.rfind(_TARGET)
    if 0 < a < o < t:
        a, o, t = a + len(_AT), o + len(_OUTCOME), t + len(_TARGET)
        return (line[a:line.index(b'"', a)].decode(), line[o:line.index(b'"', o)].decode(),
                line[t:line.index(b'"', t)].decode())
    record = parse_record(line)
    return record.at, record.outcome, record.target


#: What reading a damaged record raises: not JSON or UTF-8 (``ValueError``), a field missing or of
#: the wrong kind.
_DAMAGED = (ValueError, KeyError, TypeError, AttributeError)


@contextmanager
def _record_at(log: AuditLog, offset: int) -> Iterator[None]:
    """Reading the record at byte ``offset``: a damaged one raises the log's error naming its line."""
    try:
        yield
    except _DAMAGED:
        raise log.damaged_at(offset) from None


def _number(details: Mapping[str, Any], name: str) -> Any:
    """``details[name]``: a number or ``None``; ``TypeError`` if it is something else."""
    value = details.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise TypeError(f"a dr_drill record's {name} is not a number")
    return value


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
    #: The domain's cost so far this month at the ``[billing]`` rates (``mesh usage``).
    cost_this_month: float = 0.0


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
    #: The month the domains' costs cover, and their currency.
    cost_month: str = ""
    currency: str = ""
    #: When the operational figures and the costs were measured (at most a minute ago).
    figures_at: dt.datetime | None = None

    def totals(self) -> dict[str, int]:
        return {"assets": sum(d.assets for d in self.domains), "runs": sum(d.runs for d in self.domains),
                "failures": sum(d.failures for d in self.domains),
                "gate_failures": sum(d.gate_failures for d in self.domains),
                "versions": sum(d.versions for d in self.domains)}


@dataclass
class RunIndex:
    """Runs, failures and gate failures per domain and day, and each asset's last outcome, from
    the audit log's ``materialize`` records; where each asset's latest runs and the last
    ``dr_drill`` record are in the log. The log only grows, so each :meth:`update` reads only
    the lines appended since the last one (a log that shrank, say restored from a backup, is
    read again from its start)."""

    offset: int = 0
    runs: Counter[tuple[str, str]] = field(default_factory=Counter)
    recent: dict[str, deque[int]] = field(default_factory=dict)
    drill_at: int | None = None
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    gate_failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    last_outcome: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, log: AuditLog) -> RunIndex:
        with self._lock, log.storage.open() as fh:
            size = fh.seek(0, io.SEEK_END)
            if size < self.offset:
                self._reset()
            fh.seek(self.offset)
            for line in fh:
                if not line.endswith(b"\n"):
                    break  # a torn last line: the next append sets it aside
                with _record_at(log, self.offset):  # not read past: every page says so until the log is restored
                    if line.startswith(_MATERIALIZE_LINE):
                        self._add(line, self.offset)
                    elif line.startswith(_DRILL_LINE):
                        parse_record(line)  # its details are read when the page shows them
                        self.drill_at = self.offset
                self.offset += len(line)
        return self

    def runs_of(self, log: AuditLog, key: str) -> list[RunRecord]:
        """The latest runs of ``key`` (at most :data:`RECENT`), newest first."""
        runs = []
        for offset, record in self._read(log, list(self.recent.get(key, ()))[::-1]):
            with _record_at(log, offset):
                details = record.details
                runs.append(RunRecord(key=record.target, at=dt.datetime.fromisoformat(record.at),
                                      outcome=record.outcome, version=details.get("version"),
                                      error=details.get("error"), failed_checks=tuple(details.get("failed_checks") or ())))
        return runs

    def last_drill(self, log: AuditLog) -> Drill | None:
        """The last recovery drill the log recorded, or ``None``."""
        if self.drill_at is None:
            return None
        offset, record = self._read(log, [self.drill_at])[0]
        with _record_at(log, offset):
            details = record.details
            return Drill(at=record.at, ok=record.outcome == "ok", rto_seconds=_number(details, "rto_seconds"),
                         rpo_versions=_number(details, "rpo_versions"), rpo_seconds=_number(details, "rpo_seconds"))

    @staticmethod
    def _read(log: AuditLog, offsets: list[int]) -> list[tuple[int, AuditRecord]]:
        """The records at ``offsets``, each with its offset; :class:`AuditError` at one that is not a record."""
        with log.storage.open() as fh:
            found = []
            for offset in offsets:
                fh.seek(offset)
                with _record_at(log, offset):
                    found.append((offset, parse_record(fh.readline())))
            return found

    def _add(self, line: bytes, start: int) -> None:
        at, outcome, key = _run_fields(line)
        slot = (key.split(".", 1)[0], at[:10])
        self.last_outcome[key] = outcome
        self.recent.setdefault(key, deque(maxlen=RECENT)).append(start)
        self.runs[slot] += 1
        if outcome in FAILED:
            self.failures[slot] += 1
        if outcome == "gate_failed":
            self.gate_failures[slot] += 1

    def _reset(self) -> None:
        self.offset, self.drill_at = 0, None
        self.recent.clear()
        for counter in (self.runs, self.failures, self.gate_failures):
            counter.clear()
        self.last_outcome.clear()


def overview(mesh: Mesh, operations: OperationsView, *, now: dt.datetime | None = None,
             days: int = WINDOW_DAYS, index: RunIndex | None = None, usage: UsageReport | None = None,
             figures_at: dt.datetime | None = None) -> Overview:
    """The dashboard's figures for ``mesh`` at ``now`` over the last ``days`` days; ``index``
    is the run index kept between calls (a new one reads the whole audit log); ``usage`` the
    month's costs (``mesh usage``), and ``figures_at`` when ``operations`` and ``usage`` were measured."""
    now = now or dt.datetime.now(dt.UTC)
    services = governed(mesh)
    runs = (index or RunIndex()).update(services.audit)
    start = (now - dt.timedelta(days=days - 1)).date()
    day_names = tuple((start + dt.timedelta(days=i)).isoformat() for i in range(days))
    versions_by_key = services.history.version_counts()
    status = dr_status(mesh, keys=sorted(set(mesh.graph) | set(versions_by_key)))  # what DR protects, in one query
    lag_by_domain: dict[str, Counter[str]] = defaultdict(Counter)
    rpo: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    for lag in status.assets:
        domain = lag.key.split(".", 1)[0]
        lag_by_domain[domain][lag.state] += 1
        versions, seconds = rpo[domain]
        rpo[domain] = (versions + lag.versions_behind, max(seconds, lag.seconds_behind))
    versions_of: Counter[str] = Counter()
    for key, count in versions_by_key.items():
        versions_of[key.split(".", 1)[0]] += count
    assets_of = Counter(mesh.graph[key].spec.domain for key in mesh.graph)
    regions = list(mesh.regions.storage)
    rows, trend_runs, trend_failures = [], {}, {}
    cost_of = {c.domain: c.total for c in usage.charges} if usage is not None else {}
    for name, policy in sorted(mesh.policy.active_domains.items()):
        trend_runs[name] = tuple(runs.runs[(name, d)] for d in day_names)
        trend_failures[name] = tuple(runs.failures[(name, d)] for d in day_names)
        rows.append(DomainRow(
            name=name, owners=tuple(policy.owners), assets=assets_of[name], runs=sum(trend_runs[name]),
            failures=sum(trend_failures[name]), gate_failures=sum(runs.gate_failures[(name, d)] for d in day_names),
            versions=versions_of[name], storage_bytes={r: mesh.store(r).storage_bytes(name) for r in regions},
            replication=dict(lag_by_domain[name]), rpo_versions=rpo[name][0], rpo_seconds=rpo[name][1],
            health=operations.domain_health(name, days=days, now=now), cost_this_month=cost_of.get(name, 0.0)))
    daily_ops = {r.name: d for r in rows if (d := operations.daily(r.name, days=days, now=now)) is not None}
    trends = Trends(days=day_names, runs=trend_runs, failures=trend_failures, operations=daily_ops)
    states = {key: asset_state(runs.last_outcome.get(key), operations.asset_fresh(key, now=now)) for key in mesh.graph}
    return Overview(mesh=mesh.policy.settings.name, now=now, window_days=days, domains=tuple(rows), trends=trends,
                    states=states, active_region=status.active, standby_region=status.standby,
                    ready_to_fail_over=status.ready, last_drill=runs.last_drill(services.audit),
                    cost_month=usage.month if usage is not None else "", currency=mesh.policy.billing.currency,
                    figures_at=figures_at or now)


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
