"""The operating report over a window: SLA compliance, availability of reads, incidents, MTTR
and MTBF, per asset, per domain and for the mesh, against each domain's targets (``[ops]``).

- **SLA compliance**: the share of the window (from the asset's first publish) during which it
  was fresh, computed from its publish times and its deadline rule (:class:`Watched`).
- **Availability of reads**: the share of that time its current version could be read: a
  version is unreadable from a run that found it so (``input '<key>' is unreadable``, or its
  data no longer matching its manifest, or gone) until the asset's next publish.
- **Incidents**: from a failed run (error, gate failure) to the next good version of that
  asset; **MTTR** is their mean duration (open ones are counted, not averaged), **MTBF** the
  time without an open incident divided by their number (summed over the scope's assets: a
  domain's or the mesh's MTBF is in asset-hours, and can exceed the window). Each incident has a **cause**, read
  from the run that opened it (:func:`cause_of`): ``bad data`` (the gate stopped it),
  ``unreadable input`` (an input's data no longer matched its manifest, or was gone),
  ``killed run`` (it died without a result) or ``run error`` (anything else the run raised,
  e.g. a source answering 503); :meth:`Report.by_cause` gives the MTTR of each.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assets.partition_reads import input_label
from governance.ops.clip import clip
from governance.ops.watch import Watched
from governance.policy.ops import OpsPolicy, OpsTargets
from governance.runs.records import CONFIRMED, RunRecord

_KEY = r"([a-z0-9_]+\.[a-z0-9_]+)"
#: The causes of an incident (see :func:`cause_of`).
CAUSES = ("run error", "bad data", "unreadable input", "killed run")
_UNREADABLE = re.compile(rf"input '{_KEY}' is unreadable|asset '{_KEY}': (?:the data of version '[^']*' does not "
                         rf"match its manifest|version '[^']*' has no data file)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """A failure of ``key`` (an asset, or one partition of it: ``key/partition``) from ``opened``
    to ``closed`` (``None``: still open)."""

    key: str
    opened: dt.datetime
    closed: dt.datetime | None
    first_error: str
    failures: int
    cause: str = "run error"

    @property
    def minutes(self) -> float | None:
        return None if self.closed is None else (self.closed - self.opened).total_seconds() / 60

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "cause": self.cause, "opened": self.opened.isoformat(),
                "closed": self.closed.isoformat() if self.closed else None,
                "minutes": round((self.closed - self.opened).total_seconds() / 60, 2) if self.closed else None,
                "failures": self.failures, "first_error": self.first_error}


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    """The figures of an asset, a domain or the mesh (``scope``) over a window."""

    scope: str
    tracked_seconds: float
    fresh_seconds: float
    readable_seconds: float
    incidents: int
    open_incidents: int
    repair_seconds: tuple[float, ...]
    up_seconds: float
    targets: OpsTargets

    @property
    def sla(self) -> float | None:
        return 100 * self.fresh_seconds / self.tracked_seconds if self.tracked_seconds else None

    @property
    def availability(self) -> float | None:
        return 100 * self.readable_seconds / self.tracked_seconds if self.tracked_seconds else None

    @property
    def mttr_seconds(self) -> float | None:
        return sum(self.repair_seconds) / len(self.repair_seconds) if self.repair_seconds else None

    @property
    def mtbf_seconds(self) -> float | None:
        return self.up_seconds / self.incidents if self.incidents else None

    def met(self) -> dict[str, bool | None]:
        """Whether each target is met (``None``: nothing to judge it by)."""
        sla, availability, mttr = self.sla, self.availability, self.mttr_seconds
        return {"sla": None if sla is None else sla >= self.targets.sla_target,
                "availability": None if availability is None else availability >= self.targets.availability_target,
                "mttr": None if mttr is None else mttr <= self.targets.mttr_target.total_seconds()}

    def to_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 3)
        return {"scope": self.scope, "sla_percent": r(self.sla), "availability_percent": r(self.availability),
                "incidents": self.incidents, "open_incidents": self.open_incidents,
                "mttr_minutes": r(self.mttr_seconds / 60) if self.mttr_seconds is not None else None,
                "mtbf_hours": r(self.mtbf_seconds / 3600) if self.mtbf_seconds is not None else None,
                "tracked_hours": r(self.tracked_seconds / 3600), "targets": self.targets.to_dict(), "met": self.met()}

    @staticmethod
    def total(scope: str, parts: Sequence[Figures], targets: OpsTargets) -> Figures:
        return Figures(scope=scope, tracked_seconds=sum(p.tracked_seconds for p in parts),
                       fresh_seconds=sum(p.fresh_seconds for p in parts),
                       readable_seconds=sum(p.readable_seconds for p in parts),
                       incidents=sum(p.incidents for p in parts), open_incidents=sum(p.open_incidents for p in parts),
                       repair_seconds=tuple(s for p in parts for s in p.repair_seconds),
                       up_seconds=sum(p.up_seconds for p in parts), targets=targets)


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """The report of ``[since, until)``: the mesh's figures, each domain's and each asset's."""

    since: dt.datetime
    until: dt.datetime
    mesh: Figures
    domains: Mapping[str, Figures]
    assets: Mapping[str, Figures]
    incidents: tuple[Incident, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "mesh": self.mesh.to_dict(),
                "domains": {k: v.to_dict() for k, v in self.domains.items()},
                "assets": {k: v.to_dict() for k, v in self.assets.items()},
                "incidents": [i.to_dict() for i in self.incidents], "by_cause": self.by_cause()}

    def by_cause(self) -> dict[str, dict[str, Any]]:
        """Per cause (:data:`CAUSES`): the incidents, how many are still open, and the MTTR of
        the closed ones (minutes; ``None`` when none closed)."""
        found: dict[str, dict[str, Any]] = {}
        for cause in CAUSES:
            mine = [i for i in self.incidents if i.cause == cause]
            closed = [m for i in mine if (m := i.minutes) is not None]
            found[cause] = {"incidents": len(mine), "open": len(mine) - len(closed),
                            "mttr_minutes": round(sum(closed) / len(closed), 3) if closed else None,
                            "max_minutes": round(max(closed), 3) if closed else None}
        return found


