"""The audit log in the state database (``[state] url``): four worker processes appending at once
leave one unbroken chain that verifies, on PostgreSQL and SQLite; the rows are the folder log's
bytes, so backups, restores, witnesses and an imported folder verify as before; tampering with
a row is named."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import select, update

from assets.storage import StorageRoot
from governance.audit import AuditEvent, AuditLog
from governance.audit.database import DatabaseLogStorage
from governance.audit.lines import GENESIS, decode_line
from governance.audit.witness import RegionWitness, Witnesses
from governance.keys import LocalKeyStore
from governance.state import StateDatabase
from governance.state.database import dispose_engines
from governance.state.schema import audit_lines
from governance.state.settings import database_at

WORKERS = 4
EACH = 60


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> StateDatabase:
    if request.param == "sqlite":
        return database_at("sqlite:///state/mesh.sqlite", tmp_path, named_in="test")
    return database_at(request.getfixturevalue("postgres_url"), tmp_path, named_in="test")


def witnesses(folder: Path) -> Witnesses:
    witness = RegionWitness("standby", StorageRoot(str(folder / "standby")))
    return Witnesses(targets=lambda: [witness], sources=lambda: [witness])


def audit_log(database: StateDatabase, folder: Path, legacy: Path | None = None) -> AuditLog:
    return AuditLog(DatabaseLogStorage(database, legacy), LocalKeyStore(folder / "keys").signing_key("audit.pem"),
                    checkpoint_every=25, witnesses=witnesses(folder))


def event(worker: int, i: int) -> AuditEvent:
    return AuditEvent(actor=f"worker-{worker}@acme.example", action="read", target="sales.orders",
                      outcome="allowed", source="cli", details={"worker": worker, "i": i})


def _append(database: StateDatabase, folder: str, worker: int, start: object) -> None:
    log = audit_log(database, Path(folder))
    start.wait()  # type: ignore[attr-defined]
    i = 0
    while i < EACH:  # single appends and batches, interleaved with the other workers'
        if i % 4 == 2:
            log.append_many([event(worker, i), event(worker, i + 1)])
            i += 2
        else:
            log.append(event(worker, i))
            i += 1
    log.seal()


def test_four_workers_appending_at_once_leave_one_chain_that_verifies(database: StateDatabase,
                                                                      tmp_path: Path) -> None:
    LocalKeyStore(tmp_path / "keys").signing_key("audit.pem")  # the key exists before the workers start
    dispose_engines()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(WORKERS)
    workers = [context.Process(target=_append, args=(database, str(tmp_path), w, start)) for w in range(WORKERS)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(600)
    assert [p.exitcode for p in workers] == [0] * WORKERS
    log = audit_log(database, tmp_path)
    records = list(log.records())
    assert [r.seq for r in records] == list(range(WORKERS * EACH))
    assert [r.prev for r in records] == [GENESIS] + [r.hash for r in records[:-1]]  # one chain, no fork
    for w in range(WORKERS):  # every worker's events, each once, in its own order
        assert [r.details["i"] for r in records if r.details["worker"] == w] == list(range(EACH))
    report = log.verify()
    assert report.ok and report.records == WORKERS * EACH and report.method == "bytes", report
    assert report.witnessed == WORKERS * EACH  # the last seal's head reached the witness
    full = log.verify(full=True)
    assert full.ok and full.records == WORKERS * EACH, full


def test_the_rows_are_the_folder_logs_bytes_and_a_backup_of_them_verifies(database: StateDatabase,
                                                                         tmp_path: Path) -> None:
    log = audit_log(database, tmp_path)
    for i in range(40):
        log.append(event(0, i))
    checkpoint = log.snapshot(tmp_path / "backup")
    copy = AuditLog(tmp_path / "backup", log.signer)
    assert copy.verify().ok and copy.verify().records == 40
    with log.storage.open() as fh:
        assert fh.read() == (tmp_path / "backup" / "audit.jsonl").read_bytes()
    assert checkpoint["bytes"] == log.storage.size()


def test_a_changed_row_is_named(database: StateDatabase, tmp_path: Path) -> None:
    log = audit_log(database, tmp_path)
    for i in range(30):
        log.append(event(0, i))
    log.seal()
    with database.write() as conn:
        line = bytes(conn.execute(select(audit_lines.c.line).where(audit_lines.c.seq == 7)).scalar_one())
        conn.execute(update(audit_lines).where(audit_lines.c.seq == 7)
                     .values(line=line.replace(b'"allowed"', b'"denied!"')))
    report = log.verify()
    assert not report.ok and "record 7" in (report.problem or ""), report


def test_a_restore_replaces_a_damaged_log_and_keeps_it_aside(database: StateDatabase, tmp_path: Path) -> None:
    log = audit_log(database, tmp_path)
    for i in range(20):
        log.append(event(0, i))
    log.snapshot(tmp_path / "backup")
    with database.write() as conn:
        conn.execute(update(audit_lines).where(audit_lines.c.seq == 3).values(line=b"garbage\n"))
    assert not log.verify().ok
    log.storage.replace_with(tmp_path / "backup", tmp_path / "aside")
    assert log.verify().ok and log.verify().records == 20
    assert b"garbage\n" in (tmp_path / "aside" / "audit.jsonl").read_bytes()
    log.append(event(0, 20))  # and the chain goes on
    assert log.verify().records == 21


def test_an_audit_folder_of_before_is_imported_and_its_witnessed_heads_still_verify(database: StateDatabase,
                                                                                     tmp_path: Path) -> None:
    folder_log = AuditLog(tmp_path / "audit", LocalKeyStore(tmp_path / "keys").signing_key("audit.pem"),
                          checkpoint_every=25, witnesses=witnesses(tmp_path))
    for i in range(30):
        folder_log.append(event(0, i))
    folder_log.seal()
    with open(tmp_path / "audit" / "audit.jsonl", "ab") as fh:
        fh.write(b'{"torn')  # a crash's torn line is not a record, and is not imported
    log = audit_log(database, tmp_path, legacy=tmp_path / "audit")
    report = log.verify()
    assert report.ok and report.records == 30 and report.witnessed == 30, report
    log.append(event(0, 30))
    assert log.verify().ok and log.verify().records == 31
    assert decode_line((tmp_path / "audit" / "audit.jsonl").read_bytes().splitlines(keepends=True)[0])


def test_a_mesh_with_a_state_url_keeps_its_audit_log_in_the_database_through_backup_and_restore(
        tmp_path: Path, database: StateDatabase) -> None:
    from typer.testing import CliRunner

    from governance.dr.backup import backup, restore
    from governance.services import governed
    from governance.wiring import load_policy_mesh
    from meshctl.cli import app
    from tests.conftest import copy_example_mesh, name_state, person

    root = copy_example_mesh(tmp_path / "mesh")
    url = "sqlite:///shared/state.sqlite" if database.is_sqlite else database.url.replace("+psycopg", "")
    name_state(root, url)  # approved by the council: [state] is trust
    folder_log = (root / ".mesh" / "audit" / "audit.jsonl").read_bytes()  # the key's pinning, before [state]
    mesh = load_policy_mesh(root)
    log = governed(mesh).audit
    assert isinstance(log.storage, DatabaseLogStorage)
    for i in range(10):
        log.append(event(0, i))
    made = backup(mesh, actor=person("platform@acme.example"))
    assert (made.path / "audit" / "audit.jsonl").exists()  # a backup holds the log as files, as ever
    assert (root / ".mesh" / "audit" / "audit.jsonl").read_bytes() == folder_log  # imported, then left alone
    with log.storage.open() as fh:
        assert fh.read().startswith(folder_log)
    with log.storage.database.write() as conn:  # damage the database's log
        conn.execute(update(audit_lines).where(audit_lines.c.seq == 2).values(line=b"garbage\n"))
    report = restore(mesh, made.path, actor=person("platform@acme.example"))
    assert any(note.startswith("audit log") for note in report.restored), report
    with log.storage.open() as fh:
        assert fh.read().startswith((made.path / "audit" / "audit.jsonl").read_bytes())
    assert list((root / ".mesh").glob("audit.before-restore-*/audit.jsonl"))  # the damaged log, kept as evidence
    result = CliRunner().invoke(app, ["audit", "verify", "--root", str(root)])
    assert result.exit_code == 0 and "ok" in result.output, result.output
