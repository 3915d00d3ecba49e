"""Engine overhead: ``materialize`` against calling the same asset functions and writing Parquet.

The engine adds the contract gate, the checksum, the manifest and the atomic publish. The
target applies to the engine alone; the full flow with every update handler (policy checks,
run history, lineage, replication to the second region, which writes every byte twice) is
reported beside it.

- The example mesh with 1M orders (13 assets): target at most 1.2x, one asset at a time in
  both (the engine's concurrency is reported apart, so it cannot hide overhead).
- A synthetic mesh of 200 tiny assets: the fixed cost per asset, in ms.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from assets import AssetContext, Mesh, materialize
from bench._timing import measure, report
from bench.synthetic import example_mesh, write_mesh
from governance.wiring import load_mesh


def _direct(mesh: Mesh, out: Path, params: dict[str, Any]) -> None:
    """The baseline: each function called in topological order, its output written as Parquet."""
    for key in mesh.graph:
        definition = mesh.graph[key]
        inputs: dict[str, Any] = {p: pl.scan_parquet(out / f"{k}.parquet") for p, k in definition.spec.inputs.items()}
        if definition.wants_context:
            inputs["context"] = AssetContext(key=key, run_id="direct", params=params)
        result = definition.fn(**inputs)
        frame = result.collect() if isinstance(result, pl.LazyFrame) else result
        frame.write_parquet(out / f"{key}.parquet", statistics=True)


def _compare(name: str, root: Path, params: dict[str, Any], repeat: int, target: float | None) -> float:
    mesh = load_mesh(root)
    out = root / "direct"
    out.mkdir()
    engine = measure(lambda: materialize("*", mesh=mesh, params=params, max_workers=1, handlers=[]), repeat=repeat)
    direct = measure(lambda: _direct(mesh, out, params), repeat=repeat)
    report(f"{name}, engine without update handlers", engine, direct, target=target,
           baseline_name="direct calls + write_parquet")
    if name.startswith("example"):
        flow = measure(lambda: materialize("*", mesh=mesh, params=params, max_workers=1), repeat=repeat)
        report(f"{name}, engine with every handler (policy, history, lineage, replication to a 2nd region)",
               flow, direct, baseline_name="direct calls + write_parquet")
        concurrent = measure(lambda: materialize("*", mesh=mesh, params=params), repeat=repeat)
        report(f"{name}, engine with its default concurrency", concurrent, direct,
               baseline_name="direct calls + write_parquet")
    return (engine.median - direct.median) / len(mesh.graph)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = example_mesh(Path(tmp) / "example")
        _compare("example mesh, 1M orders, 13 assets", root, {"scale": 1_000_000, "seed": 7}, repeat=5, target=1.2)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "synthetic"
        write_mesh(root, domains=10, assets_per_domain=20, rows=10)
        per_asset = _compare("synthetic mesh, 200 assets of 10 rows", root, {}, repeat=5, target=None)
    print(f"engine overhead per asset: {per_asset * 1000:.2f} ms (median, 200 tiny assets)", flush=True)


if __name__ == "__main__":
    main()
