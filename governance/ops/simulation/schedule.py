"""The example mesh's schedules as a list of ticks: at each, the scheduled roots that fire.

A tick runs its roots and everything downstream of them (the engine's selection ``root+``), as
Airflow runs a cron DAG and then the asset-triggered ones. Times come from the same rule the
freshness monitor uses (:func:`governance.ops.watch.next_tick`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from assets.graph import AssetGraph
from assets.partitions import CRONS, TimePartitions
from governance.ops.watch import Watched, next_tick


@dataclass(frozen=True, slots=True)
class Tick:
    """A moment of the schedule and the roots due then (in key order)."""

    at: dt.datetime
    roots: tuple[str, ...]

    @property
    def selection(self) -> str:
        """The engine's selection of this tick: each root and its downstream."""
        return " ".join(f"{k}+" for k in self.roots)


#: When a file arrives for an observed source in a simulation (every morning at 08:00).
DROPS_AT = "0 8 * * *"


def with_partition_schedules(assets: Sequence[Watched], graph: AssetGraph) -> list[Watched]:
    """``assets``, each time-partitioned root without a schedule given its partitions' (a daily
    partitioned asset runs at midnight), and each observed source the time its files arrive
    (:data:`DROPS_AT`; the simulation drops a file then)."""
    def scheduled(a: Watched) -> Watched:
        spec = graph[a.key].spec if a.key in graph else None
        if a.schedule or a.inputs or spec is None:
            return a
        if isinstance(spec.partitions, TimePartitions):
            return dataclasses.replace(a, schedule=CRONS[spec.partitions.unit])
        if spec.drop is not None:  # an observed source: a file arrives every morning
            return dataclasses.replace(a, schedule=DROPS_AT)
        return a

    return [scheduled(a) for a in assets]


def scheduled_roots(assets: Sequence[Watched]) -> list[Watched]:
    """The assets with a schedule and no inputs: what a clock starts."""
    return [a for a in assets if a.scheduled and not a.inputs]


def ticks(assets: Sequence[Watched], start: dt.datetime, end: dt.datetime) -> Iterator[Tick]:
    """Every tick in ``(start, end]``, in time order."""
    roots = scheduled_roots(assets)
    upcoming = {a.key: next_tick(a.schedule or "", start) for a in roots}
    while upcoming:
        at = min(upcoming.values())
        if at > end:
            return
        due = tuple(sorted(k for k, t in upcoming.items() if t == at))
        schedules = {a.key: a.schedule or "" for a in roots}
        for key in due:
            upcoming[key] = next_tick(schedules[key], at)
        yield Tick(at=at, roots=due)
