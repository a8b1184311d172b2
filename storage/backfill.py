"""Backfill progress: which (feed, day) pairs are done, and the raw pages of a day.

A day is recorded per feed and per source, so re-running a backfill skips what finished, and a
failed day is retried alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, and_, select
from sqlalchemy.orm import Session

from ingest.model import unpack_page
from storage.db import read_only
from storage.models import ArticleRow, BackfillDayRow, FeedRow, RawPageRow
from storage.repository import dialect_insert


def finished_days(
    engine: Engine, source: str, feed_urls: Sequence[str], first: date, last: date
) -> set[tuple[str, date]]:
    """The (feed URL, day) pairs of the range already done for this source."""
    with Session(read_only(engine)) as session:
        rows = session.execute(
            select(BackfillDayRow.feed_url, BackfillDayRow.day).where(
                BackfillDayRow.source == source,
                BackfillDayRow.status == "done",
                BackfillDayRow.day >= first,
                BackfillDayRow.day <= last,
                BackfillDayRow.feed_url.in_(list(feed_urls)),
            )
        )
        return {(url, day) for url, day in rows}


def record_day(
    engine: Engine,
    source: str,
    feed_url: str,
    day: date,
    *,
    status: str,
    new: int = 0,
    updated: int = 0,
    failed_pages: int = 0,
) -> None:
    """Record (or overwrite) the outcome of one feed's day."""
    values = {
        "source": source,
        "feed_url": feed_url,
        "day": day,
        "status": status,
        "new": new,
        "updated": updated,
        "failed_pages": failed_pages,
        "finished_at": datetime.now(UTC),
    }
    with Session(engine) as session, session.begin():
        stmt = dialect_insert(session)(BackfillDayRow).values(**values)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[BackfillDayRow.source, BackfillDayRow.feed_url, BackfillDayRow.day],
                set_={
                    k: stmt.excluded[k] for k in values if k not in ("source", "feed_url", "day")
                },
            )
        )


@dataclass(frozen=True, slots=True)
class StoredPage:
    """A stored article's raw page and identity, for re-extraction."""

    article_id: int
    url: str
    canonical_url: str
    link_url: str
    guid: str | None
    entry_hash: str | None
    content_type: str | None
    fetched_at: datetime
    body: bytes


def raw_pages_between(engine: Engine, feed_url: str, day: date) -> Iterator[StoredPage]:
    """Raw pages of one feed's articles published on ``day`` (UTC), one at a time."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    stmt = (
        select(ArticleRow, RawPageRow)
        .join(RawPageRow, RawPageRow.article_id == ArticleRow.id)
        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
        .where(
            and_(
                FeedRow.url == feed_url,
                ArticleRow.published_at >= start,
                ArticleRow.published_at < start + timedelta(days=1),
            )
        )
        .order_by(ArticleRow.id)
    )
    with Session(read_only(engine)) as session:
        for article, raw in session.execute(stmt):
            yield StoredPage(
                article_id=article.id,
                url=raw.url,
                canonical_url=article.canonical_url,
                link_url=article.link_url,
                guid=article.guid,
                entry_hash=article.entry_hash,
                content_type=raw.content_type,
                fetched_at=article.fetched_at,
                body=unpack_page(raw.body),
            )
