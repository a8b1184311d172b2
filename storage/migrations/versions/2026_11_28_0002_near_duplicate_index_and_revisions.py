"""near-duplicate index and article revisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 06:42:02.955388

Articles already stored are fingerprinted and indexed here so new copies of their stories are
found; their clusters (exact content hash only, before this revision) are kept as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types
from ingest.dedup.neardup import band_keys, fingerprint

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_CHUNK = 500


def upgrade() -> None:
    op.create_table(
        "article_bands",
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_bands_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "article_id", name=op.f("pk_article_bands")),
    )
    with op.batch_alter_table("article_bands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_bands_article_id"), ["article_id"], unique=False
        )

    op.create_table(
        "article_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("revised_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("diff_summary", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_revisions_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_revisions")),
    )
    with op.batch_alter_table("article_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_revisions_article_id"), ["article_id"], unique=False
        )

    op.create_table(
        "article_signatures",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("shingle_count", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_signatures_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_signatures")),
    )
    _index_stored_articles()


def _index_stored_articles() -> None:
    """Fingerprint every stored article, in chunks so memory stays flat."""
    conn = op.get_bind()
    articles = sa.table("articles", sa.column("id", sa.Integer), sa.column("text", sa.Text))
    signatures = sa.table(
        "article_signatures",
        sa.column("article_id", sa.Integer),
        sa.column("shingle_count", sa.Integer),
        sa.column("signature", sa.LargeBinary),
    )
    bands = sa.table(
        "article_bands", sa.column("key", sa.BigInteger), sa.column("article_id", sa.Integer)
    )
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(articles.c.id, articles.c.text)
            .where(articles.c.id > last_id)
            .order_by(articles.c.id)
            .limit(_BACKFILL_CHUNK)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        sig_rows, band_rows = [], []
        for article_id, text in rows:
            fp = fingerprint(text or "")
            if fp is None:
                continue
            sig_rows.append(
                {
                    "article_id": article_id,
                    "shingle_count": fp.shingle_count,
                    "signature": fp.signature,
                }
            )
            band_rows += [{"key": k, "article_id": article_id} for k in set(band_keys(fp))]
        if sig_rows:
            conn.execute(signatures.insert(), sig_rows)
            conn.execute(bands.insert(), band_rows)


def downgrade() -> None:
    op.drop_table("article_signatures")
    with op.batch_alter_table("article_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_revisions_article_id"))
    op.drop_table("article_revisions")
    with op.batch_alter_table("article_bands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_bands_article_id"))
    op.drop_table("article_bands")
