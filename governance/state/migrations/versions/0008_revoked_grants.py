"""Revoked grants are kept (id, nonce, when, by whom), so a revoked grant's entry pasted back
into mesh.toml grants nothing; grant requests keep the nonce their approvals are signed over.
A request pending before this revision gets a fresh nonce (its approvals, signed over the old
payload without one, count for nothing: its approvers approve again).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revoked_grants",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("product", sa.String(255), nullable=False),
        sa.Column("consumer", sa.String(255), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=False),
        sa.Column("revoked_by", sa.String(320), nullable=False),
    )
    with op.batch_alter_table("grant_requests") as batch:
        batch.add_column(sa.Column("nonce", sa.String(64), nullable=False, server_default=""))
    requests = sa.table("grant_requests", sa.column("id", sa.String), sa.column("nonce", sa.String))
    conn = op.get_bind()
    for (grant_id,) in conn.execute(sa.select(requests.c.id).where(requests.c.nonce == "")).all():
        conn.execute(sa.update(requests).where(requests.c.id == grant_id).values(nonce=secrets.token_hex(16)))
