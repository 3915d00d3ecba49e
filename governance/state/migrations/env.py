"""Alembic's entry point for the state database: migrations run on the connection the mesh
hands over (``config.attributes["connection"]``), inside the transaction it already holds,
recording the revision in ``mesh_state_version`` (never Airflow's ``alembic_version``, in case
both share a database)."""

from __future__ import annotations

from alembic import context

from governance.state.revisions import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
