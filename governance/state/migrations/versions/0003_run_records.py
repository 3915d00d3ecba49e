"""Operations: a record of every run of an asset (start, end, outcome), and the last operational
state each asset was seen in (so a state change is signalled once).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.String(64)),
        sa.Column("error", sa.Text),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("ended_at", sa.String(40)),
    )
    op.create_index("runs_by_asset", "runs", ["key", "started_at"])
    op.create_index("runs_by_status", "runs", ["status", "started_at"])
    op.create_table(
        "ops_states",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("predicted", sa.Boolean, nullable=False),
        sa.Column("since", sa.String(40), nullable=False),
    )
