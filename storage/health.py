"""Per-run extraction health of each feed, kept so a sharp drop can be noticed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ingest.health import HealthCounts
from storage.db import read_only
from storage.models import FeedHealthRow, FeedRow

#: How many earlier runs a feed's recent health pools.
RECENT_RUNS = 5


def record_health(engine: Engine, feed_url: str, at: datetime, counts: HealthCounts) -> None:
    """Keep this run's counts for the feed (runs that extracted nothing are not kept)."""
    if counts.extracted == 0:
        return
    with Session(engine) as session, session.begin():
        feed_id = session.scalar(select(FeedRow.id).where(FeedRow.url == feed_url))
        if feed_id is None:
            return
        session.add(
            FeedHealthRow(
                feed_id=feed_id,
                recorded_at=at,
                extracted=counts.extracted,
                with_date=counts.with_date,
                with_author=counts.with_author,
                long_body=counts.long_body,
            )
        )


def recent_health(engine: Engine, feed_url: str, runs: int = RECENT_RUNS) -> HealthCounts:
    """The pooled counts of the feed's last ``runs`` recorded runs."""
    stmt = (
        select(FeedHealthRow)
        .join(FeedRow, FeedRow.id == FeedHealthRow.feed_id)
        .where(FeedRow.url == feed_url)
        .order_by(FeedHealthRow.recorded_at.desc(), FeedHealthRow.id.desc())
        .limit(runs)
    )
    total = HealthCounts()
    with Session(read_only(engine)) as session:
        for row in session.scalars(stmt):
            total += HealthCounts(row.extracted, row.with_date, row.with_author, row.long_body)
    return total
