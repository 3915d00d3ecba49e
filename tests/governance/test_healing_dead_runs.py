"""A run whose worker died (its start recorded, never its end) is closed and run again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from assets import materialize
from governance.healing import heal
from governance.runs.records import run_records
from governance.services import governed
from tests.assets.test_retries import waiting_on
from tests.conftest import person

PLATFORM = person("platform@acme.example")
NOW = dt.datetime.now(dt.UTC)


def test_a_run_that_died_is_recorded_as_such_and_the_asset_runs_again(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    records = run_records(mesh)
    records.started("sales.products", "scheduled__killed", "airflow", NOW - dt.timedelta(hours=3))  # its worker died
    [action] = [a for a in heal(mesh, NOW, actor=PLATFORM).actions if a.remediation == "run that died"]
    assert action.outcome == "healed" and "run scheduled__killed (airflow)" in action.found
    assert "recorded run scheduled__killed as died" in action.result and "materialized sales.products again" in action.result
    [dead] = [r for r in records.for_asset("sales.products") if r.run_id == "scheduled__killed"]
    assert dead.status == "error" and "died without a result" in (dead.error or "")
    assert records.unfinished(dt.timedelta(hours=2), NOW) == []
    assert mesh.store().current_version("sales.products") is not None
    [audited] = governed(mesh).audit.query(action="heal", target="sales.products")
    assert audited.details["remediation"] == "run that died"


def test_a_run_that_died_is_not_run_again_when_a_later_run_started(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    records = run_records(mesh)
    records.started("sales.products", "scheduled__killed", "airflow", NOW - dt.timedelta(hours=3))
    assert materialize("sales.products", mesh=mesh, params={"scale": 300}).ok
    [action] = [a for a in heal(mesh, NOW, actor=PLATFORM).actions if a.remediation == "run that died"]
    assert action.outcome == "healed" and "not run again" in action.result
    assert len([r for r in records.for_asset("sales.products") if r.status == "materialized"]) == 1


def test_a_run_still_inside_its_time_is_left_alone(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    run_records(mesh).started("sales.products", "scheduled__running", "airflow", NOW - dt.timedelta(minutes=5))
    assert [a for a in heal(mesh, NOW, dry_run=True).actions if a.remediation == "run that died"] == []


def test_a_run_that_died_runs_again_with_the_runbooks_params(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    run_records(mesh).started("sales.orders", "scheduled__killed", "airflow", NOW - dt.timedelta(hours=3))
    [action] = [a for a in heal(mesh, NOW, actor=PLATFORM, params={"scale": 250, "seed": 3}).actions
                if a.remediation == "run that died"]
    assert action.outcome == "healed" and "materialized sales.orders again" in action.result
    current = mesh.store().current("sales.orders")
    assert current is not None and current.rows == 250, "run again at the runbook's scale, not the default"


def test_a_run_whose_worker_is_gone_is_run_again_in_the_next_pass(example_root: Path) -> None:
    from tests.governance.test_ops_runs import _a_finished_process

    mesh = waiting_on(example_root, [])
    records = run_records(mesh)
    records.started("sales.products", "run-killed", "engine", NOW - dt.timedelta(minutes=3),
                    worker=_a_finished_process())  # killed 3 minutes ago: not hours
    [action] = [a for a in heal(mesh, NOW, actor=PLATFORM).actions if a.remediation == "run that died"]
    assert action.outcome == "healed" and "materialized sales.products again" in action.result
    assert records.unfinished(dt.timedelta(hours=2), NOW) == []
