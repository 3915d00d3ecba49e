"""``mesh backfill --on airflow``: a backfill of partitioned assets made by Airflow itself.

Which assets are *started* and which *follow*:

- An asset of the selection is started unless Airflow's partition mappers run it from an input
  of the backfill (:func:`assets.airflow.partitioned.natively_scheduled`): then its partitions
  follow from its inputs' partition events (a weekly roll-up runs once its seven days arrived).
  Such an asset downstream of the selection follows too (Airflow runs it whatever is selected),
  and the progress shows it.
- A started asset on a clock (``CronPartitionTimetable``) is backfilled as an **Airflow
  backfill** (``POST /api/v2/backfills``, ``reprocess_behavior="failed"``,
  ``max_active_runs=--max-parallel``): one backfill run per partition, which Airflow schedules.
  On SQLite, Airflow 3.3 refuses to create a backfill while another process writes its database
  (503, "Backfill creation is not supported on SQLite under concurrent access"), which its
  scheduler does all the time: after the retries of :func:`create_backfill`, the partitions still
  missing get DAG runs instead (below), which Airflow schedules the same way, at most the DAG's
  ``max_active_runs`` at a time.
- Any other started asset (static or two-dimension partitions, or inputs Airflow cannot map)
  gets one **DAG run per partition** (``POST dagRuns`` with ``partition_key``).

Resumable: a partition whose latest run succeeded is never run again (Airflow's backfill skips
it; a run is triggered only for a partition without a run or whose latest run failed), so
re-running the same command after a failure does only what is missing or failed. A partition
whose gate failed emits no Asset event: nothing downstream runs on it.

The progress is read from Airflow (each DAG's runs and their ``partition_key``), never kept here.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt

from assets.airflow.naming import asset_dag_id
from assets.errors import MeshError
from assets.mesh import Mesh
from assets.backoff import Backoff
from meshctl.local_airflow import RETRIED_STATUSES, AirflowApiError, AirflowClient

ACTIVE = frozenset({"queued", "running"})


class BackfillError(MeshError):
    """An Airflow backfill could not be made or did not finish in time."""


class BackfillRefused(BackfillError):
    """Airflow answered every request to create a backfill with a transient error;
    ``on_sqlite``: the last answer was SQLite's refusal under concurrent access."""

    def __init__(self, what: str, *, on_sqlite: bool, where: str = "", fix: str = "") -> None:
        self.on_sqlite = on_sqlite
        super().__init__(what, where=where, fix=fix)


@dataclass(frozen=True, slots=True)
class BackfillPlan:
    """What a backfill asks of Airflow: each asset's partitions in the range, and how its runs are
    made: ``backfill`` (an Airflow backfill), ``runs`` (DAG runs with a partition key) or
    ``follows`` (its inputs' partition events run it)."""

    partitions: Mapping[str, tuple[str, ...]]
    how: Mapping[str, str]

    @property
    def total(self) -> int:
        return sum(len(p) for p in self.partitions.values())


def waiting_partitions(plan: BackfillPlan, progress: BackfillProgress) -> dict[str, list[str]]:
    """The partitions of assets that follow their inputs' events which never ran: a roll-up
    whose period the range covers only in part waits for the rest of its inputs' partitions."""
    return {key: never for key, how in plan.how.items() if how == "follows"
            and (never := [p for p, s in progress.states.get(key, {}).items() if s is None])}


@dataclass(frozen=True, slots=True)
class BackfillProgress:
    """Each asset's partitions of the plan by the state of their latest run (``None``: no run)."""

    states: Mapping[str, Mapping[str, str | None]]
    started: Mapping[str, Any] = field(default_factory=dict)

    def count(self, state: str) -> int:
        return sum(1 for parts in self.states.values() for s in parts.values() if s == state)

    @property
    def active(self) -> int:
        return sum(1 for parts in self.states.values() for s in parts.values() if s in ACTIVE)

    @property
    def ok(self) -> bool:
        return all(s == "success" for parts in self.states.values() for s in parts.values())

    def failed(self) -> dict[str, list[str]]:
        return {k: [p for p, s in parts.items() if s == "failed"] for k, parts in self.states.items()
                if any(s == "failed" for s in parts.values())}

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "succeeded": self.count("success"), "failed": self.failed(),
                "not_run": {k: [p for p, s in parts.items() if s is None] for k, parts in self.states.items()
                            if any(s is None for s in parts.values())},
                "started": dict(self.started)}


