"""One feed through every stage: fetch, parse, skip what is known, fetch pages, extract, store.

This module only composes the stages; each stage is a plain function tested on its own. The
store is anything with the :class:`ArticleStore` methods (``storage.repository.SqlStore``), so
this package never imports the storage layer or Prefect.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ingest.dedup.identity import EntryWork, collapse_records, is_unchanged, plan_entries
from ingest.dedup.keys import content_hash
from ingest.errors import (
    DeferredError,
    DisallowedError,
    ExtractError,
    FetchError,
    IngestError,
    ParseError,
    PermanentFetchError,
    RateLimitedError,
    TransientFetchError,
    WallError,
)
from ingest.extract import html_to_text
from ingest.feeds import schedule
from ingest.feeds.parse import discover_feed_links
from ingest.fetch.client import Fetcher
from ingest.health import HealthCounts
from ingest.model import (
    Article,
    ArticleRecord,
    FeedEntry,
    FeedResult,
    FeedSource,
    FeedState,
    FeedStatus,
    FeedUpdate,
    FetchResult,
    PageCounts,
    PagesNote,
    ParsedFeed,
    PollCounts,
    SaveCounts,
    Validators,
)
from ingest.prepare import PageWorkers

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
    base_interval: timedelta = schedule.BASE_INTERVAL
    min_interval: timedelta = schedule.MIN_INTERVAL
    max_interval: timedelta = schedule.LONGEST_LEARNED

    @property
    def polling(self) -> schedule.Polling:
        return schedule.Polling(self.base_interval, self.min_interval, self.max_interval)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a feed that failed for a passing reason is tried again within one run.

    A feed is retried whole (its document and the pages that failed), after ``delays``
    seconds each stretched by up to ``jitter``; never when the server named a Retry-After,
    which the next run honours instead. The retries live here rather than in Prefect's task
    retries because one task may carry many feeds, and only the failing feed is retried.
    """

    delays: tuple[float, ...] = ()
    jitter: float = 0.5
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def pause(self, attempt: int) -> float:
        return self.delays[attempt] * (1 + self.jitter * random.random())


#: Two retries, 2 s and 4 s apart (give or take half), as the flows use.
FEED_RETRIES = RetryPolicy(delays=(2.0, 4.0))
NO_RETRIES = RetryPolicy()


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class EntriesResult:
    """What :func:`store_entries` did with a list of entries."""

    pages: PageCounts = field(default_factory=PageCounts)
    health: HealthCounts = field(default_factory=HealthCounts)
    warnings: tuple[str, ...] = ()
    walls: tuple[str, ...] = ()  # what blocked each blocked page ("Cloudflare challenge"...)
    read: PollCounts = field(default_factory=PollCounts)  # the entries listed, how many new

    def __add__(self, other: EntriesResult) -> EntriesResult:
        return EntriesResult(
            self.pages + other.pages,
            self.health + other.health,
            self.warnings + other.warnings,
            self.walls + other.walls,
            self.read + other.read,
        )

    @property
    def blocked_by(self) -> str | None:
        """What blocked the pages when every page requested was blocked by a wall, else None.

        ``"Cloudflare challenge (5 pages)"``; several walls are listed, the commonest first.
        """
        pages = self.pages
        if not pages.blocked or pages.blocked != pages.failed_pages or pages.new + pages.updated:
            return None
        counts = Counter(self.walls).most_common()
        return ", ".join(f"{wall} ({n} page{'s' if n > 1 else ''})" for wall, n in counts)

    def note(self) -> PagesNote:
        """What ``feeds list`` keeps of this read of the entries."""
        return PagesNote(self.pages.disallowed, self.pages.requested > 0, self.blocked_by)


@dataclass(frozen=True, slots=True)
class _PageFailure:
    """A page that could not be fetched or extracted (``wall``: a bot or consent wall)."""

    message: str
    transient: bool
    wall: str | None = None


@dataclass(frozen=True, slots=True)
class _PageSkipped:
    """A page not requested: robots.txt disallows it, or it is left for the next run."""

    message: str
    disallowed: bool


