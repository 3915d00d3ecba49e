"""Run records name the partition they ran (``None``: an unpartitioned asset), so a partitioned
asset's failed partition is named and its partitions' last runs are found per partition.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("partition", sa.String(255)))
    op.create_index("runs_by_partition", "runs", ["partition", "key", "ended_at"])
