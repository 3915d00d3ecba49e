"""The in-process engine: run a selection in topological order, without a scheduler.

Independent assets run concurrently on a thread pool (polars releases the GIL while it
works). A failed asset skips everything downstream of it in the selection; unrelated
branches finish. Each asset runs through :func:`assets.step.run_asset`, the same step each
Airflow task runs.
"""

from __future__ import annotations

import graphlib
import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from assets.events import AssetUpdate, UpdateHandler, dispatch
from assets.mesh import Mesh
from assets.results import AssetResult, RunResult, Status
from assets.run_id import new_run_id
from assets.staleness import staleness
from assets.step import run_asset, skip_asset

#: Called with each asset's result as soon as it is known.
ProgressFn = Callable[[AssetResult], None]


def materialize(
    selection: str = "*",
    *,
    mesh: Mesh,
    params: Mapping[str, Any] | None = None,
    max_workers: int | None = None,
    on_result: ProgressFn | None = None,
    run_id: str | None = None,
    handlers: Sequence[UpdateHandler] | None = None,
    skip_unchanged: bool | None = None,
    partition: str | None = None,
) -> RunResult:
    """Materialize the assets named by ``selection`` (see :mod:`assets.selection`).

    ``mesh`` comes from ``governance.wiring.load_mesh``. ``params`` reach assets through their ``context`` (``seed``, ``scale``,
    ``inject_bad_rows``...). Returns a result per selected asset; never raises for an asset's
    own failure, only for the mesh's: an asset's run does not begin while ``mesh.services.ready()``
    raises (the run records cannot be kept), and that error ends the run. After each publish the update goes to ``handlers`` (by default the mesh's
    own, ``mesh.services.handlers``, the same the governance DAGs run).

    With ``skip_unchanged`` (by default each asset's own ``skip_unchanged``), an asset whose
    output is identical to its current version publishes
    nothing (:attr:`Status.UNCHANGED`, no handler runs), and an asset whose inputs in the
    selection all came out unchanged does not run at all, unless it is stale itself
    (:mod:`assets.staleness`).

    Partitioned assets run one partition per run (see :mod:`assets.backfill`): ``partition``,
    or, by default, the partition holding today (UTC) and what it feeds, after the unpartitioned
    assets that do not read them; the results of their partitions are keyed ``<key>/<partition>``.
    """
    if handlers is None:
        handlers = mesh.services.handlers
    keys = mesh.select(selection)
    run_id = run_id or new_run_id()
    partitioned = {k for k in keys if mesh.graph[k].spec.partitions is not None}
    if partition is not None or partitioned:
        later = mesh.graph.descendants(*partitioned) | partitioned if partition is None else set(keys)
        first = [k for k in keys if k not in later]
        before = materialize(" ".join(first), mesh=mesh, params=params, max_workers=max_workers, on_result=on_result,
                             run_id=run_id, handlers=handlers, skip_unchanged=skip_unchanged) if first else None
        after = _partitioned(mesh, " ".join(k for k in keys if k in later), partition, params=params,
                             max_parallel=max_workers or min(4, os.cpu_count() or 1), on_result=on_result,
                             run_id=run_id, handlers=handlers,
                             failed=[k for k, r in (before.results.items() if before else ()) if not r.ok])
        return RunResult(run_id=run_id, results={**(before.results if before else {}), **after.results})
    selected = set(keys)
    sorter = graphlib.TopologicalSorter({k: [u for u in mesh.graph.upstream(k) if u in selected] for k in keys})
    sorter.prepare()
    results: dict[str, AssetResult] = {}
    workers = max_workers or min(4, os.cpu_count() or 1)

    def record(result: AssetResult) -> None:
        results[result.key] = result
        sorter.done(result.key)
        if on_result is not None:
            on_result(result)

    # At most ``workers`` runs are submitted at a time, the others wait in ``ready``: each wait
    # looks at the runs in flight, so waiting on every ready asset would cost the width of the
    # graph per finished asset (quadratic over a wide mesh), waiting on ``workers`` costs a constant.
    ready: deque[tuple[str, bool]] = deque()
    # the runs' lineage events are sent together, in the background, all of them by the time it returns
    with mesh.services.lineage.batched(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mesh") as pool:
        running: dict[Future[AssetResult], str] = {}
        while sorter.is_active():
            for key in sorter.get_ready():
                failed = [u for u in mesh.graph.upstream(key) if u in results and not results[u].ok]
                skips = _skips(mesh, key, skip_unchanged)
                if failed:
                    record(skip_asset(mesh, key, run_id=run_id,
                                      reason=f"skipped: upstream {', '.join(failed)} did not materialize"))
                elif skips and (same := _inputs_unchanged(mesh, key, results)) is not None:
                    record(same)
                else:
                    ready.append((key, skips))
            while ready and len(running) < workers:
                key, skips = ready.popleft()
                running[pool.submit(_run_and_dispatch, mesh, key, run_id, params, handlers, skips)] = key
            if not running:
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                record(future.result())
    mesh.services.audit.seal()  # the run's records end under a signed, witnessed head
    return RunResult(run_id=run_id, results=results)


def _partitioned(mesh: Mesh, selection: str, partition: str | None, **kwargs: Any) -> RunResult:
    """A run of a selection holding partitioned assets: ``partition`` or today's, never resumed
    (materializing runs again what is already there; ``mesh backfill`` resumes)."""
    from assets.backfill import plan, run_plan  # it builds on this module

    if partition is not None:
        work = plan(mesh, selection, partition=partition)
    else:
        today = mesh.services.clock().date()
        work = plan(mesh, selection, first=today, last=today, require=False)
    return run_plan(mesh, work, resume=False, **kwargs)


def _skips(mesh: Mesh, key: str, asked: bool | None) -> bool:
    """Whether ``key``'s run skips an unchanged output: as asked for this run, else as the asset says."""
    return mesh.graph[key].spec.skip_unchanged if asked is None else asked


def _inputs_unchanged(mesh: Mesh, key: str, results: Mapping[str, AssetResult]) -> AssetResult | None:
    """An :attr:`Status.UNCHANGED` result for ``key`` when every input of it that ran in this run
    came out unchanged and ``key`` is not stale; ``None`` when it has to run."""
    ran = [u for u in mesh.graph.upstream(key) if u in results]
    if not ran or any(results[u].status is not Status.UNCHANGED for u in ran) or staleness(mesh, key).stale:
        return None
    return AssetResult(key=key, status=Status.UNCHANGED, manifest=mesh.store().current(key),
                       note=f"not run: its inputs {', '.join(ran)} did not change")


def _run_and_dispatch(mesh: Mesh, key: str, run_id: str, params: Mapping[str, Any] | None,
                      handlers: Sequence[UpdateHandler], skip_unchanged: bool) -> AssetResult:
    result = run_asset(mesh, key, run_id=run_id, params=params, skip_unchanged=skip_unchanged)
    if not result.published or result.manifest is None or not handlers:
        return result
    outcomes = dispatch(handlers, AssetUpdate.from_manifest(result.manifest, "engine"))
    return replace(result, handlers=tuple(outcomes))
