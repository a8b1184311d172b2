"""The tables newsflow stores, as typed SQLAlchemy 2.0 models.

The schema is documented for people who read the database directly (README, "Data model").
Times are UTC. JSON columns hold lists of strings (authors, tags) or small dicts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import JSONType, UTCDateTime

# Alembic's recommended naming convention, so constraints can be altered later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class FeedRow(Base):
    """A feed and its fetch state (validators, health, schedule)."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str | None] = mapped_column(String(500))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(200))
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ArticleRow(Base):
    """One stored article: one row per outlet's copy of a story."""

    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_published_at", "published_at"),
        Index("ix_articles_fetched_at", "fetched_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(Text)  # the URL the page was fetched from
    link_url: Mapped[str] = mapped_column(String(2048), index=True)  # canonical feed link
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    guid: Mapped[str | None] = mapped_column(Text)
    entry_hash: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSONType, default=list)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_raw: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(8))
    description: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    site_name: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text, default="")
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    cluster_id: Mapped[int | None] = mapped_column(Integer, index=True)
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    sources: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RawPageRow(Base):
    """The page bytes an article was extracted from, zlib-compressed, for re-extraction."""

    __tablename__ = "raw_pages"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[bytes] = mapped_column(LargeBinary)
