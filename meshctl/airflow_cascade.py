"""Run the mesh on a running Airflow: trigger root assets and follow the cascade of
asset-triggered runs until it settles.

An asset is *expected* to run unless something upstream of it failed (then it is *skipped*:
its Asset schedule is never satisfied), or every input of it in the cascade came out
``unchanged`` (its task skipped: the output was the current version's, no Asset event) or is
itself *idle* (then it is *idle*: nothing new reached it, which is no failure). The cascade has settled when every expected asset's DAG has a finished run
since the trigger and no mesh DAG (governance included) is active.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assets.airflow.naming import (
    asset_dag_id,
    governance_dag_id,
    partition_governance_dag_id,
)
from assets.errors import MeshError
from meshctl.local_airflow import AirflowClient, AirflowRuntimeError

if TYPE_CHECKING:
    from assets.mesh import Mesh

ACTIVE = frozenset({"queued", "running"})
#: ``unchanged``: the run succeeded with its task skipped, publishing nothing (no Asset event).
UNCHANGED = "unchanged"
DONE = frozenset({"success", "failed", UNCHANGED})


class CascadeTimeoutError(MeshError):
    """The cascade did not settle in time."""


@dataclass(frozen=True, slots=True)
class AssetRun:
    """The latest run of one asset's DAG since the cascade started (``state`` None: no run)."""

    key: str
    state: str | None = None
    run_type: str | None = None
    run_id: str | None = None
    seconds: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CascadeState:
    """A snapshot of the cascade."""

    started: dt.datetime
    assets: Mapping[str, AssetRun]
    #: Assets that do not run because something upstream of them failed.
    skipped: frozenset[str]
    governance: Mapping[str, list[str]]
    #: Assets that do not run because every input they have in the cascade published nothing new.
    idle: frozenset[str] = frozenset()

    @property
    def failed(self) -> list[str]:
        return [k for k, r in self.assets.items() if r.state == "failed"]

    @property
    def expected(self) -> list[str]:
        """The assets whose runs the cascade waits for (neither skipped nor idle)."""
        return [k for k in self.assets if k not in self.skipped and k not in self.idle]

    @property
    def settled(self) -> bool:
        assets_done = all(self.assets[k].state in DONE for k in self.expected)
        governance_idle = not any(s in ACTIVE for states in self.governance.values() for s in states)
        return assets_done and governance_idle


def partitioned_keys(mesh: Mesh) -> set[str]:
    """The partitioned assets of the mesh."""
    return {k for k in mesh.graph if mesh.graph[k].spec.partitions is not None}


def mesh_dag_ids(mesh: Mesh) -> set[str]:
    """Every DAG of the mesh: one per asset, and each domain's governance DAG(s)."""
    partitioned = {k.split(".", 1)[0] for k in partitioned_keys(mesh)}
    return ({asset_dag_id(k) for k in mesh.graph} | {governance_dag_id(d) for d in mesh.graph.domains()}
            | {partition_governance_dag_id(d) for d in partitioned})


def unpause_mesh(client: AirflowClient, mesh: Mesh) -> int:
    """Unpause every DAG of the mesh; returns how many."""
    wanted = mesh_dag_ids(mesh)
    for dag_id in sorted(wanted):
        client.set_paused(dag_id, False)
    return len(wanted)


def wait_for_dags(client: AirflowClient, mesh: Mesh, timeout: float = 180) -> None:
    """Wait until the dag-processor has registered every DAG of the mesh."""
    wanted = mesh_dag_ids(mesh)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        missing = wanted - set(client.dags())
        if not missing:
            return
        time.sleep(1)
    errors = "; ".join(e.get("stack_trace", "").strip().splitlines()[-1] for e in client.import_errors())
    raise CascadeTimeoutError(f"DAGs {sorted(missing)} were not registered in {timeout:.0f}s. {errors}",
                              where="Airflow dag-processor", fix="read `mesh check` and the dag-processor log")


def run_cascade(client: AirflowClient, mesh: Mesh, roots: Mapping[str, Mapping[str, Any]], *,
                timeout: float = 600, poll: float = 2.0,
                on_poll: Callable[[CascadeState], None] | None = None) -> CascadeState:
    """Trigger ``roots`` (key -> run conf) and follow every downstream run until settled. A root
    is followed through the run triggered here, even if its schedule starts another meanwhile.
    Partitioned assets are not part of a cascade: their runs are made per partition (by their
    partitioned timetables and ``mesh backfill --on airflow``), not by unpartitioned events."""
    roots = {k: conf for k, conf in roots.items() if k not in partitioned_keys(mesh)}
    started = dt.datetime.now(dt.UTC)
    triggered = {key: client.trigger(asset_dag_id(key), conf) for key, conf in roots.items()}
    return follow(client, mesh, started, (mesh.graph.descendants(*roots) | set(roots)) - partitioned_keys(mesh),
                  timeout=timeout, poll=poll, on_poll=on_poll, triggered=triggered)


