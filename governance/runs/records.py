"""Run records: every run of every asset, from its start to its outcome, in the state database.

:class:`RunRecorder` is the :class:`~assets.ports.RunObserver` the composition root gives the
mesh: ``run_asset`` (called by the in-process engine and by each Airflow task) tells it when a
run starts and how it ended, so both runners leave the same records. A run that started and
never ended (a killed worker) stays ``running``: :meth:`RunRecords.unfinished` finds it, at once
when the record's worker (:mod:`governance.runs.workers`) is known to be gone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    func,
    select,
    update,
)

from assets.mesh import Mesh
from assets.names import is_asset_key
from assets.ports import RunEnded, RunStarted
from governance.runs.workers import LOCAL, Workers
from governance.state import StateDatabase, state_database
from governance.state.prepared import Prepared
from governance.state.rows import checked, require_texts, stored_time
from governance.state.schema import runs

log = logging.getLogger(__name__)

#: Statuses of a run after which the current version is up to date: it published one, or found
#: its output identical to the current version (``unchanged``), which counts as fresh from then.
CONFIRMED = ("materialized", "unchanged")
#: The status of a run that has started and not ended yet.
RUNNING = "running"
#: The status of a run that did not take place: something it reads did not materialize.
SKIPPED = "skipped"
#: Run outcomes that mean the asset failed (an incident begins).
FAILED = frozenset({"error", "gate_failed"})
#: A run that started this long ago and has not ended is taken for dead.
DIED_AFTER = dt.timedelta(hours=2)


def stamp(at: dt.datetime) -> str:
    """``at`` as the state database keeps times: UTC, ISO 8601, milliseconds (sortable as text)."""
    if at.tzinfo is None:
        raise ValueError("times in run records are timezone-aware")
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def unstamp(text: str) -> dt.datetime:
    """A time :func:`stamp` wrote (or any ISO 8601 time with a zone), back as a UTC datetime."""
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """One run of ``key`` (of its ``partition``, for a partitioned asset): when it started and
    ended (``None`` while running), how it ended, the version it published, its error and the
    worker that ran it (``None``: not recorded)."""

    key: str
    run_id: str
    source: str
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    version: str | None = None
    error: str | None = None
    worker: str | None = None
    partition: str | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "run_id": self.run_id, "source": self.source, "status": self.status,
                "started_at": self.started_at.isoformat(), "version": self.version, "error": self.error,
                "ended_at": self.ended_at.isoformat() if self.ended_at else None, "seconds": self.seconds,
                "partition": self.partition}


def _record(row: Any, where: str = "the state database's runs table") -> RunRecord:
    """The run record of a row of the runs table; :class:`StateError` naming the row unless it
    holds what the mesh writes (a row may be edited by hand, or restored from elsewhere)."""
    r = row._mapping
    with checked(f"the run record {str(r['run_id'])[:80]!r} of {str(r['key'])[:200]!r}", where):
        require_texts(r, ("key", "run_id", "source", "status", "started_at"),
                      ("ended_at", "version", "error", "worker", "partition"))
        if not is_asset_key(r["key"]):
            raise ValueError("its key is not an asset key (domain.name)")
        started_at = stored_time(r["started_at"], "started_at")
        ended_at = stored_time(r["ended_at"], "ended_at") if r["ended_at"] else None
    return RunRecord(key=r["key"], run_id=r["run_id"], source=r["source"], status=r["status"],
                     started_at=started_at, ended_at=ended_at,
                     version=r["version"], error=r["error"], worker=r["worker"], partition=r["partition"])


_COLUMNS = (runs.c.key, runs.c.run_id, runs.c.source, runs.c.status, runs.c.started_at, runs.c.ended_at,
            runs.c.version, runs.c.error, runs.c.worker, runs.c.partition)
#: Tells whether a worker named in a run record is alive (``None``: cannot tell).
Liveness = Callable[[str], bool | None]
#: The statements every run executes, built once and prepared (:mod:`governance.state.prepared`:
#: a statement built per call costs SQLAlchemy its cache key and the coercion of each value again,
#: and executing it through SQLAlchemy on SQLite costs more than SQLite's own work); their values
#: come as parameters (the columns :data:`_END` sets are the parameters named after columns).
_INSERT = Prepared(runs.insert())
_END = Prepared(update(runs).where(and_(
    runs.c.key == bindparam("b_key"), runs.c.run_id == bindparam("b_run_id"),
    runs.c.started_at == bindparam("b_started_at"), runs.c.status == RUNNING,
    runs.c.partition.is_not_distinct_from(bindparam("b_partition", type_=runs.c.partition.type)))))


@dataclass(frozen=True, slots=True)
class RunRecords:
    """The run records in ``database``."""

    database: StateDatabase

    def started(self, key: str, run_id: str, source: str, at: dt.datetime, worker: str | None = None,
                partition: str | None = None) -> None:
        """Record that a run of ``key`` (of its ``partition``) began at ``at``, in ``worker``."""
        with self.database.write(durable=False) as conn:
            _INSERT.execute(conn, {"key": key, "run_id": run_id, "source": source, "status": RUNNING,
                                   "started_at": stamp(at), "worker": worker, "partition": partition})

    def ended(self, key: str, run_id: str, source: str, started_at: dt.datetime, ended_at: dt.datetime,
              status: str, version: str | None = None, error: str | None = None,
              partition: str | None = None) -> None:
        """Record how the run of ``key`` (of its ``partition``) that began at ``started_at`` ended
        (a new record when its start was not recorded)."""
        if status == RUNNING:
            raise ValueError("a run ends with its outcome, not 'running'")
        values = {"status": status, "ended_at": stamp(ended_at), "version": version,
                  "error": error[:4000] if error else None}
        with self.database.write(durable=False) as conn:
            done = _END.execute(conn, {"b_key": key, "b_run_id": run_id, "b_started_at": stamp(started_at),
                                       "b_partition": partition, **values})
            if not done.rowcount:
                _INSERT.execute(conn, {"key": key, "run_id": run_id, "source": source, "partition": partition,
                                       "started_at": stamp(started_at), **values})

    def add(self, records: Sequence[RunRecord]) -> None:
        """Insert whole records at once (imports, simulations, benchmarks)."""
        if not records:
            return
        with self.database.write(durable=False) as conn:
            conn.execute(runs.insert(), [
                {"key": r.key, "run_id": r.run_id, "source": r.source, "status": r.status,
                 "started_at": stamp(r.started_at), "ended_at": stamp(r.ended_at) if r.ended_at else None,
                 "version": r.version, "error": r.error, "worker": r.worker, "partition": r.partition}
                for r in records])

    def between(self, since: dt.datetime | None = None, until: dt.datetime | None = None,
                keys: Sequence[str] | None = None) -> list[RunRecord]:
        """The runs that started in [``since``, ``until``), oldest first."""
        query = select(*_COLUMNS).order_by(runs.c.started_at, runs.c.seq)
        if since is not None:
            query = query.where(runs.c.started_at >= stamp(since))
        if until is not None:
            query = query.where(runs.c.started_at < stamp(until))
        if keys is not None:
            query = query.where(runs.c.key.in_(list(keys)))
        with self.database.read() as conn:
            return [_record(r, self.database.where) for r in conn.execute(query)]

    def latest_of_each(self, per_key: int, *, status: str, since: dt.datetime, until: dt.datetime) -> list[RunRecord]:
        """The latest ``per_key`` runs of each asset that ended with ``status`` and started in
        [``since``, ``until``), oldest first: what learning from the history needs, in one query
        that returns as many rows whatever the length of the history."""
        ranked = (select(*_COLUMNS, runs.c.seq, func.row_number().over(
            partition_by=runs.c.key, order_by=(runs.c.started_at.desc(), runs.c.seq.desc())).label("n"))
            .where(runs.c.status == status, runs.c.started_at >= stamp(since), runs.c.started_at < stamp(until))
            .subquery())
        query = (select(*(ranked.c[c.name] for c in _COLUMNS)).where(ranked.c.n <= per_key)
                 .order_by(ranked.c.started_at, ranked.c.seq))
        with self.database.read() as conn:
            return [_record(r, self.database.where) for r in conn.execute(query)]

    def ended_between(self, since: dt.datetime, until: dt.datetime) -> list[RunRecord]:
        """The runs that ended in [``since``, ``until``), in the order they ended."""
        query = (select(*_COLUMNS).where(runs.c.ended_at >= stamp(since), runs.c.ended_at < stamp(until))
                 .order_by(runs.c.ended_at, runs.c.seq))
        with self.database.read() as conn:
            return [_record(r, self.database.where) for r in conn.execute(query)]

    def for_asset(self, key: str, limit: int = 20, *, partition: str | None = None) -> list[RunRecord]:
        """The latest runs of ``key`` (of its ``partition`` only, when given), newest first."""
        query = select(*_COLUMNS).where(runs.c.key == key).order_by(runs.c.started_at.desc(), runs.c.seq.desc())
        if partition is not None:
            query = query.where(runs.c.partition == partition)
        with self.database.read() as conn:
            return [_record(r, self.database.where) for r in conn.execute(query.limit(limit))]

    def unfinished(self, older_than: dt.timedelta, now: dt.datetime, alive: Liveness | None = None) -> list[RunRecord]:
        """Runs that never ended and either started more than ``older_than`` before ``now`` (their
        worker died, or is stuck) or, with ``alive``, whose worker is known to be gone; oldest
        first. Only the runs still open are read (the index on status)."""
        query = select(*_COLUMNS).where(runs.c.status == RUNNING, runs.c.started_at <= stamp(now))
        if alive is None:
            query = query.where(runs.c.started_at < stamp(now - older_than))
        with self.database.read() as conn:
            found = [_record(r, self.database.where) for r in conn.execute(query.order_by(runs.c.started_at))]
        limit = now - older_than
        return [r for r in found if r.started_at < limit
                or (alive is not None and r.worker is not None and alive(r.worker) is False)]

    def latest(self) -> LatestRuns:
        """Per asset: its last published (or unchanged, :data:`CONFIRMED`) run, its last ended run and its oldest open run, in three
        aggregate queries (what ``mesh ops status`` needs, without reading the whole history)."""
        with self.database.read() as conn:
            return LatestRuns(
                published=self._last(conn, runs.c.status.in_(CONFIRMED), runs.c.ended_at),
                ended=self._last(conn, runs.c.ended_at.is_not(None), runs.c.ended_at),
                running=self._last(conn, runs.c.status == RUNNING, runs.c.started_at))

    def published_before(self, at: dt.datetime) -> dict[str, dt.datetime]:
        """Per asset, when its last version published (or confirmed unchanged) before ``at`` was."""
        with self.database.read() as conn:
            last = self._last(conn, and_(runs.c.status.in_(CONFIRMED), runs.c.ended_at < stamp(at)),
                              runs.c.ended_at)
        return {k: r.ended_at for k, r in last.items() if r.ended_at is not None}

    def latest_partitions(self, keys: Collection[str] | None = None) -> LatestPartitions:
        """Per partition of each partitioned asset (of ``keys``; every one when ``None``): its last
        published (or unchanged) run, its last ended run and its last run still open, in three
        aggregate queries grouped by asset and partition (the index on partition skips the
        unpartitioned runs)."""
        where: ColumnElement[bool] = runs.c.partition.is_not(None)
        if keys is not None:
            where = and_(where, runs.c.key.in_(list(keys)))
        with self.database.read() as conn:
            published = conn.execute(_newest(and_(where, runs.c.status.in_(CONFIRMED)), runs.c.ended_at,
                                             by_partition=True))
            ended = conn.execute(_newest(and_(where, runs.c.ended_at.is_not(None)), runs.c.ended_at,
                                         by_partition=True))
            running = conn.execute(_newest(and_(where, runs.c.status == RUNNING), runs.c.started_at,
                                           by_partition=True))
            return LatestPartitions(published={(r.key, r.partition or ""): r for r in map(_record, published)},
                                    ended={(r.key, r.partition or ""): r for r in map(_record, ended)},
                                    running={(r.key, r.partition or ""): r for r in map(_record, running)})

    def failed_partitions(self) -> dict[str, list[RunRecord]]:
        """Per partitioned asset, the last runs of its partitions whose last run failed, oldest
        failure first: one aggregate query, whose rows are only the failed partitions."""
        query = _newest(and_(runs.c.partition.is_not(None), runs.c.ended_at.is_not(None)), runs.c.ended_at,
                        by_partition=True).where(runs.c.status.in_(FAILED))
        found: dict[str, list[RunRecord]] = {}
        with self.database.read() as conn:
            for record in map(_record, conn.execute(query.order_by(None).order_by(runs.c.ended_at, runs.c.seq))):
                found.setdefault(record.key, []).append(record)
        return found

    def partitions_failed(self, keys: Collection[str]) -> dict[str, set[str]]:
        """:class:`assets.ports.FailedRuns`: per asset of ``keys``, the partitions whose last
        ended run failed."""
        found = self.failed_partitions()
        return {key: {r.partition for r in found[key] if r.partition} for key in keys if key in found}

    @staticmethod
    def _last(conn: Connection, where: ColumnElement[bool], column: Any) -> dict[str, RunRecord]:
        return {r.key: r for r in map(_record, conn.execute(_newest(where, column)))}


def _newest(where: ColumnElement[bool], column: Any, *, by_partition: bool = False) -> Select[Any]:
    """The runs matching ``where`` whose ``column`` is the newest of their asset's (of their
    asset's partition's, ``by_partition``), in the order recorded; ties are all kept."""
    group = (runs.c.key, runs.c.partition) if by_partition else (runs.c.key,)
    newest = (select(*group, func.max(column).label("at")).where(where).group_by(*group).subquery())
    on = [runs.c.key == newest.c.key, column == newest.c.at]
    if by_partition:
        on.append(runs.c.partition == newest.c.partition)
    return select(*_COLUMNS).join(newest, and_(*on)).where(where).order_by(runs.c.seq)


@dataclass(frozen=True, slots=True)
class LatestRuns:
    """Per asset key: the last run that published, the last that ended, the last still running."""

    published: dict[str, RunRecord]
    ended: dict[str, RunRecord]
    running: dict[str, RunRecord]


@dataclass(frozen=True, slots=True)
class LatestPartitions:
    """Per ``(key, partition)``: the last run that published, the last that ended, the last
    that has not ended (running, or its worker died and no one has recorded it yet)."""

    published: dict[tuple[str, str], RunRecord]
    ended: dict[tuple[str, str], RunRecord]
    running: dict[tuple[str, str], RunRecord] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunRecorder:
    """Records every run the mesh tells it of (a :class:`~assets.ports.RunObserver`), each with
    the worker it runs in (``workers``)."""

    records: RunRecords
    workers: Workers = field(default=LOCAL)

    def run_started(self, run: RunStarted) -> None:
        self.records.started(run.key, run.run_id, run.source, run.started_at, worker=self.workers.current(),
                             partition=run.partition)

    def run_ended(self, run: RunEnded) -> None:
        result = run.result
        self.records.ended(run.key, run.run_id, run.source, run.started_at, run.ended_at, str(result.status),
                           version=result.manifest.version if result.manifest else None, error=result.error,
                           partition=run.partition)


def run_records(mesh: Mesh) -> RunRecords:
    """The run records of ``mesh`` (in its state database)."""
    return RunRecords(state_database(mesh.policy))


def workers_of(mesh: Mesh) -> Workers:
    """The workers the mesh's run recorder names (this process's by default)."""
    return next((o.workers for o in mesh.services.observers if isinstance(o, RunRecorder)), LOCAL)