async def process_feed(
    source: FeedSource,
    state: FeedState,
    *,
    fetcher: Fetcher,
    store: ArticleStore,
    config: PipelineConfig,
    pages: PageWorkers = IN_THREADS,
    now: Callable[[], datetime] = _utcnow,
    retry: RetryPolicy = NO_RETRIES,
) -> FeedResult:
    """Run one feed through the pipeline and say what happened; never raises an IngestError.

    The result says what to record on the feed (``FeedResult.update``); the caller records it
    *after* this returns, i.e. after the articles were saved, so validators are never stored
    for articles that were not.
    """
    started = time.monotonic()
    for attempt in range(len(retry.delays) + 1):
        try:
            body = await _run(source, state, fetcher, store, config, pages, now)
            return _finished(source, body, time.monotonic() - started)
        except (FetchError, ParseError) as exc:
            passing = isinstance(exc, TransientFetchError) and not isinstance(exc, RateLimitedError)
            if passing and attempt < len(retry.delays):
                log.warning("feed %s failed: %s (will retry)", source.url, exc)
                await retry.sleep(retry.pause(attempt))
                continue
            return _failed(source, exc, state, config, now(), time.monotonic() - started)
    raise AssertionError("unreachable: the last attempt returns")


@dataclass(frozen=True, slots=True)
class _FeedRead:
    """A feed document read and its entries stored: what remains is to say so."""

    status: FeedStatus
    entries: EntriesResult
    update: FeedUpdate


def _finished(source: FeedSource, read: _FeedRead, seconds: float) -> FeedResult:
    return FeedResult(
        source.url,
        source.name,
        read.status,
        pages=read.entries.pages,
        health=read.entries.health,
        seconds=round(seconds, 3),
        warnings=read.entries.warnings,
        update=read.update,
        blocked_by=read.entries.blocked_by,
    )


async def _run(
    source: FeedSource,
    state: FeedState,
    fetcher: Fetcher,
    store: ArticleStore,
    config: PipelineConfig,
    pages: PageWorkers,
    now: Callable[[], datetime],
) -> _FeedRead:
    response = await fetcher.fetch(
        source.url, max_bytes=config.max_feed_bytes, validators=state.validators, accept=FEED_ACCEPT
    )
    fetched_at = now()
    if response.not_modified:
        learned = schedule.learn(state.cadence, PollCounts(), fetched_at, config.polling)
        next_fetch = schedule.after_success(
            fetched_at,
            base=learned.interval,
            cache_control=response.headers.get("cache-control"),
        ).next_fetch_at
        update = FeedUpdate(
            FeedStatus.NOT_MODIFIED,
            fetched_at,
            next_fetch,
            validators=_merge_validators(state.validators, response),
            cadence=learned,
        )
        return _FeedRead(FeedStatus.NOT_MODIFIED, EntriesResult(), update)
    parsed, discovered = await _parse_or_discover(response, fetcher, pages, config, fetched_at)
    notes = list(parsed.warnings)
    if discovered is not None:
        notes.insert(0, f"the feed URL serves an HTML page; read its feed {discovered.url}")
        response = discovered
    entries = await store_entries(
        source.url,
        parsed.entries,
        fetcher=fetcher,
        store=store,
        config=config,
        pages=pages,
        now=now,
        base_url=response.url,
        obey_robots=source.obey_robots,
    )
    # A page that failed for a passing reason, or was left for the next run, is tried next run
    # only if the feed is fetched again in full, so keep the old validators (no 304) until
    # those pages made it in. A page that is gone (404) or disallowed is not worth refetching
    # the feed for.
    retry_pages = (
        entries.pages.retry_pages > 0 or entries.pages.deferred > 0 or discovered is not None
    )
    learned = schedule.learn(state.cadence, entries.read, fetched_at, config.polling)
    next_fetch = schedule.after_success(
        fetched_at,
        base=learned.interval,
        ttl_minutes=parsed.ttl_minutes,
        cache_control=response.headers.get("cache-control"),
    ).next_fetch_at
    update = FeedUpdate(
        FeedStatus.OK,
        fetched_at,
        next_fetch,
        validators=state.validators if retry_pages else response.validators,
        pages=entries.note(),
        cadence=learned,
    )
    warned = EntriesResult(warnings=tuple(notes)) + entries
    return _FeedRead(FeedStatus.OK, warned, update)


