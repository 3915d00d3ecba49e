"""Predictions from the run history, and the monitor's signals, with a controlled clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from governance.alerts.signals import Recovery, Signal
from governance.ops.monitor import OpsView, evaluate
from governance.ops.predict import learn
from governance.ops.watch import Watched, by_key
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


class Collected:
    """A signal sink that keeps what it hears."""

    def __init__(self) -> None:
        self.heard: list[Signal | Recovery] = []

    def fire(self, signal: Signal) -> None:
        self.heard.append(signal)

    def recover(self, recovery: Recovery) -> None:
        self.heard.append(recovery)

    def kinds(self) -> list[tuple[str, str, str]]:
        return [("fire" if isinstance(s, Signal) else "recover", s.kind, s.subject) for s in self.heard]


def history(records: RunRecords, hours: int) -> None:
    """``hours`` of normal operation: orders every hour, 5 minutes after the hour; daily after it,
    taking 30 minutes."""
    for h in range(hours):
        publish(records, "sales.orders", T0 + h * H + 5 * M, f"o{h}", took=5 * M)
        publish(records, "sales.daily", T0 + h * H + 35 * M, f"d{h}", took=30 * M)


def test_statistics_are_learnt_per_asset(tmp_path: Path) -> None:
    records = RunRecords(database(tmp_path))
    history(records, 5)
    stats = learn(records.between(), by_key([ORDERS, DAILY]))
    assert stats["sales.orders"].duration_p50 == 5 * M and stats["sales.orders"].finish_after_tick_p50 == 5 * M
    assert stats["sales.daily"].duration_p50 == 30 * M and stats["sales.daily"].runs == 5


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> StateDatabase:
    """An empty state database of each kind (a fresh PostgreSQL database per test)."""
    return database_of_kind(request, tmp_path)


def test_an_upstream_running_long_predicts_the_breach_downstream_before_it_happens(
        any_database: StateDatabase) -> None:
    db = any_database
    records = RunRecords(db)
    history(records, 3)  # last: orders at 02:05, daily at 02:35 (deadline 04:35)
    view, sink = OpsView([ORDERS, DAILY], db), Collected()
    assert evaluate(view, T0 + 3 * H - M, sink).signals == []
    records.started("sales.orders", "slow", "engine", T0 + 3 * H)  # the 03:00 run does not end
    at = evaluate(view, T0 + 4 * H + 20 * M, sink)  # orders is late; daily cannot be done before 04:50
    assert at.predictions["sales.daily"].breach and at.statuses["sales.daily"].state == "fresh"
    assert ("fire", "predicted_breach", "sales.daily") in sink.kinds()
    assert ("fire", "freshness_breach", "sales.orders") in sink.kinds()
    evaluate(view, T0 + 4 * H + 21 * M, sink)
    assert sink.kinds().count(("fire", "predicted_breach", "sales.daily")) == 1, "a state change is signalled once"
    evaluate(view, T0 + 5 * H + 6 * M, sink)  # daily is past its deadline and grace: breached
    breach = [s for s in sink.heard if isinstance(s, Signal) and s.kind == "freshness_breach"
              and s.subject == "sales.daily"]
    predicted = next(s for s in sink.heard if isinstance(s, Signal) and s.kind == "predicted_breach")
    assert breach and predicted.at < breach[0].at, "the prediction came before the breach"
    assert "input sales.orders" in breach[0].summary
    records.ended("sales.orders", "slow", "engine", T0 + 3 * H, T0 + 5 * H + 10 * M, "materialized", version="o3")
    publish(records, "sales.daily", T0 + 5 * H + 40 * M, "d3", took=30 * M)
    evaluate(view, T0 + 5 * H + 41 * M, sink)
    assert ("recover", "freshness_breach", "sales.daily") in sink.kinds()
    assert ("recover", "freshness_breach", "sales.orders") in sink.kinds()
    assert ("recover", "predicted_breach", "sales.daily") in sink.kinds()


def test_a_late_start_of_a_scheduled_run_is_predicted(tmp_path: Path) -> None:
    db = database(tmp_path)
    records = RunRecords(db)
    history(records, 3)
    sink = Collected()
    evaluate(OpsView([ORDERS], db), T0 + 3 * H + 7 * M, sink)  # 03:00 run not started; usually done 03:05
    assert sink.kinds() == [("fire", "predicted_breach", "sales.orders")]


def test_a_run_that_died_is_signalled(tmp_path: Path) -> None:
    db = database(tmp_path)
    RunRecords(db).started("sales.orders", "killed", "airflow", T0)
    sink = Collected()
    view = OpsView([Watched(key="sales.orders", domain="sales")], db)
    evaluate(view, T0 + 3 * H, sink, died_after=2 * H)
    evaluate(view, T0 + 4 * H, sink, died_after=2 * H)
    assert sink.kinds() == [("fire", "run_died", "sales.orders")], "once per run"


def test_a_run_overrunning_before_its_deadline_predicts_its_own_breach(tmp_path: Path) -> None:
    db = database(tmp_path)
    records = RunRecords(db)
    history(records, 3)  # orders published 02:05; the 03:00 run is due by 03:10; runs take 5 minutes
    view, sink = OpsView([ORDERS], db), Collected()
    records.started("sales.orders", "hung", "engine", T0 + 3 * H)
    assert not evaluate(view, T0 + 3 * H + 4 * M, sink).predictions["sales.orders"].breach, "within its usual time"
    at = evaluate(view, T0 + 3 * H + 7 * M, sink)  # 7 min into a 5-minute run: not done before 03:14
    assert at.statuses["sales.orders"].state == "fresh" and at.predictions["sales.orders"].breach
    assert "overrunning" in at.predictions["sales.orders"].reason
    assert sink.kinds() == [("fire", "predicted_breach", "sales.orders")], "predicted before the deadline"


FX = Watched(key="finance.fx", domain="finance", schedule="@daily", allowed_lag=10 * M, grace=20 * M)
REVENUE = Watched(key="finance.revenue", domain="finance", inputs=("sales.orders", "finance.fx"), freshness=3 * H,
                  grace=30 * M)


def two_days_of_any_input(records: RunRecords) -> None:
    """Orders every hour, rates once a day; revenue runs after every orders version (whichever
    input arrived), as the in-process engine runs everything downstream of a tick."""
    for h in range(25):
        if h % 24 == 0:
            publish(records, "finance.fx", T0 + h * H + 2 * M, f"fx{h}", took=2 * M)
        publish(records, "sales.orders", T0 + h * H + 5 * M, f"o{h}", took=3 * M)
        publish(records, "finance.revenue", T0 + h * H + 8 * M, f"r{h}", took=3 * M)


def test_an_asset_that_runs_on_any_input_is_expected_after_its_first_input_not_its_slowest(tmp_path: Path) -> None:
    db = database(tmp_path)
    records = RunRecords(db)
    two_days_of_any_input(records)
    sink = Collected()
    # at 24:30 the next rates come tomorrow, past revenue's deadline (24:08 + 3 h): the predictor took the
    # slowest input and predicted a breach every day, withdrawn at the end of the day without one
    at = evaluate(OpsView([ORDERS, FX, REVENUE], db), T0 + 24 * H + 30 * M, sink)
    revenue = at.predictions["finance.revenue"]
    assert not revenue.breach and "input sales.orders expected" in revenue.reason, revenue.reason
    assert revenue.expected is not None and revenue.expected < T0 + 25 * H + 30 * M
    assert ("fire", "predicted_breach", "finance.revenue") not in sink.kinds()


def test_which_inputs_an_asset_waits_for_is_learnt_from_how_often_it_publishes(tmp_path: Path) -> None:
    from governance.ops.predict import waits_for_every_input

    records = RunRecords(database(tmp_path))
    two_days_of_any_input(records)
    daily = Watched(key="finance.daily", domain="finance", inputs=("sales.orders", "finance.fx"), freshness=26 * H)
    for day in range(2):  # published once a day, after both inputs arrived
        publish(records, "finance.daily", T0 + day * 24 * H + 10 * M, f"d{day}")
    stats = learn(records.between(), by_key([ORDERS, FX, REVENUE, daily]))
    assert stats["finance.revenue"].cadence_p50 == H and stats["finance.fx"].cadence_p50 == 24 * H
    assert not waits_for_every_input(REVENUE, stats), "published as often as its most frequent input"
    assert waits_for_every_input(daily, stats), "published as seldom as its slowest input"
    assert waits_for_every_input(REVENUE, {}), "no history: it waits for all"


def test_a_run_long_after_its_tick_is_not_learnt_as_when_scheduled_runs_end(tmp_path: Path) -> None:
    records = RunRecords(database(tmp_path))
    weekly = Watched(key="marketing.campaigns", domain="marketing", schedule="0 6 * * 1", freshness=8 * 24 * H)
    publish(records, "marketing.campaigns", T0 + 4 * 24 * H + 5 * M, "first")  # a first run on a Friday
    publish(records, "marketing.campaigns", T0 + 7 * 24 * H + 6 * H + 4 * M, "w1")  # then on its Monday tick
    stats = learn(records.between(), by_key([weekly]))
    assert stats["marketing.campaigns"].finish_after_tick_p50 == 4 * M, "not pulled towards 4 days by the first run"


def _reads_of_an_evaluation(tmp_path: Path, days: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """The SQL statements and the run rows read by one evaluation after ``days`` of hourly history."""
    from sqlalchemy import event

    import governance.runs.records as runs_module

    db = database(tmp_path / f"{days}d")
    records = RunRecords(db)
    records.add([r for h in range(days * 24) for r in (
        _done("sales.orders", T0 + h * H, 5 * M, f"o{h}"), _done("sales.daily", T0 + h * H + 5 * M, 30 * M, f"d{h}"))])
    statements, rows = [0], [0]
    real = runs_module._record

    def counted(*args: object) -> object:
        rows[0] += 1
        return real(*args)

    monkeypatch.setattr(runs_module, "_record", counted)  # a spy: the real function, counted
    listener = lambda *_: statements.__setitem__(0, statements[0] + 1)  # noqa: E731
    event.listen(db.engine(), "before_cursor_execute", listener)
    try:
        evaluate(OpsView([ORDERS, DAILY], db), T0 + days * 24 * H, Collected())
    finally:
        event.remove(db.engine(), "before_cursor_execute", listener)
    return statements[0], rows[0]


def _done(key: str, started: dt.datetime, took: dt.timedelta, version: str) -> Any:
    from governance.runs.records import RunRecord

    return RunRecord(key=key, run_id=f"run-{version}", source="engine", status="materialized", started_at=started,
                     ended_at=started + took, version=version)


def test_an_evaluation_reads_as_much_after_ten_times_the_history(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    short = _reads_of_an_evaluation(tmp_path, 3, monkeypatch)  # 72 runs of each asset: more than learnt from
    long = _reads_of_an_evaluation(tmp_path, 30, monkeypatch)
    assert long == short, f"statements and run rows read: {short} after 3 days, {long} after 30"
