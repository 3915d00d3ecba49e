"""The lineage outbox under concurrent writers: an event that was accepted is never lost."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import uuid
from pathlib import Path

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

from governance.lineage.delivery import LineageOutbox
from governance.state import StateDatabase

WRITERS = 8
EVENTS = 5


def _event(run_id: str) -> RunEvent:
    return RunEvent(eventType=RunState.COMPLETE, eventTime=dt.datetime.now(dt.UTC).isoformat(),
                    run=Run(runId=run_id), job=Job(namespace="test", name="job"), producer="https://example.test")


def _database(path: Path) -> StateDatabase:
    return StateDatabase(f"sqlite:///{path}", str(path))


def _write(folder: Path, start: threading.Barrier, accepted: list[tuple[str, str]]) -> None:
    outbox = LineageOutbox(_database(folder / "mesh.sqlite"), {"type": "file", "log_file_path": str(folder / "events.jsonl")})
    start.wait()
    for _ in range(EVENTS):
        run_id = str(uuid.uuid4())
        try:
            outbox.emit(_event(run_id))
        except Exception as exc:  # noqa: BLE001 - a refused event is reported, not counted as accepted
            accepted.append(("refused", f"{type(exc).__name__}: {exc}"))
            continue
        accepted.append(("accepted", run_id))


def test_every_event_accepted_by_concurrent_writers_is_in_the_outbox(tmp_path: Path) -> None:
    for attempt in range(3):  # a fresh database each time: the switch to WAL is where writers collided
        folder = tmp_path / f"try-{attempt}"
        folder.mkdir()
        start, results = threading.Barrier(WRITERS), []  # each writer its own outbox: its own connection
        writers = [threading.Thread(target=_write, args=(folder, start, results)) for _ in range(WRITERS)]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        assert len(results) == WRITERS * EVENTS
        assert [r for r in results if r[0] == "refused"] == []
        stored = {e["run"]["runId"] for e in LineageOutbox(_database(folder / "mesh.sqlite"), {"type": "console"}).events()}
        assert {run_id for _, run_id in results} <= stored


def test_an_event_waits_out_a_writer_that_holds_the_database_while_it_switches_to_wal(tmp_path: Path) -> None:
    path = tmp_path / "mesh.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE other (x)")  # a database still in rollback-journal mode, as a new one is
    holder.execute("BEGIN")
    holder.execute("INSERT INTO other VALUES (1)")  # another writer's transaction: SQLite refuses WAL at once
    outbox = LineageOutbox(_database(path), {"type": "file", "log_file_path": str(tmp_path / "events.jsonl")})
    done: list[object] = []

    def emit() -> None:
        try:
            done.append(outbox.emit(_event("00000000-0000-4000-8000-000000000001")))
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            done.append(exc)

    writer = threading.Thread(target=emit)
    writer.start()
    writer.join(1.0)  # time for a writer that gives up at once to do so; one that waits is still waiting
    holder.execute("COMMIT")
    holder.close()
    writer.join(60)
    assert done and not isinstance(done[0], Exception), done
    assert [e["run"]["runId"] for e in outbox.events()] == ["00000000-0000-4000-8000-000000000001"]
