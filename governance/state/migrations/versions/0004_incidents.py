"""Alerts: the incidents (one open per condition of one subject) and the outbox of their
notifications, each re-sent with back-off until its notifier takes it.

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("domain", sa.String(255)),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("route", sa.String(255)),
        sa.Column("routes", sa.Text, nullable=False),
        sa.Column("fired", sa.Integer, nullable=False, server_default="1"),
        sa.Column("opened_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("notified_at", sa.String(40), nullable=False),
        sa.Column("acked_at", sa.String(40)),
        sa.Column("acked_by", sa.String(320)),
        sa.Column("resolved_at", sa.String(40)),
    )
    op.create_index("open_incident", "incidents", ["key"], unique=True,
                    sqlite_where=sa.text("resolved_at IS NULL"), postgresql_where=sa.text("resolved_at IS NULL"))
    op.create_table(
        "notifications",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident", sa.Integer, nullable=False),
        sa.Column("notifier", sa.String(255), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("sent_at", sa.String(40)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("next_attempt_at", sa.String(40)),
    )
