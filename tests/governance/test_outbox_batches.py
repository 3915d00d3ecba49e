"""The outbox reads its pending rows in batches: a pass whose destination is down reads one
batch however long the outage made the backlog, and a pass that can send sends them all, in order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Row, insert

from governance.state import StateDatabase
from governance.state.outbox import BATCH, flush_outbox
from governance.state.schema import events

BACKLOG = 3 * BATCH + 17


def _database_with_backlog(tmp_path: Path) -> StateDatabase:
    path = tmp_path / "mesh.sqlite"
    database = StateDatabase(f"sqlite:///{path}", str(path))
    with database.write() as conn:
        conn.execute(insert(events), [{"id": f"event-{i}", "body": "{}", "created_at": "2026-11-27T00:00:00.000+00:00"}
                                      for i in range(BACKLOG)])
    return database


def test_a_pass_to_a_destination_that_is_down_reads_one_batch_of_a_long_backlog(tmp_path: Path) -> None:
    database = _database_with_backlog(tmp_path)
    tried: list[str] = []

    def down(row: Row) -> None:
        tried.append(row.id)
        raise ConnectionError("collector down")

    done = flush_outbox(database, events, "test-sender", down, now=dt.datetime.now(dt.UTC))
    assert tried == ["event-0"]  # the oldest first, then the pass ends
    assert done.read == BATCH and done.sent == 0 and done.pending == BACKLOG
    assert done.error == "ConnectionError: collector down"


def test_a_pass_that_can_send_sends_the_whole_backlog_in_order(tmp_path: Path) -> None:
    database = _database_with_backlog(tmp_path)
    delivered: list[str] = []
    done = flush_outbox(database, events, "test-sender", lambda row: delivered.append(row.id),
                        now=dt.datetime.now(dt.UTC))
    assert delivered == [f"event-{i}" for i in range(BACKLOG)]
    assert done.sent == BACKLOG and done.pending == 0 and done.read == BACKLOG
    again = flush_outbox(database, events, "test-sender", lambda row: delivered.append(row.id),
                         now=dt.datetime.now(dt.UTC))
    assert again.sent == 0 and again.read == 0 and len(delivered) == BACKLOG


def test_a_failure_in_a_later_batch_keeps_what_was_sent_and_the_rest(tmp_path: Path) -> None:
    database = _database_with_backlog(tmp_path)
    failing_at = BATCH + 5
    delivered: list[str] = []

    def send(row: Row) -> None:
        if row.id == f"event-{failing_at}":
            raise TimeoutError("slow collector")
        delivered.append(row.id)

    done = flush_outbox(database, events, "test-sender", send, now=dt.datetime.now(dt.UTC))
    assert done.sent == failing_at and done.pending == BACKLOG - failing_at and done.read == 2 * BATCH
    resumed: list[str] = []
    flush_outbox(database, events, "test-sender", lambda row: resumed.append(row.id), now=dt.datetime.now(dt.UTC))
    assert resumed == [f"event-{i}" for i in range(failing_at, BACKLOG)]
