"""Transient failures are retried with exponential back-off by the step both runners share;
gate failures and failures a retry cannot fix are not; every retry is audited."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from assets import Mesh, Services, Status, materialize
from assets.backoff import Backoff
from assets.step import run_asset
from governance.services import governed
from governance.wiring import load_mesh
from tests.assets.test_verified_reads import flip_a_byte


def waiting_on(root: Path, waits: list[float]) -> Mesh:
    """The mesh at ``root`` whose ``sleep`` records each wait instead of waiting (a test waits for
    states, never for a time)."""
    base = load_mesh(root)

    def wiring(mesh: Mesh) -> Services:
        return dataclasses.replace(base.wiring(mesh), sleep=waits.append)

    return dataclasses.replace(base, wiring=wiring)


def calls(root: Path, name: str) -> int:
    counter = root / f"{name}.calls"
    return int(counter.read_text()) if counter.exists() else 0


def test_a_flaky_asset_is_published_after_two_retries_and_the_attempts_are_audited(
        fixture_mesh: Callable[[str], Path]) -> None:
    root, waits = fixture_mesh("flaky"), []
    mesh = waiting_on(root, waits)
    result = materialize("alpha.flaky", mesh=mesh)["alpha.flaky"]
    assert result.status is Status.MATERIALIZED and result.attempts == 3
    assert calls(root, "flaky") == 3
    assert waits == [0.5, 1.0], "the back-off doubles"
    audit = governed(mesh).audit
    retries = audit.query(action="retry", target="alpha.flaky")
    assert [(e.details["attempt"], e.details["of"], e.outcome) for e in retries] == [(1, 3, "retrying"), (2, 3, "retrying")]
    assert all("503" in e.details["error"] for e in retries)
    [done] = audit.query(action="materialize", target="alpha.flaky")
    assert done.outcome == "materialized" and done.details["attempts"] == 3


def test_retries_stop_at_the_assets_limit(fixture_mesh: Callable[[str], Path]) -> None:
    root, waits = fixture_mesh("flaky"), []
    result = materialize("alpha.down", mesh=waiting_on(root, waits))["alpha.down"]
    assert result.status is Status.ERROR and result.transient and result.attempts == 4
    assert calls(root, "down") == 4
    assert waits == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("key", [pytest.param("alpha.bad_rows", id="gate-failure"),
                                 pytest.param("alpha.reads_down", id="missing-input"),
                                 pytest.param("alpha.no_retries", id="retries=0")])
def test_what_a_retry_cannot_fix_is_tried_once(fixture_mesh: Callable[[str], Path], key: str) -> None:
    root, waits = fixture_mesh("flaky"), []
    mesh = waiting_on(root, waits)
    result = materialize(key, mesh=mesh)[key]
    assert not result.ok and result.attempts == 1 and waits == []
    assert governed(mesh).audit.query(action="retry") == []


def test_a_storage_error_is_retried_and_the_run_publishes_once_storage_is_back(
        fixture_mesh: Callable[[str], Path]) -> None:
    root = fixture_mesh("flaky")
    blocker = root / "store" / "alpha" / "steady"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the asset's folder goes: every write under it fails")
    waits: list[float] = []

    def storage_back_while_waiting(seconds: float) -> None:
        waits.append(seconds)
        blocker.unlink()

    base = load_mesh(root)
    mesh = dataclasses.replace(base, wiring=lambda m: dataclasses.replace(base.wiring(m), sleep=storage_back_while_waiting))
    result = materialize("alpha.steady", mesh=mesh)["alpha.steady"]
    assert result.status is Status.MATERIALIZED and result.attempts == 2 and waits == [0.5]
    [retry] = governed(mesh).audit.query(action="retry", target="alpha.steady")
    assert "Not a directory" in retry.details["error"]


def test_an_input_whose_data_does_not_verify_is_not_retried(fixture_mesh: Callable[[str], Path]) -> None:
    root, waits = fixture_mesh("flaky"), []
    mesh = waiting_on(root, waits)
    steady = materialize("alpha.steady", mesh=mesh)["alpha.steady"].manifest
    assert steady is not None
    flip_a_byte(Path(mesh.store().data_path("alpha.steady", steady.version)))
    result = materialize("alpha.reads_steady", mesh=mesh)["alpha.reads_steady"]
    assert result.status is Status.ERROR and not result.transient and result.attempts == 1 and waits == []
    assert "does not match its manifest" in (result.error or "")


def test_the_airflow_runner_leaves_retries_to_airflow(fixture_mesh: Callable[[str], Path]) -> None:
    root, waits = fixture_mesh("flaky"), []
    result = run_asset(waiting_on(root, waits), "alpha.flaky", run_id="manual__1", source="airflow", retries=0)
    assert result.status is Status.ERROR and result.transient and result.attempts == 1
    assert calls(root, "flaky") == 1 and waits == []


def test_the_back_off_grows_to_its_cap() -> None:
    backoff = Backoff(first=1, factor=2, cap=5)
    assert [backoff.wait(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    with pytest.raises(ValueError):
        Backoff(first=2, cap=1)
