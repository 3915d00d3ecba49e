"""Partitioned runs in-process on the example mesh: each partition gated, versioned and published on
its own; inputs arrive mapped; a backfill resumes from storage; a failed gate skips exactly the
partitions that read it."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import wait
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from assets import Mesh, PartitionKeyError, Status
from assets.backfill import backfill, plan, run_plan
from assets.engine import materialize
from assets.partition_reads import scan_partitions
from assets.step import run_asset
from governance.dr.status import dr_status
from governance.services import governed

DAYS = ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"]


def statuses(result) -> dict[str, str]:
    return {label: str(r.status) for label, r in result.results.items()}


def test_a_backfill_publishes_each_day_and_rolls_the_week_up(example_mesh: Mesh) -> None:
    seen: list[str] = []
    result = backfill("sales.daily_orders+", mesh=example_mesh, first=DAYS[0], last=DAYS[-1], max_parallel=2,
                      on_result=lambda r: seen.append(f"{r.key}/{r.partition}"))
    assert result.ok, result.to_dict()
    assert statuses(result) == {**{f"sales.daily_orders/{d}": "materialized" for d in DAYS},
                                "sales.weekly_orders/2026-11-16-W47": "materialized"}
    assert seen[-1] == "sales.weekly_orders/2026-11-16-W47"  # the week waited for its days
    store = example_mesh.store()
    assert store.partitions("sales.daily_orders") == DAYS
    for day in DAYS:
        manifest = store.require_current("sales.daily_orders", day)
        assert manifest.partition == day
        assert store.scan("sales.daily_orders", partition=day).select(pl.col("order_date").unique()).collect().item() \
            == pl.Series([day]).str.to_date().item()
    week = store.require_current("sales.weekly_orders", "2026-11-16-W47")
    assert sorted(week.input_versions) == [f"sales.daily_orders/{d}" for d in DAYS]
    weekly = store.scan("sales.weekly_orders", partition="2026-11-16-W47").collect()
    assert set(weekly["days"]) == {5}


def test_readers_get_one_partition_a_range_or_all(example_mesh: Mesh) -> None:
    backfill("sales.daily_orders", mesh=example_mesh, first=DAYS[0], last=DAYS[2])
    store = example_mesh.store()
    one, _ = scan_partitions(store, "sales.daily_orders", ["2026-11-17"])
    some, read = scan_partitions(store, "sales.daily_orders", ["2026-11-16", "2026-11-17"])
    every, _ = scan_partitions(store, "sales.daily_orders")
    assert one.collect().height == 200 and some.collect().height == 400 and every.collect().height == 600
    assert [m.partition for m in read] == ["2026-11-16", "2026-11-17"]


def test_re_running_a_backfill_runs_only_what_is_missing(example_mesh: Mesh) -> None:
    backfill("sales.daily_orders+", mesh=example_mesh, first=DAYS[0], last=DAYS[1])
    again = backfill("sales.daily_orders+", mesh=example_mesh, first=DAYS[0], last=DAYS[3])
    assert statuses(again) == {
        "sales.daily_orders/2026-11-16": "unchanged", "sales.daily_orders/2026-11-17": "unchanged",
        "sales.daily_orders/2026-11-18": "materialized", "sales.daily_orders/2026-11-19": "materialized",
        "sales.weekly_orders/2026-11-16-W47": "materialized"}  # it reads new days
    assert "already materialized" in (again["sales.daily_orders/2026-11-16"].note or "")
    third = backfill("sales.daily_orders+", mesh=example_mesh, first=DAYS[0], last=DAYS[3])
    assert set(statuses(third).values()) == {"unchanged"}


def test_a_failed_gate_skips_exactly_the_partitions_that_read_it_and_a_rerun_resumes(example_mesh: Mesh) -> None:
    days = [*DAYS, "2026-11-23", "2026-11-24"]
    first = backfill("sales.daily_orders+", mesh=example_mesh, first=days[0], last=days[-1],
                     params={"bad_day": "2026-11-18"})
    got = statuses(first)
    assert got["sales.daily_orders/2026-11-18"] == "gate_failed"
    assert got["sales.weekly_orders/2026-11-16-W47"] == "skipped"
    assert "sales.daily_orders/2026-11-18" in (first["sales.weekly_orders/2026-11-16-W47"].error or "")
    assert got["sales.weekly_orders/2026-11-23-W48"] == "materialized"  # the next week is untouched
    assert example_mesh.store().current("sales.daily_orders", "2026-11-18") is None
    assert example_mesh.store().current("sales.weekly_orders", "2026-11-16-W47") is None
    resumed = backfill("sales.daily_orders+", mesh=example_mesh, first=days[0], last=days[-1])
    ran = {label for label, status in statuses(resumed).items() if status == "materialized"}
    assert ran == {"sales.daily_orders/2026-11-18", "sales.weekly_orders/2026-11-16-W47"}



def test_resuming_runs_again_a_partition_whose_last_run_failed_over_an_older_good_version(example_mesh: Mesh) -> None:
    days = DAYS[:3]
    assert backfill("sales.daily_orders", mesh=example_mesh, first=days[0], last=days[-1]).ok
    kept = example_mesh.store().require_current("sales.daily_orders", days[1])
    failed = backfill("sales.daily_orders", mesh=example_mesh, first=days[0], last=days[-1],
                      params={"bad_day": days[1]}, resume=False)
    assert statuses(failed)[f"sales.daily_orders/{days[1]}"] == "gate_failed"
    assert example_mesh.store().require_current("sales.daily_orders", days[1]) == kept, "the good version stays"
    again = backfill("sales.daily_orders", mesh=example_mesh, first=days[0], last=days[-1])
    assert again.ok
    notes = {label.rsplit("/", 1)[1]: r.note or "" for label, r in again.results.items()}
    assert "already materialized" not in notes[days[1]], "the failed day ran again"
    assert all("already materialized" in notes[d] for d in (days[0], days[2])), notes
    assert backfill("sales.daily_orders", mesh=example_mesh, first=days[0], last=days[-1]).results[
        f"sales.daily_orders/{days[1]}"].note.startswith("already materialized"), "and once it succeeded, no more"

def test_materialize_one_partition_runs_it_and_what_it_feeds(example_mesh: Mesh) -> None:
    result = materialize("sales.daily_orders+", mesh=example_mesh, partition="2026-11-20")
    assert statuses(result) == {"sales.daily_orders/2026-11-20": "materialized",
                                "sales.weekly_orders/2026-11-16-W47": "materialized"}
    again = materialize("sales.daily_orders", mesh=example_mesh, partition="2026-11-20")
    assert statuses(again) == {"sales.daily_orders/2026-11-20": "materialized"}  # materialize always runs


def test_audit_and_lineage_name_each_partition(example_mesh: Mesh, example_root: Path,
                                              validate_openlineage: Callable[[dict[str, Any]], None]) -> None:
    result = backfill("sales.daily_orders", mesh=example_mesh, first=DAYS[0], last=DAYS[1])
    assert result.ok
    failed = run_asset(example_mesh, "sales.daily_orders", run_id="run-bad", partition="2026-11-18",
                       params={"bad_day": "2026-11-18"})
    assert failed.status is Status.GATE_FAILED
    audited = [r.body() for r in governed(example_mesh).audit.records() if r.action == "materialize"]
    assert [(r["details"]["partition"], r["outcome"]) for r in audited] == [
        ("2026-11-16", "materialized"), ("2026-11-17", "materialized"), ("2026-11-18", "gate_failed")]
    events = [json.loads(line) for line in (example_root / ".mesh" / "lineage" / "events.jsonl").read_text().splitlines()]
    for event in events:
        validate_openlineage(event)
    partitions = {(e["eventType"], e["run"]["facets"]["meshPartition"]["partition"]) for e in events}
    assert partitions >= {("START", "2026-11-16"), ("COMPLETE", "2026-11-16"), ("COMPLETE", "2026-11-17"),
                          ("FAIL", "2026-11-18")}
    runs = {e["run"]["facets"]["meshPartition"]["partition"]: e["run"]["runId"] for e in events}
    assert len(set(runs.values())) == 3  # each partition is its own OpenLineage run


def test_bad_partitions_are_refused_with_the_fix(example_mesh: Mesh) -> None:
    with pytest.raises(PartitionKeyError, match="name the partition"):
        run_asset(example_mesh, "sales.daily_orders", run_id="run-x")
    with pytest.raises(PartitionKeyError, match="not partitioned"):
        run_asset(example_mesh, "sales.products", run_id="run-x", partition="2026-11-19")
    with pytest.raises(PartitionKeyError, match="outside daily from 2026-11-16"):
        plan(example_mesh, "sales.daily_orders", partition="2020-01-01")
    with pytest.raises(PartitionKeyError, match="sales.products is not partitioned"):
        plan(example_mesh, "sales.products", first="2026-11-16", last="2026-11-17")
    with pytest.raises(PartitionKeyError, match="backwards"):
        plan(example_mesh, "sales.daily_orders", first="2026-11-20", last="2026-11-16")
    with pytest.raises(PartitionKeyError, match="max-parallel"):
        run_plan(example_mesh, plan(example_mesh, "sales.daily_orders", partition="2026-11-16"), max_parallel=0)


def test_a_missing_input_partition_fails_that_partition_naming_the_fix(example_mesh: Mesh) -> None:
    result = run_asset(example_mesh, "sales.weekly_orders", run_id="run-w", partition="2026-11-23-W48")
    assert result.status is Status.ERROR
    assert "no published version" in (result.error or "") and "mesh backfill" in (result.error or "")


def test_each_partition_is_replicated_to_the_standby(example_mesh: Mesh) -> None:
    backfill("sales.daily_orders", mesh=example_mesh, first=DAYS[0], last=DAYS[1])
    standby = example_mesh.store(example_mesh.standby_region)
    active = example_mesh.store()
    assert standby.partitions("sales.daily_orders") == DAYS[:2]
    for day in DAYS[:2]:
        assert standby.current_version("sales.daily_orders", day) == active.current_version("sales.daily_orders", day)
    lags = {lag.key: lag.state for lag in dr_status(example_mesh, keys=["sales.daily_orders", "sales.products"]).assets}
    assert lags == {"sales.daily_orders/2026-11-16": "in sync", "sales.daily_orders/2026-11-17": "in sync",
                    "sales.products": "not materialized"}


def test_a_backfill_waits_on_at_most_its_parallel_runs_however_many_days(example_mesh: Mesh,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ready day was submitted at once, and each finished day cost a wait over all the days
    still in flight: quadratic in the days (365 days, 66,000 futures looked at)."""
    import assets.backfill

    waited: list[int] = []

    def counting_wait(futures: Any, **kw: Any) -> Any:
        waited.append(len(futures))
        return wait(futures, **kw)

    monkeypatch.setattr(assets.backfill, "wait", counting_wait)
    result = backfill("sales.daily_orders", mesh=example_mesh, first="2026-11-16", last="2026-11-27", max_parallel=2,
                      handlers=[])
    assert result.ok and len(result.results) == 12
    assert max(waited) <= 2 and sum(waited) <= 2 * 12
