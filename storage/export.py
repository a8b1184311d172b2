"""Incremental export: the articles changed since a consumer's last export, and its watermark.

Every insert of an article, and every change to a column the export writes, gives the article
a new *change position* (``articles.change_seq``), set by a database trigger from the counter
``change_counters('articles')`` (migration 0004). A consumer's watermark
(``export_watermarks``) is the last position it exported; its next export reads the positions
after it.

Why a counter row and not a Postgres sequence: a sequence hands out 11 to one writer and 12 to
another, and 12 may commit first; an export running in between would take 12 as its watermark
and never see 11. The trigger increments a row instead, whose lock is held until the writer
commits, so positions become visible in the order they were handed out and everything at or
below a committed position is committed. SQLite writers are serialized by ``BEGIN IMMEDIATE``.

An export is a *window*: the positions after the watermark up to the newest one committed when
it starts. It is read in short transactions of :data:`EXPORT_BATCH` rows (in position order), so
a long export holds no lock while its file is written. An article changed again during the
export leaves the window and comes in the next export (if this one had already read its earlier
version, both appear, the later one in the later file: at-least-once, never lost).

The caller moves the watermark (:func:`advance_watermark`) only once its file is in place: a
crash in between exports those rows again next time. Deleted articles are not reported
(newsflow never deletes articles).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ingest.errors import ConfigError
from ingest.model import unpack_page
from storage.models import ArticleRow, ExportWatermarkRow, FeedRow, RawPageRow
from storage.repository import article_dict, dialect_insert

#: Rows read per transaction.
EXPORT_BATCH = 1000
CONSUMER_MAX_CHARS = 200


@dataclass(frozen=True, slots=True)
class ExportWindow:
    """The change positions one export covers: ``after < change_seq <= upto``."""

    consumer: str | None  # None: a one-off export of everything, no watermark
    after: int
    upto: int


def open_window(engine: Engine, consumer: str | None) -> ExportWindow:
    """The window after ``consumer``'s watermark (everything for None), up to the newest change."""
    if consumer is not None and not 0 < len(consumer.strip()) <= CONSUMER_MAX_CHARS:
        raise ConfigError(f"a consumer name must have 1 to {CONSUMER_MAX_CHARS} characters")
    with Session(engine) as session:
        newest = session.scalar(select(func.max(ArticleRow.change_seq))) or 0
    after = (watermark(engine, consumer) or 0) if consumer is not None else 0
    return ExportWindow(consumer, after, max(newest, after))


def read_window(
    engine: Engine, window: ExportWindow, *, batch: int = EXPORT_BATCH
) -> Iterator[dict[str, Any]]:
    """The window's articles as ``query_articles`` dicts, oldest change first."""
    last = window.after
    while last < window.upto:
        with Session(engine) as session:
            rows = session.execute(
                select(ArticleRow, FeedRow.url)
                .outerjoin(FeedRow, FeedRow.id == ArticleRow.feed_id)
                .where(ArticleRow.change_seq > last, ArticleRow.change_seq <= window.upto)
                .order_by(ArticleRow.change_seq)
                .limit(batch)
            ).all()
            if not rows:
                return
            last = int(rows[-1][0].change_seq or window.upto)
            chunk = [article_dict(row, feed_url) for row, feed_url in rows]
        yield from chunk


@dataclass(frozen=True, slots=True)
class ExportedPage:
    """A stored raw page of an article in an export window (``--format warc``)."""

    article_id: int
    url: str
    content_type: str | None
    fetched_at: datetime
    body: bytes


def read_raw_window(
    engine: Engine, window: ExportWindow, *, batch: int = EXPORT_BATCH
) -> Iterator[ExportedPage]:
    """The raw pages of the window's articles, oldest change first (articles with none are
    skipped: pruned, or carried whole by their feed)."""
    last = window.after
    while last < window.upto:
        with Session(engine) as session:
            rows = session.execute(
                select(ArticleRow.change_seq, RawPageRow)
                .join(RawPageRow, RawPageRow.article_id == ArticleRow.id)
                .where(ArticleRow.change_seq > last, ArticleRow.change_seq <= window.upto)
                .order_by(ArticleRow.change_seq)
                .limit(batch)
            ).all()
            if not rows:
                return
            last = int(rows[-1][0] or window.upto)
            chunk = [
                ExportedPage(
                    raw.article_id,
                    raw.url,
                    raw.content_type,
                    raw.fetched_at,
                    unpack_page(raw.body),
                )
                for _, raw in rows
            ]
        yield from chunk


def advance_watermark(engine: Engine, window: ExportWindow, rows: int) -> None:
    """Record that ``window.consumer`` has exported up to ``window.upto``; never moves back."""
    if window.consumer is None:
        return
    with Session(engine) as session, session.begin():
        stmt = dialect_insert(session)(ExportWatermarkRow).values(
            consumer=window.consumer,
            change_seq=window.upto,
            exported_rows=rows,
            exported_at=datetime.now(UTC),
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[ExportWatermarkRow.consumer],
                set_={
                    "change_seq": stmt.excluded.change_seq,
                    "exported_rows": stmt.excluded.exported_rows,
                    "exported_at": stmt.excluded.exported_at,
                },
                # two overlapping exports for one consumer: the later window wins
                where=ExportWatermarkRow.change_seq <= stmt.excluded.change_seq,
            )
        )


def watermark(engine: Engine, consumer: str) -> int | None:
    """The last change position ``consumer`` exported; None when it never exported."""
    with Session(engine) as session:
        return session.scalar(
            select(ExportWatermarkRow.change_seq).where(ExportWatermarkRow.consumer == consumer)
        )
