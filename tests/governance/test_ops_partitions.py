"""Run records and ``mesh ops status`` per partition: each run of a partitioned asset names its
partition, and the asset's reason names the partition whose last run failed."""

from __future__ import annotations

import datetime as dt

from assets import Mesh, Status
from assets.backfill import plan, run_plan
from assets.step import run_asset
from governance.ops.clock import ManualClock, with_clock
from governance.ops.monitor import mesh_view
from governance.ops.partitions import partition_statuses
from governance.runs.records import run_records

T0 = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)
DAYS = ["2026-11-16", "2026-11-17", "2026-11-18"]


def test_the_recorder_stores_the_partition_of_each_run_of_a_backfill(example_mesh: Mesh) -> None:
    result = run_plan(example_mesh, plan(example_mesh, "sales.daily_orders+", first=DAYS[0], last=DAYS[-1]),
                      params={"bad_day": "2026-11-17"})
    records = run_records(example_mesh).between(keys=["sales.daily_orders"])
    assert sorted((r.partition, r.status) for r in records) == [
        ("2026-11-16", "materialized"), ("2026-11-17", "gate_failed"), ("2026-11-18", "materialized")]
    assert {r.run_id for r in records} == {result.run_id}
    assert all(r.to_dict()["partition"] == r.partition for r in records)
    version = result["sales.daily_orders/2026-11-16"].manifest.version  # type: ignore[union-attr]
    assert next(r.version for r in records if r.partition == "2026-11-16") == version


def test_runs_of_two_partitions_started_at_the_same_moment_end_in_their_own_records(example_mesh: Mesh) -> None:
    mesh = with_clock(example_mesh, ManualClock(T0))  # one run id, one start time: only the partition differs
    run_plan(mesh, plan(mesh, "sales.daily_orders", first=DAYS[0], last=DAYS[1]), run_id="r",
             params={"bad_day": DAYS[1]})
    records = run_records(mesh).between()
    assert sorted((r.partition, r.status) for r in records) == [(DAYS[0], "materialized"), (DAYS[1], "gate_failed")]


def test_the_reason_names_the_failed_partition_even_after_another_published(example_mesh: Mesh) -> None:
    clock = ManualClock(T0)
    mesh = with_clock(example_mesh, clock)
    run_plan(mesh, plan(mesh, "sales.daily_orders", first=DAYS[0], last=DAYS[1]), params={"bad_day": DAYS[1]})
    clock.advance(dt.timedelta(minutes=10))
    assert run_asset(mesh, "sales.daily_orders", run_id="later", partition=DAYS[2]).status is Status.MATERIALIZED
    clock.advance(dt.timedelta(minutes=5))
    status = mesh_view(mesh).statuses(clock())["sales.daily_orders"]
    assert status.state == "fresh" and status.published_at == T0 + dt.timedelta(minutes=10)
    assert f"partition {DAYS[1]}: gate failed" in status.reason, status.reason
    assert DAYS[0] not in status.reason and DAYS[2] not in status.reason

    rows = {p.partition: p for p in partition_statuses(mesh_view(mesh).records, ["sales.daily_orders"])}
    assert sorted(rows) == DAYS
    assert rows[DAYS[1]].status == "gate_failed" and rows[DAYS[1]].version is None and rows[DAYS[1]].error
    assert rows[DAYS[2]].status == "materialized" and rows[DAYS[2]].published_at == T0 + dt.timedelta(minutes=10)
    assert rows[DAYS[0]].version == mesh.store().current_version("sales.daily_orders", DAYS[0])

    clock.advance(dt.timedelta(minutes=5))  # the failed day is run again and passes: no longer named
    assert run_asset(mesh, "sales.daily_orders", run_id="fix", partition=DAYS[1]).status is Status.MATERIALIZED
    status = mesh_view(mesh).statuses(clock())["sales.daily_orders"]
    assert "partition" not in status.reason and "gate failed" not in status.reason, status.reason


def test_a_partition_that_failed_after_publishing_keeps_its_version_and_shows_the_failure(example_mesh: Mesh) -> None:
    clock = ManualClock(T0)
    mesh = with_clock(example_mesh, clock)
    assert run_asset(mesh, "sales.daily_orders", run_id="good", partition=DAYS[0]).status is Status.MATERIALIZED
    clock.advance(dt.timedelta(hours=1))
    bad = run_asset(mesh, "sales.daily_orders", run_id="bad", partition=DAYS[0], params={"bad_day": DAYS[0]})
    assert bad.status is Status.GATE_FAILED
    [row] = partition_statuses(mesh_view(mesh).records, ["sales.daily_orders"])
    assert (row.partition, row.status, row.run_id, row.published_at) == (DAYS[0], "gate_failed", "bad", T0)
    assert row.version == mesh.store().current_version("sales.daily_orders", DAYS[0])


