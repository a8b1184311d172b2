"""The ``backfill`` flow: a past period, one Prefect task per day, resumable.

Each (feed, day) pair is recorded in the store when done, so re-running the same backfill skips
finished days and refetches nothing; a failed day is retried by running the backfill again.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NONE
from prefect.runtime import flow_run

from flows.ingest_flow import select_feeds
from flows.settings import Settings
from ingest.backfill.archive import walk_archive
from ingest.backfill.days import DayRange, check_source, day_range, entries_by_day, sitemap_entries
from ingest.backfill.sitemaps import discover_sitemap_urls
from ingest.errors import FetchError, IngestError, ParseError
from ingest.feeds.sources import load_feeds
from ingest.fetch.client import Fetcher
from ingest.model import ArticleRecord, FeedEntry, FeedSource
from ingest.pipeline import FeedOutcome, PipelineConfig, store_entries
from ingest.prepare import prepare_page
from storage.backfill import finished_days, raw_pages_between, record_day
from storage.db import ensure_schema, make_engine
from storage.repository import SqlStore, sync_feeds

Plan = dict[str, dict[date, list[FeedEntry]]]  # feed URL -> day -> entries


class BackfillFailed(IngestError):
    """Some days of a backfill did not finish; running it again retries only those."""


def backfill_run_name() -> str:
    params = flow_run.parameters
    try:
        return "backfill-" + day_range(params["since"], params["until"], today=_today()).label()
    except (IngestError, KeyError):
        return f"backfill-{params.get('since')}..{params.get('until')}"


def _today() -> date:
    return datetime.now(UTC).date()


@task(name="discover", cache_policy=NONE, retries=1, retry_delay_seconds=5)
async def discover(
    source: FeedSource, days: DayRange, how: str, fetcher: Fetcher, config: PipelineConfig
) -> dict[date, list[FeedEntry]]:
    """The entries of one feed's site published in the range, grouped by day."""
    now = datetime.now(UTC)
    if how == "archive":
        entries = [
            e
            async for e in walk_archive(
                source.url,
                fetcher=fetcher,
                since=days.start,
                now=now,
                max_bytes=config.max_feed_bytes,
            )
        ]
        return entries_by_day(entries, days)
    items = [
        item
        async for item in discover_sitemap_urls(
            source.url, fetcher=fetcher, since=days.start, until=days.end, now=now
        )
    ]
    return sitemap_entries(items, days)


@task(name="backfill-day", cache_policy=NONE)
async def backfill_day(
    day: date,
    work: dict[str, list[FeedEntry]],
    how: str,
    fetcher: Fetcher,
    store: SqlStore,
    config: PipelineConfig,
) -> dict[str, Any]:
    """Store one day's articles for every feed; record each feed's day as done or failed."""
    logger = get_run_logger()
    outcomes = []
    for feed_url, entries in work.items():
        outcome = FeedOutcome(feed_url)
        if how == "reprocess":
            await asyncio.to_thread(_reprocess, store, feed_url, day, outcome)
        else:
            await store_entries(
                feed_url, entries, outcome, fetcher=fetcher, store=store, config=config
            )
        failed = outcome.transient_page_failures > 0
        await asyncio.to_thread(
            record_day,
            store.engine,
            how,
            feed_url,
            day,
            status="failed" if failed else "done",
            new=outcome.new,
            updated=outcome.updated,
            failed_pages=outcome.failed_pages,
        )
        for warning in outcome.warnings[:20]:
            logger.warning("%s %s: %s", day, feed_url, warning)
        outcomes.append(outcome)
    row = {
        "day": day.isoformat(),
        "feeds": len(work),
        "pages": sum(len(e) for e in work.values()),
        "new": sum(o.new for o in outcomes),
        "updated": sum(o.updated for o in outcomes),
        "duplicates": sum(o.duplicates for o in outcomes),
        "failed_pages": sum(o.failed_pages for o in outcomes),
    }
    if any(o.transient_page_failures for o in outcomes):
        raise BackfillFailed(f"{day}: {row['failed_pages']} pages failed for a passing reason")
    return row


def _reprocess(store: SqlStore, feed_url: str, day: date, outcome: FeedOutcome) -> None:
    """Re-extract the stored raw pages of one feed's day with the current extractor."""
    records = []
    for item in raw_pages_between(store.engine, feed_url, day):
        try:
            page = prepare_page(item.body, item.url, content_type=item.content_type)
        except IngestError as exc:
            outcome.failed_pages += 1
            outcome.warnings.append(f"{item.url}: {exc}")
            continue
        records.append(
            ArticleRecord(
                article=dataclasses.replace(page.article, canonical_url=item.canonical_url),
                link_url=item.link_url,
                guid=item.guid,
                entry_hash=item.entry_hash or "",
                content_hash=page.content_hash,
                fetched_at=item.fetched_at,
                raw=None,  # the stored page is what was just read: nothing to write back
                fingerprint=page.fingerprint,
            )
        )
    saved = store.save(feed_url, records)
    outcome.new, outcome.updated, outcome.duplicates = saved.new, saved.updated, saved.duplicates


