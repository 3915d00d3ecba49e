"""``mesh ops status --partitions``: one row per partition of the selected partitioned assets."""

from __future__ import annotations

import json
from pathlib import Path

from assets import Status
from assets.backfill import plan, run_plan
from assets.step import run_asset
from governance.wiring import load_mesh
from tests.cli.test_cli import mesh

DAYS = ["2026-11-18", "2026-11-19", "2026-11-20"]


def test_a_backfill_with_a_failed_gate_shows_that_partition_failed(example_root: Path) -> None:
    loaded = load_mesh(example_root)
    run_plan(loaded, plan(loaded, "sales.daily_orders", first=DAYS[0], last=DAYS[-1]), params={"bad_day": DAYS[-1]})
    assert run_asset(loaded, "sales.daily_orders", run_id="next", partition="2026-11-21").status is Status.MATERIALIZED

    code, out, err = mesh(example_root, "ops", "status", "sales.*", "--partitions", "--json")
    assert code == 0, out + err
    rows = {(r["key"], r["partition"]): r for r in json.loads(out)}
    assert set(rows) == {("sales.daily_orders", d) for d in [*DAYS, "2026-11-21"]}
    failed = rows[("sales.daily_orders", "2026-11-20")]
    assert failed["status"] == "gate_failed" and failed["version"] is None and failed["published_at"] is None
    assert failed["error"]
    good = rows[("sales.daily_orders", "2026-11-18")]
    assert good["status"] == "materialized" and good["error"] is None
    assert good["version"] == loaded.store().current_version("sales.daily_orders", "2026-11-18")

    code, out, _ = mesh(example_root, "ops", "status", "sales.daily_orders", "--partitions")
    assert code == 0 and "2026-11-20" in out and "gate_failed" in out and "2026-11-21" in out

    code, out, _ = mesh(example_root, "ops", "status", "sales.daily_orders", "--json")
    [status] = json.loads(out)
    assert "partition 2026-11-20: gate failed" in status["reason"], status
    assert set(status) == {"key", "domain", "state", "version", "published_at", "age_seconds", "deadline",
                           "reason", "running_since", "readable"}  # the asset rows are as they were
    assert status["readable"] is True  # a partitioned asset's partitions are not read by ops status


def test_partitions_of_an_unpartitioned_selection_are_refused_with_the_fix(example_root: Path) -> None:
    code, out, err = mesh(example_root, "ops", "status", "sales.orders", "--partitions")
    assert code == 1 and "Traceback" not in out + err
    assert "not partitioned" in err and "Fix:" in err and "sales.daily_orders" in err


def test_skipped_and_running_partitions_are_shown_and_counted(example_root: Path) -> None:
    from governance.runs.records import run_records

    loaded = load_mesh(example_root)
    run_plan(loaded, plan(loaded, "sales.daily_orders+", first=DAYS[0], last=DAYS[1]), params={"bad_day": DAYS[0]})
    run_records(loaded).started("sales.daily_orders", "now-running", "airflow", loaded.services.clock(),
                                partition="2026-11-22")
    code, out, err = mesh(example_root, "ops", "status", "sales.*", "--partitions", "--json")
    assert code == 0, out + err
    rows = {(r["key"], r["partition"]): r for r in json.loads(out)}
    assert rows[("sales.weekly_orders", "2026-11-16-W47")]["status"] == "skipped"
    assert "sales.daily_orders/2026-11-18" in rows[("sales.weekly_orders", "2026-11-16-W47")]["error"]
    running = rows[("sales.daily_orders", "2026-11-22")]
    assert running["status"] == "running" and running["started_at"] and running["ended_at"] is None

    code, out, _ = mesh(example_root, "ops", "status", "sales.*", "--partitions")
    assert code == 0 and "1 failed, 1 skipped, 1 running" in out.replace("\n", " "), out
    assert "running since" in out
