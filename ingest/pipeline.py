"""One feed through every stage: fetch, parse, skip what is known, fetch pages, extract, store.

This module only composes the stages; each stage is a plain function tested on its own. The
store is anything with the :class:`ArticleStore` methods (``storage.repository.SqlStore``), so
this package never imports the storage layer or Prefect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ingest.dedup.keys import content_hash, entry_hash, linkless_key
from ingest.errors import (
    ExtractError,
    FetchError,
    IngestError,
    ParseError,
    PermanentFetchError,
    RateLimitedError,
    TransientFetchError,
)
from ingest.extract import html_to_text
from ingest.feeds import schedule
from ingest.feeds.parse import discover_feed_links, parse_feed
from ingest.fetch.client import Fetcher
from ingest.model import (
    Article,
    ArticleRecord,
    FeedEntry,
    FeedSource,
    FeedState,
    FetchResult,
    ParsedFeed,
    SaveCounts,
    Validators,
)
from ingest.prepare import PageWorkers
from ingest.urls import canonicalize_url

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
#: Where pages are prepared when the caller names no PageWorkers: threads of this process.
IN_THREADS = PageWorkers(0)


class ArticleStore(Protocol):
    """What the pipeline needs from storage (sync; called from a worker thread)."""

    def known(self, link_urls: Sequence[str]) -> dict[str, str | None]: ...

    def save(self, feed_url: str, records: Sequence[ArticleRecord]) -> SaveCounts: ...


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    max_feed_bytes: int = 10 * 1024 * 1024
    max_page_bytes: int = 5 * 1024 * 1024
    base_interval: timedelta = timedelta(minutes=15)


@dataclass(slots=True)
class FeedOutcome:
    """What happened to one feed in one run: one row of the run's table."""

    feed_url: str
    name: str | None = None
    status: str = "ok"  # ok | not_modified | error | parked
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    failed_pages: int = 0
    seconds: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    # What the feeds table should record (None: nothing, e.g. a parked feed left alone).
    validators: Validators | None = None
    next_fetch_at: datetime | None = None
    parked: bool = False
    retry_after: float | None = None
    transient: bool = False
    transient_page_failures: int = 0
    # Extraction health of the pages extracted in this run (a site redesign shows up here).
    extracted: int = 0
    with_date: int = 0
    with_author: int = 0
    long_body: int = 0
    health_warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status == "error"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Work:
    """An entry worth turning into an article, with its identity keys."""

    entry: FeedEntry
    link_url: str | None  # None: the entry has no usable link, the feed carries the article
    key_url: str  # the URL the store knows the article by
    entry_hash: str


async def process_feed(
    source: FeedSource,
    state: FeedState,
    *,
    fetcher: Fetcher,
    store: ArticleStore,
    config: PipelineConfig,
    pages: PageWorkers = IN_THREADS,
    now: Callable[[], datetime] = _utcnow,
) -> FeedOutcome:
    """Run one feed through the pipeline and say what happened; never raises an IngestError.

    The caller records the outcome on the feed *after* this returns, i.e. after the articles
    were saved, so validators are never stored for articles that were not.
    """
    started = time.monotonic()
    outcome = FeedOutcome(feed_url=source.url, name=source.name)
    try:
        await _run(source, state, outcome, fetcher, store, config, pages, now)
    except (FetchError, ParseError) as exc:
        _fail(outcome, exc, state, config, now())
    outcome.seconds = round(time.monotonic() - started, 3)
    return outcome


