"""What one asset's run costs the state database, counted: a change that adds a transaction
to every asset's run shows here (it is the engine's fixed cost per asset that
``python -m bench engine`` measures)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text

from assets import materialize
from assets.ports import RunEnded, RunStarted
from assets.step import run_asset
from governance.alerts.incidents import IncidentStore
from governance.alerts.signals import Signal
from governance.lineage.events import run_uuid
from governance.policy.alerts import AlertsPolicy
from governance.runs.records import RunRecords
from governance.state import StateDatabase, state_database
from governance.state.database import transactions
from governance.subscriptions.store import SubscriptionStore
from governance.wiring import load_mesh
from tests.assets.test_run_observers import observed
from tests.governance.test_ops_freshness import database_of_kind

#: Run record (start), its START lineage event recorded with the pending ones read, the events
#: marked sent, the subscribers at the start and at the end, the run's end, the open incidents
#: it recovers: 7 (it was 9: the START event's record and read were two transactions, and each
#: incident kind a good run recovers was read on its own).
PER_ASSET = 4


def test_one_asset_run_takes_four_state_transactions_and_still_sends_its_start(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    assert materialize("sales.orders", mesh=mesh, params={"scale": 50}, handlers=[]).ok  # first use: migrations
    database = state_database(mesh.policy)
    before = transactions(database)
    run = materialize("sales.orders", mesh=mesh, params={"scale": 50}, handlers=[])
    assert run.ok
    assert transactions(database) - before == PER_ASSET
    events = [json.loads(line) for line in (example_root / ".mesh" / "lineage" / "events.jsonl").read_text().splitlines()]
    ours = run_uuid(run.run_id, "sales.orders")
    assert [e["eventType"] for e in events if e["run"]["runId"] == ours] == ["START"]  # sent at once, as before


def test_a_lone_step_as_an_airflow_task_runs_it_sends_its_start_at_once_in_as_many_transactions(
        example_root: Path) -> None:
    events_file = example_root / ".mesh" / "lineage" / "events.jsonl"
    ours = run_uuid("airflow-like", "sales.orders")
    sent: list[str] = []

    class Watch:  # what the events file holds when the run ends
        def run_started(self, run: RunStarted) -> None:
            pass

        def run_ended(self, run: RunEnded) -> None:
            sent.extend(line for line in events_file.read_text().splitlines() if ours in line)

    mesh = observed(example_root, Watch())
    assert materialize("sales.orders", mesh=mesh, params={"scale": 50}, handlers=[]).ok  # first use: migrations
    database = state_database(mesh.policy)
    before = transactions(database)
    assert run_asset(mesh, "sales.orders", run_id="airflow-like", params={"scale": 50}, source="airflow").ok
    assert transactions(database) - before == PER_ASSET  # unbatched: START recorded and sent, then marked
    assert [json.loads(line)["eventType"] for line in sent] == ["START"]


def test_each_write_runs_with_the_sync_it_asks_for_on_a_reused_connection(tmp_path: Path) -> None:
    database = StateDatabase(f"sqlite:///{tmp_path / 'state.db'}", where="state.db")
    for durable in (False, True, True, False, False, True):  # the pool hands back the same connection
        with database.write(durable=durable) as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == (2 if durable else 1)  # FULL, NORMAL
        with database.read() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == (2 if durable else 1)  # left as it was


def _db(tmp_path: Path) -> StateDatabase:
    database = StateDatabase(f"sqlite:///{tmp_path / 'state.db'}", where="state.db")
    with database.write() as conn:
        conn.execute(text("CREATE TABLE t (v TEXT)"))
    return database


def _values(database: StateDatabase) -> list[str]:
    with database.read() as conn:
        return list(conn.execute(text("SELECT v FROM t ORDER BY rowid")).scalars())


def test_a_joined_block_is_one_transaction_committed_at_its_end(tmp_path: Path) -> None:
    database = _db(tmp_path)
    before = transactions(database)
    with database.joined():
        for v in ("a", "b"):
            with database.write(durable=False) as conn:
                conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": v})
        with database.read() as conn:
            assert list(conn.execute(text("SELECT v FROM t")).scalars()) == ["a", "b"]  # its own writes
        other = StateDatabase(database.url, where="other")  # the same database: the same block
        with other.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2
    assert transactions(database) - before == 1
    assert _values(database) == ["a", "b"]


def test_a_failed_write_in_a_joined_block_undoes_only_its_own_changes(tmp_path: Path) -> None:
    database = _db(tmp_path)
    with database.joined():
        with database.write(durable=False) as conn:
            conn.execute(text("INSERT INTO t VALUES ('kept')"))
        with pytest.raises(ValueError), database.write(durable=False) as conn:
            conn.execute(text("INSERT INTO t VALUES ('undone')"))
            raise ValueError("the writer failed")
    assert _values(database) == ["kept"]


def test_a_joined_block_that_raises_writes_nothing(tmp_path: Path) -> None:
    database = _db(tmp_path)
    with pytest.raises(ValueError), database.joined():
        with database.write(durable=False) as conn:
            conn.execute(text("INSERT INTO t VALUES ('a')"))
        raise ValueError("the block failed")
    assert _values(database) == []


def test_a_durable_write_or_a_lock_in_a_joined_block_commits_what_came_before(tmp_path: Path) -> None:
    database = _db(tmp_path)
    seen: list[str] = []
    with database.joined():
        with database.write(durable=False) as conn:
            conn.execute(text("INSERT INTO t VALUES ('first')"))
        with database.write(durable=True) as conn:  # its own transaction, synced
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
            conn.execute(text("INSERT INTO t VALUES ('durable')"))
        with database.write(durable=False) as conn:
            conn.execute(text("INSERT INTO t VALUES ('second')"))
        with database.exclusive("sender"):  # what the block wrote is visible to any other connection now
            with closing(sqlite3.connect(tmp_path / "state.db")) as elsewhere:
                seen = [v for (v,) in elsewhere.execute("SELECT v FROM t ORDER BY rowid")]
    assert seen == ["first", "durable", "second"]
    assert _values(database) == seen


def test_a_durable_write_inside_an_open_read_of_a_joined_block_is_refused_not_downgraded(tmp_path: Path) -> None:
    database = _db(tmp_path)
    with database.joined(), database.read():
        with pytest.raises(RuntimeError, match="durable write inside an open read"), database.write(durable=True):
            pass


def test_what_waits_for_the_commit_of_a_joined_block_runs_after_it_and_only_if_it_commits(tmp_path: Path) -> None:
    database = _db(tmp_path)
    seen: list[list[str]] = []
    database.after_commit(lambda: seen.append(["no block: at once"]))
    with database.joined():
        with database.write(durable=False) as conn:
            conn.execute(text("INSERT INTO t VALUES ('a')"))
        database.after_commit(lambda: seen.append(_values(database)))
        assert seen == [["no block: at once"]]  # not yet: the row is not committed
    assert seen == [["no block: at once"], ["a"]]
    with pytest.raises(ValueError), database.joined():
        with database.write(durable=False) as conn:
            conn.execute(text("INSERT INTO t VALUES ('b')"))
        database.after_commit(lambda: seen.append(["rolled back, yet called"]))
        raise ValueError("the block failed")
    assert seen == [["no block: at once"], ["a"]]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> StateDatabase:
    """An empty state database of each kind (a fresh PostgreSQL database per test)."""
    return database_of_kind(request, tmp_path)


def test_the_statements_each_run_executes_built_once_behave_as_built_per_call(any_database: StateDatabase) -> None:
    """The run records, open incidents and subscriptions each run reads or writes go through
    statements built once with parameters (see governance.runs.records): the same rows result, on
    both databases, whatever the partition (``NULL`` or not) and whether the start was recorded."""
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    records = RunRecords(any_database)
    records.started("sales.orders", "r1", "engine", at)
    records.started("sales.daily", "r1", "engine", at, partition="2026-11-01")
    records.started("sales.daily", "r1", "engine", at, partition="2026-11-02")
    records.ended("sales.orders", "r1", "engine", at, at + dt.timedelta(seconds=2), "materialized", version="v1")
    records.ended("sales.daily", "r1", "engine", at, at + dt.timedelta(seconds=3), "error", error="boom",
                  partition="2026-11-02")
    records.ended("sales.lost", "r1", "engine", at, at + dt.timedelta(seconds=1), "materialized", version="v9")
    found = {(r.key, r.partition): (r.status, r.version, r.error, r.seconds) for r in records.between()}
    assert found == {("sales.orders", None): ("materialized", "v1", None, 2.0),
                     ("sales.daily", "2026-11-01"): ("running", None, None, None),
                     ("sales.daily", "2026-11-02"): ("error", None, "boom", 3.0),
                     ("sales.lost", None): ("materialized", "v9", None, 1.0)}  # its start was not recorded
    incidents = IncidentStore(any_database, "test")
    signal = Signal(kind="run_failed", subject="sales.orders", domain="sales", severity="critical",
                    summary="sales.orders failed", at=at)
    incidents.fire(signal, None)
    assert incidents.open_among([signal.incident_key, "gate_failed:sales.orders"]) == {signal.incident_key}
    assert incidents.open_among([]) == set()
    subscriptions = SubscriptionStore(any_database, "test", AlertsPolicy())
    subscriptions.add("sales.orders", "bob", "ops", at)
    subscriptions.add("sales.orders", "alice", "ops", at)
    assert [s.consumer for s in subscriptions.of("sales.orders")] == ["alice", "bob"]
    assert subscriptions.of("sales.daily") == []
