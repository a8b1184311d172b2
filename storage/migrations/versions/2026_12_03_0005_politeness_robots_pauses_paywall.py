"""politeness: robots.txt cache, host pauses, paywall flag, disallowed and blocked pages

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 10:00:00.000000

Issue #14. ``robots_txt`` keeps each origin's robots.txt for 24 hours (ingest.fetch.robots);
``host_pauses`` keeps the pauses hosts asked for with 429/503 and Retry-After, so the next run
honours them. ``articles.paywalled`` is what the page declares (true, false, null);
``feeds.disallowed`` and ``feeds.blocked_by`` say what ``newsflow feeds list`` shows of the
feed's last read pages.

``paywalled`` is written by ``newsflow export``, so a change to it gives the article a new
change position: the update trigger of migration 0004 is made again with it in its list.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Migration 0004's frozen list of exported columns, and this migration's (paywalled added).
_EXPORTED_0004 = (
    "feed_id",
    "url",
    "canonical_url",
    "guid",
    "title",
    "authors",
    "published_at",
    "updated_at",
    "language",
    "description",
    "image_url",
    "tags",
    "site_name",
    "text",
    "word_count",
    "content_hash",
    "cluster_id",
    "duplicate_of",
    "fetched_at",
)
_EXPORTED = (*_EXPORTED_0004, "paywalled")

_SQLITE_BUMP = """
    INSERT INTO change_counters (name, value) VALUES ('articles', 1)
        ON CONFLICT (name) DO UPDATE SET value = value + 1;
    UPDATE articles SET change_seq = (SELECT value FROM change_counters WHERE name = 'articles')
        WHERE id = NEW.id;
"""


def upgrade() -> None:
    op.create_table(
        "robots_txt",
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_robots_txt")),
    )
    op.create_table(
        "host_pauses",
        sa.Column("host", sa.String(length=300), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_host_pauses")),
    )
    op.add_column("articles", sa.Column("paywalled", sa.Boolean(), nullable=True))
    op.add_column(
        "feeds", sa.Column("disallowed", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("feeds", sa.Column("blocked_by", sa.Text(), nullable=True))
    _change_trigger(_EXPORTED)


def downgrade() -> None:
    _change_trigger(_EXPORTED_0004)
    # Not batch mode: rebuilding `articles` on SQLite would cascade-delete its raw pages.
    op.drop_column("feeds", "blocked_by")
    op.drop_column("feeds", "disallowed")
    op.drop_column("articles", "paywalled")
    op.drop_table("host_pauses")
    op.drop_table("robots_txt")


def _change_trigger(columns: Sequence[str]) -> None:
    """Make the articles update trigger of migration 0004 again, watching ``columns``."""
    if op.get_bind().dialect.name == "postgresql":
        changed = f"({', '.join(f'OLD.{c}' for c in columns)}) IS DISTINCT FROM " + (
            f"({', '.join(f'NEW.{c}' for c in columns)})"
        )
        op.execute("DROP TRIGGER IF EXISTS articles_change_update ON articles")
        op.execute(
            f"CREATE TRIGGER articles_change_update BEFORE UPDATE ON articles "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION newsflow_article_changed()"
        )
        return
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    op.execute("DROP TRIGGER IF EXISTS articles_change_update")
    op.execute(
        f"CREATE TRIGGER articles_change_update AFTER UPDATE ON articles WHEN {changed} "
        f"BEGIN {_SQLITE_BUMP} END"
    )