def build_report(assets: Sequence[Watched], records: Iterable[RunRecord], ops: OpsPolicy, *,
                 since: dt.datetime, until: dt.datetime,
                 published_before: Mapping[str, dt.datetime] | None = None) -> Report:
    """The report of ``records`` (the runs that ended in the window);
    ``published_before`` is each asset's last publish before ``since`` (its state at the start)."""
    runs: dict[str, list[RunRecord]] = {}
    unreadable: dict[str, list[dt.datetime]] = {}
    for r in records:
        runs.setdefault(r.key, []).append(r)
        match = _UNREADABLE.search(r.error or "") if r.status == "error" else None
        if match and r.ended_at:
            unreadable.setdefault(match.group(1) or match.group(2), []).append(r.ended_at)
    per_asset: dict[str, Figures] = {}
    incidents: list[Incident] = []
    for asset in assets:
        figures, found = _asset_figures(asset, runs.get(asset.key, []), unreadable.get(asset.key, []),
                                        (published_before or {}).get(asset.key), ops.for_domain(asset.domain),
                                        since, until)
        per_asset[asset.key] = figures
        incidents.extend(found)
    domains = {d: Figures.total(d, [f for k, f in per_asset.items() if k.split(".", 1)[0] == d], ops.for_domain(d))
               for d in sorted({a.domain for a in assets})}
    return Report(since=since, until=until, mesh=Figures.total("mesh", list(domains.values()), ops.defaults),
                  domains=domains, assets=per_asset, incidents=tuple(sorted(incidents, key=lambda i: i.opened)))


