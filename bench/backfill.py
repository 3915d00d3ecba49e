"""Backfill: 365 daily partitions of a small asset in-process, against 365 calls of the asset
function plus ``write_parquet``.

The asset is the example mesh's ``sales.daily_orders`` (daily partitions; 2,000 rows a day here).
The backfill plans the 365 partitions and runs each through the step every runner uses: the
contract gate, the checksum, the manifest, the durable and atomic publish of the partition's
version, the START lineage event and the audit record (no update handlers, as in the engine
benchmark; every partition runs again each time: ``resume=False``). The baseline calls the
function for each day with its ``AssetContext``, protects the output as the mesh does at rest
(a no-op for this asset: it has no classified column) and writes it with ``write_parquet`` into
a new folder per run. Runs are interleaved; medians of 3; target at most 1.5x. One partition at
a time on both sides (``--max-parallel 1``), then the backfill with 2 at a time, reported apart.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from pathlib import Path
from typing import Any

from assets import AssetContext, Mesh
from assets.backfill import plan, run_plan
from bench._timing import measure_interleaved, report
from bench.synthetic import example_mesh
from governance.wiring import load_mesh

KEY = "sales.daily_orders"
FIRST = dt.date(2026, 11, 16)
DAYS = 365
PARAMS: dict[str, Any] = {"daily_rows": 2_000, "seed": 7}
TARGET = 1.5
BASELINE = "365 calls of the function + write_parquet"


def _direct(mesh: Mesh, out: Path, days: list[str]) -> None:
    definition = mesh.graph[KEY]
    protector = mesh.services.protector
    folder = out / uuid.uuid4().hex
    folder.mkdir()
    for day in days:
        frame = definition.fn(context=AssetContext(key=KEY, run_id="direct", params=PARAMS, partition=day))
        with protector.hold_keys():
            protected = protector.protect(KEY, definition.spec.contract, frame)
        protected.frame.write_parquet(folder / f"{day}.parquet", statistics=True)


def _backfill(mesh: Mesh, max_parallel: int) -> None:
    work = plan(mesh, KEY, first=FIRST, last=FIRST + dt.timedelta(days=DAYS - 1))
    result = run_plan(mesh, work, params=PARAMS, max_parallel=max_parallel, handlers=[], resume=False)
    failed = {label: r.error for label, r in result.results.items() if not r.ok}
    if failed or len(result.results) != DAYS:
        raise SystemExit(f"the backfill did not materialize {DAYS} partitions: {len(result.results)}, {failed}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mesh = load_mesh(example_mesh(Path(tmp) / "example"))
        out = Path(tmp) / "direct"
        out.mkdir()
        days = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(DAYS)]
        timings = measure_interleaved({
            "backfill": lambda: _backfill(mesh, 1),
            "direct": lambda: _direct(mesh, out, days),
            "parallel": lambda: _backfill(mesh, 2),
        }, repeat=3)
        report(f"backfill of {DAYS} daily partitions ({PARAMS['daily_rows']:,} rows each), one at a time",
               timings["backfill"], timings["direct"], target=TARGET, baseline_name=BASELINE)
        report("the same backfill, --max-parallel 2", timings["parallel"], timings["direct"], baseline_name=BASELINE)
        per = (timings["backfill"].median - timings["direct"].median) / DAYS
        print(f"backfill overhead per partition: {per * 1000:.2f} ms", flush=True)


if __name__ == "__main__":
    main()