async def _run(
    source: FeedSource,
    state: FeedState,
    outcome: FeedOutcome,
    fetcher: Fetcher,
    store: ArticleStore,
    config: PipelineConfig,
    pages: PageWorkers,
    now: Callable[[], datetime],
) -> None:
    response = await fetcher.fetch(
        source.url, max_bytes=config.max_feed_bytes, validators=state.validators, accept=FEED_ACCEPT
    )
    fetched_at = now()
    if response.not_modified:
        outcome.status = "not_modified"
        outcome.validators = _merge_validators(state.validators, response)
        outcome.next_fetch_at = schedule.after_success(
            fetched_at,
            base=config.base_interval,
            cache_control=response.headers.get("cache-control"),
        ).next_fetch_at
        return
    parsed, discovered = await _parse_or_discover(response, fetcher, config, fetched_at)
    if discovered is not None:
        outcome.warnings.append(f"the feed URL serves an HTML page; read its feed {discovered.url}")
        response = discovered
    outcome.warnings.extend(parsed.warnings)
    await store_entries(
        source.url,
        parsed.entries,
        outcome,
        fetcher=fetcher,
        store=store,
        config=config,
        pages=pages,
        now=now,
        base_url=response.url,
    )
    # A page that failed for a passing reason is retried next run only if the feed is fetched
    # again in full, so keep the old validators (no 304) until those pages made it in. A page
    # that is gone (404) is not worth refetching the feed for.
    retry_pages = outcome.transient_page_failures > 0 or discovered is not None
    outcome.validators = state.validators if retry_pages else response.validators
    outcome.next_fetch_at = schedule.after_success(
        fetched_at,
        base=config.base_interval,
        ttl_minutes=parsed.ttl_minutes,
        cache_control=response.headers.get("cache-control"),
    ).next_fetch_at


async def store_entries(
    feed_url: str,
    entries: Sequence[FeedEntry],
    outcome: FeedOutcome,
    *,
    fetcher: Fetcher,
    store: ArticleStore,
    config: PipelineConfig,
    pages: PageWorkers = IN_THREADS,
    now: Callable[[], datetime] = _utcnow,
    base_url: str | None = None,
) -> None:
    """Turn entries into stored articles, counting into ``outcome``; skip what is known.

    Used for a feed's entries and for backfills (sitemap URLs, archive pages): an entry whose
    article is stored and unchanged is not downloaded again. ``pages`` is where extraction
    runs (default: threads of this process).
    """
    work = _plan(feed_url, entries, outcome)
    known = await asyncio.to_thread(store.known, [w.key_url for w in work])
    todo = []
    for item in work:
        if item.key_url in known and known[item.key_url] == item.entry_hash:
            outcome.duplicates += 1  # stored and unchanged: not downloaded again
        else:
            todo.append(item)
    # Pages are fetched and stored in chunks: memory stays flat on a 10,000-item feed, and a
    # run killed midway keeps what it finished.
    for start in range(0, len(todo), SAVE_EVERY):
        records = await asyncio.gather(
            *(
                _article_record(item, base_url or feed_url, fetcher, config, pages, now, outcome)
                for item in todo[start : start + SAVE_EVERY]
            )
        )
        extracted = [r for r in records if r is not None]
        _count_health(outcome, [r.article for r in extracted if r.raw is not None])
        saved = await asyncio.to_thread(store.save, feed_url, extracted)
        outcome.new += saved.new
        outcome.updated += saved.updated
        outcome.duplicates += saved.duplicates


LONG_BODY_WORDS = 100
#: Articles fetched and extracted before they are stored in one transaction.
SAVE_EVERY = 50


def _count_health(outcome: FeedOutcome, articles: Sequence[Article]) -> None:
    outcome.extracted += len(articles)
    outcome.with_date += sum(a.published_at is not None for a in articles)
    outcome.with_author += sum(bool(a.authors) for a in articles)
    outcome.long_body += sum(a.word_count > LONG_BODY_WORDS for a in articles)


async def _parse_or_discover(
    response: FetchResult, fetcher: Fetcher, config: PipelineConfig, now: datetime
) -> tuple[ParsedFeed, FetchResult | None]:
    """Parse the feed; when the URL serves an HTML page, follow the feed it advertises."""
    # In a worker thread: a 10 MiB feed takes seconds to parse, and a blocked event loop
    # would stall every other feed's fetches until their deadlines expire.
    try:
        return await asyncio.to_thread(_parse, response, now), None
    except ParseError as exc:
        links = [
            u for u in discover_feed_links(response.body, url=response.url) if u != response.url
        ]
        if not links:
            raise
        log.info("%s is an HTML page advertising %s", response.url, links[0])
        try:
            found = await fetcher.fetch(
                links[0], max_bytes=config.max_feed_bytes, accept=FEED_ACCEPT
            )
            parsed = await asyncio.to_thread(_parse, found, now)
        except (FetchError, ParseError) as inner:
            raise ParseError(
                f"{exc}; its advertised feed {links[0]} failed too: {inner}"
            ) from inner
        return parsed, found


def _parse(response: FetchResult, now: datetime) -> ParsedFeed:
    return parse_feed(response.body, url=response.url, headers=response.headers, now=now)


