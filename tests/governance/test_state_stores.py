"""The run history and the lineage outbox in the state database, shared by several processes
(the Airflow workers of one mesh), on SQLite and PostgreSQL; and the files an earlier mesh kept
them in, imported once."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

from assets.events import AssetUpdate
from governance.history import RunHistory
from governance.lineage.delivery import LineageOutbox
from governance.state import StateDatabase, StateError
from governance.state.database import dispose_engines
from governance.state.settings import database_at

PROCESSES = 2
EACH = 20


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> StateDatabase:
    if request.param == "sqlite":
        return database_at("sqlite:///state/mesh.sqlite", tmp_path, named_in="test")
    return database_at(request.getfixturevalue("postgres_url"), tmp_path, named_in="test")


def _update(key: str, version: str) -> AssetUpdate:
    return AssetUpdate(key=key, version=version, run_id=f"run-{version}", source="engine", summary={"rows": 1})


def _event(run_id: str) -> RunEvent:
    return RunEvent(eventType=RunState.COMPLETE, eventTime=dt.datetime.now(dt.UTC).isoformat(),
                    run=Run(runId=run_id), job=Job(namespace="test", name="job"), producer="https://example.test")


def _run_id(worker: int, i: int) -> str:
    return f"00000000-0000-4000-8000-{worker:04d}{i:08d}"


def _worker(database: StateDatabase, events_file: str, worker: int, start: object) -> None:
    """One worker process: records the same versions as the others (one of them wins each) and
    versions of its own, and emits its own lineage events (each emit also sends)."""
    start.wait()  # type: ignore[attr-defined]
    history = RunHistory(database)
    outbox = LineageOutbox(database, {"type": "file", "log_file_path": events_file, "append": True})
    won = 0
    for i in range(EACH):
        won += history.record(_update("sales.orders", f"v{i:03d}"))
        history.record(_update(f"w{worker}.asset", f"v{i:03d}"))
        outbox.emit(_event(_run_id(worker, i)))
    Path(f"{events_file}.won-{worker}").write_text(str(won))


def _in_processes(database: StateDatabase, events_file: Path) -> list[int]:
    dispose_engines()  # the children open their own connections
    context = multiprocessing.get_context("fork")
    start = context.Barrier(PROCESSES)
    workers = [context.Process(target=_worker, args=(database, str(events_file), w, start)) for w in range(PROCESSES)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(300)
    assert [p.exitcode for p in workers] == [0] * PROCESSES
    return [int(Path(f"{events_file}.won-{w}").read_text()) for w in range(PROCESSES)]


def test_the_run_history_and_the_outbox_are_shared_by_worker_processes(database: StateDatabase,
                                                                       tmp_path: Path) -> None:
    events_file = tmp_path / "events.jsonl"
    won = _in_processes(database, events_file)
    history = RunHistory(database)
    published = history.published()
    assert sum(won) == EACH  # each shared version was recorded once, by one of the workers
    assert published["sales.orders"] == [f"v{i:03d}" for i in range(EACH)]
    for w in range(PROCESSES):  # each worker sees what the other recorded
        assert published[f"w{w}.asset"] == [f"v{i:03d}" for i in range(EACH)]
    assert history.for_asset("sales.orders", limit=1)[0]["summary"] == {"rows": 1}
    outbox = LineageOutbox(database, {"type": "console"})
    expected = {_run_id(w, i) for w in range(PROCESSES) for i in range(EACH)}
    assert {e["run"]["runId"] for e in outbox.events()} == expected
    status = outbox.status()
    assert (status.pending, status.sent) == (0, PROCESSES * EACH)
    sent = [json.loads(line)["run"]["runId"] for line in events_file.read_text().splitlines()]
    assert sorted(sent) == sorted(expected)  # every event sent exactly once, by one sender at a time


def test_a_replayed_event_is_not_recorded_twice(database: StateDatabase, tmp_path: Path) -> None:
    outbox = LineageOutbox(database, {"type": "file", "log_file_path": str(tmp_path / "e.jsonl")})
    assert outbox.emit(_event(_run_id(0, 1))).new
    assert not outbox.emit(_event(_run_id(0, 1))).new
    assert len(outbox.events()) == 1


def _old_files(state: Path) -> tuple[Path, Path]:
    """The SQLite files an earlier mesh left under ``.mesh/state`` (its lineage outbox stamped
    times as ``datetime.isoformat(timespec="milliseconds")`` in UTC, as the state database does)."""
    state.mkdir(parents=True)
    history, lineage = state / "history.sqlite", state / "lineage.sqlite"
    with sqlite3.connect(history) as conn:
        conn.executescript("""CREATE TABLE updates (key TEXT NOT NULL, version TEXT NOT NULL, run_id TEXT NOT NULL,
            source TEXT NOT NULL, rows INTEGER, summary TEXT NOT NULL, recorded_at TEXT NOT NULL,
            PRIMARY KEY (key, version));
            INSERT INTO updates VALUES ('sales.orders', 'v1', 'run-1', 'engine', 3, '{"rows": 3}', '2026-01-01');
            PRAGMA user_version = 1;""")
    with sqlite3.connect(lineage) as conn:
        conn.executescript("""CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            body TEXT NOT NULL, created_at TEXT NOT NULL, sent_at TEXT, attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT);
            INSERT INTO events (id, body, created_at, sent_at, attempts) VALUES
                ('a:COMPLETE', '{"eventType": "COMPLETE", "n": 1}', '2026-01-01T00:00:00.000+00:00',
                 '2026-01-01T00:00:01.000+00:00', 1),
                ('b:COMPLETE', '{"eventType": "COMPLETE", "n": 2}', '2026-01-02T00:00:00.000+00:00', NULL, 3);
            PRAGMA user_version = 1;""")
    return history, lineage


def test_the_files_of_an_earlier_mesh_are_imported_once(database: StateDatabase, tmp_path: Path) -> None:
    history_file, lineage_file = _old_files(tmp_path / ".mesh" / "state")
    history = RunHistory(database, history_file)
    assert history.record(_update("sales.orders", "v2"))
    assert history.published() == {"sales.orders": ["v1", "v2"]}
    outbox = LineageOutbox(database, {"type": "console"}, lineage_file)
    assert [e["n"] for e in outbox.events()] == [1, 2]
    status = outbox.status()
    assert (status.pending, status.sent) == (1, 1)
    dispose_engines()
    with sqlite3.connect(history_file) as conn:  # a row the old file gains later is not imported again
        conn.execute("INSERT INTO updates VALUES ('sales.orders', 'v9', 'r', 'engine', 1, '{}', '2026-02-01')")
    import governance.state.legacy as legacy

    legacy._done.clear()  # as in a new process
    assert RunHistory(database, history_file).published() == {"sales.orders": ["v1", "v2"]}
    assert history_file.exists() and lineage_file.exists()  # left as they were


def test_an_unreadable_file_of_an_earlier_mesh_is_named_with_the_fix(database: StateDatabase,
                                                                    tmp_path: Path) -> None:
    old = tmp_path / "history.sqlite"
    old.write_bytes(b"garbage" * 100)
    with pytest.raises(StateError) as caught:
        RunHistory(database, old).published()
    assert caught.value.where == str(old) and "move the file aside" in caught.value.fix
