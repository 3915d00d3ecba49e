"""Versioned SQLite state: new files start at the latest schema, old ones upgrade in place with
their rows, and a file from a newer mesh is refused rather than written."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from assets.events import AssetUpdate
from governance.history import MIGRATIONS as HISTORY_MIGRATIONS
from governance.history import RunHistory
from governance.lineage.delivery import MIGRATIONS as OUTBOX_MIGRATIONS
from governance.lineage.delivery import LineageOutbox
from governance.sqlite_migrations import SchemaVersionError, migrate, schema_version

#: The schemas as the mesh wrote them before versions were recorded (user_version 0).
OLD_HISTORY = """CREATE TABLE IF NOT EXISTS updates (key TEXT NOT NULL, version TEXT NOT NULL, run_id TEXT NOT NULL,
    source TEXT NOT NULL, rows INTEGER, summary TEXT NOT NULL, recorded_at TEXT NOT NULL, PRIMARY KEY (key, version));
INSERT INTO updates VALUES ('sales.orders', 'v1', 'run-1', 'engine', 3, '{"rows": 3}', '2026-01-01T00:00:00.000+00:00');
"""
OLD_OUTBOX = """CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL, created_at TEXT NOT NULL, sent_at TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
CREATE INDEX IF NOT EXISTS pending ON events (seq) WHERE sent_at IS NULL;
INSERT INTO events (id, body, created_at) VALUES ('run-1:COMPLETE', '{"eventType": "COMPLETE"}', '2026-01-01');
"""


def history_rows(path: Path) -> list[str]:
    return [r["version"] for r in RunHistory(path).for_asset("sales.orders")]


def outbox_rows(path: Path) -> list[str]:
    return [e["eventType"] for e in LineageOutbox(path, {"type": "console"}).events()]


def history_write(path: Path) -> None:
    RunHistory(path).record(AssetUpdate(key="sales.orders", version="v2", run_id="run-2", source="engine"))


def outbox_write(path: Path) -> None:
    LineageOutbox(path, {"type": "console"}).flush()


STORES = [
    pytest.param(HISTORY_MIGRATIONS, OLD_HISTORY, history_rows, history_write, ["v1"], id="run-history"),
    pytest.param(OUTBOX_MIGRATIONS, OLD_OUTBOX, outbox_rows, outbox_write, ["COMPLETE"], id="lineage-outbox"),
]


def version_of(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return schema_version(conn)


@pytest.mark.parametrize(("steps", "old", "rows", "write", "kept"), STORES)
def test_a_new_database_starts_at_the_latest_version(tmp_path: Path, steps: tuple[str, ...], old: str,
                                                     rows: Callable[[Path], list[str]],
                                                     write: Callable[[Path], None], kept: list[str]) -> None:
    path = tmp_path / "state.sqlite"
    write(path)
    assert version_of(path) == len(steps) >= 1


@pytest.mark.parametrize(("steps", "old", "rows", "write", "kept"), STORES)
def test_a_version_0_database_is_upgraded_in_place_and_keeps_its_rows(
        tmp_path: Path, steps: tuple[str, ...], old: str, rows: Callable[[Path], list[str]],
        write: Callable[[Path], None], kept: list[str]) -> None:
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(old)
    assert version_of(path) == 0
    assert rows(path)[-1:] == kept
    assert version_of(path) == len(steps)


@pytest.mark.parametrize(("steps", "old", "rows", "write", "kept"), STORES)
def test_a_database_from_a_newer_mesh_is_refused_naming_the_file_and_the_fix(
        tmp_path: Path, steps: tuple[str, ...], old: str, rows: Callable[[Path], list[str]],
        write: Callable[[Path], None], kept: list[str]) -> None:
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(old)
        conn.execute(f"PRAGMA user_version = {len(steps) + 1}")
    with pytest.raises(SchemaVersionError) as caught:
        write(path)
    assert caught.value.where == str(path)
    assert f"schema version {len(steps) + 1}, newer than the {len(steps)}" in caught.value.what
    assert "newer mesh version" in caught.value.fix
    assert version_of(path) == len(steps) + 1


def test_steps_run_in_order_in_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    steps = ["CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1);", "ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x';"]
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, path, steps[:1]) == 1
    assert migrate(conn, path, steps) == 2
    assert conn.execute("SELECT a, b FROM t").fetchall() == [(1, "x")]
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, path, [*steps, "CREATE TABLE u (a INTEGER);", "not sql at all;"])
    assert schema_version(conn) == 2  # the failed migration left nothing behind: not even step 3
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'u'").fetchall() == []
