"""Partitioned runs in-process: one partition (``mesh materialize SEL --partition KEY``) or a range
(``mesh backfill SEL --from DATE --to DATE``).

A run is planned as nodes ``(asset, partition)`` (``partition`` is ``None`` for an unpartitioned
asset of the selection, which runs once after what it reads). Each selected partitioned asset
runs the partitions of the range (or the one key) it has, plus the partitions its inputs' planned
partitions feed (:func:`assets.partition_mapping.downstream_partitions`): a backfill of days
also runs the weeks those days roll up into. A node waits for the nodes it reads
(:func:`assets.partition_mapping.upstream_partitions`); nodes run on ``max_parallel`` threads,
each through :func:`assets.step.run_asset`, the step every runner uses.

Resumable: a node whose current version was made from the current versions of what it reads,
by the current code and contract, is not run again (it is reported as already done), unless
something it reads was published in this run. What is missing or failed runs. The decision
comes from the stored versions, not from any private state.

Isolated failures: a node whose gate (or code) failed publishes nothing, and every node that
reads it, directly or not, is skipped and reported; other partitions go on.
"""

from __future__ import annotations

import datetime as dt
import graphlib
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

from assets.errors import PartitionKeyError
from assets.events import AssetUpdate, UpdateHandler, dispatch
from assets.mesh import Mesh
from assets.partition_mapping import downstream_partitions, upstream_partitions
from assets.partition_reads import input_label
from assets.partitions import StaticPartitions
from assets.results import AssetResult, RunResult, Status
from assets.run_id import new_run_id
from assets.staleness import staleness
from assets.step import run_asset, skip_asset

#: Called with each node's result as soon as it is known.
ProgressFn = Callable[[AssetResult], None]


@dataclass(frozen=True, slots=True, order=True)
class Node:
    """One asset's partition to run (``partition`` ``None``: the whole, unpartitioned asset)."""

    key: str
    partition: str | None = None

    @property
    def label(self) -> str:
        """``sales.daily_orders/2026-01-05``, or the key of an unpartitioned asset."""
        return input_label(self.key, self.partition)


@dataclass(frozen=True, slots=True)
class Plan:
    """The nodes of a partitioned run, in topological order, and what each waits for."""

    nodes: tuple[Node, ...]
    needs: Mapping[Node, tuple[Node, ...]]

    def __len__(self) -> int:
        return len(self.nodes)


def plan(mesh: Mesh, selection: str, *, partition: str | None = None,
         first: str | dt.date | None = None, last: str | dt.date | None = None, require: bool = True) -> Plan:
    """The nodes to run for ``selection``: its partitions named by ``partition``, or those from
    ``first`` to ``last`` (dates or keys), plus what they feed in the selection.

    Raises :class:`PartitionKeyError` when no selected asset has such a partition (unless not
    ``require``d)."""
    keys = mesh.select(selection)
    if (partition is None) == (first is None):
        raise PartitionKeyError("name one partition, or a range with both bounds", where=selection,
                                fix="pass --partition KEY, or --from DATE --to DATE")
    own = {key: (None,) if (p := mesh.graph[key].spec.partitions) is None
           else tuple(_own(p, partition, first, last if last is not None else first)) for key in keys}
    work = _expand(mesh, keys, own)
    if require and not any(n.partition is not None for n in work.nodes):
        if partition is not None:
            for key in keys:  # the first partitioned asset says what its keys look like
                if (partitions := mesh.graph[key].spec.partitions) is not None:
                    partitions.validate(partition)
        bound = partition if partition is not None else f"{first} .. {last}"
        if all(mesh.graph[key].spec.partitions is None for key in keys):
            raise PartitionKeyError(f"'{selection}' selects no partitioned asset: {_listed(sorted(keys))} "
                                    f"{'is' if len(keys) == 1 else 'are'} not partitioned", where=selection,
                                    fix="materialize it with `mesh materialize`, or select a partitioned asset "
                                        "(`mesh list` shows each asset's partitions)")
        raise PartitionKeyError(f"no asset of '{selection}' has a partition {bound}", where=selection,
                                fix="select a partitioned asset, and a key or dates inside its partitions "
                                    "(`mesh list` shows each asset's partitions)")
    return work


