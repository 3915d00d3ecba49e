"""The state database's schema is versioned by Alembic migrations, on SQLite and PostgreSQL alike:
a new database starts at the newest revision, one at the previous revision upgrades in place
with its rows, concurrent starters migrate it once, and one from a newer mesh is refused."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from governance.state import SchemaVersionError, StateDatabase, StateError
from governance.state.database import dispose_engines
from governance.state.revisions import (
    HEAD,
    MIGRATIONS,
    REVISIONS,
    VERSION_TABLE,
    current_revision,
    upgrade,
)
from governance.state.schema import metadata
from governance.state.settings import database_at


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> StateDatabase:
    """An empty state database of each kind (a fresh PostgreSQL database per test)."""
    if request.param == "sqlite":
        return database_at("sqlite:///state/mesh.sqlite", tmp_path, named_in="test")
    return database_at(request.getfixturevalue("postgres_url"), tmp_path, named_in="test")


def raw_engine(database: StateDatabase):  # type: ignore[no-untyped-def]
    """An engine that does not migrate: what an older mesh, or another tool, would hold."""
    if database.sqlite_path is not None:
        database.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return create_engine(database.url)


def test_the_revisions_in_code_are_the_migration_files() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert scripts.get_current_head() == HEAD
    assert [s.revision for s in reversed(list(scripts.walk_revisions()))] == list(REVISIONS)


def test_an_empty_database_is_migrated_to_the_newest_revision_on_first_use(database: StateDatabase) -> None:
    with database.read() as conn:
        assert current_revision(conn) == HEAD
        tables = set(inspect(conn).get_table_names())
    assert set(metadata.tables) | {VERSION_TABLE} == tables
    with database.read() as conn:  # the columns the stores query are the ones the migrations made
        for table in metadata.sorted_tables:
            made = {c["name"] for c in inspect(conn).get_columns(table.name)}
            assert made == set(table.columns.keys()), table.name


def test_a_database_at_the_previous_revision_upgrades_in_place_and_keeps_its_rows(database: StateDatabase) -> None:
    engine = raw_engine(database)
    with engine.begin() as conn:
        upgrade(conn, REVISIONS[-2])
        conn.execute(text("INSERT INTO updates VALUES ('sales.orders', 'v1', 'run-1', 'engine', 3, '{}', 'now')"))
        conn.execute(text("INSERT INTO events (id, body, created_at) VALUES ('r:COMPLETE', '{}', 'now')"))
    engine.dispose()
    with database.read() as conn:
        assert current_revision(conn) == HEAD
        assert conn.execute(text("SELECT key, version FROM updates")).all() == [("sales.orders", "v1")]
        assert conn.execute(text("SELECT id FROM events")).scalars().all() == ["r:COMPLETE"]
        assert "audit_lines" in inspect(conn).get_table_names()


def test_run_records_of_a_0006_database_upgrade_in_place_and_then_name_partitions(database: StateDatabase) -> None:
    import datetime as dt

    from governance.runs.records import RunRecords

    engine = raw_engine(database)
    with engine.begin() as conn:
        upgrade(conn, "0006")
        conn.execute(text("INSERT INTO runs (key, run_id, source, status, version, started_at, ended_at, worker) "
                          "VALUES ('sales.orders', 'r1', 'engine', 'materialized', 'v1', "
                          "'2026-11-20T06:00:00.000+00:00', '2026-11-20T06:01:00.000+00:00', 'w')"))
    engine.dispose()
    records = RunRecords(database)
    at = dt.datetime(2026, 11, 21, 6, tzinfo=dt.UTC)
    records.started("sales.daily_orders", "r2", "engine", at, partition="2026-11-20")
    records.ended("sales.daily_orders", "r2", "engine", at, at, "gate_failed", error="bad", partition="2026-11-20")
    with database.read() as conn:
        assert current_revision(conn) == HEAD
        assert "runs_by_partition" in {i["name"] for i in inspect(conn).get_indexes("runs")}
    assert [(r.key, r.partition, r.status, r.worker) for r in records.between()] == [
        ("sales.orders", None, "materialized", "w"), ("sales.daily_orders", "2026-11-20", "gate_failed", None)]


def _open(url: str, where: str, start: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    StateDatabase(url, where).engine()


def test_concurrent_starters_migrate_the_database_once(database: StateDatabase) -> None:
    context = multiprocessing.get_context("fork")
    start = context.Barrier(4)
    starters = [context.Process(target=_open, args=(database.url, database.where, start)) for _ in range(4)]
    for p in starters:
        p.start()
    for p in starters:
        p.join(120)
    assert [p.exitcode for p in starters] == [0, 0, 0, 0]
    with database.read() as conn:
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all() == [HEAD]


def test_a_database_from_a_newer_mesh_is_refused_naming_it_and_the_fix(database: StateDatabase) -> None:
    engine = raw_engine(database)
    with engine.begin() as conn:
        upgrade(conn)
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    dispose_engines()
    with pytest.raises(SchemaVersionError) as caught:
        database.engine()
    assert caught.value.where == database.where
    assert "revision 9999" in caught.value.what and HEAD in caught.value.what
    assert "newer mesh version" in caught.value.fix
    with raw_engine(database).connect() as conn:  # refused, never written
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() == "9999"


def test_a_failed_migration_leaves_the_database_as_it_was(database: StateDatabase) -> None:
    engine = raw_engine(database)
    with engine.begin() as conn:
        upgrade(conn, "0001")  # 0002 makes audit_meta
        conn.execute(text("CREATE TABLE audit_meta (name TEXT)"))  # in the way of the next step
    with pytest.raises(Exception):  # noqa: B017,PT011 - the database's own error for the clash
        database.engine()
    with engine.connect() as conn:
        assert current_revision(conn) == "0001"
        assert "audit_lines" not in inspect(conn).get_table_names()
    engine.dispose()


MESH = """[mesh]
name = "m"
primary_region = "r"
[regions.r]
storage = ".mesh/regions/r"
jurisdiction = "us"
[domains.d]
owners = ["o@acme.example"]
"""


@pytest.mark.parametrize(("table", "where", "what", "fix"), [
    pytest.param('url = "mysql://db/mesh"', "mesh.toml [state].url", "'mysql' is not a state database",
                 'url = "postgresql://', id="unknown-scheme"),
    pytest.param('url = "localhost:5432"', "mesh.toml [state].url", "not a state database", "remove [state]",
                 id="no-scheme"),
    pytest.param('url = "postgresql://mesh:secret@db/mesh"', "mesh.toml [state].url", "holds a password",
                 "password_env", id="password-in-url"),
    pytest.param('url = "sqlite://"', "mesh.toml [state].url", "names no file", "three slashes", id="sqlite-no-file"),
    pytest.param('password_env = "PW"', "mesh.toml [state].password_env", "url is not", "add url",
                 id="password-without-url"),
    pytest.param('url = "postgresql://db/m"\npassword_env = "pw-var"', "mesh.toml [state].password_env",
                 "not an environment variable name", "MESH_STATE_PASSWORD", id="bad-env-name"),
    pytest.param('uri = "postgresql://db/m"', "mesh.toml [state].uri", "unknown key 'uri'", "url", id="unknown-key"),
])
def test_a_bad_state_table_is_refused_naming_mesh_toml_and_the_fix(tmp_path: Path, table: str, where: str,
                                                                   what: str, fix: str) -> None:
    from governance.policy import PolicyErrors, load_policy

    (tmp_path / "mesh.toml").write_text(MESH + "[state]\n" + table + "\n")
    with pytest.raises(PolicyErrors) as caught:
        load_policy(tmp_path)
    [problem] = caught.value.problems
    assert problem.where == where and what in problem.what and fix in problem.fix, problem


@pytest.mark.parametrize(("url", "expected"), [
    pytest.param(None, lambda root: f"sqlite:///{root}/.mesh/state/mesh.sqlite", id="default"),
    pytest.param("sqlite:///shared/state.sqlite", lambda root: f"sqlite:///{root}/shared/state.sqlite", id="relative"),
    pytest.param("sqlite:////srv/state.sqlite", lambda root: "sqlite:////srv/state.sqlite", id="absolute"),
    pytest.param("postgresql://mesh@db:5432/state", lambda root: "postgresql+psycopg://mesh@db:5432/state",
                 id="postgresql"),
])
def test_the_state_url_names_the_database(tmp_path: Path, url: str | None, expected: Callable[[Path], str]) -> None:
    from governance.policy import load_policy
    from governance.state import state_database

    (tmp_path / "mesh.toml").write_text(MESH + (f'[state]\nurl = "{url}"\n' if url else ""))
    policy = load_policy(tmp_path)
    assert state_database(policy).url == expected(policy.root)
    assert policy.state.shared is (url is not None)


@pytest.fixture
def made(tmp_path: Path) -> StateDatabase:
    """A SQLite state database this mesh made, with a run of history in it."""
    database = database_at("sqlite:///state/mesh.sqlite", tmp_path, named_in="test")
    with database.write() as conn:
        conn.execute(text(f"SELECT * FROM {VERSION_TABLE}"))
    dispose_engines()
    return database


def _empty(path: Path) -> None:
    path.write_bytes(b"")
    for sidecar in ("-wal", "-shm"):
        path.with_name(path.name + sidecar).unlink(missing_ok=True)


def _delete(path: Path) -> None:
    path.unlink()
    for sidecar in ("-wal", "-shm"):
        path.with_name(path.name + sidecar).unlink(missing_ok=True)


@pytest.mark.parametrize("lose", [_empty, _delete], ids=["emptied", "deleted"])
def test_a_state_database_emptied_or_deleted_is_refused_not_started_afresh(made: StateDatabase,
                                                                          lose: Callable[[Path], None]) -> None:
    path = made.sqlite_path
    assert path is not None and Path(f"{path}.created").exists()
    lose(path)
    with pytest.raises(StateError) as caught:
        made.engine()
    assert caught.value.where == made.where and "deleted or emptied" in caught.value.what
    assert "mesh.sqlite.created aside" in caught.value.fix and "your copy of .mesh/state" in caught.value.fix
    if path.exists():  # no table was made in it
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_moving_the_marker_aside_starts_the_state_afresh(made: StateDatabase) -> None:
    path = made.sqlite_path
    assert path is not None
    _empty(path)
    Path(f"{path}.created").rename(f"{path}.created.old")
    with made.read() as conn:
        assert current_revision(conn) == HEAD
    assert Path(f"{path}.created").exists()


def test_a_database_made_before_the_marker_existed_is_marked_when_opened(made: StateDatabase) -> None:
    path = made.sqlite_path
    assert path is not None
    Path(f"{path}.created").unlink()
    made.engine()
    assert Path(f"{path}.created").exists()


def test_a_database_deleted_while_a_process_uses_it_is_refused_at_the_next_run(made: StateDatabase) -> None:
    made.ready()  # opened by this process
    path = made.sqlite_path
    assert path is not None
    _delete(path)
    with pytest.raises(StateError, match="deleted or emptied"):
        made.ready()


def test_a_first_use_beside_another_is_never_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process makes the schema and its marker between this one's look at the revision
    and its migration: this one finds the newest revision, it does not call the file emptied."""
    import governance.state.database as state

    database = database_at("sqlite:///state/mesh.sqlite", tmp_path, named_in="test")
    first = state.current_revision
    interleaved: list[bool] = []

    def meanwhile(conn):  # type: ignore[no-untyped-def]
        found = first(conn)
        if found is None and not interleaved:
            interleaved.append(True)
            other = database_at("sqlite:///state/mesh.sqlite", tmp_path, named_in="other")
            state._migrate(state._sqlite_engine(make_url(other.url)), other.where)
            assert Path(f"{database.sqlite_path}.created").exists()
        return found

    monkeypatch.setattr(state, "current_revision", meanwhile)
    database.ready()
    assert interleaved, "the other process ran between the look and the migration"
    with database.read() as conn:
        assert first(conn) == HEAD


