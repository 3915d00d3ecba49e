"""Prepared statements (governance.state.prepared): on SQLite the driver runs the SQL SQLAlchemy
compiled once; the rows, counts and errors are those SQLAlchemy gives, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import bindparam, select, update

from governance.state import StateDatabase, StateError
from governance.state.legacy import insert_new_in
from governance.state.prepared import Prepared
from governance.state.schema import events, runs
from tests.governance.test_ops_freshness import database_of_kind


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> StateDatabase:
    return database_of_kind(request, tmp_path)


_RUN = {"key": "a.x", "run_id": "r1", "source": "engine", "status": "running", "started_at": "2026-11-01T00:00:00.000+00:00"}


def test_prepared_statements_give_the_rows_and_counts_sqlalchemy_gives(any_database: StateDatabase) -> None:
    insert = Prepared(runs.insert())
    end = Prepared(update(runs).where(runs.c.run_id == bindparam("b_run"), runs.c.status == "running"))
    among = Prepared(select(runs.c.key, runs.c.status).where(runs.c.key.in_(bindparam("keys", expanding=True)))
                     .order_by(runs.c.key))
    event = Prepared(lambda dialect: insert_new_in(dialect, events).returning(events.c.seq))
    with any_database.write() as conn:
        insert.execute(conn, _RUN)
        insert.execute(conn, {**_RUN, "key": "a.y", "partition": "2026-11-01"})  # other columns
        assert end.execute(conn, {"b_run": "r1", "status": "materialized"}).rowcount == 2
        assert end.execute(conn, {"b_run": "r1", "status": "error"}).rowcount == 0  # none is running any more
        assert among.execute(conn, {"keys": ["a.y", "a.x", "a.z"]}).rows == [("a.x", "materialized"),
                                                                              ("a.y", "materialized")]
        assert among.execute(conn, {"keys": ["a.x"]}).scalars() == ["a.x"]  # another length of the list
        assert among.execute(conn, {"keys": []}).rows == []
        first = event.execute(conn, {"id": "e1", "body": "{}", "created_at": "t"}).first()
        assert first is not None and first[0] >= 1
        assert event.execute(conn, {"id": "e1", "body": "{}", "created_at": "t"}).first() is None  # there already
        assert [tuple(r) for r in conn.execute(select(runs.c.key, runs.c.partition).order_by(runs.c.key))] == [
            ("a.x", None), ("a.y", "2026-11-01")]


def test_a_driver_error_of_a_prepared_statement_is_the_state_databases_error(tmp_path: Path) -> None:
    database = StateDatabase(f"sqlite:///{tmp_path / 'state.db'}", where="state.db")
    insert = Prepared(runs.insert())
    with pytest.raises(StateError, match="NOT NULL"), database.write() as conn:
        insert.execute(conn, {**_RUN, "source": None})
    with database.read() as conn:
        assert conn.execute(select(runs)).all() == []  # the transaction was rolled back
