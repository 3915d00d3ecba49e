"""The schema revisions of the state database, and how a database is brought to the newest.

The steps are Alembic migrations in ``governance/state/migrations/versions``, one file per
revision, oldest first: never edit a released one, add the next. :func:`upgrade` runs on the
connection (and inside the transaction) the caller holds, which also holds the lock that makes
two processes migrate one database once. The revision is recorded in ``mesh_state_version``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, inspect, text

#: Every revision, oldest first; the last is the one this code reads and writes.
REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008")
HEAD = REVISIONS[-1]
#: The table Alembic records the revision in (not ``alembic_version``: Airflow's own).
VERSION_TABLE = "mesh_state_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at; ``None`` for a new, empty one."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    row = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).first()
    return None if row is None else str(row[0])


def upgrade(conn: Connection, to: str = HEAD) -> None:
    """Apply the migrations up to revision ``to`` on ``conn``, in its open transaction."""
    from alembic import (
        command,  # only when a database needs it: importing Alembic takes time
    )
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, to)
