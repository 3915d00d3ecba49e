"""The rest of the shared state: the audit log, the active region, grant requests, and which
files of an older mesh were imported.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_lines",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("start", sa.BigInteger, nullable=False, unique=True),
        sa.Column("line", sa.LargeBinary, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("n", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("line", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "audit_meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "region_switches",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("region", sa.String(255), nullable=False),
        sa.Column("previous", sa.String(255), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "grant_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("product", sa.String(255), nullable=False),
        sa.Column("consumer", sa.String(255), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(320), nullable=False),
        sa.Column("expires", sa.Date, nullable=False),
        sa.Column("approvals", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "legacy_imports",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
