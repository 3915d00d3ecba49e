"""Predicted breaches: when each asset's next version is expected, against its deadline.

Per asset, from its successful runs: the quantiles of how long a run takes, how often it
publishes (the median gap between two versions) and, for a scheduled asset, how long after its
scheduled time it usually finishes (robust: quantiles, no model; a run long after its tick, such
as a first run or a re-run by hand, says nothing of when scheduled runs end and is not learnt
from). The expected completion of the next version follows the graph, because an asset cannot
be fresh before its inputs are: an input's expected completion, then the asset's own run. Which
input it waits for is learnt too: an asset published about as often as its most frequent input
runs whenever any input arrives (the in-process engine runs everything downstream of a tick;
Airflow's ``trigger="any"``), so its next version follows the first input expected; one
published less often waits for all of them (Airflow's ``trigger="all"``), so it follows the last. A run in
progress is expected to end its usual duration after it started; once it has run longer than
its 90th percentile it is overrunning, and is expected to run at least as long again as it has
so far (the longer a job has overrun, the longer it tends to go on), so a run hanging before its
deadline is predicted to breach it, not found late when the deadline passes. When the expected
completion is past the deadline of the current version, the breach is predicted.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from governance.ops.freshness import AssetStatus
from governance.ops.watch import Watched, next_tick, previous_tick
from governance.runs.records import RunRecord

#: The quantile of past runs an expected time is taken at (the median: robust to outliers).
EXPECTED_QUANTILE = 0.5
#: At most this many of the latest runs of an asset are learnt from.
WINDOW = 60


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStats:
    """How the successful runs of one asset went: ``runs`` of them, their duration at the median
    and 90th percentile, and (scheduled assets) how long after the scheduled time they ended."""

    key: str
    runs: int
    duration_p50: dt.timedelta
    duration_p90: dt.timedelta
    finish_after_tick_p50: dt.timedelta | None = None
    cadence_p50: dt.timedelta | None = None


def learn(records: Iterable[RunRecord], assets: Mapping[str, Watched]) -> dict[str, RunStats]:
    """The statistics of each asset with at least one successful run among ``records``."""
    durations: dict[str, list[float]] = {}
    lags: dict[str, list[float]] = {}
    ends: dict[str, list[dt.datetime]] = {}
    for r in records:
        if r.status != "materialized" or r.ended_at is None:
            continue
        durations.setdefault(r.key, []).append((r.ended_at - r.started_at).total_seconds())
        ends.setdefault(r.key, []).append(r.ended_at)
        asset = assets.get(r.key)
        if asset is not None and asset.scheduled:
            tick = _tick_before(asset, r.started_at)
            if tick is not None and asset.schedule and r.started_at - tick <= (next_tick(asset.schedule, tick) - tick) / 2:
                lags.setdefault(r.key, []).append((r.ended_at - tick).total_seconds())
    gaps = {k: [(b - a).total_seconds() for a, b in itertools.pairwise(v[-WINDOW - 1:])]
            for k, v in ends.items() if len(v) > 1}
    return {key: RunStats(key=key, runs=len(values), duration_p50=_q(values[-WINDOW:], 0.5),
                          duration_p90=_q(values[-WINDOW:], 0.9),
                          finish_after_tick_p50=_q(lags[key][-WINDOW:], EXPECTED_QUANTILE) if key in lags else None,
                          cadence_p50=_q(sorted(gaps[key]), 0.5) if key in gaps else None)
            for key, values in durations.items()}


def _q(values: Sequence[float], q: float) -> dt.timedelta:
    if len(values) == 1:
        return dt.timedelta(seconds=values[0])
    cuts = statistics.quantiles(sorted(values), n=100, method="inclusive")
    return dt.timedelta(seconds=cuts[min(98, max(0, round(q * 100) - 1))])


def _tick_before(asset: Watched, at: dt.datetime) -> dt.datetime | None:
    """The scheduled time a run started at ``at`` belongs to (the last tick at or before it)."""
    return previous_tick(asset.schedule, at) if asset.scheduled and asset.schedule else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Prediction:
    """When the next version of ``key`` is expected, its current deadline, and whether it
    will be late (``breach``); ``reason`` says what the expectation rests on."""

    key: str
    expected: dt.datetime | None
    deadline: dt.datetime | None
    breach: bool
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "expected": self.expected.isoformat() if self.expected else None,
                "deadline": self.deadline.isoformat() if self.deadline else None, "breach": self.breach,
                "reason": self.reason}


def predict(assets: Sequence[Watched], now_statuses: Mapping[str, AssetStatus], stats: Mapping[str, RunStats],
            now: dt.datetime) -> dict[str, Prediction]:
    """The expected completion of each asset's next version (``assets`` in topological order)."""
    found: dict[str, Prediction] = {}
    for asset in assets:
        status = now_statuses.get(asset.key)
        if status is None:
            continue
        expected, why = _expected(asset, status, stats, now_statuses, found, now)
        breach = bool(status.state == "fresh" and expected is not None and status.deadline is not None
                      and expected > status.deadline)
        found[asset.key] = Prediction(key=asset.key, expected=expected, deadline=status.deadline, breach=breach,
                                      reason=why)
    return found


