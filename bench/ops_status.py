"""``mesh ops status`` at scale: 1,000 assets in 50 domains with a year of run history.

The mesh is :func:`bench.synthetic.write_mesh`'s (20 assets per domain, daily roots, every
derived asset with ``freshness = "26h"``). Its history: one run a day per asset for 365 days
(365,000 run records, about 1% of them failed, and the 361,000-odd published versions in the
run history), written straight to the state database.

Measured (medians of 5, after one warm-up), in this process, after the mesh is loaded:

- the status computation of ``mesh ops status``: the facts from the run records and the run
  history, and every asset's state, deadline and reason (:meth:`OpsView.statuses`);
- the baseline: reading the same history rows (every run record) with one SQL query.

Target: the status costs at most 3x the baseline.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench._timing import measure, report
from bench.synthetic import write_mesh

DOMAINS, PER_DOMAIN, DAYS = 50, 20, 365
TARGET = 3.0


def _history(view: object, keys: list[str], now: dt.datetime) -> int:
    from governance.runs.records import RunRecord, RunRecords
    from governance.runs.records import stamp as to_text
    from governance.state.schema import updates

    records: RunRecords = view.records  # type: ignore[attr-defined]
    rng = random.Random(7)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=DAYS - 1)
    total = 0
    for day in range(DAYS):
        tick = start + dt.timedelta(days=day)
        batch, published = [], []
        for i, key in enumerate(keys):
            began = tick + dt.timedelta(minutes=1 + (i % PER_DOMAIN) * 2)
            ended = began + dt.timedelta(seconds=30 + rng.random() * 60)
            failed = rng.random() < 0.01
            version = f"{tick:%Y%m%d}T000000Z-{i:06x}"
            batch.append(RunRecord(key=key, run_id=f"scheduled__{tick:%Y-%m-%d}", source="airflow",
                                   status="error" if failed else "materialized", started_at=began, ended_at=ended,
                                   version=None if failed else version, error="upstream 503" if failed else None))
            if not failed:
                published.append({"key": key, "version": version, "run_id": f"scheduled__{tick:%Y-%m-%d}",
                                  "source": "airflow", "rows": 10, "summary": json.dumps({"rows": 10}),
                                  "recorded_at": to_text(ended)})
        records.add(batch)
        with records.database.write(durable=False) as conn:
            conn.execute(updates.insert(), published)
        total += len(batch)
    return total


def main() -> None:
    from governance.ops.monitor import mesh_view
    from governance.wiring import load_mesh

    with tempfile.TemporaryDirectory(prefix="bench-ops-") as tmp:
        root = Path(tmp) / "mesh"
        keys = write_mesh(root, domains=DOMAINS, assets_per_domain=PER_DOMAIN, freshness="26h")
        mesh = load_mesh(root)
        view = mesh_view(mesh)
        now = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
        started = time.perf_counter()
        rows = _history(view, keys, now)
        print(f"{len(keys)} assets in {DOMAINS} domains, {rows:,} run records of {DAYS} days "
              f"(written in {time.perf_counter() - started:.1f} s)")
        found = view.statuses(now)
        states = {s: sum(x.state == s for x in found.values()) for s in ("fresh", "late", "breached", "unknown")}
        print("states: " + ", ".join(f"{n} {s}" for s, n in states.items()))

        def baseline() -> int:
            with view.database.read() as conn:
                return len(conn.execute(text("SELECT key, run_id, source, status, version, error, started_at, "
                                             "ended_at FROM runs")).all())

        status = measure(lambda: view.statuses(now))
        read = measure(baseline)
        report("mesh ops status (1,000 assets, a year of runs)", status, read, target=TARGET,
               baseline_name="one SQL query reading every run record")


if __name__ == "__main__":
    main()
