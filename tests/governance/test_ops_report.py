"""The operating report: SLA compliance, availability, incidents, MTTR and MTBF from run records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from governance.ops.monitor import OpsView
from governance.policy.ops import OpsPolicy, OpsTargets
from governance.runs.records import RunRecords
from governance.state import StateDatabase
from tests.governance.test_ops_freshness import (
    DAILY,
    ORDERS,
    T0,
    H,
    M,
    database,
    database_of_kind,
    publish,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> StateDatabase:
    return database_of_kind(request, tmp_path)


def test_mtbf_counts_from_the_first_run_not_from_the_window_start(any_database: StateDatabase) -> None:
    """An asset ten minutes old with one failure has ten minutes between failures, not the month
    the report looks back over."""
    records = RunRecords(any_database)
    start = T0 + 30 * 24 * H - 10 * M
    publish(records, "sales.orders", start + M, "first")
    publish(records, "sales.orders", start + 4 * M, "bad", status="error", error="upstream 503")
    publish(records, "sales.orders", start + 6 * M, "again")
    report = OpsView([ORDERS], any_database).report(T0, T0 + 30 * 24 * H, OpsPolicy(defaults=OpsTargets(), domains={}))
    orders = report.assets["sales.orders"]
    assert orders.incidents == 1 and orders.mtbf_seconds == (8 * M).total_seconds()  # 10 minutes, 2 of them down


def test_figures_over_a_window(any_database: StateDatabase) -> None:
    db = any_database
    records = RunRecords(db)
    for h in range(10):
        if h == 3:
            publish(records, "sales.orders", T0 + 3 * H + 5 * M, "x3", status="error", error="upstream 503")
        elif h == 4:
            publish(records, "sales.orders", T0 + 4 * H + 5 * M, "x4", status="error", error="upstream 503")
            publish(records, "sales.orders", T0 + 4 * H + 35 * M, "o4")
        else:
            publish(records, "sales.orders", T0 + h * H + 5 * M, f"o{h}")
    publish(records, "sales.daily", T0 + 6 * H + 10 * M, "bad", status="error",
            error="input 'sales.orders' is unreadable (ArrowInvalid: ...)")
    ops = OpsPolicy(defaults=OpsTargets(), domains={"sales": OpsTargets(sla_target=80.0, mttr_target=2 * H)})
    report = OpsView([ORDERS, DAILY], db).report(T0, T0 + 10 * H, ops)
    orders = report.assets["sales.orders"]
    tracked = (10 * H - 5 * M).total_seconds()
    assert orders.tracked_seconds == tracked
    assert orders.fresh_seconds == tracked - (85 * M).total_seconds()  # stale from 03:10 to 04:35
    assert orders.sla == pytest.approx(100 * 510 / 595)
    assert orders.availability == pytest.approx(100 * (595 - 55) / 595)  # unreadable 06:10 to 07:05
    assert (orders.incidents, orders.open_incidents, orders.mttr_seconds) == (1, 0, (90 * M).total_seconds())
    assert orders.mtbf_seconds == (506 * M).total_seconds(), "operating since its first run started (00:04)"
    [incident] = [i for i in report.incidents if i.key == "sales.orders"]
    assert (incident.opened, incident.closed, incident.failures) == (T0 + 3 * H + 5 * M, T0 + 4 * H + 35 * M, 2)
    daily = report.assets["sales.daily"]
    assert (daily.tracked_seconds, daily.incidents, daily.open_incidents) == (0.0, 1, 1), "never published"
    sales = report.domains["sales"]
    assert sales.met() == {"sla": True, "availability": False, "mttr": True}
    assert report.mesh.targets.sla_target == 99.5 and report.mesh.met()["sla"] is False
    assert report.to_dict()["mesh"]["incidents"] == 2


def test_the_state_at_the_start_of_the_window_counts(tmp_path: Path) -> None:
    db = database(tmp_path)
    records = RunRecords(db)
    publish(records, "sales.daily", T0 - 30 * M, "d0")  # before the window, fresh until 01:30
    report = OpsView([DAILY], db).report(T0, T0 + 3 * H, OpsPolicy())
    assert report.assets["sales.daily"].tracked_seconds == (3 * H).total_seconds()
    assert report.assets["sales.daily"].fresh_seconds == (90 * M).total_seconds()


def test_an_incident_of_a_run_that_started_before_the_window_counts(tmp_path: Path) -> None:
    db = database(tmp_path)
    records = RunRecords(db)
    publish(records, "sales.orders", T0 + 5 * M, "o0")
    publish(records, "sales.orders", T0 + H + 5 * M, "x1", took=10 * M, status="error", error="503")
    publish(records, "sales.orders", T0 + H + 25 * M, "o1")
    report = OpsView([ORDERS], db).report(T0 + H, T0 + 2 * H, OpsPolicy())
    assert report.assets["sales.orders"].mttr_seconds == (20 * M).total_seconds()


@pytest.mark.parametrize("error", [
    pytest.param("input 'sales.orders' is unreadable (ArrowInvalid: ...)", id="parquet-unreadable"),
    pytest.param("asset 'sales.orders': the data of version 'o6' does not match its manifest (found 9 bytes; "
                 "expected sha256:ab, 9 bytes), so it is not served", id="checksum-mismatch"),
    pytest.param("asset 'sales.orders': version 'o6' has no data file", id="data-file-gone"),
])
def test_a_current_version_that_cannot_be_read_is_unavailable(tmp_path: Path, error: str) -> None:
    db = database(tmp_path)
    records = RunRecords(db)
    for h in range(10):
        publish(records, "sales.orders", T0 + h * H + 5 * M, f"o{h}")
    publish(records, "sales.daily", T0 + 6 * H + 10 * M, "bad", status="error", error=error)
    report = OpsView([ORDERS, DAILY], db).report(T0, T0 + 10 * H, OpsPolicy(defaults=OpsTargets()))
    assert report.assets["sales.orders"].availability == pytest.approx(100 * (595 - 55) / 595)


def test_incidents_have_a_cause_and_the_mttr_of_each(tmp_path: Path) -> None:
    db = database(tmp_path)
    records = RunRecords(db)
    publish(records, "sales.orders", T0 + 5 * M, "o0")
    publish(records, "sales.orders", T0 + H + 5 * M, "x1", status="gate_failed", error="contract gate failed: ...")
    publish(records, "sales.orders", T0 + H + 45 * M, "o1")
    publish(records, "sales.orders", T0 + 2 * H + 5 * M, "x2", status="error", error="upstream 503")
    publish(records, "sales.orders", T0 + 2 * H + 15 * M, "o2")
    publish(records, "sales.orders", T0 + 3 * H + 5 * M, "x3", status="error",
            error="the run died without a result (no end recorded); closed by service:healing")
    publish(records, "sales.orders", T0 + 3 * H + 25 * M, "o3")
    publish(records, "sales.daily", T0 + 1 * H, "d0")
    publish(records, "sales.daily", T0 + 6 * H, "bad", status="error",
            error="input 'sales.orders' is unreadable (ArrowInvalid: ...)")
    report = OpsView([ORDERS, DAILY], db).report(T0, T0 + 10 * H, OpsPolicy(defaults=OpsTargets(), domains={}))
    assert [(i.key, i.cause) for i in report.incidents] == [
        ("sales.orders", "bad data"), ("sales.orders", "run error"), ("sales.orders", "killed run"),
        ("sales.daily", "unreadable input")]
    causes = report.by_cause()
    assert causes["bad data"] == {"incidents": 1, "open": 0, "mttr_minutes": 40.0, "max_minutes": 40.0}
    assert causes["run error"]["mttr_minutes"] == 10.0
    assert causes["killed run"]["mttr_minutes"] == 21.0, "from the dead run's start, a minute before it was closed"
    assert causes["unreadable input"] == {"incidents": 1, "open": 1, "mttr_minutes": None, "max_minutes": None}
    assert report.to_dict()["by_cause"] == causes


def _partition_run(records: RunRecords, day: str, at: dt.datetime, status: str = "materialized") -> None:
    run = f"run-{day}-{at:%H%M}"
    records.started("sales.daily", run, "engine", at - M, partition=day)
    records.ended("sales.daily", run, "engine", at - M, at, status, partition=day,
                  version=f"v-{day}-{at:%H%M}" if status == "materialized" else None,
                  error="contract gate failed: ..." if status != "materialized" else None)


def test_a_failed_partition_is_one_incident_until_that_partition_publishes(tmp_path: Path) -> None:
    db = database(tmp_path)
    records = RunRecords(db)
    _partition_run(records, "2026-03-01", T0 + 10 * M)
    _partition_run(records, "2026-03-02", T0 + H, status="gate_failed")
    _partition_run(records, "2026-03-03", T0 + H + 10 * M, status="gate_failed")
    _partition_run(records, "2026-03-01", T0 + H + 20 * M)  # another day publishing ends neither incident
    _partition_run(records, "2026-03-03", T0 + H + 30 * M)
    _partition_run(records, "2026-03-02", T0 + 2 * H)
    report = OpsView([DAILY], db).report(T0, T0 + 3 * H, OpsPolicy(defaults=OpsTargets(), domains={}))
    assert [(i.key, i.minutes) for i in report.incidents] == [("sales.daily/2026-03-02", 60.0),
                                                               ("sales.daily/2026-03-03", 20.0)]
    figures = report.assets["sales.daily"]
    assert figures.incidents == 2 and figures.mttr_seconds == (40 * M).total_seconds()
    # operating from its first run's start (00:09), down from the first failure to the last repair, once
    assert figures.up_seconds == (2 * H - 9 * M).total_seconds()
