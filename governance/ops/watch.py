"""What the operations layer watches: each asset's key, inputs, schedule and freshness, from the
loaded mesh (in-process) or from the compiled mesh (Airflow's parser, no domain code), and the
rule that turns its publish times into deadlines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from assets.compiled import CompiledMesh
from assets.graph import AssetGraph
from governance.policy.ops import OpsPolicy

_DAY = dt.timedelta(days=1)
#: Presets croniter does not know, as cron expressions.
_CRON = {"@quarterly": "0 0 1 */3 *"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Watched:
    """One asset as operations sees it. Its deadline after a publish at ``p`` is the earlier of
    ``p + freshness`` and, for a scheduled asset, the next scheduled time after ``p`` plus the
    domain's ``allowed_lag``; past it the asset is ``late`` for ``grace``, then ``breached``."""

    key: str
    domain: str
    inputs: tuple[str, ...] = ()
    schedule: str | None = None
    freshness: dt.timedelta | None = None
    allowed_lag: dt.timedelta = dt.timedelta(hours=1)
    grace: dt.timedelta = dt.timedelta(minutes=30)

    @property
    def scheduled(self) -> bool:
        return self.schedule is not None and self.schedule != "@once"

    @property
    def tracked(self) -> bool:
        """Whether the asset has a deadline at all (a freshness, or a schedule)."""
        return self.freshness is not None or self.scheduled

    def deadline_after(self, published: dt.datetime) -> dt.datetime | None:
        """When the version published at ``published`` stops being fresh (``None``: never)."""
        deadlines = []
        if self.freshness is not None:
            deadlines.append(published + self.freshness)
        if self.scheduled:
            assert self.schedule is not None
            deadlines.append(next_tick(self.schedule, published) + self.allowed_lag)
        return min(deadlines, default=None)

    def next_tick(self, after: dt.datetime) -> dt.datetime | None:
        """The next scheduled time after ``after`` (``None`` when not scheduled)."""
        return next_tick(self.schedule, after) if self.scheduled and self.schedule else None


def next_tick(schedule: str, after: dt.datetime) -> dt.datetime:
    """The first time ``schedule`` fires strictly after ``after`` (UTC)."""
    after = after.astimezone(dt.UTC)
    if schedule == "@hourly":
        return after.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    if schedule == "@daily":
        return after.replace(hour=0, minute=0, second=0, microsecond=0) + _DAY
    if schedule == "@weekly":  # Sundays at midnight, as cron
        midnight = after.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight + dt.timedelta(days=(6 - after.weekday()) % 7 or 7)
    return _croniter_next(_CRON.get(schedule, schedule), after.replace(second=0, microsecond=0)) \
        if after.second or after.microsecond else _croniter_next(_CRON.get(schedule, schedule), after)


@lru_cache(maxsize=65536)
def _croniter_next(expression: str, after: dt.datetime) -> dt.datetime:
    from croniter import croniter  # about 1 ms a call: cached per minute

    found: dt.datetime = croniter(expression, after).get_next(dt.datetime)
    return found.astimezone(dt.UTC)


def topological(assets: Iterable[Watched]) -> list[Watched]:
    """``assets`` with each after the inputs among them."""
    by_key = {a.key: a for a in assets}
    done: dict[str, Watched] = {}

    def visit(a: Watched, path: tuple[str, ...]) -> None:
        if a.key in done or a.key in path:
            return
        for k in a.inputs:
            if k in by_key:
                visit(by_key[k], (*path, a.key))
        done[a.key] = a

    for a in sorted(by_key.values(), key=lambda a: a.key):
        visit(a, ())
    return list(done.values())


def watched_of_graph(graph: AssetGraph, ops: OpsPolicy) -> list[Watched]:
    """The assets of a loaded mesh, in topological order."""
    return [_watched(ops, key=k, domain=graph[k].spec.domain, inputs=tuple(graph[k].spec.inputs.values()),
                     schedule=graph[k].spec.schedule, freshness=graph[k].spec.freshness)
            for k in graph.sorted(graph)]


def watched_of_compiled(compiled: CompiledMesh, ops: OpsPolicy) -> list[Watched]:
    """The assets of a compiled mesh (what an Airflow DAG file reads), in topological order."""
    return topological(_watched(ops, key=a.key, domain=a.domain, inputs=tuple(i.key for i in a.inputs),
                                schedule=a.schedule,
                                freshness=dt.timedelta(seconds=a.freshness_seconds)
                                if a.freshness_seconds is not None else None)
                       for a in compiled.assets.values())


def _watched(ops: OpsPolicy, **fields: object) -> Watched:
    targets = ops.for_domain(str(fields["domain"]))
    return Watched(allowed_lag=targets.allowed_lag, grace=targets.grace, **fields)  # type: ignore[arg-type]


def select_watched(assets: Sequence[Watched], keys: Iterable[str]) -> list[Watched]:
    wanted = set(keys)
    return [a for a in assets if a.key in wanted]


def by_key(assets: Iterable[Watched]) -> Mapping[str, Watched]:
    return {a.key: a for a in assets}
