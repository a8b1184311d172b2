"""Adaptive polling through the real pipeline: a feed on a loopback server read over several
scheduled runs (injected clock), each outcome recorded and read back as the ingest flow does.

The decision itself is tested case by case in ``test_schedule.py``; this checks what reaches
it: the entries a read listed, how many were new (against the store), their dates, and that the
learned cadence is stored and comes back for the next run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from faultbatch import HTTP
from loopback import LoopbackServer, SeenRequest, reply

from ingest.fetch.client import Fetcher
from ingest.model import Cadence, FeedSource, FeedStatus
from ingest.pipeline import PipelineConfig, process_feed
from storage.db import ensure_schema, make_engine
from storage.outcomes import record_outcome
from storage.repository import SqlStore, feed_states, sync_feeds

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
CONFIG = PipelineConfig()  # base 15 min, learned within 5 and 60 min
LISTED = 10


class GrowingFeed:
    """An RSS feed listing its newest ``LISTED`` entries, one published an hour before the next;
    ETag per version, and 304 to a client that has it."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.published = 0
        server.routes["/feed.xml"] = self.serve

    def publish(self, count: int) -> None:
        for _ in range(count):
            self.published += 1
            page = f"<html><head><title>Story {self.published}</title></head><body><p>"
            page += f"Story number {self.published} of the growing feed, told at length. " * 20
            self.server.routes[f"/story/{self.published}.html"] = reply(
                200, [("Content-Type", "text/html")], (page + "</p></body></html>").encode()
            )

    async def serve(self, request: SeenRequest, writer: asyncio.StreamWriter) -> None:
        etag = f'"v{self.published}"'
        if request.headers.get("if-none-match") == etag:
            await reply(304, [("ETag", etag)])(request, writer)
            return
        newest = range(self.published, max(0, self.published - LISTED), -1)
        items = "".join(
            f"<item><title>Story {n}</title><link>{self.server.url(f'/story/{n}.html')}</link>"
            f"<pubDate>{format_datetime(T0 - (self.published - n) * HOUR)}</pubDate></item>"
            for n in newest
        )
        body = f'<rss version="2.0"><channel><title>G</title>{items}</channel></rss>'
        headers = [("Content-Type", "application/rss+xml"), ("ETag", etag)]
        await reply(200, headers, body.encode())(request, writer)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    engine = make_engine(f"sqlite:///{tmp_path / 'newsflow.db'}")
    ensure_schema(engine)
    yield SqlStore(engine)
    engine.dispose()


async def scheduled_run(url: str, store: SqlStore, fetcher: Fetcher, at: datetime) -> Cadence:
    """One run of one feed, recorded as the flow records it; what the store then remembers."""
    state = feed_states(store.engine, [url])[url]
    result = await process_feed(
        FeedSource(url), state, fetcher=fetcher, store=store, config=CONFIG, now=lambda: at
    )
    assert result.update is not None and result.update.cadence is not None, result
    record_outcome(store.engine, [result])
    stored = feed_states(store.engine, [url])[url]
    assert stored.cadence == result.update.cadence
    assert stored.next_fetch_at == at + stored.cadence.interval  # no <ttl>, no Cache-Control
    return stored.cadence


@pytest.mark.anyio
async def test_a_feed_is_read_as_often_as_it_publishes(store: SqlStore) -> None:
    async with LoopbackServer() as server, Fetcher(HTTP) as fetcher:
        feed = GrowingFeed(server)
        url = server.url("/feed.xml")
        sync_feeds(store.engine, [FeedSource(url)])
        feed.publish(12)

        # First read: 10 entries dated an hour apart, 24 a day; one per read is an hour.
        first = await scheduled_run(url, store, fetcher, T0)
        assert (first.entries_per_day, first.listed) == (pytest.approx(24.0), LISTED)
        assert first.interval == HOUR

        # An hour later 6 of the 10 listed are new: fewer than half seen, back to the base.
        # The peak is what 6 new entries in an hour say, less one: 5 an hour.
        feed.publish(6)
        second = await scheduled_run(url, store, fetcher, T0 + HOUR)
        assert second.interval == CONFIG.base_interval
        assert second.peak_per_day == pytest.approx(5 * 24)
        assert second.listed == LISTED

        # Nothing new: the server answers 304, which still teaches (learned_at moves on) and
        # keeps what the feed lists.
        at = T0 + HOUR + second.interval
        state = feed_states(store.engine, [url])[url]
        result = await process_feed(
            FeedSource(url), state, fetcher=fetcher, store=store, config=CONFIG, now=lambda: at
        )
        assert result.status is FeedStatus.NOT_MODIFIED
        record_outcome(store.engine, [result])
        third = feed_states(store.engine, [url])[url].cadence
        assert third is not None
        assert (third.learned_at, third.listed) == (at, LISTED)
        assert third.entries_per_day < second.entries_per_day
        assert CONFIG.min_interval <= third.interval <= CONFIG.max_interval
