"""Versioned schemas of the mesh's SQLite state (run history, lineage outbox).

A store declares its schema as a list of steps, oldest first; step ``n`` (1-based) brings a
database from version ``n - 1`` to ``n``. :func:`migrate` applies the missing steps in order in
one transaction and records the version in ``PRAGMA user_version``, so an existing
``.mesh/state`` upgrades in place, and two processes opening it at once migrate it once.

Rules for a step: never edit a released one, append a new one. Version 0 is a database
written before versions were recorded (or a new, empty file): step 1 must work on both, so it
uses ``CREATE ... IF NOT EXISTS``. A database newer than the code is refused, never written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from assets.errors import MeshError

__all__ = ["SchemaVersionError", "migrate", "schema_version"]


class SchemaVersionError(MeshError):
    """A state database was written by a newer version of the mesh than this one."""


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: Path, steps: Sequence[str]) -> int:
    """Bring the database of ``conn`` (the file ``path``) to version ``len(steps)``; returns it.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Raises
    :class:`SchemaVersionError` for a database newer than ``steps``.
    """
    latest = len(steps)
    if _check(conn, path, latest) == latest:
        return latest
    conn.execute("BEGIN IMMEDIATE")  # one migrator at a time; the others wait, then find it done
    try:
        for number in range(_check(conn, path, latest), latest):
            for statement in _statements(steps[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return latest


def _check(conn: sqlite3.Connection, path: Path, latest: int) -> int:
    version = schema_version(conn)
    if version > latest:
        raise SchemaVersionError(
            f"the database has schema version {version}, newer than the {latest} this mesh knows",
            where=str(path),
            fix="run the newer mesh version that wrote it (uv sync in an up-to-date checkout); or, to start "
                "this store afresh and lose its rows, move the file aside")
    return version


def _statements(script: str) -> list[str]:
    """Split ``script`` into complete SQL statements (``executescript`` would commit first)."""
    statements, current = [], ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n\t;"):
                statements.append(current.strip())
            current = ""
    if current.strip(" \n\t;"):
        statements.append(current.strip())
    return statements
