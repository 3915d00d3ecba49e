"""Freshness: the state of each watched asset at a moment, from its run history.

``fresh`` until its deadline (:meth:`Watched.deadline_after` its last publish), ``late`` for
the domain's grace after it, then ``breached``; ``unknown`` when it was never published, and
``untracked`` when it has no deadline at all (no freshness, no schedule). The reason says why it
is not fresh: the run that failed (for a partitioned asset, each partition whose last run
failed, even when others published since), the run still going, the input that is late.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select

from governance.ops.clip import clip
from governance.ops.watch import Watched
from governance.runs.records import SKIPPED, RunRecord, RunRecords, unstamp
from governance.state import StateDatabase
from governance.state.schema import updates

State = Literal["fresh", "late", "breached", "unknown", "untracked"]
#: States in which an asset is not fresh although it has a deadline.
OVERDUE = frozenset({"late", "breached"})


@dataclass(frozen=True, slots=True)
class Published:
    """The last version of an asset and when it was published."""

    version: str
    at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """What the history says of each asset, per key: the last publish, the last ended run,
    the run in progress (the newest one started and not ended), and for a partitioned asset the
    last runs of its partitions whose last run failed (oldest first)."""

    published: Mapping[str, Published] = field(default_factory=dict)
    ended: Mapping[str, RunRecord] = field(default_factory=dict)
    running: Mapping[str, RunRecord] = field(default_factory=dict)
    failed_partitions: Mapping[str, Sequence[RunRecord]] = field(default_factory=dict)


def load_facts(records: RunRecords, database: StateDatabase | None = None, keys: Collection[str] = ()) -> Facts:
    """The facts from the run records; an asset of ``keys`` the run history holds a version of
    but no run record publishes (published before run records were kept) counts from the
    recording time of its newest version."""
    latest = records.latest()
    published = {k: Published(r.version or "", r.ended_at) for k, r in latest.published.items() if r.ended_at}
    missing = sorted(set(keys) - set(published))
    if database is not None and missing:
        newest = select(updates.c.key, func.max(updates.c.recorded_at), func.max(updates.c.version)) \
            .where(updates.c.key.in_(missing)).group_by(updates.c.key)
        with database.read() as conn:
            for key, at, version in conn.execute(newest):
                if key not in published and at:
                    published[key] = Published(version, unstamp(at))
    return Facts(published=published, ended=latest.ended, running=latest.running,
                 failed_partitions=records.failed_partitions())


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetStatus:
    """The operational state of one asset at ``at``."""

    key: str
    domain: str
    state: State
    at: dt.datetime
    version: str | None = None
    published_at: dt.datetime | None = None
    deadline: dt.datetime | None = None
    reason: str = ""
    running_since: dt.datetime | None = None
    #: ``False`` when its current version was found unreadable where it is stored (``mesh ops status``).
    readable: bool = True

    @property
    def age(self) -> dt.timedelta | None:
        return None if self.published_at is None else self.at - self.published_at

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "domain": self.domain, "state": self.state, "version": self.version,
                "published_at": self.published_at.isoformat() if self.published_at else None,
                "age_seconds": self.age.total_seconds() if self.age is not None else None,
                "deadline": self.deadline.isoformat() if self.deadline else None, "reason": self.reason,
                "running_since": self.running_since.isoformat() if self.running_since else None,
                "readable": self.readable}


def state_at(asset: Watched, published_at: dt.datetime | None, now: dt.datetime) -> tuple[State, dt.datetime | None]:
    """The state of ``asset`` at ``now`` when it was last published at ``published_at``, and its deadline."""
    if not asset.tracked:
        return "untracked", None
    if published_at is None:
        return "unknown", None
    deadline = asset.deadline_after(published_at)
    if deadline is None or now <= deadline:
        return "fresh", deadline
    return ("late" if now <= deadline + asset.grace else "breached"), deadline


def statuses(assets: Sequence[Watched], facts: Facts, now: dt.datetime) -> dict[str, AssetStatus]:
    """The status of each of ``assets`` (in topological order) at ``now``."""
    found: dict[str, AssetStatus] = {}
    for asset in assets:
        last = facts.published.get(asset.key)
        if last is not None and last.at > now:  # evaluated as of a past moment
            last = None
        state, deadline = state_at(asset, last.at if last else None, now)
        running_since = _in_progress(facts, asset.key, now)
        found[asset.key] = AssetStatus(
            key=asset.key, domain=asset.domain, state=state, at=now, version=last.version if last else None,
            published_at=last.at if last else None, deadline=deadline, running_since=running_since,
            reason=_reason(asset, state, last, facts, found, running_since, now))
    return found


def _in_progress(facts: Facts, key: str, now: dt.datetime) -> dt.datetime | None:
    """When the run of ``key`` in progress at ``now`` started: the newest run not ended, unless a
    later run has ended (then it is a run whose worker died, not one in progress)."""
    running, ended = facts.running.get(key), facts.ended.get(key)
    if running is None or running.started_at > now:
        return None
    if ended is not None and ended.started_at >= running.started_at:
        return None
    return running.started_at


def _failure(run: RunRecord) -> str:
    """How ``run`` failed, in a line: ``gate failed at 2026-11-20 06:00: <first line of its error>``."""
    error = clip((run.error or run.status).strip().removeprefix(f"{run.status}: "), 160)
    return f"{run.status.replace('_', ' ')} at {run.ended_at:%Y-%m-%d %H:%M}: {error}"


#: At most this many failed partitions are named in a reason; the others are counted.
NAMED_PARTITIONS = 3


def _failed_partitions(failed: Sequence[RunRecord], now: dt.datetime) -> list[str]:
    """The reason's words for the partitions whose last run failed (as of ``now``), newest first:
    a partition that published after another failed does not hide it."""
    seen = [r for r in failed if r.ended_at is not None and r.ended_at <= now][::-1]
    parts = [f"partition {r.partition}: {_failure(r)} (run {r.run_id})" for r in seen[:NAMED_PARTITIONS]]
    if len(seen) > NAMED_PARTITIONS:
        parts.append(f"{len(seen) - NAMED_PARTITIONS} more partitions failed (`mesh ops status {seen[0].key} "
                     "--partitions`)")
    return parts


def _reason(asset: Watched, state: State, last: Published | None, facts: Facts,
            known: Mapping[str, AssetStatus], running_since: dt.datetime | None, now: dt.datetime) -> str:
    parts: list[str] = []
    ended = facts.ended.get(asset.key)
    if ended is not None and ended.partition is None and (ended.failed or ended.status == SKIPPED) \
            and ended.ended_at and ended.ended_at <= now \
            and (last is None or ended.ended_at > last.at):
        parts.append(f"run {ended.run_id} {_failure(ended)}")
    parts.extend(_failed_partitions(facts.failed_partitions.get(asset.key, ()), now))
    if running_since is not None:
        parts.append(f"running since {running_since:%Y-%m-%d %H:%M}")
    if state in ("fresh", "untracked"):
        return "; ".join(parts) + ("; the current version is still fresh" if parts and state == "fresh" else "")
    for key in asset.inputs:
        upstream = known.get(key)
        if upstream is not None and upstream.state in (*OVERDUE, "unknown"):
            parts.append(f"input {key} is {upstream.state}" + (f" ({upstream.reason})" if upstream.reason else ""))
        elif upstream is not None and last is not None and upstream.published_at is not None \
                and upstream.published_at <= last.at and not parts:
            parts.append(f"no new data from input {key} since {upstream.published_at:%Y-%m-%d %H:%M}")
    if not parts and asset.scheduled and last is not None:
        tick = asset.next_tick(last.at)
        if tick is not None and tick <= now:
            parts.append(f"no run since its scheduled time {tick:%Y-%m-%d %H:%M}")
    if not parts:
        parts.append("never published" if last is None else f"last published {last.at:%Y-%m-%d %H:%M}")
    return "; ".join(parts)
