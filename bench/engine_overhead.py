"""Engine overhead: ``materialize`` against calling the same asset functions and writing Parquet.

The engine adds the contract gate, the verified reads, the checksum, the manifest, the durable
and atomic publish, the START lineage event and the audit record. The baseline calls each asset
function in topological order, collects its output, protects its classified columns at rest
exactly as the engine does (the mesh's own protector: tokenization and encryption), and writes
it with ``write_parquet``: protection at rest is counted on both sides, so the ratio is the
engine's own overhead. The full flow with every update handler (policy checks, run history,
lineage, replication to the second region, which writes every byte twice) is reported beside
it, without a target.

- The example mesh with 1M orders (its assets that are not partitioned and do not read a
  partitioned one): target at most 1.2x, one asset at a time in
  both (the engine's concurrency is reported apart, so it cannot hide overhead).
- A synthetic mesh of 200 tiny assets (10 rows): the fixed cost per asset, target at most 3 ms.

The runs are interleaved (one of each in turn), so every side sees the same state of the
machine; a run in which an asset did not materialize stops the benchmark. Each line prints the
medians, the ratio and ``met``/``MISSED`` against its target.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from assets import AssetContext, Mesh, RunResult, materialize
from assets.arrivals import read_newest
from bench._timing import Timing, measure_interleaved, report
from bench.synthetic import example_mesh, write_mesh
from governance.wiring import load_mesh

#: Set to ``tiny`` (or ``example``) to run only that part: ``BENCH_ENGINE_ONLY=tiny uv run python -m bench engine``.
ONLY_ENV = "BENCH_ENGINE_ONLY"
#: The fixed cost per asset the engine may add, in seconds.
PER_ASSET_TARGET = 0.003
BASELINE = "direct calls + protection at rest + write_parquet"


def _direct(mesh: Mesh, out: Path, params: dict[str, Any]) -> None:
    """The baseline: each function called in topological order, its output protected as the
    mesh protects it at rest and written as Parquet, into a new folder each run as the engine
    writes a new version's (overwriting a file costs more: ext4 flushes a truncated file's new
    data when it is closed)."""
    protector = mesh.services.protector
    out = out / uuid.uuid4().hex
    out.mkdir()
    for key in _unpartitioned(mesh):
        definition = mesh.graph[key]
        inputs: dict[str, Any] = {p: pl.scan_parquet(out / f"{k}.parquet") for p, k in definition.spec.inputs.items()}
        if definition.wants_context:
            inputs["context"] = AssetContext(key=key, run_id="direct", params=params)
        result = definition.fn(*_arrived(mesh, key), **inputs)
        frame = result.collect() if isinstance(result, pl.LazyFrame) else result
        with protector.hold_keys():
            protected = protector.protect(key, definition.spec.contract, frame)
        protected.frame.write_parquet(out / f"{key}.parquet", statistics=True)


def _unpartitioned(mesh: Mesh) -> list[str]:
    """The assets both sides run, in topological order: all but the partitioned ones and what
    they feed (the engine runs those one partition at a time, through their partition mappings,
    which a baseline of plain calls has no counterpart for; ``bench backfill`` times them)."""
    partitioned = {k for k in mesh.graph if mesh.graph[k].spec.partitions is not None}
    later = mesh.graph.descendants(*partitioned) | partitioned if partitioned else set()
    return [k for k in mesh.graph if k not in later]


def _arrived(mesh: Mesh, key: str) -> tuple[pl.LazyFrame, ...]:
    """An observed source's newest drop file, read as the engine reads it (its first run;
    later runs of the engine find nothing new and skip it, so the baseline does more here)."""
    drop = mesh.graph[key].spec.drop
    if drop is None:
        return ()
    found = read_newest(key, drop, mesh.graph[key].spec.contract, mesh.root, None)
    if found is None:
        raise SystemExit(f"the benchmark's mesh has no complete file in the drop of {key}: {drop.location}")
    return (found.frame,)


def _compare(name: str, root: Path, params: dict[str, Any], repeat: int,
             target: float | None) -> tuple[Timing, Timing, int]:
    mesh = load_mesh(root)
    out = root / "direct"
    out.mkdir()
    # every asset runs each time on both sides (no skipping an unchanged output), but an observed
    # source finds nothing new after its first run, which the baseline reads again each time
    selection = " ".join(_unpartitioned(mesh))

    def run_engine(**kwargs: Any) -> None:
        _materialized(materialize(selection, mesh=mesh, params=params, skip_unchanged=False, **kwargs))

    runs: dict[str, Callable[[], object]] = {
        "engine": lambda: run_engine(max_workers=1, handlers=[]),
        "direct": lambda: _direct(mesh, out, params)}
    if name.startswith("example"):
        runs["flow"] = lambda: run_engine(max_workers=1)
        runs["concurrent"] = run_engine
    timings = measure_interleaved(runs, repeat=repeat)  # one of each in turn: the same machine for all
    engine, direct = timings["engine"], timings["direct"]
    name = f"{name}, {len(selection.split())} assets"
    report(f"{name}, engine without update handlers", engine, direct, target=target, baseline_name=BASELINE)
    if "flow" in timings:
        report(f"{name}, engine with every handler (policy, history, lineage, replication to a 2nd region)",
               timings["flow"], direct, baseline_name=BASELINE)
        report(f"{name}, engine with its default concurrency", timings["concurrent"], direct,
               baseline_name=BASELINE)
    return engine, direct, len(selection.split())


def _materialized(run: RunResult) -> None:
    """Refuse a run in which an asset did not materialize: it would have done less work."""
    failed = {key: result.error for key, result in run.results.items() if not result.ok}
    if failed:
        raise SystemExit(f"the benchmark's mesh did not materialize: {failed}")


def main() -> None:
    only = os.environ.get(ONLY_ENV, "")  # "tiny": the 200 tiny assets alone; "example": the example mesh alone
    if only != "tiny":
        with tempfile.TemporaryDirectory() as tmp:
            root = example_mesh(Path(tmp) / "example")
            _compare("example mesh, 1M orders", root, {"scale": 1_000_000, "seed": 7}, repeat=5, target=1.2)
    if only == "example":
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "synthetic"
        write_mesh(root, domains=10, assets_per_domain=20, rows=10)
        engine, direct, assets = _compare("synthetic mesh of 10-row assets", root, {}, repeat=5, target=None)
    per_asset = (engine.median - direct.median) / assets
    verdict = "met" if per_asset <= PER_ASSET_TARGET else "MISSED"
    print(f"engine overhead per asset: {per_asset * 1000:.2f} ms (medians of {len(engine.samples)}: "
          f"{engine.median * 1000:.0f} ms vs {direct.median * 1000:.0f} ms for {assets} tiny assets) "
          f"(target <= {PER_ASSET_TARGET * 1000:.0f} ms: {verdict})", flush=True)


if __name__ == "__main__":
    main()