def plan_backfill(mesh: Mesh, keys: Sequence[str], first: str, last: str) -> BackfillPlan:
    """The partitions of ``keys`` from ``first`` to ``last`` and how Airflow makes each."""
    from assets.airflow.partitioned import natively_scheduled, partition_inputs
    from governance.compiled import current_compiled_mesh

    compiled = current_compiled_mesh(mesh.root)
    unpartitioned = [k for k in keys if compiled.assets[k].partitions is None]
    if unpartitioned:
        raise BackfillError(f"{', '.join(unpartitioned)} {'is' if len(unpartitioned) == 1 else 'are'} not partitioned",
                            where="mesh backfill", fix="select partitioned assets (`mesh list` shows partitions), "
                            "or run the others with `mesh materialize`")
    partitions: dict[str, tuple[str, ...]] = {}
    how: dict[str, str] = {}
    for key in mesh.graph.sorted(set(keys) | set(mesh.graph.descendants(*keys))):
        spec = compiled.assets[key]
        if key not in keys:  # runs anyway on Airflow if its partition mappers hear the selection's events
            heard = [k for k, _ in partition_inputs(compiled, spec) if k in partitions]
            if not heard or spec.partitions is None or not natively_scheduled(compiled, spec):
                continue
        definition = spec.partitions_definition()
        assert definition is not None
        # a selected asset runs every partition the range touches, as in-process (assets.backfill);
        # one that follows, only those wholly inside it (its events come from the range's partitions)
        partitions[key] = (tuple(definition.keys_between(first, last)) if key in keys
                           else _complete(definition, first, last))
        reads = partition_inputs(compiled, spec)
        if any(k in partitions and k != key for k, _ in reads) and natively_scheduled(compiled, spec):
            how[key] = "follows"
        elif not reads and type(definition).__name__ == "TimePartitions":
            how[key] = "backfill"
        else:
            how[key] = "runs"
    if not any(partitions.get(k) for k in keys):  # as the in-process backfill refuses it (assets.backfill.plan)
        raise BackfillError(f"no asset of {', '.join(keys)} has a partition {first} .. {last}", where="mesh backfill",
                            fix="give dates inside its partitions (`mesh list` shows where each asset's "
                                "partitions start)")
    return BackfillPlan(partitions, how)


def _complete(definition: Any, first: str, last: str) -> tuple[str, ...]:
    """The partitions of ``definition`` from ``first`` to ``last`` that lie wholly inside the
    range (the week of a day before ``first`` is not in a backfill of days from ``first``):
    the range is given in the finest unit selected (days, usually)."""
    from assets.partitions import MultiPartitions, TimePartitions

    keys = definition.keys_between(first, last)
    time_part = definition.time if isinstance(definition, MultiPartitions) else definition
    if not isinstance(time_part, TimePartitions):
        return tuple(keys)
    low, high = _span(first)[0], _span(last)[1]

    def inside(key: str) -> bool:
        t = definition.split(key)[0] if isinstance(definition, MultiPartitions) else key
        return time_part.start_of(t) >= low and time_part.end_of(t) <= high
    return tuple(k for k in keys if inside(k))


def _span(value: str) -> tuple[dt.datetime, dt.datetime]:
    """The start and end of the day (or hour, or month) ``value`` names."""
    from assets.partitions import daily, hourly, monthly

    for make in (daily, hourly, monthly):
        part = make(start="2000-01-01" if make is daily else "2000-01-01T00" if make is hourly else "2000-01")
        if part.contains(value):
            return part.start_of(value), part.end_of(value)
    raise BackfillError(f"{value!r} is not a day, hour or month", where="mesh backfill --from/--to",
                        fix="write --from 2026-01-01 --to 2026-01-31")


