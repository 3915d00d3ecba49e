"""Run records: every run of an asset, from either runner, from its start to its outcome."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from assets import materialize
from assets.step import run_asset
from governance.ops.clock import ManualClock, with_clock
from governance.runs.records import run_records
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


def _a_finished_process() -> str:
    """The worker name of a process that ran on this host and has exited."""
    import subprocess
    import sys

    from governance.runs.workers import LOCAL, _started

    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    worker = f"{LOCAL.host}:{child.pid}:{_started(child.pid) or ''}"
    child.communicate(b"")  # it ends, and is reaped
    return worker


def test_a_run_whose_worker_is_gone_is_found_at_once(fixture_mesh: Callable[[str], Path]) -> None:
    from governance.runs.workers import LOCAL

    mesh = with_clock(load_mesh(fixture_mesh("bad_outputs")), ManualClock(T0))
    records = run_records(mesh)
    records.started("alpha.numbers", "r-killed", "engine", T0, worker=_a_finished_process())
    records.started("alpha.raises", "r-alive", "engine", T0, worker=LOCAL.current())
    records.started("alpha.negative", "r-elsewhere", "airflow", T0, worker="another-host:4242:1")
    soon = T0 + dt.timedelta(minutes=1)
    assert records.unfinished(dt.timedelta(hours=2), soon) == [], "without liveness: only the wait"
    [dead] = records.unfinished(dt.timedelta(hours=2), soon, LOCAL.alive)
    assert (dead.key, dead.run_id) == ("alpha.numbers", "r-killed"), "alive, or not judged from here: left"
    assert {r.run_id for r in records.unfinished(dt.timedelta(hours=2), T0 + dt.timedelta(hours=3), LOCAL.alive)} \
        == {"r-killed", "r-alive", "r-elsewhere"}, "the wait still applies to every run"


def test_the_recorder_names_the_worker_of_each_run(fixture_mesh: Callable[[str], Path]) -> None:
    from governance.runs.workers import LOCAL

    mesh = with_clock(load_mesh(fixture_mesh("bad_outputs")), ManualClock(T0))
    run_asset(mesh, "alpha.numbers", run_id="r1")
    [record] = run_records(mesh).for_asset("alpha.numbers")
    assert record.worker == LOCAL.current() and LOCAL.alive(record.worker) is True


def test_a_process_id_used_again_is_not_the_dead_workers() -> None:
    from governance.runs.workers import LOCAL

    host, pid, _ = LOCAL.current().rsplit(":", 2)
    assert LOCAL.alive(f"{host}:{pid}:1") is False, "same pid, another start: the worker named is gone"
    assert LOCAL.alive("not a worker") is None


def test_a_forked_worker_is_named_by_its_own_process_not_its_parents() -> None:
    import multiprocessing
    import os

    from governance.runs.workers import LOCAL, _started

    parent = LOCAL.current()  # read, and kept for this process
    assert parent == f"{LOCAL.host}:{os.getpid()}:{_started(os.getpid()) or ''}"
    with multiprocessing.get_context("fork").Pool(1) as pool:  # its worker lives until the block ends
        child, pid = pool.apply(_worker_and_pid)
        assert child == f"{LOCAL.host}:{pid}:{_started(pid) or ''}" != parent
        assert LOCAL.alive(child) is True and LOCAL.alive(parent) is True


def _worker_and_pid() -> tuple[str, int]:
    import os

    from governance.runs.workers import LOCAL

    return LOCAL.current(), os.getpid()