@flow(name="backfill", flow_run_name=backfill_run_name, log_prints=True)
async def backfill(
    since: str,
    until: str,
    source: str = "sitemap",
    feeds_path: str | None = None,
    database_url: str | None = None,
    tags: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Ingest what the feeds' sites published from ``since`` to ``until`` (inclusive UTC days).

    ``source``: ``sitemap`` (the sites' sitemaps), ``archive`` (paged/archived feeds) or
    ``reprocess`` (re-extract stored pages, no network).
    """
    logger = get_run_logger()
    days = day_range(since, until, today=_today())  # refused before any work starts
    how = check_source(source)
    settings = Settings.load(feeds=feeds_path, database_url=database_url)
    sources = select_feeds(load_feeds(Path(settings.feeds)), tags)
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        sync_feeds(engine, sources)
        done = finished_days(engine, how, [s.url for s in sources], days.first, days.last)
        pending = {(s.url, d) for s in sources for d in days.days()} - done
        logger.info(
            "backfill %s from %s: %d of %d feed-days to do",
            days.label(),
            how,
            len(pending),
            len(sources) * len(days.days()),
        )
        rows: list[dict[str, Any]] = []
        if pending:
            rows = await _run_days(sources, days, how, pending, settings, SqlStore(engine))
    finally:
        engine.dispose()
    await _publish(days, how, rows, skipped=len(days.days()) - len(rows))
    failed = [r for r in rows if r.get("status") == "failed"]
    if failed:
        raise BackfillFailed(
            f"{len(failed)} of {len(rows)} days failed "
            f"({', '.join(r['day'] for r in failed[:5])}): run the same backfill again "
            "to retry them"
        )
    return rows


async def _run_days(
    sources: list[FeedSource],
    days: DayRange,
    how: str,
    pending: set[tuple[str, date]],
    settings: Settings,
    store: SqlStore,
) -> list[dict[str, Any]]:
    logger = get_run_logger()
    config = settings.pipeline_config()
    # Half the usual concurrency and one request per host: a backfill never starves ingest.
    http = dataclasses.replace(
        settings.http_config(),
        max_connections=max(1, settings.max_concurrency // 2),
        per_host=1,
    )
    pending_feeds = sorted({url for url, _ in pending})
    plan: Plan = {url: {} for url in pending_feeds}
    failed_feeds: dict[str, str] = {}
    progress_id = await create_progress_artifact(
        progress=0.0, key="backfill-progress", description=f"backfill {days.label()} ({how})"
    )
    async with Fetcher(http) as fetcher:
        if how != "reprocess":
            wanted = [s for s in sources if s.url in plan]
            states = await asyncio.gather(
                *(
                    discover.with_options(task_run_name=f"discover-{urlsplit(s.url).netloc}")(
                        s, days, how, fetcher, config, return_state=True
                    )
                    for s in wanted
                )
            )
            for feed, state in zip(wanted, states, strict=True):
                try:
                    plan[feed.url] = await state.aresult()
                except (FetchError, ParseError) as exc:
                    failed_feeds[feed.url] = str(exc)
                    logger.warning("%s: %s", feed.url, exc)
        todo_days = sorted({d for _, d in pending})
        rows = []
        for n, day in enumerate(todo_days, start=1):
            work = {
                url: plan[url].get(day, [])
                for url in pending_feeds
                if (url, day) in pending and url not in failed_feeds
            }
            row = await _day(day, work, how, fetcher, store, config)
            if any(url in failed_feeds for url in pending_feeds if (url, day) in pending):
                row["status"] = "failed"
                row["error"] = "; ".join(f"{u}: {e}" for u, e in failed_feeds.items())[:500]
            rows.append(row)
            await update_progress_artifact(
                artifact_id=progress_id, progress=100.0 * n / len(todo_days)
            )
    return rows


async def _day(
    day: date,
    work: dict[str, list[FeedEntry]],
    how: str,
    fetcher: Fetcher,
    store: SqlStore,
    config: PipelineConfig,
) -> dict[str, Any]:
    state = await backfill_day.with_options(task_run_name=f"day-{day.isoformat()}")(
        day, work, how, fetcher, store, config, return_state=True
    )
    try:
        row: dict[str, Any] = await state.aresult()
    except Exception as exc:  # the day failed: recorded, retried by the next run
        return {"day": day.isoformat(), "status": "failed", "error": str(exc)}
    row["status"] = "done"
    return row


async def _publish(days: DayRange, how: str, rows: list[dict[str, Any]], skipped: int) -> None:
    columns = ("day", "status", "feeds", "pages", "new", "updated", "duplicates", "failed_pages")
    table = [{c: r.get(c) for c in (*columns, "error")} for r in rows]
    if table:
        await create_table_artifact(
            table=table, key="backfill-days", description=f"backfill {days.label()} ({how})"
        )
    new = sum(int(r.get("new") or 0) for r in rows)
    failed = [r for r in rows if r.get("status") == "failed"]
    lines = [
        f"# Backfill {days.label()} ({how})",
        "",
        f"- days run: {len(rows)}, already finished before: {skipped}",
        f"- new articles: {new}",
        f"- failed days: {len(failed)}",
    ]
    await create_markdown_artifact(markdown="\n".join(lines), key="backfill-summary")
