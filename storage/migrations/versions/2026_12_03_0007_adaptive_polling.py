"""what adaptive polling learns of each feed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 10:00:00.000000

Five nullable columns on ``feeds`` (ingest.feeds.schedule.learn): the learned interval, the
mean and peak rates of new entries, how many entries the feed lists, and when they were
learned. NULL until the feed's next good read, which starts learning from its entries.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("poll_interval_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("entries_per_day", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("peak_entries_per_day", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("entries_listed", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rate_learned_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("rate_learned_at")
        batch_op.drop_column("entries_listed")
        batch_op.drop_column("peak_entries_per_day")
        batch_op.drop_column("entries_per_day")
        batch_op.drop_column("poll_interval_seconds")
