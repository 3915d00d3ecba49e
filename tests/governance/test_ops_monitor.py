"""Predictions from the run history, and the monitor's signals, with a controlled clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.ops.monitor import OpsView, evaluate
from governance.ops.predict import learn
from governance.ops.runs import RunRecords
from governance.ops.signals import Recovery, Signal
from governance.ops.watch import Watched, by_key
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
