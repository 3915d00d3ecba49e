"""Rows of an older mesh's state files, imported into the state database once.

Meshes before the state database kept the run history and the lineage outbox in SQLite files of
their own (``.mesh/state/history.sqlite``, ``.mesh/state/lineage.sqlite``), and, with a database
named in ``[state]``, the audit log and the active region stay in their files until imported.
Each store imports its file the first time a process uses it: the copy and its record in
``legacy_imports`` are one transaction, so it happens once, whichever process is first. The file
itself is left as it was (a copy an older mesh can still read).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from governance.state.database import StateDatabase, StateError
from governance.state.schema import legacy_imports

_done: set[tuple[str, str]] = set()
_done_lock = threading.Lock()


def insert_new(conn: Connection, table: Table) -> Insert:
    """``INSERT`` that skips rows whose key is already there (on either database)."""
    return insert_new_in(conn.dialect.name, table)


def insert_new_in(dialect: str, table: Table) -> Insert:
    """:func:`insert_new` for the database of the dialect named ``dialect``."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table)


def import_once(database: StateDatabase, kind: str, source: Path, copy: Callable[[Connection], int]) -> None:
    """Run ``copy`` (which writes the rows of ``source`` and returns how many) once for this
    file and database; cheap when ``source`` does not exist or was imported before."""
    marker = (database.url, f"{kind}:{source}")
    if marker in _done or not source.exists():
        return
    with _done_lock:
        if marker in _done:
            return
        name = f"{kind}:" + hashlib.sha256(f"{socket.gethostname()}:{source.resolve()}".encode()).hexdigest()[:32]
        with database.write(lock="legacy-import") as conn:
            if conn.execute(select(legacy_imports.c.name).where(legacy_imports.c.name == name)).first() is None:
                rows = copy(conn)
                conn.execute(insert(legacy_imports).values(
                    name=name, source=str(source), rows=rows,
                    at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")))
        _done.add(marker)


def sqlite_rows(path: Path, query: str) -> list[dict[str, Any]]:
    """The rows of ``query`` in the SQLite file ``path`` (opened read-only); none if its table
    was never made."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(query)]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise _unreadable(path, exc) from None
    except sqlite3.DatabaseError as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: Exception) -> StateError:
    return StateError(f"the state file of an earlier mesh cannot be imported: it is not a readable SQLite database "
                      f"({exc})", where=str(path),
                      fix="move the file aside and run again: its rows are then not imported")
