"""Lineage overhead per materialization, with the file transport: the example mesh (13 assets,
small data so fixed costs show) materialized with lineage on against the same mesh with
``[lineage] transport = "none"``, in one run. Also the cost of one START + COMPLETE pair
through the outbox, alone."""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

import tomlkit

from assets import Mesh, materialize
from bench._timing import measure
from bench.synthetic import example_mesh
from governance.services import governed
from governance.wiring import load_mesh

REPEAT = 7
PARAMS = {"scale": 1_000, "seed": 3}


def _mesh(root: Path, transport: str) -> Mesh:
    example_mesh(root)
    document = tomlkit.parse((root / "mesh.toml").read_text())
    document["lineage"]["transport"] = transport  # type: ignore[index]
    (root / "mesh.toml").write_text(tomlkit.dumps(document))
    return load_mesh(root)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-lineage-") as tmp:
        on, off = _mesh(Path(tmp) / "on", "file"), _mesh(Path(tmp) / "off", "none")
        runs: dict[str, list[float]] = {"on": [], "off": []}
        materialize("*", mesh=on, params=PARAMS, max_workers=1)  # warm-up: imports, keys, outbox
        materialize("*", mesh=off, params=PARAMS, max_workers=1)
        for _ in range(REPEAT):
            for name, mesh in (("on", on), ("off", off)):
                runs[name].extend(measure(lambda m=mesh: materialize("*", mesh=m, params=PARAMS, max_workers=1),
                                          repeat=1, warmup=0).samples)
        with_lineage, without = statistics.median(runs["on"]), statistics.median(runs["off"])
        per_asset_ms = (with_lineage - without) / len(on.graph) * 1000
        print(f"lineage, medians of {REPEAT} interleaved runs of the example mesh (13 assets, one worker): "
              f"{with_lineage:.2f} s with the file transport vs {without:.2f} s without lineage -> ratio "
              f"{with_lineage / without:.2f}x, {per_asset_ms:.1f} ms per materialization", flush=True)
        lineage = governed(on).lineage
        manifest = on.store().require_current("finance.revenue")
        counter = iter(range(10**9))

        def pair() -> None:
            run_id = f"bench-{next(counter)}"
            lineage.started("finance.revenue", run_id)
            lineage.completed(manifest.__class__(**{**manifest.to_dict(), "run_id": run_id}))

        events = measure(pair, repeat=50, warmup=3).median
        print(f"one START + COMPLETE through the outbox to the file transport: {events * 1000:.1f} ms (median of 50)",
              flush=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