async def store_entries(
    feed_url: str,
    entries: Sequence[FeedEntry],
    *,
    fetcher: Fetcher,
    store: ArticleStore,
    config: PipelineConfig,
    pages: PageWorkers = IN_THREADS,
    now: Callable[[], datetime] = _utcnow,
    base_url: str | None = None,
    obey_robots: bool = True,
) -> EntriesResult:
    """Turn entries into stored articles and say what became of them; skip what is known.

    Used for a feed's entries and for backfills (sitemap URLs, archive pages): an entry whose
    article is stored and unchanged is not downloaded again. ``pages`` is where extraction
    runs (default: threads of this process). Pages are crawled: robots.txt is consulted for
    each unless ``obey_robots`` is false (the feed's ``obey_robots = false``).
    """
    planned = plan_entries(feed_url, entries)
    known = await asyncio.to_thread(store.known, [w.key_url for w in planned.work])
    todo = [w for w in planned.work if not is_unchanged(w, known)]
    result = EntriesResult(
        PageCounts(duplicates=planned.collapsed + len(planned.work) - len(todo)),
        read=_read_counts(planned.work, known),
    )
    # Pages are fetched and stored in chunks: memory stays flat on a 10,000-item feed, and a
    # run killed midway keeps what it finished.
    for start in range(0, len(todo), SAVE_EVERY):
        outcomes = await asyncio.gather(
            *(
                _article_record(
                    item, base_url or feed_url, fetcher, config, pages, now, obey_robots
                )
                for item in todo[start : start + SAVE_EVERY]
            )
        )
        records = [o for o in outcomes if isinstance(o, ArticleRecord)]
        failures = [o for o in outcomes if isinstance(o, _PageFailure)]
        skipped = [o for o in outcomes if isinstance(o, _PageSkipped)]
        batch = collapse_records(records)
        saved = await asyncio.to_thread(store.save, feed_url, batch.unique)
        walls = tuple(f.wall for f in failures if f.wall is not None)
        result += EntriesResult(
            PageCounts(
                duplicates=batch.collapsed,
                failed_pages=len(failures),
                retry_pages=sum(f.transient for f in failures),
                blocked=len(walls),
                disallowed=sum(s.disallowed for s in skipped),
                deferred=sum(not s.disallowed for s in skipped),
            ).saved(saved),
            _health([r.article for r in records if r.raw is not None]),
            tuple(f.message for f in failures) + _skip_notes(skipped),
            walls,
        )
    return result


def _skip_notes(skipped: Sequence[_PageSkipped]) -> tuple[str, ...]:
    """One line per kind of page not requested: the first URL and how many more."""
    notes = []
    for disallowed in (True, False):
        some = [s.message for s in skipped if s.disallowed is disallowed]
        if some:
            more = f" (and {len(some) - 1} more pages)" if len(some) > 1 else ""
            notes.append(some[0] + more)
    return tuple(notes)


def _read_counts(work: Sequence[EntryWork], known: Mapping[str, str | None]) -> PollCounts:
    """How many entries a read listed, how many were new, and how far apart their dates are."""
    dates = [w.entry.published_at for w in work if w.entry.published_at is not None]
    return PollCounts(
        entries=len(work),
        new=sum(w.key_url not in known for w in work),
        dated=len(dates),
        span=max(dates) - min(dates) if len(dates) >= 2 else None,
    )


LONG_BODY_WORDS = 100
#: Articles fetched and extracted before they are stored in one transaction.
SAVE_EVERY = 50


def _health(articles: Sequence[Article]) -> HealthCounts:
    return HealthCounts(
        extracted=len(articles),
        with_date=sum(a.published_at is not None for a in articles),
        with_author=sum(bool(a.authors) for a in articles),
        long_body=sum(a.word_count > LONG_BODY_WORDS for a in articles),
    )