def follow(client: AirflowClient, mesh: Mesh, started: dt.datetime, keys: set[str], *, timeout: float,
           poll: float, on_poll: Callable[[CascadeState], None] | None = None,
           triggered: Mapping[str, str] | None = None) -> CascadeState:
    deadline = time.monotonic() + timeout
    quiet = 0
    while True:
        state = snapshot(client, mesh, started, keys, triggered)
        if on_poll is not None:
            on_poll(state)
        quiet = quiet + 1 if state.settled else 0
        if quiet >= 2:  # settled twice in a row: no asset event is still on its way
            return state
        if time.monotonic() > deadline:
            waiting = [k for k in state.expected if state.assets[k].state not in DONE]
            waiting += [f"{governance_dag_id(d)} ({', '.join(s for s in states if s in ACTIVE)})"
                        for d, states in state.governance.items() if any(s in ACTIVE for s in states)]
            raise CascadeTimeoutError(f"the cascade did not settle in {timeout:.0f}s; waiting for {waiting}",
                                      where="Airflow", fix="look at those DAGs in the Airflow UI")
        time.sleep(poll)


def wait_for_partition_governance(client: AirflowClient, mesh: Mesh, started: dt.datetime, *,
                                  timeout: float = 300, poll: float = 2.0) -> bool:
    """Wait until the partition governance DAGs have finished a run for each partition event
    emitted since ``started`` (a partition that came out unchanged emits none) and none is
    active: the published partitions' handlers (replication, lineage, history) have run.
    ``False`` if they had not in ``timeout`` seconds."""
    keys = sorted(partitioned_keys(mesh))
    dag_ids = [partition_governance_dag_id(d) for d in sorted({k.split(".", 1)[0] for k in keys})]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            published = sum(1 for k in keys for e in client.asset_events(asset_dag_id(k)) if _emitted_after(e, started))
            states = [r["state"] for dag_id in dag_ids for r in client.runs(dag_id) if _after(r, started)]
        except AirflowRuntimeError:  # Airflow 3.3 answers 500 for events whose run has not started yet
            published, states = 1, []
        if not any(s in ACTIVE for s in states) and sum(s in DONE for s in states) >= published:
            return True
        time.sleep(poll)
    return False


def snapshot(client: AirflowClient, mesh: Mesh, started: dt.datetime, keys: set[str],
             triggered: Mapping[str, str] | None = None) -> CascadeState:
    """The state of ``keys``' runs since ``started``: the latest run of each, or for a key in
    ``triggered`` the run of that id."""
    runs = {k: _latest_run(client, k, started, (triggered or {}).get(k)) for k in mesh.graph.sorted(keys)}
    skipped, idle = not_running(mesh, {k: r.state for k, r in runs.items()}, triggered or {})
    governance = {d: [r["state"] for r in client.runs(governance_dag_id(d)) if _after(r, started)]
                  for d in sorted({k.split(".", 1)[0] for k in keys})}
    return CascadeState(started=started, assets=runs, skipped=skipped & keys, governance=governance, idle=idle & keys)


def not_running(mesh: Mesh, states: Mapping[str, str | None],
                triggered: Collection[str] = ()) -> tuple[frozenset[str], frozenset[str]]:
    """Of the assets of ``states`` (key -> its run's state, ``None`` before it has a run; in
    topological order), those that will not run. *Skipped*: what it waits for failed, or was
    skipped (with ``trigger="all"``, any input; with ``"any"``, every input that could start it).
    *Idle*: every input it has in the cascade published nothing new (``unchanged`` or idle). An
    asset that has a run, or is in ``triggered``, runs anyway."""
    skipped: set[str] = set()
    idle: set[str] = set()
    for key in states:
        inputs = [u for u in mesh.graph.upstream(key) if u in states]
        if not inputs or key in triggered or states[key] is not None:
            continue
        stopped = [u for u in inputs if states[u] == "failed" or u in skipped]
        quiet = [u for u in inputs if states[u] == UNCHANGED or u in idle]
        if stopped and (mesh.graph[key].spec.trigger == "all" or len(stopped) + len(quiet) == len(inputs)):
            skipped.add(key)
        elif len(quiet) == len(inputs):
            idle.add(key)
    return frozenset(skipped), frozenset(idle)


def _latest_run(client: AirflowClient, key: str, started: dt.datetime, run_id: str | None = None) -> AssetRun:
    for run in client.runs(asset_dag_id(key)):
        if not _after(run, started) or run_id is not None and run["dag_run_id"] != run_id:
            continue
        extra: Mapping[str, Any] = {}
        if run["state"] == "success":  # the task returns the extra it set on its Asset event
            tasks = client.task_instances(asset_dag_id(key), run["dag_run_id"])
            if any(t["task_id"] == "materialize" and t["state"] == "skipped" for t in tasks):
                return AssetRun(key=key, state=UNCHANGED, run_type=run["run_type"], run_id=run["dag_run_id"],
                                seconds=run.get("duration"))
            extra = client.return_value(asset_dag_id(key), run["dag_run_id"], "materialize") or {}
        return AssetRun(key=key, state=run["state"], run_type=run["run_type"], run_id=run["dag_run_id"],
                        seconds=run.get("duration"), extra=extra)
    return AssetRun(key=key)


def _after(run: Mapping[str, Any], started: dt.datetime) -> bool:
    return dt.datetime.fromisoformat(run["run_after"]) >= started - dt.timedelta(seconds=1)


def _emitted_after(event: Mapping[str, Any], started: dt.datetime) -> bool:
    return dt.datetime.fromisoformat(event["timestamp"]) >= started - dt.timedelta(seconds=1)
