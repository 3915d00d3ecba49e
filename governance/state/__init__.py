"""The mesh's shared state in a database: the run history, the lineage outbox and, when
``[state] url`` names a database, the audit log, the active region and grant requests too.

Public API: :func:`state_database` (the database of a policy), :class:`StateDatabase` and its
errors. The tables are in :mod:`governance.state.schema`; their history, as Alembic
migrations, in :mod:`governance.state.revisions`.
"""

from governance.state.database import SchemaVersionError, StateDatabase, StateError
from governance.state.settings import DEFAULT_FILE, state_database

__all__ = ["DEFAULT_FILE", "SchemaVersionError", "StateDatabase", "StateError", "state_database"]
