"""The ``backfill`` flow: a past period, one Prefect task per day, resumable.

Each (feed, day) pair is recorded in the store when done, so re-running the same backfill skips
finished days and refetches nothing; a failed day is retried by running the backfill again.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from prefect import State, flow, get_run_logger, task
from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)
from prefect.cache_policies import NONE
from prefect.runtime import flow_run

from flows.arguments import as_is
from flows.backfill_warc import (
    WARC_SOURCES,
    WarcReporter,
    make_plan,
    publish_warc,
    run_warc_backfill,
)
from flows.columns import BACKFILL_COLUMNS
from flows.run_states import rows_state
from flows.settings import Settings
from ingest.backfill.archive import walk_archive
from ingest.backfill.days import DayRange, check_source, day_range, entries_by_day, sitemap_entries
from ingest.backfill.sitemaps import discover_sitemap_urls
from ingest.dedup.identity import collapse_records
from ingest.errors import ConfigError, FetchError, IngestError, ParseError
from ingest.feeds.plan import select_feeds
from ingest.feeds.sources import load_feeds
from ingest.fetch.client import Fetcher
from ingest.model import ArticleRecord, FeedEntry, FeedSource, PageCounts
from ingest.pipeline import EntriesResult, PipelineConfig, store_entries
from ingest.prepare import prepare_page
from storage.backfill import finished_days, raw_pages_between, record_day
from storage.db import ensure_schema, make_engine
from storage.politeness import SqlPolitenessStore
from storage.repository import SqlStore, sync_feeds

Plan = dict[str, dict[date, list[FeedEntry]]]  # feed URL -> day -> entries


class BackfillFailed(IngestError):
    """Some days of a backfill did not finish; running it again retries only those."""


def backfill_run_name() -> str:
    """``backfill-2021-09-01..2021-09-30-3f2a``: the range, and the run id's start."""
    params = flow_run.parameters
    run = (flow_run.id or "")[:4] or "0000"
    try:
        label = day_range(params["since"], params["until"], today=_today()).label()
    except (IngestError, KeyError):
        label = f"{params.get('since')}..{params.get('until')}"
    return f"backfill-{label}-{run}"


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
                obey_robots=source.obey_robots,
            )
        ]
        return entries_by_day(entries, days)
    items = [
        item
        async for item in discover_sitemap_urls(
            source.url,
            fetcher=fetcher,
            since=days.start,
            until=days.end,
            now=now,
            obey_robots=source.obey_robots,
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
    ignore_robots: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Store one day's articles for every feed; record each feed's day as done or failed.

    A day with pages left for the next run (a crawl delay, a host's pause) is not done: the
    next run of the same backfill takes it again. ``ignore_robots``: the feeds configured
    with ``obey_robots = false``.
    """
    logger = get_run_logger()
    total = EntriesResult()
    for feed_url, entries in work.items():
        if how == "reprocess":
            done = await asyncio.to_thread(_reprocess, store, feed_url, day)
        else:
            done = await store_entries(
                feed_url,
                entries,
                fetcher=fetcher,
                store=store,
                config=config,
                obey_robots=feed_url not in ignore_robots,
            )
        await asyncio.to_thread(
            record_day,
            store.engine,
            how,
            feed_url,
            day,
            status="failed" if done.pages.retry_pages or done.pages.deferred else "done",
            new=done.pages.new,
            updated=done.pages.updated,
            failed_pages=done.pages.failed_pages,
        )
        for warning in done.warnings[:20]:
            logger.warning("%s %s: %s", day, feed_url, warning)
        total += done
    pages = total.pages
    logger.info("%s: %s", day, pages.summary())
    row = {
        "day": day.isoformat(),
        "feeds": len(work),
        "pages": sum(len(e) for e in work.values()),
        "new": pages.new,
        "updated": pages.updated,
        "duplicates": pages.duplicates,
        "failed_pages": pages.failed_pages,
        "disallowed": pages.disallowed,
    }
    if pages.retry_pages:
        raise BackfillFailed(f"{day}: {pages.failed_pages} pages failed for a passing reason")
    if pages.deferred:
        raise BackfillFailed(
            f"{day}: {pages.deferred} pages left for the next run (crawl delay or a host's "
            "pause): run the same backfill again"
        )
    return row


def _reprocess(store: SqlStore, feed_url: str, day: date) -> EntriesResult:
    """Re-extract the stored raw pages of one feed's day with the current extractor."""
    records = []
    warnings = []
    for item in raw_pages_between(store.engine, feed_url, day):
        try:
            page = prepare_page(item.body, item.url, content_type=item.content_type)
        except IngestError as exc:
            warnings.append(f"{item.url}: {exc}")
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
    batch = collapse_records(records)
    saved = store.save(feed_url, batch.unique)
    counts = PageCounts(duplicates=batch.collapsed, failed_pages=len(warnings)).saved(saved)
    return EntriesResult(counts, warnings=tuple(warnings))


@flow(name="backfill", flow_run_name=backfill_run_name, log_prints=True, persist_result=False)
async def backfill(
    since: str,
    until: str,
    source: str = "sitemap",
    feeds_path: str | None = None,
    database_url: str | None = None,
    tags: list[str] | None = None,
    warc: list[str] | None = None,
    all_sites: bool = False,
    shard: int | None = None,
    shards: int = 1,
    reporter: Any = None,
) -> State[Any]:
    """Ingest what the feeds' sites published from ``since`` to ``until`` (inclusive UTC days).

    ``source``: ``sitemap`` (the sites' sitemaps), ``archive`` (paged/archived feeds),
    ``reprocess`` (re-extract stored pages, no network), ``ccnews`` (Common Crawl's CC-NEWS
    files captured in the range) or ``warc`` (the WARC files ``warc`` names). The WARC sources
    keep the pages of the feeds' sites (every site with ``all_sites``), read the files of shard
    ``shard`` of ``shards`` only, and report each stored step to ``reporter`` (a
    ``flows.backfill_warc.WarcReporter``). Ends ``Completed``, ``Partial`` when some days
    (files) failed (run it again to retry them), or ``Failed`` when every one failed; the
    state's data is the table of days (files).
    """
    logger = get_run_logger()
    days = day_range(since, until, today=_today())  # refused before any work starts
    how = check_source(source)
    settings = Settings.load(feeds=feeds_path, database_url=database_url)
    if how in WARC_SOURCES:
        chosen = None if shard is None else (shard, shards)
        return await _warc_backfill(how, days, settings, tags, warc, all_sites, chosen, reporter)
    if warc or all_sites or shard is not None:
        raise ConfigError("--warc, --all-sites and --shard are for --source ccnews or warc")
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
    return rows_state("day", rows)


async def _warc_backfill(
    how: str,
    days: DayRange,
    settings: Settings,
    tags: list[str] | None,
    inputs: list[str] | None,
    all_sites: bool,
    shard: tuple[int, int] | None,
    reporter: WarcReporter | None,
) -> State[Any]:
    """A backfill from WARC files (``flows.backfill_warc``): one task per file."""
    feeds_file = Path(settings.feeds)
    sources = (
        select_feeds(load_feeds(feeds_file), tags) if feeds_file.exists() or not all_sites else []
    )
    plan = make_plan(how, days, sources, all_sites=all_sites, settings=settings)
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        sync_feeds(engine, sources)
        rows, done_before = await run_warc_backfill(
            plan, inputs or [], settings=settings, engine=engine, shard=shard, reporter=reporter
        )
    finally:
        engine.dispose()
    await publish_warc(plan, rows, done_before)
    return rows_state("file", rows)


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
    progress_id = await acreate_progress_artifact(
        progress=0.0, key="backfill-progress", description=f"backfill {days.label()} ({how})"
    )
    ignore_robots = frozenset(s.url for s in sources if not s.obey_robots)
    async with Fetcher(http, store=SqlPolitenessStore(store.engine)) as fetcher:
        if how != "reprocess":
            wanted = [s for s in sources if s.url in plan]
            states = await asyncio.gather(
                *(
                    cast(
                        Awaitable[State[dict[date, list[FeedEntry]]]],
                        discover.with_options(task_run_name=f"discover-{urlsplit(s.url).netloc}")(
                            s, days, how, fetcher, config, return_state=True
                        ),
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
            row = await _day(day, work, how, fetcher, store, config, ignore_robots)
            if any(url in failed_feeds for url in pending_feeds if (url, day) in pending):
                row["status"] = "failed"
                row["error"] = "; ".join(f"{u}: {e}" for u, e in failed_feeds.items())[:500]
            rows.append(row)
            await aupdate_progress_artifact(
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
    ignore_robots: frozenset[str],
) -> dict[str, Any]:
    day_task = backfill_day.with_options(task_run_name=f"day-{day.isoformat()}")
    state = await cast(
        Awaitable[State[dict[str, Any]]],
        day_task(day, as_is(work), how, fetcher, store, config, ignore_robots, return_state=True),
    )
    try:
        row: dict[str, Any] = await state.aresult()
    except Exception as exc:  # the day failed: recorded, retried by the next run
        return {"day": day.isoformat(), "status": "failed", "error": str(exc)}
    row["status"] = "done"
    return row


async def _publish(days: DayRange, how: str, rows: list[dict[str, Any]], skipped: int) -> None:
    table = [{c: r.get(c) for c in (*BACKFILL_COLUMNS, "error")} for r in rows]
    if table:
        await acreate_table_artifact(
            table=table, key="backfill-days", description=f"backfill {days.label()} ({how})"
        )
    new = sum(int(r.get("new") or 0) for r in rows)
    failed = [r for r in rows if r.get("status") == "failed"]
    lines = [f"# Backfill {days.label()} ({how})", ""]
    if failed:
        lines += [f"## {len(failed)} failed days (run the same backfill again to retry)", ""]
        lines += [f"- {r['day']}: {r.get('error')}" for r in failed] + [""]
    lines += [
        "## Totals",
        "",
        f"- days run: {len(rows)}, already finished before: {skipped}",
        f"- new articles: {new}",
        f"- failed days: {len(failed)}",
    ]
    await acreate_markdown_artifact(
        markdown="\n".join(lines),
        key="backfill-summary",
        description=f"backfill {days.label()} ({how}): {len(failed)} failed days, then totals",
    )
