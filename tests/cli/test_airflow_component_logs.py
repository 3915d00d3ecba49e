"""Why an Airflow component died, as its log says: the line `mesh demo` prints when it starts
one again (``meshctl.local_airflow.last_error``)."""

from __future__ import annotations

from pathlib import Path

from meshctl.local_airflow import last_error


def test_the_last_error_line_of_a_component_log_is_its_reason(tmp_path: Path) -> None:
    log = tmp_path / "scheduler.log"
    log.write_text("\n".join([
        "2026-11-29T00:46:58Z [info] starting",
        "sqlite3.OperationalError: database is locked",
        "The above exception was the direct cause of the following exception:",
        "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked",
        "2026-11-29T00:47:14Z [info] Shutting down",
    ]))
    assert last_error(log) == "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked"


def test_a_long_log_is_read_from_its_end_and_the_line_is_cut(tmp_path: Path) -> None:
    log = tmp_path / "triggerer.log"
    log.write_text("ValueError: an old one\n" + "x" * 200_000 + "\nRuntimeError: " + "y" * 1000 + "\nbye\n")
    reason = last_error(log)
    assert reason.startswith("RuntimeError: yyy") and len(reason) == 300


def test_a_log_without_an_error_or_without_a_file_says_so(tmp_path: Path) -> None:
    clean = tmp_path / "api-server.log"
    clean.write_text("INFO: started\nINFO: stopped\n")
    assert last_error(clean) == "no error in its log"
    assert last_error(tmp_path / "missing.log") == "no error in its log"
    undecodable = tmp_path / "worker1.log"
    undecodable.write_bytes(b"\xff\xfe KeyError: 'x'\n")
    assert last_error(undecodable) == "\ufffd\ufffd KeyError: 'x'"