def plan_partitions(mesh: Mesh, selection: str, partitions: Mapping[str, Iterable[str]]) -> Plan:
    """The nodes to run for exactly ``partitions`` (per key: its partitions to run), plus what
    they feed in ``selection`` (an unpartitioned reader as one node); ``mesh materialize --stale``
    runs the stale partitions this way."""
    keys = mesh.select(selection)
    return _expand(mesh, keys, {key: tuple(partitions.get(key, ())) for key in keys})


def run_plan(mesh: Mesh, work: Plan, *, params: Mapping[str, Any] | None = None, max_parallel: int = 1,
             on_result: ProgressFn | None = None, run_id: str | None = None,
             handlers: Sequence[UpdateHandler] | None = None, resume: bool = True,
             failed: Collection[str] = ()) -> RunResult:
    """Run ``work``'s nodes, ``max_parallel`` at a time; results are keyed by :attr:`Node.label`.

    With ``resume`` (the default), a node already up to date is not run again (``unchanged``,
    with a note). Never raises for a node's own failure."""
    if max_parallel < 1:
        raise PartitionKeyError(f"max_parallel={max_parallel} runs nothing", where="backfill",
                                fix="pass --max-parallel 1 or more")
    if handlers is None:
        handlers = mesh.services.handlers
    run_id = run_id or new_run_id()
    sorter = graphlib.TopologicalSorter({n: work.needs[n] for n in work.nodes})
    sorter.prepare()
    results: dict[Node, AssetResult] = {}

    def record(node: Node, result: AssetResult) -> None:
        results[node] = result
        sorter.done(node)
        if on_result is not None:
            on_result(result)

    failed_last = _failed_last(mesh, work) if resume else {}
    # the runs' lineage events are sent together, in the background, all of them by the time it returns
    with mesh.services.lineage.batched(), ThreadPoolExecutor(max_workers=max_parallel,
                                                             thread_name_prefix="backfill") as pool:
        running: dict[Future[AssetResult], Node] = {}
        # at most ``max_parallel`` runs are submitted at a time, as in the engine: each wait looks
        # at every run in flight, so submitting 365 ready partitions at once made the waits quadratic
        ready: deque[Node] = deque()
        while sorter.is_active():
            ready.extend(sorter.get_ready())
            while ready and len(running) < max_parallel:
                node = ready.popleft()
                read = work.needs[node]
                broken = [n.label for n in read if not results[n].ok]
                broken += [k for k in mesh.graph[node.key].spec.inputs.values() if k in failed]
                if broken:
                    record(node, skip_asset(mesh, node.key, run_id=run_id, partition=node.partition,
                                            reason=f"skipped: {_listed(broken)} did not materialize"))
                elif resume and not any(results[n].published for n in read) and (done := _done(mesh, node, failed_last)):
                    record(node, done)
                else:
                    running[pool.submit(_run_and_dispatch, mesh, node, run_id, params, handlers)] = node
            if not running:
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                record(running.pop(future), future.result())
    mesh.services.audit.seal()
    return RunResult(run_id=run_id, results={n.label: results[n] for n in work.nodes})


def backfill(selection: str, *, mesh: Mesh, first: str | dt.date, last: str | dt.date, max_parallel: int = 1,
             **kwargs: Any) -> RunResult:
    """Plan and run the partitions of ``selection`` from ``first`` to ``last``, resumably."""
    return run_plan(mesh, plan(mesh, selection, first=first, last=last), max_parallel=max_parallel, **kwargs)


