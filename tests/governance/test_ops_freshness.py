"""Freshness states from the run history, with a controlled clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from assets.errors import ConfigError
from governance.ops.freshness import state_at, statuses
from governance.ops.monitor import OpsView
from governance.ops.watch import Watched, next_tick, previous_tick
from governance.runs.records import RunRecords
from governance.state import StateDatabase

T0 = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)  # a Monday
H, M = dt.timedelta(hours=1), dt.timedelta(minutes=1)

ORDERS = Watched(key="sales.orders", domain="sales", schedule="@hourly", allowed_lag=10 * M, grace=20 * M)
DAILY = Watched(key="sales.daily", domain="sales", inputs=("sales.orders",), freshness=2 * H, grace=30 * M)
PLAIN = Watched(key="sales.plain", domain="sales", inputs=("sales.orders",))


def database(tmp_path: Path) -> StateDatabase:
    path = tmp_path / "state.sqlite"
    return StateDatabase(f"sqlite:///{path}", str(path))


def database_of_kind(request: pytest.FixtureRequest, tmp_path: Path) -> StateDatabase:
    """An empty state database of the kind ``request.param`` names (a fresh PostgreSQL database)."""
    from governance.state.settings import database_at

    if request.param == "sqlite":
        return database(tmp_path)
    return database_at(request.getfixturevalue("postgres_url"), tmp_path, named_in="test")


def publish(records: RunRecords, key: str, at: dt.datetime, version: str, took: dt.timedelta = M,
            status: str = "materialized", error: str | None = None) -> None:
    records.started(key, f"run-{version}", "engine", at - took)
    records.ended(key, f"run-{version}", "engine", at - took, at, status,
                  version=version if status == "materialized" else None, error=error)


@pytest.mark.parametrize(("offset", "state"), [
    pytest.param(dt.timedelta(0), "fresh", id="just-published"),
    pytest.param(2 * H, "fresh", id="at-the-deadline"),
    pytest.param(2 * H + M, "late", id="past-the-deadline"),
    pytest.param(2 * H + 30 * M, "late", id="end-of-grace"),
    pytest.param(2 * H + 31 * M, "breached", id="past-the-grace"),
])
def test_a_freshness_deadline_then_grace(offset: dt.timedelta, state: str) -> None:
    assert state_at(DAILY, T0, T0 + offset)[0] == state


def test_a_cron_root_is_due_its_lag_after_each_scheduled_time() -> None:
    published = T0 + 5 * M  # the run of 00:00
    assert ORDERS.deadline_after(published) == T0 + H + 10 * M
    assert state_at(ORDERS, published, T0 + H + 9 * M)[0] == "fresh"
    assert state_at(ORDERS, published, T0 + H + 11 * M)[0] == "late"
    assert state_at(ORDERS, published, T0 + H + 31 * M)[0] == "breached"


def test_never_published_is_unknown_and_no_deadline_is_untracked() -> None:
    assert state_at(DAILY, None, T0)[0] == "unknown"
    assert state_at(PLAIN, T0, T0 + 100 * H)[0] == "untracked"


@pytest.mark.parametrize("schedule", ["@hourly", "@daily", "@weekly", "@monthly", "0 6 * * 1", "*/15 * * * *"])
def test_next_tick_agrees_with_cron(schedule: str) -> None:
    from croniter import croniter

    for at in (T0, T0 + 37 * M + dt.timedelta(seconds=3), T0 + 6 * H, T0 + 5 * dt.timedelta(days=1)):
        assert next_tick(schedule, at) == croniter(schedule, at).get_next(dt.datetime)
        last = previous_tick(schedule, at)
        assert last <= at < next_tick(schedule, last) and next_tick(schedule, last) == next_tick(schedule, at)


def test_status_says_which_run_failed_and_which_input_is_late(tmp_path: Path) -> None:
    db = database(tmp_path)
    records = RunRecords(db)
    publish(records, "sales.orders", T0 + 5 * M, "v1")
    publish(records, "sales.daily", T0 + 10 * M, "d1")
    publish(records, "sales.orders", T0 + H + 3 * M, "x", status="error", error="upstream API returned 503")
    view = OpsView([ORDERS, DAILY, PLAIN], db)
    now = T0 + 2 * H + 30 * M
    found = view.statuses(now)
    orders, daily = found["sales.orders"], found["sales.daily"]
    assert (orders.state, orders.version, orders.deadline) == ("breached", "v1", T0 + H + 10 * M)
    assert "run run-x error" in orders.reason and "503" in orders.reason
    assert daily.state == "late" and daily.age == now - (T0 + 10 * M)
    assert "input sales.orders is breached" in daily.reason
    assert found["sales.plain"].state == "untracked"


def test_a_run_in_progress_is_the_reason_and_the_past_is_evaluated_as_it_was(tmp_path: Path) -> None:
    db = database(tmp_path)
    records = RunRecords(db)
    publish(records, "sales.orders", T0 + 5 * M, "v1")
    records.started("sales.orders", "r2", "airflow", T0 + H)
    now = T0 + H + 15 * M
    status = OpsView([ORDERS], db).statuses(now)["sales.orders"]
    assert status.state == "late" and status.running_since == T0 + H and "running since" in status.reason
    publish(records, "sales.orders", T0 + 3 * H, "v2")
    facts = OpsView([ORDERS], db).facts()
    assert statuses([ORDERS], facts, T0 + 4 * H)["sales.orders"].version == "v2"


def test_ops_settings_are_read_per_domain_and_checked(tmp_path: Path) -> None:
    from governance.policy.ops import read_ops

    ops = read_ops({"allowed_lag": "2h", "domains": {"sales": {"grace": "5m", "sla_target": 99.0}}})
    assert ops.for_domain("sales").allowed_lag == 2 * H, "a domain inherits the mesh's defaults"
    assert ops.for_domain("sales").grace == 5 * M and ops.for_domain("sales").sla_target == 99.0
    assert ops.for_domain("finance").mttr_target == 15 * M and ops.for_domain("finance").sla_target == 99.5
    for table, where in [({"grace": "soon"}, "[ops].grace"), ({"sla_target": 120}, "[ops].sla_target"),
                         ({"domains": {"sales": {"lag": "1h"}}}, "[ops.domains.sales].lag")]:
        with pytest.raises(ConfigError) as caught:
            read_ops(table)
        assert caught.value.where == where and caught.value.fix


def test_an_ops_table_for_an_undeclared_domain_is_refused(tmp_path: Path) -> None:
    from governance.policy import PolicyErrors, load_policy

    (tmp_path / "mesh.toml").write_text('[mesh]\nname = "m"\nprimary_region = "r"\n[regions.r]\n'
                                        'storage = "s"\njurisdiction = "us"\n[domains.sales]\n'
                                        'owners = ["o@acme.example"]\n[ops.domains.sails]\ngrace = "5m"\n')
    with pytest.raises(PolicyErrors, match="Did you mean 'sales'"):
        load_policy(tmp_path)


def test_a_failed_run_is_told_while_the_current_version_is_still_fresh(tmp_path: Path) -> None:
    db = database(tmp_path)
    records = RunRecords(db)
    publish(records, "sales.daily", T0, "d1")
    publish(records, "sales.daily", T0 + H, "x", status="gate_failed", error="contract gate failed: 3 rows")
    status = OpsView([DAILY], db).statuses(T0 + H + M)["sales.daily"]
    assert status.state == "fresh" and status.version == "d1"
    assert "gate failed" in status.reason and "still fresh" in status.reason


def test_a_version_published_before_run_records_were_kept_counts_from_the_run_history(tmp_path: Path) -> None:
    from assets.events import AssetUpdate
    from governance.history import RunHistory

    db = database(tmp_path)
    RunHistory(db).record(AssetUpdate(key="sales.daily", version="d0", run_id="r0", source="engine"))
    status = OpsView([DAILY], db).statuses(dt.datetime.now(dt.UTC))["sales.daily"]
    assert (status.state, status.version) == ("fresh", "d0")


def test_a_run_whose_worker_died_is_not_in_progress_once_a_later_run_ended(tmp_path: Path) -> None:
    db = database(tmp_path)
    records = RunRecords(db)
    records.started("sales.orders", "try-1", "airflow", T0)  # killed
    publish(records, "sales.orders", T0 + 10 * M, "v1", took=5 * M)  # the retry
    status = OpsView([ORDERS], db).statuses(T0 + 11 * M)["sales.orders"]
    assert status.running_since is None and status.reason == ""