def start_backfill(client: AirflowClient, mesh: Mesh, plan: BackfillPlan, *, max_parallel: int,
                   conf: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Ask Airflow for the runs of the plan's started assets (each run's ``conf``: its params);
    returns what was made per asset (an Airflow backfill's id, and the partitions to run)."""
    from governance.compiled import current_compiled_mesh

    compiled = current_compiled_mesh(mesh.root)
    started: dict[str, Any] = {}
    for key, how in plan.how.items():
        dag_id = asset_dag_id(key)
        client.set_paused(dag_id, False)
        parts = plan.partitions[key]
        if how == "follows" or not parts:
            continue
        latest = latest_states(client, dag_id)
        todo = [p for p in parts if latest.get(p) not in ACTIVE | {"success"}]
        if not todo:
            started[key] = {"partitions": []}
            continue
        if how == "backfill":
            definition = compiled.assets[key].partitions_definition()
            low, high = definition.start_of(todo[0]), definition.start_of(todo[-1])  # type: ignore[union-attr]
            started[key] = backfill_or_runs(client, dag_id, todo, low.replace(tzinfo=dt.UTC),
                                            high.replace(tzinfo=dt.UTC), max_parallel=max_parallel, conf=conf)
        else:
            for partition in todo:
                client.trigger(dag_id, conf, partition_key=partition)
            started[key] = {"partitions": todo}
    for key, how in plan.how.items():  # a followed partition whose own run failed runs again
        if how != "follows":
            continue
        latest = latest_states(client, asset_dag_id(key))
        retry = [p for p in plan.partitions[key] if latest.get(p) == "failed"]
        for partition in retry:
            client.trigger(asset_dag_id(key), conf, partition_key=partition)
        if retry:
            started[key] = {"partitions": retry}
    return started


def backfill_or_runs(client: AirflowClient, dag_id: str, todo: Sequence[str], low: dt.datetime, high: dt.datetime, *,
                     max_parallel: int, conf: Mapping[str, Any] | None = None, **retry: Any) -> dict[str, Any]:
    """An Airflow backfill of the partitions ``todo`` (starting ``low`` to ``high``) of ``dag_id``;
    when Airflow on SQLite refuses to create it (:class:`BackfillRefused`), a DAG run for each of
    them still without a successful or active run. Returns what was made: ``backfill_id`` or
    ``refused`` (why there are runs instead), and ``partitions``. ``retry``: for :func:`create_backfill`."""
    _wait_for_earlier_backfill(client, dag_id)
    try:
        backfill = create_backfill(client, dag_id, low, high, max_parallel=max_parallel, conf=conf, **retry)
    except BackfillRefused as refused:
        if not refused.on_sqlite:
            raise
        latest = latest_states(client, dag_id)  # a refused request may have made some runs before it failed
        left = [p for p in todo if latest.get(p) not in ACTIVE | {"success"}]
        for partition in left:
            client.trigger(dag_id, conf, partition_key=partition)
        return {"partitions": left, "refused": "Airflow on SQLite refused to create a backfill while its scheduler "
                                               "wrote its database: one DAG run per partition instead"}
    return {"backfill_id": backfill["id"], "partitions": list(todo)}


#: Requests to create one Airflow backfill before giving up, and the waits between them (2, 4,
#: 8, 16, 30 s: about a minute; SQLite's lock under a busy scheduler outlasted 14 s of waits).
CREATE_ATTEMPTS = 6
#: What Airflow 3.3's API says when SQLite cannot take a backfill (``airflow.api_fastapi``'s backfill route).
SQLITE_REFUSAL = "not supported on SQLite"
CREATE_BACKOFF = Backoff(first=2.0, factor=2.0, cap=30.0)


def create_backfill(client: AirflowClient, dag_id: str, low: dt.datetime, high: dt.datetime, *, max_parallel: int,
                    conf: Mapping[str, Any] | None = None, reprocess: str = "failed",
                    attempts: int = CREATE_ATTEMPTS, backoff: Backoff = CREATE_BACKOFF,
                    sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Create an Airflow backfill of ``dag_id`` over ``[low, high]``, asking again (at most
    ``attempts`` times in all, ``backoff`` between) while the API answers one of
    :data:`RETRIED_STATUSES`: on SQLite, Airflow 3.3 answers 503 "Database is locked" when the
    scheduler holds the database while the backfill is created. Before asking again, wait for
    what a failed request did create to close: with ``reprocess="failed"`` the new backfill makes
    only the runs still missing. Any other error is raised at once; the last transient one as a
    :class:`BackfillError` saying what to do."""
    def transient(exc: BaseException) -> bool:
        return isinstance(exc, AirflowApiError) and exc.status in RETRIED_STATUSES

    retrying = Retrying(stop=stop_after_attempt(attempts), wait=lambda state: backoff.wait(state.attempt_number),
                        retry=retry_if_exception(transient), sleep=sleep,
                        before_sleep=lambda _: _wait_for_earlier_backfill(client, dag_id))
    try:
        return retrying(client.create_backfill, dag_id, low, high, max_active_runs=max_parallel, reprocess=reprocess,
                        conf=conf)
    except RetryError as exhausted:
        last = exhausted.last_attempt.exception()
        assert isinstance(last, AirflowApiError)  # only those are retried
        raise BackfillRefused(f"Airflow refused all {attempts} requests to create the backfill of {dag_id}, the last "
                              f"with {last.status} ({last.what})", on_sqlite=last.status == 503 and SQLITE_REFUSAL in last.what,
                              where="Airflow REST API",
                              fix="the API server or its metadata DB is overloaded (SQLite under load): run the same "
                              "command again when it is quieter, it resumes with what is missing; for heavy "
                              "backfills use `mesh up --profile distributed` (PostgreSQL)") from None


def _wait_for_earlier_backfill(client: AirflowClient, dag_id: str, timeout: float = 300) -> None:
    """Airflow runs one backfill per DAG at a time: wait until the scheduler has closed an earlier
    one (it marks a backfill completed a moment after its last run finished)."""
    deadline = time.monotonic() + timeout
    while any(b.get("completed_at") is None for b in client.backfills(dag_id)):
        if time.monotonic() > deadline:
            raise BackfillError(f"an earlier Airflow backfill of {dag_id} is still running", where="Airflow",
                                fix="wait for it (Backfills in the Airflow UI), or cancel it there, then run this again")
        time.sleep(2)


def latest_states(client: AirflowClient, dag_id: str) -> dict[str, str]:
    """Partition key -> the state of its latest run, for the runs of ``dag_id``."""
    found: dict[str, str] = {}
    for run in client.partition_runs(dag_id):  # newest first: keep the first seen
        if run.get("partition_key"):
            found.setdefault(run["partition_key"], run["state"])
    return found


def progress(client: AirflowClient, plan: BackfillPlan, started: Mapping[str, Any] | None = None) -> BackfillProgress:
    states = {}
    for key, parts in plan.partitions.items():
        latest = latest_states(client, asset_dag_id(key))
        states[key] = {p: latest.get(p) for p in parts}
    return BackfillProgress(states, started or {})


def wait_for_backfill(client: AirflowClient, plan: BackfillPlan, started: Mapping[str, Any], *, timeout: float,
                      poll: float = 2.0, on_poll: Callable[[BackfillProgress], None] | None = None) -> BackfillProgress:
    """Follow the plan's runs until none is active twice in a row and every started partition
    has finished (a followed partition whose input failed never runs: it stays ``None``)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while True:
        now = progress(client, plan, started)
        if on_poll is not None:
            on_poll(now)
        started_done = all(now.states[k][p] in ("success", "failed") for k, how in plan.how.items()
                           if how != "follows" for p in plan.partitions[k])
        quiet = quiet + 1 if started_done and now.active == 0 else 0
        if quiet >= 3:  # idle three polls running: no partition event is still on its way
            return now
        if time.monotonic() > deadline:
            raise BackfillError(f"the backfill did not finish in {timeout:.0f}s ({now.count('success')} of "
                                f"{plan.total} partitions succeeded, {now.active} running)", where="Airflow",
                                fix="follow it in the Airflow UI (Backfills), and run the same command again "
                                "to resume: it runs only what is missing or failed")
        time.sleep(poll)