def test_an_airflow_task_records_its_partition_through_the_same_step(example_mesh: Mesh) -> None:
    run_asset(example_mesh, "sales.daily_orders", run_id="scheduled__2026-11-16", source="airflow", partition=DAYS[0])
    [record] = run_records(example_mesh).for_asset("sales.daily_orders")
    assert (record.source, record.partition, record.status) == ("airflow", DAYS[0], "materialized")


def test_the_reason_names_the_newest_failed_partitions_and_counts_the_rest(example_mesh: Mesh) -> None:
    clock = ManualClock(T0)
    mesh = with_clock(example_mesh, clock)
    days = [f"2026-11-{d}" for d in range(16, 21)]
    for day in days:
        clock.advance(dt.timedelta(minutes=1))
        run_asset(mesh, "sales.daily_orders", run_id=f"r-{day}", partition=day, params={"bad_day": day})
    reason = mesh_view(mesh).statuses(clock())["sales.daily_orders"].reason
    assert [d for d in days if f"partition {d}:" in reason] == days[2:], reason
    assert "2 more partitions failed" in reason and "--partitions" in reason


def test_a_partition_skipped_after_its_input_failed_shows_skipped_with_the_reason(example_mesh: Mesh) -> None:
    clock = ManualClock(T0)
    mesh = with_clock(example_mesh, clock)
    run_plan(mesh, plan(mesh, "sales.daily_orders+", first=DAYS[0], last=DAYS[-1]), params={"bad_day": DAYS[1]})
    rows = {(p.key, p.partition): p for p in partition_statuses(mesh_view(mesh).records, ["sales.weekly_orders"])}
    [week] = rows.values()
    assert (week.partition, week.status, week.version) == ("2026-11-16-W47", "skipped", None)
    assert week.skipped and not week.failed and f"sales.daily_orders/{DAYS[1]}" in (week.error or "")
    assert week.started_at == week.ended_at == T0
    assert week.to_dict()["status"] == "skipped"


def test_a_partition_whose_run_is_open_shows_running_until_it_ends(example_mesh: Mesh) -> None:
    clock = ManualClock(T0)
    mesh = with_clock(example_mesh, clock)
    assert run_asset(mesh, "sales.daily_orders", run_id="first", partition=DAYS[0]).status is Status.MATERIALIZED
    records = run_records(mesh)
    clock.advance(dt.timedelta(minutes=5))
    records.started("sales.daily_orders", "second", "airflow", clock(), partition=DAYS[0])  # a task now running
    records.started("sales.daily_orders", "other", "airflow", clock(), partition=DAYS[1])  # a day's first run
    rows = {p.partition: p for p in partition_statuses(records, ["sales.daily_orders"], mesh.store())}
    assert {d: (p.status, p.run_id) for d, p in rows.items()} == {
        DAYS[0]: ("running", "second"), DAYS[1]: ("running", "other")}
    assert rows[DAYS[0]].running and rows[DAYS[0]].started_at == T0 + dt.timedelta(minutes=5)
    assert rows[DAYS[0]].version == mesh.store().current_version("sales.daily_orders", DAYS[0])  # it keeps its version
    assert rows[DAYS[1]].version is None and rows[DAYS[1]].ended_at is None

    clock.advance(dt.timedelta(minutes=5))
    records.ended("sales.daily_orders", "second", "airflow", T0 + dt.timedelta(minutes=5), clock(), "error",
                  error="boom", partition=DAYS[0])
    row = {p.partition: p for p in partition_statuses(records, ["sales.daily_orders"])}[DAYS[0]]
    assert (row.status, row.run_id, row.error) == ("error", "second", "boom")
    clock.advance(dt.timedelta(minutes=5))  # a run that died long ago and was never ended is no longer "now"
    records.started("sales.daily_orders", "stale", "airflow", T0 - dt.timedelta(hours=1), partition=DAYS[0])
    row = {p.partition: p for p in partition_statuses(records, ["sales.daily_orders"])}[DAYS[0]]
    assert (row.status, row.run_id) == ("error", "second")
