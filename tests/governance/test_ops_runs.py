"""Run records: every run of an asset, from either runner, from its start to its outcome."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from assets import materialize
from assets.step import run_asset
from governance.ops.clock import ManualClock, with_clock
from governance.ops.runs import run_records
from governance.wiring import load_mesh

T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


def test_every_run_is_recorded_with_its_outcome_and_times(fixture_mesh: Callable[[str], Path]) -> None:
    clock = ManualClock(T0)
    mesh = with_clock(load_mesh(fixture_mesh("bad_outputs")), clock)
    result = materialize("domain:alpha", mesh=mesh)
    records = {r.key: r for r in run_records(mesh).between()}
    assert records["alpha.numbers"].status == "materialized"
    assert records["alpha.numbers"].version == result["alpha.numbers"].manifest.version  # type: ignore[union-attr]
    assert records["alpha.negative"].status == "gate_failed"
    assert records["alpha.raises"].status == "error"
    assert "503" in (records["alpha.raises"].error or "")
    assert all(r.started_at == T0 and r.ended_at == T0 and r.run_id == result.run_id for r in records.values())
    assert all(r.source == "engine" for r in records.values())


def test_an_airflow_run_is_recorded_the_same_way(fixture_mesh: Callable[[str], Path]) -> None:
    mesh = with_clock(load_mesh(fixture_mesh("bad_outputs")), ManualClock(T0))
    run_asset(mesh, "alpha.numbers", run_id="scheduled__2026-03-02", source="airflow")
    [record] = run_records(mesh).for_asset("alpha.numbers")
    assert (record.source, record.run_id, record.status) == ("airflow", "scheduled__2026-03-02", "materialized")


def test_a_run_that_never_ended_is_found_once_old_enough(fixture_mesh: Callable[[str], Path]) -> None:
    mesh = load_mesh(fixture_mesh("bad_outputs"))
    records = run_records(mesh)
    records.started("alpha.numbers", "r-killed", "airflow", T0)
    records.started("alpha.raises", "r-done", "engine", T0)
    records.ended("alpha.raises", "r-done", "engine", T0, T0 + dt.timedelta(seconds=5), "error", error="boom")
    later = T0 + dt.timedelta(minutes=30)
    assert records.unfinished(dt.timedelta(hours=1), later) == []
    [dead] = records.unfinished(dt.timedelta(minutes=10), later)
    assert (dead.key, dead.run_id, dead.status, dead.ended_at) == ("alpha.numbers", "r-killed", "running", None)
    [ended] = records.for_asset("alpha.raises")
    assert ended.seconds == 5.0 and ended.error == "boom", "the end completes the started record, not a new one"


def test_latest_runs_per_asset(fixture_mesh: Callable[[str], Path]) -> None:
    records = run_records(load_mesh(fixture_mesh("bad_outputs")))
    for i, status in enumerate(["materialized", "materialized", "error"]):
        at = T0 + dt.timedelta(hours=i)
        records.started("alpha.numbers", f"r{i}", "engine", at)
        records.ended("alpha.numbers", f"r{i}", "engine", at, at + dt.timedelta(minutes=1), status,
                      version=f"v{i}" if status == "materialized" else None)
    records.started("alpha.numbers", "r3", "engine", T0 + dt.timedelta(hours=3))
    latest = records.latest()
    assert latest.published["alpha.numbers"].version == "v1"
    assert latest.ended["alpha.numbers"].status == "error"
    assert latest.running["alpha.numbers"].run_id == "r3"