def _merge_validators(old: Validators, response: FetchResult) -> Validators:
    """A 304 may carry fresh validators (RFC 9111 §4.3.4); keep the old ones otherwise."""
    new = response.validators
    return Validators(new.etag or old.etag, new.last_modified or old.last_modified)


def _plan(feed_url: str, entries: Sequence[FeedEntry], outcome: FeedOutcome) -> list[_Work]:
    """Give every entry its identity; collapse entries that are one article (tracking variants)."""
    seen_guids: set[str] = set()
    planned: dict[str, _Work] = {}
    for entry in entries:
        link_url = _canonical_or_none(entry.link, feed_url)
        if link_url is not None:
            key = link_url
        else:
            repeated = bool(entry.guid) and entry.guid in seen_guids
            key = f"{feed_url}#entry-{linkless_key(feed_url, entry, repeated_guid=repeated)}"
        if entry.guid:
            seen_guids.add(entry.guid)
        if key in planned:
            outcome.duplicates += 1
            continue
        planned[key] = _Work(entry, link_url, key, entry_hash(entry))
    return list(planned.values())


def _canonical_or_none(link: str | None, base: str) -> str | None:
    if not link:
        return None
    try:
        return canonicalize_url(link, base)
    except ValueError:
        return None


async def _article_record(
    item: _Work,
    feed_url: str,
    fetcher: Fetcher,
    config: PipelineConfig,
    pages: PageWorkers,
    now: Callable[[], datetime],
    outcome: FeedOutcome,
) -> ArticleRecord | None:
    """Download and extract one entry's page; a failure counts and never stops the feed."""
    entry = item.entry
    try:
        if item.link_url is None:
            article = _article_from_entry(item, feed_url, now())
            return ArticleRecord(
                article=article,
                link_url=item.key_url,
                guid=entry.guid,
                entry_hash=item.entry_hash,
                content_hash=content_hash(article.text),
                fetched_at=now(),
            )
        page = await fetcher.fetch(
            entry.link or item.link_url, max_bytes=config.max_page_bytes, accept=PAGE_ACCEPT
        )
        prepared = await pages.prepare(
            page.body, page.url, content_type=page.content_type, entry=entry, now=now()
        )
    except (FetchError, ExtractError) as exc:
        outcome.failed_pages += 1
        if isinstance(exc, TransientFetchError):
            outcome.transient_page_failures += 1
        message = f"{entry.link or item.key_url}: {exc}"
        outcome.warnings.append(message)
        log.warning("page failed: %s", message)
        return None
    return ArticleRecord(
        article=prepared.article,
        link_url=item.key_url,
        guid=entry.guid,
        entry_hash=item.entry_hash,
        content_hash=prepared.content_hash,
        fetched_at=now(),
        raw=prepared.raw,
        fingerprint=prepared.fingerprint,
    )


def _article_from_entry(item: _Work, feed_url: str, fetched_at: datetime) -> Article:
    """An article carried whole by the feed (no link to follow)."""
    entry = item.entry
    text = html_to_text(entry.content or entry.summary or "")
    if not text and not entry.title:
        raise ExtractError("entry has no link, no title and no text")
    url = entry.guid if entry.guid and entry.guid.startswith(("http://", "https://")) else feed_url
    return Article(
        url=url,
        canonical_url=item.key_url,
        title=entry.title,
        text=text,
        authors=list(entry.authors),
        published_at=entry.published_at,
        published_raw=entry.published_raw,
        updated_at=entry.updated_at,
        language=entry.language,
        image_url=entry.image_url,
        tags=list(entry.tags),
        sources={"title": "feed", "text": "feed", "published_at": "feed"},
    )


def _fail(
    outcome: FeedOutcome, exc: IngestError, state: FeedState, config: PipelineConfig, at: datetime
) -> None:
    outcome.status = "error"
    outcome.error = str(exc)
    outcome.transient = isinstance(exc, TransientFetchError)
    outcome.retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
    gone = isinstance(exc, PermanentFetchError) and exc.status == 410
    plan = schedule.after_failure(
        at,
        base=config.base_interval,
        failures=state.consecutive_failures + 1,
        retry_after=outcome.retry_after,
        gone=gone,
    )
    outcome.next_fetch_at = plan.next_fetch_at
    outcome.parked = plan.parked
    log.warning("feed %s failed: %s", outcome.feed_url, exc)