def _expected(asset: Watched, status: AssetStatus, learnt: Mapping[str, RunStats],
              statuses: Mapping[str, AssetStatus], known: Mapping[str, Prediction],
              now: dt.datetime) -> tuple[dt.datetime | None, str]:
    stats = learnt.get(asset.key)
    duration = stats.duration_p50 if stats else dt.timedelta(0)
    last = status.published_at
    if status.running_since is not None:
        running = now - status.running_since
        if stats is not None and running > stats.duration_p90:
            return now + running, (f"run in progress since {status.running_since:%H:%M}, overrunning: "
                                   f"{_human(running)} so far, usually {_human(duration)}")
        return max(now, status.running_since + duration), \
            f"run in progress since {status.running_since:%H:%M}, usually {_human(duration)}"
    waits: list[tuple[dt.datetime, str]] = []
    unknown: list[str] = []
    for key in asset.inputs:
        upstream = statuses.get(key)
        if upstream is None:
            continue
        if last is not None and upstream.published_at is not None and upstream.published_at > last:
            waits.append((upstream.published_at, f"input {key} arrived"))
            continue
        coming = known.get(key)
        if coming is None or coming.expected is None:
            unknown.append(key)
            continue
        waits.append((coming.expected, f"input {key} expected {coming.expected:%H:%M}"))
    every = waits_for_every_input(asset, learnt)
    if unknown and (every or not waits):
        return None, f"input {unknown[0]} has no expected completion"
    if asset.scheduled and not asset.inputs:
        tick = asset.next_tick(last) if last is not None else None
        if tick is None:
            return None, "never published"
        lag = stats.finish_after_tick_p50 if stats and stats.finish_after_tick_p50 is not None else duration
        if tick <= now:  # the run should have started
            return max(now + duration, tick + lag), f"scheduled {tick:%H:%M}, not started yet"
        return tick + lag, f"scheduled {tick:%H:%M}, usually done {_human(lag)} later"
    if not waits:
        return None, "no inputs and no schedule"
    start, why = max(waits) if every else min(waits)
    return max(now, start) + duration, f"{why}, then about {_human(duration)}"


def waits_for_every_input(asset: Watched, learnt: Mapping[str, RunStats]) -> bool:
    """Whether the next version of ``asset`` waits for all its inputs (else the first one that
    arrives starts it): learnt from how often it and its inputs publish. It runs on any input
    when it publishes at most 1.5 times as seldom as its most frequent input; without history
    (or with one input) it waits for all."""
    mine = learnt.get(asset.key)
    theirs = [s.cadence_p50 for k in asset.inputs if (s := learnt.get(k)) is not None and s.cadence_p50]
    if len(asset.inputs) < 2 or mine is None or mine.cadence_p50 is None or not theirs:
        return True
    return mine.cadence_p50 > 1.5 * min(theirs)


def _human(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