def _asset_figures(asset: Watched, runs: list[RunRecord], unreadable_at: list[dt.datetime],
                   before: dt.datetime | None, targets: OpsTargets, since: dt.datetime,
                   until: dt.datetime) -> tuple[Figures, list[Incident]]:
    ended = sorted((r for r in runs if r.ended_at is not None and r.ended_at < until),
                   key=lambda r: r.ended_at or since)
    publishes = ([before] if before is not None else []) + [r.ended_at for r in ended
                                                           if r.status in CONFIRMED and r.ended_at]
    start = max(since, publishes[0]) if publishes else until
    tracked = (until - start).total_seconds() if asset.tracked else 0.0
    fresh = 0.0
    readable = (until - start).total_seconds()
    for i, p in enumerate(publishes):
        following = publishes[i + 1] if i + 1 < len(publishes) else until
        deadline = asset.deadline_after(p) if asset.tracked else None
        good_until = min(following, deadline) if deadline is not None else following
        fresh += _overlap(p, good_until, since, until)
        broken = [t for t in unreadable_at if p <= t < following]
        if broken:
            readable -= _overlap(min(broken), following, since, until)
    incidents: list[Incident] = []
    by_partition: dict[str | None, list[RunRecord]] = {}
    for r in ended:  # a partition's incident ends when that partition publishes, not another one
        by_partition.setdefault(r.partition, []).append(r)
    for partition, own in by_partition.items():
        subject = input_label(asset.key, partition)
        opened: RunRecord | None = None
        failures = 0
        for r in own:
            if r.failed:
                if opened is None:
                    opened, failures = r, 0
                failures += 1
            elif r.status in CONFIRMED and opened is not None:
                incidents.append(_incident(subject, opened, r.ended_at, failures))
                opened = None
        if opened is not None:
            incidents.append(_incident(subject, opened, None, failures))
    repair = tuple((i.closed - i.opened).total_seconds() for i in incidents if i.closed)
    down = _covered([(i.opened, i.closed or until) for i in incidents], since, until)
    # time between failures counts from when the asset first ran, not from the window's start: an
    # asset a few minutes old has no month of failure-free operation behind it
    first_run = min((r.started_at for r in runs), default=until)
    window = (until - (since if before is not None else max(since, min(first_run, until)))).total_seconds()
    return Figures(scope=asset.key, tracked_seconds=tracked, fresh_seconds=fresh if asset.tracked else 0.0,
                   readable_seconds=max(0.0, readable) if asset.tracked else 0.0, incidents=len(incidents),
                   open_incidents=sum(1 for i in incidents if i.closed is None), repair_seconds=repair,
                   up_seconds=max(0.0, window - down), targets=targets), incidents


def _covered(spans: list[tuple[dt.datetime, dt.datetime]], since: dt.datetime, until: dt.datetime) -> float:
    """Seconds of ``[since, until)`` inside at least one of ``spans`` (incidents of several
    partitions of one asset overlap: the asset is down once)."""
    total, reach = 0.0, since
    for start, end in sorted(spans):
        start, end = max(start, reach), min(end, until)
        if end > start:
            total += (end - start).total_seconds()
            reach = end
    return total


def _incident(key: str, opened: RunRecord, closed: dt.datetime | None, failures: int) -> Incident:
    """The incident ``opened`` began: at its end, or for a run that died (closed when it was found
    dead, some time after its worker died) at its start, the earliest its worker can have died."""
    assert opened.ended_at is not None
    cause = cause_of(opened)
    return Incident(key=key, opened=opened.started_at if cause == "killed run" else opened.ended_at, closed=closed,
                    failures=failures, first_error=clip(opened.error or opened.status, 200), cause=cause)


def cause_of(run: RunRecord) -> str:
    """Why ``run`` failed, one of :data:`CAUSES`, from its status and error."""
    if run.status == "gate_failed":
        return "bad data"
    error = run.error or ""
    if "died without a result" in error:
        return "killed run"
    return "unreadable input" if _UNREADABLE.search(error) else "run error"


def _overlap(a: dt.datetime, b: dt.datetime, since: dt.datetime, until: dt.datetime) -> float:
    return max(0.0, (min(b, until) - max(a, since)).total_seconds())