def test_an_in_memory_database_has_no_marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        StateDatabase("sqlite:///:memory:", "memory").ready()
        dispose_engines()
    assert not list(tmp_path.iterdir())


def test_pending_grant_requests_of_a_0007_database_get_a_nonce_and_revoked_grants_a_table(
        database: StateDatabase) -> None:
    """Requests pending before nonces get one each (their old approvals count for nothing)."""
    engine = raw_engine(database)
    with engine.begin() as conn:
        upgrade(conn, "0007")
        for grant_id in ("g-00000001", "g-00000002"):
            conn.execute(text("INSERT INTO grant_requests (id, product, consumer, purpose, requested_by, expires, "
                              "approvals, state, created_at, updated_at) VALUES (:id, 'sales.orders', 'finance', "
                              "'revenue', 'finance-data@acme.example', '2030-01-01', '{}', 'pending', 'now', 'now')"),
                         {"id": grant_id})
    engine.dispose()
    with database.read() as conn:
        assert current_revision(conn) == HEAD
        nonces = conn.execute(text("SELECT nonce FROM grant_requests ORDER BY id")).scalars().all()
        assert conn.execute(text("SELECT count(*) FROM revoked_grants")).scalar() == 0
    assert len(nonces) == 2 and len(set(nonces)) == 2
    assert all(re.fullmatch(r"[0-9a-f]{32}", n) for n in nonces), nonces
