"""Subscriptions: the consumers told of an asset's new versions, breaking contract changes and
deprecation, each through a notifier of ``[alerts]``.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("asset", sa.String(255), primary_key=True),
        sa.Column("consumer", sa.String(320), primary_key=True),
        sa.Column("notifier", sa.String(255), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("deprecation_notified", sa.String(40)),
        sa.Column("breaking_notified", sa.Text),
    )
