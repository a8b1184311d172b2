"""leases, backfill days and feed health

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 07:25:07.709370
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backfill_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("feed_url", sa.String(length=2048), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("failed_pages", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfill_days")),
        sa.UniqueConstraint("source", "feed_url", "day", name=op.f("uq_backfill_days_source")),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=2100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "feed_health",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("extracted", sa.Integer(), nullable=False),
        sa.Column("with_date", sa.Integer(), nullable=False),
        sa.Column("with_author", sa.Integer(), nullable=False),
        sa.Column("long_body", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name=op.f("fk_feed_health_feed_id_feeds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_health")),
    )
    with op.batch_alter_table("feed_health", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_health_feed_id"), ["feed_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feed_health", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_health_feed_id"))

    op.drop_table("feed_health")
    op.drop_table("leases")
    op.drop_table("backfill_days")
