"""near-duplicate index and article revisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 06:42:02.955388

Articles already stored are fingerprinted and indexed here so new copies of their stories are
found; their clusters (exact content hash only, before this revision) are kept as they are.

The fingerprint below is a frozen copy of ``ingest.dedup.neardup`` as it was when this revision
was written (version "newsflow-neardup-v1"): a migration must give the same result whatever the
live code becomes. ``tests/test_architecture.py`` checks that the two still agree; a change to
the live parameters needs a new revision that re-indexes every article.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_CHUNK = 500

# --- the v1 fingerprint, frozen (see the module docstring) -------------------------------------
_SHINGLE_WORDS = 4
_MIN_WORDS = 50
_BANDS = 48
_ROWS = 3
_NUM_PERM = _BANDS * _ROWS
_HASH_KEY = b"newsflow-neardup-v1"
_CHUNK = 4096
_NO_SPACE = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
)
_TOKEN = re.compile(rf"[{_NO_SPACE}]|(?:(?![{_NO_SPACE}])[^\W_])+")


def _hash_family() -> tuple[np.ndarray, np.ndarray]:
    a, b = [], []
    for i in range(_NUM_PERM):
        digest = hashlib.blake2b(f"minhash-{i}".encode(), digest_size=16, key=_HASH_KEY).digest()
        a.append(int.from_bytes(digest[:8], "little") | 1)
        b.append(int.from_bytes(digest[8:], "little"))
    return np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64)


def fingerprint_v1(text: str) -> tuple[bytes, int] | None:
    """(signature, shingle count) of a text, or None when it is under 50 words."""
    words = _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())
    if len(words) < _MIN_WORDS:
        return None
    shingles = set()
    for start in range(len(words) - _SHINGLE_WORDS + 1):
        shingle = "\x1f".join(words[start : start + _SHINGLE_WORDS]).encode("utf-8", "replace")
        digest = hashlib.blake2b(shingle, digest_size=4, key=_HASH_KEY).digest()
        shingles.add(int.from_bytes(digest, "little"))
    values = np.fromiter(shingles, dtype=np.uint64)
    mul, add = _hash_family()
    minimums = np.full(_NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        hashed = (mul[:, None] * chunk[None, :] + add[:, None]) >> np.uint64(32)
        minimums = np.minimum(minimums, hashed.min(axis=1))
    return minimums.astype("<u4").tobytes(), len(values)


def band_keys_v1(signature: bytes) -> list[int]:
    """The 48 LSH band keys of a v1 signature, as signed 64-bit integers."""
    width = _ROWS * 4
    return [
        int.from_bytes(
            hashlib.blake2b(
                band.to_bytes(2, "little") + signature[band * width : (band + 1) * width],
                digest_size=8,
                key=_HASH_KEY,
            ).digest(),
            "little",
            signed=True,
        )
        for band in range(_BANDS)
    ]


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
        sa.Column("revised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
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
            fp = fingerprint_v1(text or "")
            if fp is None:
                continue
            signature, shingle_count = fp
            sig_rows.append(
                {"article_id": article_id, "shingle_count": shingle_count, "signature": signature}
            )
            band_rows += [
                {"key": k, "article_id": article_id} for k in set(band_keys_v1(signature))
            ]
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
