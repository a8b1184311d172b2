"""Property: whatever article the pipeline hands the store reads back equal (both engines)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from ingest.dedup.keys import content_hash
from ingest.model import Article, ArticleRecord, FeedSource
from storage.repository import ArticleQuery, SqlStore, query_articles, sync_feeds

FEED = "https://a.example/rss"
_ids = itertools.count()
# Text as stores hold it: any Unicode but NUL and lone surrogates (not valid in either engine).
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
names = st.lists(text.filter(str.strip), max_size=4)
moments = st.datetimes(
    min_value=datetime(1995, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=st.none() | text,
    body=text,
    authors=names,
    tags=names,
    published=st.none() | moments,
    language=st.none() | st.sampled_from(["en", "de", "ar", "zh"]),
    description=st.none() | text,
)
def test_a_stored_article_reads_back_equal(
    engine: Engine,
    title: str | None,
    body: str,
    authors: list[str],
    tags: list[str],
    published: datetime | None,
    language: str | None,
    description: str | None,
) -> None:
    sync_feeds(engine, [FeedSource(FEED)])
    url = f"https://a.example/story/{next(_ids)}"
    fetched = datetime(2026, 1, 1, 12, 30, 15, 123456, tzinfo=UTC)
    article = Article(
        url=url,
        canonical_url=url,
        title=title,
        text=body,
        authors=authors,
        published_at=published,
        language=language,
        description=description,
        tags=tags,
    )
    record = ArticleRecord(article, url, None, "e", content_hash(body + url), fetched)
    assert SqlStore(engine).save(FEED, [record]).new == 1
    [row] = [r for r in query_articles(engine, ArticleQuery(limit=100_000)) if r["url"] == url]
    assert (row["title"], row["text"], row["authors"], row["tags"]) == (title, body, authors, tags)
    assert (row["language"], row["description"]) == (language, description)
    assert row["published_at"] == published
    assert abs(row["fetched_at"] - fetched) < timedelta(milliseconds=1)
    assert row["word_count"] == len(body.split())
