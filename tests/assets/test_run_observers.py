"""Run observers hear every run of an asset when it ends, and never change its outcome."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from assets import Mesh, RunEnded, RunStarted, Services, Status, materialize
from governance.wiring import load_mesh


class Heard:
    def __init__(self) -> None:
        self.runs: list[RunEnded] = []
        self.started: list[RunStarted] = []

    def run_started(self, run: RunStarted) -> None:
        self.started.append(run)

    def run_ended(self, run: RunEnded) -> None:
        self.runs.append(run)


class Broken:
    def run_started(self, run: RunStarted) -> None:
        raise RuntimeError("the alert server is down")

    def run_ended(self, run: RunEnded) -> None:
        raise RuntimeError("the alert server is down")


def observed(root: Path, *observers: object, clock: Callable[[], dt.datetime] | None = None) -> Mesh:
    base = load_mesh(root)

    def wiring(mesh: Mesh) -> Services:
        services = base.wiring(mesh)
        extra = {"clock": clock} if clock else {}
        return dataclasses.replace(services, observers=(*services.observers, *observers), **extra)  # type: ignore[arg-type]

    return dataclasses.replace(base, wiring=wiring)


def test_each_run_ends_with_its_result_whatever_the_outcome(fixture_mesh: Callable[[str], Path]) -> None:
    heard = Heard()
    result = materialize("domain:alpha", mesh=observed(fixture_mesh("bad_outputs"), heard))
    ran = {r.key: r for r in heard.runs}
    assert ran["alpha.numbers"].result.status is Status.MATERIALIZED
    assert ran["alpha.negative"].result.status is Status.GATE_FAILED
    assert ran["alpha.raises"].result.status is Status.ERROR
    assert all(r.run_id == result.run_id and r.source == "engine" for r in heard.runs)
    assert all(r.started_at <= r.ended_at for r in heard.runs)


def test_a_failing_observer_changes_nothing(fixture_mesh: Callable[[str], Path]) -> None:
    heard = Heard()
    result = materialize("alpha.numbers", mesh=observed(fixture_mesh("bad_outputs"), Broken(), heard))
    assert result["alpha.numbers"].status is Status.MATERIALIZED
    assert [r.key for r in heard.runs] == ["alpha.numbers"], "observers after the broken one still hear"


def test_runs_are_timed_by_the_mesh_clock(fixture_mesh: Callable[[str], Path]) -> None:
    heard, at = Heard(), dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    materialize("alpha.numbers", mesh=observed(fixture_mesh("bad_outputs"), heard, clock=lambda: at))
    assert [(r.started_at, r.ended_at) for r in heard.runs] == [(at, at)]


def test_each_run_is_heard_starting_before_it_ends(fixture_mesh: Callable[[str], Path]) -> None:
    heard, at = Heard(), dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    result = materialize("domain:alpha", mesh=observed(fixture_mesh("bad_outputs"), heard, clock=lambda: at))
    ran = [r for r in heard.runs if r.result.status is not Status.SKIPPED]
    assert sorted(r.key for r in heard.started) == sorted(r.key for r in ran)
    assert all(r.run_id == result.run_id and r.started_at == at and r.source == "engine" for r in heard.started)
    skipped = [r for r in heard.runs if r.result.status is Status.SKIPPED]  # never began: heard ending only
    assert sorted(r.key for r in skipped) == sorted(result.by_status(Status.SKIPPED)) and skipped
    assert all(r.started_at == r.ended_at == at and r.run_id == result.run_id for r in skipped)
