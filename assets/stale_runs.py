"""Running what is stale: ``mesh materialize --stale``.

The stale unpartitioned assets (and partitioned ones with no partition yet, whose partition of
today runs) go through :func:`assets.engine.materialize` with what they feed; then each stale
partition of the partitioned assets (:func:`assets.staleness.partition_staleness`, looked at
after the first part ran, so a partition made stale by it counts) runs through a backfill plan
with the partitions and assets it feeds, each skipped when it is already up to date.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from assets.backfill import plan_partitions, run_plan
from assets.engine import materialize
from assets.mesh import Mesh
from assets.partition_reads import split_label
from assets.results import AssetResult, RunResult, Status
from assets.run_id import new_run_id
from assets.staleness import partition_staleness, staleness


def materialize_stale(selection: str, *, mesh: Mesh, params: Mapping[str, Any] | None = None,
                      max_workers: int | None = None,
                      on_result: Callable[[AssetResult], None] | None = None) -> RunResult:
    """Run the stale assets and partitions of ``selection`` and what they feed in it, publishing
    nothing for an output identical to the current version. An empty result when nothing is stale."""
    keys = mesh.select(selection)
    store = mesh.store()
    split = {k for k in keys if mesh.graph[k].spec.partitions is not None and store.partitions(k)}
    run_id = new_run_id()
    results: dict[str, AssetResult] = {}
    whole = [k for k in keys if k not in split and staleness(mesh, k).stale]
    if whole:
        # what reads a partitioned asset runs after its stale partitions, in the second part
        later = mesh.graph.descendants(*split) | split
        fed = mesh.graph.descendants(*whole) - later
        chosen = " ".join(k for k in keys if k in fed or k in whole)
        results.update(materialize(chosen, mesh=mesh, params=params, max_workers=max_workers, on_result=on_result,
                                   run_id=run_id, skip_unchanged=True).results)
    parts = {k: [p for s in partition_staleness(mesh, k) if s.stale and (p := split_label(s.key)[1]) is not None]
             for k in split}
    parts = {k: v for k, v in parts.items() if v}
    if parts:
        reach = mesh.graph.descendants(*parts) | set(parts)
        work = plan_partitions(mesh, " ".join(k for k in keys if k in reach), parts)
        second = run_plan(mesh, work, params=params, max_parallel=max_workers or min(4, os.cpu_count() or 1),
                          on_result=on_result, run_id=run_id, failed=[k for k, r in results.items() if not r.ok])
        results.update({k: r for k, r in second.results.items() if k not in results or r.status is not Status.UNCHANGED})
    return RunResult(run_id=run_id, results=results)
