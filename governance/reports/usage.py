"""Usage and chargeback per tenant: metering per domain and day, priced by ``[billing]``.

What is metered, and from where:

- ``runs`` and ``task_seconds``: every ``materialize`` record of the audit log (its
  ``seconds``; records written before the field existed count as runs of 0 s, and are counted
  in ``unmetered_runs``);
- ``rows_published`` and ``bytes_published``: the ``materialize`` records that published;
- ``bytes_replicated``: the ``replicate`` records that copied or repaired a version;
- ``reads_by_others``: reads of the domain's assets by people who do not own it (``read``
  records allowed), and by other domains' assets (``inputs_read`` of their ``materialize``
  records); charged to the producing domain, whose data is served;
- ``bytes_stored``: per region, the versions each region's store holds, each counted from the
  day it was produced (a version removed since is not counted: the stores say what is kept now).

Costs: GB-months stored (each day's bytes over the days of the month, 10^9 bytes a GB), task
hours, GB replicated and thousands of reads, at the rates of ``[billing]``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from assets.errors import MeshError
from assets.mesh import Mesh
from assets.ports import AuditEvent
from governance.audit import AuditRecord
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.policy import MeshPolicy
from governance.policy.reporting import BillingRates
from governance.policy.roles import permissions_of
from governance.reports.period import Period
from governance.reports.records import Entry
from governance.services import governed

GB = 1_000_000_000
_COLUMNS = ("domain", "day", "runs", "task_seconds", "rows_published", "bytes_published", "bytes_replicated",
            "reads_by_others", "bytes_stored", "cost")


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyUsage(Entry):
    """What one domain used on one day, and its cost at the mesh's rates."""

    domain: str
    day: str
    runs: int = 0
    unmetered_runs: int = 0
    task_seconds: float = 0.0
    rows_published: int = 0
    bytes_published: int = 0
    bytes_replicated: int = 0
    reads_by_others: int = 0
    bytes_stored: Mapping[str, int] = field(default_factory=dict)
    cost: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainCharge(Entry):
    """A domain's month: the usage summed, the units billed and the cost of each."""

    domain: str
    runs: int
    task_hours: float
    rows_published: int
    bytes_published: int
    gb_months_stored: float
    gb_replicated: float
    reads_by_others: int
    costs: Mapping[str, float]
    total: float


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageReport(Entry):
    month: str
    rates: Mapping[str, Any]
    days: tuple[DailyUsage, ...]
    charges: tuple[DomainCharge, ...]

    @property
    def total(self) -> float:
        return round(sum(c.total for c in self.charges), 2)

    def to_csv(self) -> str:
        """One row per domain and day; ``bytes_stored`` summed over the regions."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_COLUMNS)
        for d in self.days:
            writer.writerow([d.domain, d.day, d.runs, round(d.task_seconds, 3), d.rows_published, d.bytes_published,
                             d.bytes_replicated, d.reads_by_others, sum(d.bytes_stored.values()), round(d.cost, 6)])
        return out.getvalue()


class _Day:
    """A mutable tally while the records are read."""

    def __init__(self) -> None:
        self.runs = self.unmetered = self.rows = self.bytes = self.replicated = self.reads = 0
        self.seconds = 0.0
        self.stored: dict[str, int] = {}


def _owners(policy: MeshPolicy) -> dict[str, frozenset[str]]:
    return {name: frozenset(d.owners) for name, d in policy.domains.items()}


class BadDetails(TypeError):
    """A record whose ``details`` hold a value of the wrong type where the meter reads it."""

    def __init__(self, record: AuditRecord, name: str) -> None:
        super().__init__(f"record {record.seq}'s details.{name} is not what a {record.action} record holds")
        self.record = record


def _count(record: AuditRecord, name: str) -> int:
    """``details[name]`` of ``record``: a number (or absent: 0); :class:`BadDetails` otherwise."""
    value = record.details.get(name) or 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadDetails(record, name)
    return int(value)


def meter(records: Iterable[AuditRecord], stored: Mapping[tuple[str, str], Mapping[str, int]], policy: MeshPolicy,
          month: Period) -> dict[tuple[str, str], _Day]:
    """Tally ``records`` of ``month`` per (domain, day); ``stored`` gives bytes per region and (domain, day)."""
    tally: dict[tuple[str, str], _Day] = {}
    owners = _owners(policy)

    def day_of(domain: str, at: str) -> _Day:
        return tally.setdefault((domain, at[:10]), _Day())

    for r in records:
        if not month.contains(r.at):
            continue
        domain = r.target.split(".", 1)[0]
        if r.action == "materialize":
            d = day_of(domain, r.at)
            d.runs += 1
            seconds = r.details.get("seconds")
            d.seconds += float(seconds) if isinstance(seconds, int | float) else 0.0
            d.unmetered += not isinstance(seconds, int | float)
            if r.outcome == "materialized":
                d.rows += _count(r, "rows")
                d.bytes += _count(r, "bytes")
            inputs = r.details.get("inputs_read") or {}
            if not isinstance(inputs, Mapping):
                raise BadDetails(r, "inputs_read")
            for upstream in inputs:
                producer = upstream.split(".", 1)[0]
                if producer != domain:
                    day_of(producer, r.at).reads += 1
        elif r.action == "replicate" and r.outcome in ("copied", "repaired"):
            day_of(domain, r.at).replicated += _count(r, "bytes")
        elif r.action == "read" and r.outcome == "allowed" and r.actor not in owners.get(domain, frozenset()):
            day_of(domain, r.at).reads += 1
    for (domain, day), regions in stored.items():
        day_of(domain, day).stored = dict(regions)
    return tally


def stored_bytes(mesh: Mesh, keys: Iterable[str], month: Period, today: dt.date) -> dict[tuple[str, str], dict[str, int]]:
    """Bytes each region's store holds per (domain, day) of ``month`` up to ``today``: every
    version kept now, from the day it was produced."""
    versions: list[tuple[str, str, str, int]] = []  # region, domain, produced day, bytes
    for region in mesh.regions.storage:
        store = mesh.store(region)
        for key in keys:
            try:
                for version in store.versions(key):
                    manifest = store.manifest(key, version)
                    versions.append((region, manifest.domain, manifest.produced_at[:10], manifest.bytes))
            except (MeshError, OSError):  # an unreachable region or a key it never held
                continue
    found: dict[tuple[str, str], dict[str, int]] = {}
    for day in month.days():
        if day > today:
            break
        text = day.isoformat()
        for region, domain, produced, size in versions:
            if produced <= text:
                regions = found.setdefault((domain, text), {})
                regions[region] = regions.get(region, 0) + size
    return found


def _cost(rates: BillingRates, seconds: float, stored: int, replicated: int, reads: int,
          days_in_month: int) -> dict[str, float]:
    return {"stored": stored / GB / days_in_month * rates.per_gb_month_stored,
            "compute": seconds / 3600 * rates.per_task_hour,
            "replicated": replicated / GB * rates.per_gb_replicated,
            "reads": reads / 1000 * rates.per_1000_reads}


def usage_report(mesh: Mesh, month: Period, actor: Actor, *, today: dt.date | None = None) -> UsageReport:
    """The usage and cost of every domain in ``month`` (a :meth:`Period.month`) for ``actor``
    holding ``read_audit``; an owner of domains without it sees those domains only (a tenant's
    own bill). Anyone else is refused; the request is audited."""
    services = governed(mesh)
    owned = sorted(d.name for d in mesh.policy.domains.values() if actor.id in d.owners)
    scope = None if "read_audit" in permissions_of(mesh.policy, actor.id) or not owned else set(owned)
    if scope is None:
        require(mesh.policy, services.audit, actor, "read_audit", action="report_usage", target="audit")
    services.audit.append(AuditEvent(actor=actor.id, action="report_usage", target="audit", outcome="allowed",
                                     source="cli", details={"month": month.label, "domains": owned if scope else "all",
                                                            **identity_details(actor)}))
    report = measure_usage(mesh, month, today=today)
    if scope is None:
        return report
    return UsageReport(month=report.month, rates=report.rates,
                       days=tuple(d for d in report.days if d.domain in scope),
                       charges=tuple(c for c in report.charges if c.domain in scope))


def measure_usage(mesh: Mesh, month: Period, *, today: dt.date | None = None) -> UsageReport:
    """The usage and cost of every domain in ``month``, unchecked and unaudited: for
    :func:`usage_report`, which checks and audits who asks, and for the dashboard, which shows
    each domain's cost of the month beside its runs (figures per domain, no data)."""
    services = governed(mesh)
    today = today or dt.date.today()
    keys = set(mesh.graph) | set(services.history.published())
    by_day = stored_bytes(mesh, sorted(keys), month, today)
    lines: list[int] = []  # the line of the record being metered: records() yields one per line

    def numbered() -> Iterator[AuditRecord]:
        for line, record in enumerate(services.audit.records(), start=1):
            lines[:] = [line]
            yield record

    try:
        tally = meter(numbered(), by_day, mesh.policy, month)
    except BadDetails:  # a hand-edited record: named as every damaged line is
        raise services.audit.damaged_line(lines[0]) from None
    rates, span = mesh.policy.billing, len(month.days())
    days = []
    for (domain, day), t in sorted(tally.items()):
        cost = _cost(rates, t.seconds, sum(t.stored.values()), t.replicated, t.reads, span)
        days.append(DailyUsage(domain=domain, day=day, runs=t.runs, unmetered_runs=t.unmetered,
                               task_seconds=round(t.seconds, 3), rows_published=t.rows, bytes_published=t.bytes,
                               bytes_replicated=t.replicated, reads_by_others=t.reads, bytes_stored=t.stored,
                               cost=round(sum(cost.values()), 6)))
    charges = []
    for domain in sorted(set(mesh.policy.domains) | {d.domain for d in days}):
        mine = [d for d in days if d.domain == domain]
        seconds = sum(d.task_seconds for d in mine)
        stored = sum(sum(d.bytes_stored.values()) for d in mine)
        replicated = sum(d.bytes_replicated for d in mine)
        reads = sum(d.reads_by_others for d in mine)
        costs = {k: round(v, 4) for k, v in _cost(rates, seconds, stored, replicated, reads, span).items()}
        charges.append(DomainCharge(
            domain=domain, runs=sum(d.runs for d in mine), task_hours=round(seconds / 3600, 4),
            rows_published=sum(d.rows_published for d in mine), bytes_published=sum(d.bytes_published for d in mine),
            gb_months_stored=round(stored / GB / span, 9), gb_replicated=round(replicated / GB, 9),
            reads_by_others=reads, costs=costs, total=round(sum(costs.values()), 2)))
    return UsageReport(month=month.label, rates=rates.to_dict(), days=tuple(days), charges=tuple(charges))