# -- internals ------------------------------------------------------------------------------------
def _expand(mesh: Mesh, keys: Sequence[str], own: Mapping[str, Iterable[str | None]]) -> Plan:
    """The plan of each key's ``own`` partitions (``None``: the unpartitioned asset) and of the
    partitions they feed, ``keys`` being in topological order."""
    nodes: dict[str, list[Node]] = {}
    needs: dict[Node, tuple[Node, ...]] = {}
    for key in keys:
        spec = mesh.graph[key].spec
        wanted: dict[str | None, None] = dict.fromkeys(own.get(key, ()))
        for param, upstream in spec.inputs.items():
            edge = mesh.graph.edge(key, param)
            for node in nodes.get(upstream, ()):
                for fed in downstream_partitions(edge, node.partition):
                    wanted[fed] = None
        if spec.partitions is not None:
            wanted = dict.fromkeys(sorted(k for k in wanted if k is not None))
        nodes[key] = [Node(key, p) for p in wanted]
        for node in nodes[key]:
            needs[node] = _needs(mesh, node, nodes)
    return Plan(nodes=tuple(n for key in keys for n in nodes[key]), needs=needs)


def _own(partitions: Any, partition: str | None, first: Any, last: Any) -> Iterable[str]:
    """The asset's own partitions for a key or a date range (a static dimension: all its keys)."""
    if partition is not None:
        return (partition,) if partitions.contains(partition) else ()
    if isinstance(partitions, StaticPartitions):
        return partitions.keys()
    return partitions.keys_between(first, last)


def _needs(mesh: Mesh, node: Node, nodes: Mapping[str, list[Node]]) -> tuple[Node, ...]:
    """The planned nodes ``node`` reads."""
    spec = mesh.graph[node.key].spec
    read: dict[Node, None] = {}
    for param, upstream in spec.inputs.items():
        planned = nodes.get(upstream)
        if not planned:
            continue
        edge = mesh.graph.edge(node.key, param)
        wanted = None if edge.upstream is None else upstream_partitions(edge, node.partition)
        if wanted is None:
            read.update(dict.fromkeys(planned))
        else:
            keys = set(wanted)
            read.update(dict.fromkeys(n for n in planned if n.partition in keys))
    return tuple(read)


def _failed_last(mesh: Mesh, work: Plan) -> Mapping[str, Collection[str]]:
    """Per partitioned asset of ``work``, its partitions whose last run failed (one question to
    the run history for the whole plan; none when the mesh keeps no history)."""
    history = mesh.services.failed_runs
    keys = {node.key for node in work.nodes if node.partition is not None}
    return history.partitions_failed(keys) if history is not None and keys else {}


def _done(mesh: Mesh, node: Node, failed_last: Mapping[str, Collection[str]]) -> AssetResult | None:
    """An ``unchanged`` result when ``node``'s current version is up to date (not stale: made by
    the current code and contract from the current versions of what it reads) and its last run
    did not fail, else ``None``."""
    if node.partition in failed_last.get(node.key, ()):
        return None  # an older good version is current, but the last try failed: try again
    current = mesh.store().current(node.key, node.partition)
    if current is None or staleness(mesh, node.key, node.partition, current=current).stale:
        return None
    return AssetResult(key=node.key, partition=node.partition, status=Status.UNCHANGED, manifest=current,
                       note=f"already materialized (version {current.version}, up to date): not run again")


def _run_and_dispatch(mesh: Mesh, node: Node, run_id: str, params: Mapping[str, Any] | None,
                      handlers: Sequence[UpdateHandler]) -> AssetResult:
    result = run_asset(mesh, node.key, run_id=run_id, params=params, partition=node.partition)
    result = replace(result, partition=node.partition)
    if not result.published or result.manifest is None or not handlers:
        return result
    outcomes = dispatch(handlers, AssetUpdate.from_manifest(result.manifest, "engine"))
    return replace(result, handlers=tuple(outcomes))


def _listed(labels: list[str]) -> str:
    return ", ".join(labels) if len(labels) <= 3 else f"{', '.join(labels[:3])} and {len(labels) - 3} more"
