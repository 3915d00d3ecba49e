"""The background sender of a run of many assets: pokes gathered into passes, everything sent
by the time it closes, nothing sent for nothing."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from assets import materialize
from governance.lineage.events import run_uuid
from governance.lineage.sender import BackgroundSender
from governance.state.settings import database_at
from governance.wiring import load_mesh
from tests.governance.test_lineage import events_in


def test_pokes_while_a_pass_runs_are_sent_by_one_more_pass() -> None:
    passes: list[int] = []
    sending, release = threading.Event(), threading.Event()

    def flush() -> None:
        passes.append(len(passes))
        sending.set()
        release.wait()

    sender = BackgroundSender(flush, gather=0.01)
    assert sender.poke()
    assert sending.wait(timeout=30)  # the first pass is sending
    for _ in range(5):
        assert sender.poke()  # recorded meanwhile: the next pass reads them all
    release.set()
    sender.close()
    assert passes == [0, 1]
    assert not sender.poke()  # closed: the caller sends it itself


def test_a_sender_never_poked_sends_nothing() -> None:
    passes: list[object] = []
    sender = BackgroundSender(lambda: passes.append(1))
    sender.close()
    assert passes == []


def test_a_failing_pass_is_logged_and_the_next_one_still_runs() -> None:
    calls: list[int] = []
    failed = threading.Event()

    def flush() -> None:
        calls.append(1)
        if len(calls) == 1:
            failed.set()
            raise ConnectionError("backend down")

    sender = BackgroundSender(flush, gather=0.01)
    sender.poke()
    assert failed.wait(timeout=30)
    sender.poke()
    sender.close()
    assert len(calls) == 2


def test_a_run_of_many_assets_without_handlers_has_sent_every_start_when_it_returns(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    run = materialize("*", mesh=mesh, params={"scale": 50}, handlers=[], max_workers=2)
    assert run.ok
    started = {e["run"]["runId"] for e in events_in(example_root) if e["eventType"] == "START"}
    assert {run_uuid(run.run_id, key) for key in run.results} <= started


def test_a_pass_stopped_by_the_state_database_is_one_line_with_the_fix(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """A pass that meets a state database it cannot use (a full disk; here garbage in the file)
    logs the error's one line, naming the file and the fix, not a traceback on the user's terminal."""
    database = database_at("sqlite:///state/mesh.sqlite", tmp_path, named_in="test")
    path = tmp_path / "state/mesh.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"garbage" * 100)
    failed = threading.Event()

    def flush() -> None:
        try:
            with database.write(durable=False) as conn:
                conn.exec_driver_sql("SELECT 1")
        finally:
            failed.set()

    sender = BackgroundSender(flush, gather=0.01)
    with caplog.at_level(logging.ERROR, logger="governance.lineage.sender"):
        sender.poke()
        assert failed.wait(timeout=30)
        sender.close()
    [record] = [r for r in caplog.records if r.name == "governance.lineage.sender"]
    assert record.exc_info is None, "no traceback"
    assert str(path) in record.getMessage() and "Fix:" in record.getMessage()
