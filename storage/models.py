"""The tables newsflow stores, as typed SQLAlchemy 2.0 models.

The schema is documented for people who read the database directly (docs/data-model.md).
Times are UTC. JSON columns hold lists of strings (authors, tags) or small dicts.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
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
    # Of the entries last read, how many pages robots.txt disallows (never requested).
    disallowed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What blocked every page requested the last time pages were requested ("Cloudflare
    # challenge (5 pages)"); null when pages got through.
    blocked_by: Mapped[str | None] = mapped_column(Text)
    # What adaptive polling learned (ingest.feeds.schedule.learn); all NULL until a good read.
    poll_interval_seconds: Mapped[int | None] = mapped_column(Integer)
    entries_per_day: Mapped[float | None] = mapped_column(Float)
    peak_entries_per_day: Mapped[float | None] = mapped_column(Float)
    entries_listed: Mapped[int | None] = mapped_column(Integer)
    rate_learned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
    # Set by database triggers (migration 0004) on insert and whenever an exported column
    # changes, from change_counters; never written by the code. See storage.export.
    change_seq: Mapped[int | None] = mapped_column(BigInteger, index=True, unique=True)
    # What the page declares: true paywalled, false free, null nothing (ingest.extract.paywall).
    paywalled: Mapped[bool | None] = mapped_column(Boolean)


class RawPageRow(Base):
    """The page bytes an article was extracted from, compressed (``ingest.model.pack_page``)."""

    __tablename__ = "raw_pages"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class ArticleSignatureRow(Base):
    """An article's MinHash signature (``ingest.dedup.neardup``), to verify near-duplicates."""

    __tablename__ = "article_signatures"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    shingle_count: Mapped[int] = mapped_column(Integer)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class ArticleBandRow(Base):
    """One LSH band key of an article. The band number is hashed into the key, so one index on
    ``key`` (the primary key's first column) finds every article sharing any band."""

    __tablename__ = "article_bands"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ArticleRevisionRow(Base):
    """An earlier version of an article, kept when a later fetch brought a changed text."""

    __tablename__ = "article_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    revised_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when this version was replaced
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when this version was fetched
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    diff_summary: Mapped[str] = mapped_column(Text)  # how the next version differs from this one


class LeaseRow(Base):
    """Which run holds a named piece of work (``feed:<url>``), until when (storage.leases)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(2100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BackfillDayRow(Base):
    """The outcome of one feed's day in a backfill, so a re-run skips finished days."""

    __tablename__ = "backfill_days"
    __table_args__ = (UniqueConstraint("source", "feed_url", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # sitemap | archive | reprocess
    feed_url: Mapped[str] = mapped_column(String(2048))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # done | failed
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    failed_pages: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WarcFileRow(Base):
    """How far a WARC backfill got through one file, for one selection (storage.warc_files)."""

    __tablename__ = "warc_files"
    __table_args__ = (UniqueConstraint("url", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # ccnews | warc
    url: Mapped[str] = mapped_column(String(2048))  # the file's URL or absolute path
    scope: Mapped[str] = mapped_column(String(64))  # hash of the sites and days it was read for
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # running | done | failed
    records: Mapped[int] = mapped_column(Integer, default=0)
    kept: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    out_of_range: Mapped[int] = mapped_column(Integer, default=0)
    failed_pages: Mapped[int] = mapped_column(Integer, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    resume_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FeedHealthRow(Base):
    """One run's extraction health for a feed (storage.health, ingest.health)."""

    __tablename__ = "feed_health"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    extracted: Mapped[int] = mapped_column(Integer)
    with_date: Mapped[int] = mapped_column(Integer)
    with_author: Mapped[int] = mapped_column(Integer)
    long_body: Mapped[int] = mapped_column(Integer)


class ChangeCounterRow(Base):
    """The last change position handed out for a table (``articles``), by database triggers."""

    __tablename__ = "change_counters"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ExportWatermarkRow(Base):
    """How far a named consumer of ``newsflow export --since-last NAME`` has exported."""

    __tablename__ = "export_watermarks"

    consumer: Mapped[str] = mapped_column(String(200), primary_key=True)
    change_seq: Mapped[int] = mapped_column(BigInteger)  # the last change exported
    exported_rows: Mapped[int] = mapped_column(Integer)  # articles in the last export
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RobotsTxtRow(Base):
    """An origin's robots.txt as last fetched, trusted for 24 hours (ingest.fetch.robots)."""

    __tablename__ = "robots_txt"

    origin: Mapped[str] = mapped_column(String(300), primary_key=True)  # scheme://host[:port]
    status: Mapped[int] = mapped_column(Integer)  # HTTP status of the answer (2xx or 4xx)
    body: Mapped[str] = mapped_column(Text)  # the file (first 500 KiB); empty unless 2xx
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HostPauseRow(Base):
    """A host that asked (429/503 with Retry-After) not to be requested before a time."""

    __tablename__ = "host_pauses"

    host: Mapped[str] = mapped_column(String(300), primary_key=True)  # host[:port]
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