async def _parse_or_discover(
    response: FetchResult,
    fetcher: Fetcher,
    pages: PageWorkers,
    config: PipelineConfig,
    now: datetime,
) -> tuple[ParsedFeed, FetchResult | None]:
    """Parse the feed; when the URL serves an HTML page, follow the feed it advertises."""
    # Off the event loop: a 10 MiB feed takes seconds to parse, and a blocked event loop
    # would stall every other feed's fetches until their deadlines expire.
    try:
        return await _parse(response, pages, now), None
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
            parsed = await _parse(found, pages, now)
        except (FetchError, ParseError) as inner:
            raise ParseError(
                f"{exc}; its advertised feed {links[0]} failed too: {inner}"
            ) from inner
        return parsed, found


async def _parse(response: FetchResult, pages: PageWorkers, now: datetime) -> ParsedFeed:
    return await pages.parse_feed(
        response.body, url=response.url, headers=response.headers, now=now
    )


def _merge_validators(old: Validators, response: FetchResult) -> Validators:
    """A 304 may carry fresh validators (RFC 9111 §4.3.4); keep the old ones otherwise."""
    new = response.validators
    return Validators(new.etag or old.etag, new.last_modified or old.last_modified)


async def _article_record(
    item: EntryWork,
    feed_url: str,
    fetcher: Fetcher,
    config: PipelineConfig,
    pages: PageWorkers,
    now: Callable[[], datetime],
    obey_robots: bool = True,
) -> ArticleRecord | _PageFailure | _PageSkipped:
    """Download and extract one entry's page; a failure is counted, never stops the feed."""
    entry = item.entry
    try:
        if item.link_url is None:
            article = _article_from_entry(item, feed_url)
            return ArticleRecord(
                article=article,
                link_url=item.key_url,
                guid=entry.guid,
                entry_hash=item.entry_hash,
                content_hash=content_hash(article.text),
                fetched_at=now(),
            )
        page = await fetcher.fetch(
            entry.link or item.link_url,
            max_bytes=config.max_page_bytes,
            accept=PAGE_ACCEPT,
            robots=obey_robots,
            wall_marks=False,  # prepare_page looks for them on pages that are no article
        )
        prepared = await pages.prepare(
            page.body, page.url, content_type=page.content_type, entry=entry, now=now()
        )
    except (DisallowedError, DeferredError) as exc:
        message = f"{entry.link or item.key_url}: {exc}"
        log.info("page not requested: %s", message)
        return _PageSkipped(message, disallowed=isinstance(exc, DisallowedError))
    except WallError as exc:
        message = f"{entry.link or item.key_url}: {exc}"
        log.warning("page failed: %s", message)
        return _PageFailure(message, transient=False, wall=exc.wall)
    except (FetchError, ExtractError) as exc:
        message = f"{entry.link or item.key_url}: {exc}"
        log.warning("page failed: %s", message)
        return _PageFailure(message, transient=isinstance(exc, TransientFetchError))
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


def _article_from_entry(item: EntryWork, feed_url: str) -> Article:
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


def _failed(
    source: FeedSource,
    exc: IngestError,
    state: FeedState,
    config: PipelineConfig,
    at: datetime,
    seconds: float,
) -> FeedResult:
    """The result of a feed whose document could not be fetched or read."""
    failures = state.consecutive_failures + 1
    plan = schedule.after_failure(
        at,
        base=schedule.backoff_base(config.polling, state.cadence),
        failures=failures,
        retry_after=exc.retry_after if isinstance(exc, RateLimitedError) else None,
        gone=isinstance(exc, PermanentFetchError) and exc.status == 410,
    )
    log.warning("feed %s failed: %s", source.url, exc)
    return FeedResult(
        source.url,
        source.name,
        FeedStatus.FAILED,
        seconds=round(seconds, 3),
        error=str(exc),
        error_kind=type(exc).__name__,
        failures_in_a_row=failures,
        update=FeedUpdate(
            FeedStatus.FAILED, at, plan.next_fetch_at, error=str(exc), parked=plan.parked
        ),
    )
