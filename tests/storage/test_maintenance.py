"""Maintenance on SQLite and PostgreSQL: old raw pages go, articles stay, the engine tidies up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from ingest.dedup.keys import content_hash
from ingest.model import Article, ArticleRecord, FeedSource, RawPage
from storage.maintenance import optimize, prune_raw_pages, raw_page_count
from storage.repository import ArticleQuery, SqlStore, query_articles, raw_page, sync_feeds

FEED = "https://a.example/rss"
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _record(n: int, fetched: datetime) -> ArticleRecord:
    url = f"https://a.example/{n}"
    text = f"story number {n} " * 20
    return ArticleRecord(
        Article(url=url, canonical_url=url, title=str(n), text=text),
        url,
        None,
        "e",
        content_hash(text),
        fetched,
        RawPage.of(url, "text/html", f"<p>{text}</p>".encode()),
    )


def test_prune_removes_only_old_raw_pages_and_keeps_articles(engine: Engine) -> None:
    sync_feeds(engine, [FeedSource(FEED)])
    old = [_record(n, NOW - timedelta(days=100)) for n in range(3)]
    new = [_record(n, NOW - timedelta(days=1)) for n in range(3, 5)]
    SqlStore(engine).save(FEED, old + new)
    assert prune_raw_pages(engine, NOW - timedelta(days=90), batch=2) == 3
    assert raw_page_count(engine) == 2
    rows = {r["url"]: r["id"] for r in query_articles(engine, ArticleQuery())}
    assert len(rows) == 5  # articles stay
    assert raw_page(engine, rows["https://a.example/0"]) is None
    assert raw_page(engine, rows["https://a.example/4"]) is not None
    assert prune_raw_pages(engine, NOW - timedelta(days=90)) == 0
    assert optimize(engine)  # VACUUM / ANALYZE run without a transaction error
