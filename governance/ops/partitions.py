"""The partitions of partitioned assets as operations sees them: per partition, its current
version, when it was published and how its last run ended (``mesh ops status --partitions``).

Read from the run records in three aggregate queries (:meth:`RunRecords.latest_partitions`),
whatever the length of the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from assets.storage import Manifest, VersionStore
from governance.runs.records import FAILED, RUNNING, SKIPPED, RunRecords


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionStatus:
    """Partition ``partition`` of ``key``: its current ``version`` and when it was made
    (``None``: never), and its last run (``status``, ``error``, ``run_id``, ``started_at``,
    ``ended_at``): ``running`` while a run that started after the last one ended is open,
    ``skipped`` when the last run did not take place because what it reads did not materialize
    (``error`` names it)."""

    key: str
    partition: str
    status: str
    run_id: str
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    error: str | None = None
    version: str | None = None
    published_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not self.partition:
            raise ValueError(f"a partition of {self.key} has a key")

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    @property
    def skipped(self) -> bool:
        return self.status == SKIPPED

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "partition": self.partition, "version": self.version,
                "published_at": self.published_at.isoformat() if self.published_at else None,
                "status": self.status, "error": self.error, "run_id": self.run_id,
                "started_at": self.started_at.isoformat() if self.started_at else None,
                "ended_at": self.ended_at.isoformat() if self.ended_at else None}


def partition_statuses(records: RunRecords, keys: Collection[str],
                       store: VersionStore | None = None) -> list[PartitionStatus]:
    """Each partition of ``keys`` that published or has run (in the order of ``keys``, then by
    partition): its last run, the one still open if it started after the last one ended. With ``store``, each partition's version and its time are the
    store's current ones, which a rollback (``mesh rollback --partition``) may have changed since
    the last run published."""
    found = _from_runs(records, keys)
    if store is None:
        return found
    return [_as_stored(p, store.current(p.key, p.partition)) for p in found]


def _as_stored(status: PartitionStatus, current: Manifest | None) -> PartitionStatus:
    if current is None or current.version == status.version:
        return status
    return replace(status, version=current.version, published_at=dt.datetime.fromisoformat(current.produced_at))


def _from_runs(records: RunRecords, keys: Collection[str]) -> list[PartitionStatus]:
    latest = records.latest_partitions(keys)
    order = {key: n for n, key in enumerate(keys)}
    found = []
    seen = latest.ended.keys() | latest.published.keys() | latest.running.keys()
    for key, partition in sorted(seen, key=lambda kp: (order[kp[0]], kp[1])):
        published = latest.published.get((key, partition))
        last = latest.ended.get((key, partition)) or published
        open_run = latest.running.get((key, partition))
        if open_run is not None and (last is None or open_run.started_at >= (last.ended_at or open_run.started_at)):
            last = open_run  # started after the last one ended: what the partition is doing now
        assert last is not None
        found.append(PartitionStatus(
            key=key, partition=partition, status=last.status, run_id=last.run_id, started_at=last.started_at,
            ended_at=last.ended_at, error=last.error,
            version=published.version if published else None,
            published_at=published.ended_at if published else None))
    return found
