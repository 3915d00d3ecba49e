"""The run history and the lineage outbox: the tables the SQLite files of earlier meshes held.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "updates",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("rows", sa.BigInteger),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(255), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("sent_at", sa.String(40)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("pending", "events", ["seq"], sqlite_where=sa.text("sent_at IS NULL"),
                    postgresql_where=sa.text("sent_at IS NULL"))
