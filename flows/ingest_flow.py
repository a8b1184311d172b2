"""The ``ingest`` flow: one Prefect task per feed (never per article), artifacts per run.

The flow only orchestrates: every stage is a plain function in ``ingest/`` or ``storage/``.
(The module is not called ``flows/ingest.py``: Prefect puts a flow file's folder on sys.path
when a worker loads it, and that name would then shadow the ``ingest`` package.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prefect import flow, get_run_logger, tags, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.events import emit_event
from prefect.runtime import task_run

from flows.settings import Settings
from ingest.errors import ConfigError, TransientFetchError
from ingest.feeds.shards import select_shard
from ingest.feeds.sources import load_feeds
from ingest.fetch.client import Fetcher
from ingest.health import HealthCounts, health_drops
from ingest.model import FeedSource, FeedState
from ingest.pipeline import FeedOutcome, PipelineConfig, process_feed
from ingest.prepare import PageWorkers
from storage.db import ensure_schema, make_engine
from storage.health import recent_health, record_health
from storage.leases import acquire_many, new_holder, release
from storage.repository import FeedUpdate, SqlStore, feed_states, record_feed, sync_feeds

FEED_RETRIES = 2
#: Set by the command line to show live progress; called with each finished feed.
progress_listener: Callable[[FeedOutcome], None] | None = None
#: Set by the command line to learn how many feeds a run will fetch.
plan_listener: Callable[[int], None] | None = None


def _retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a feed only when it failed for a reason that may pass (not 4xx, not parse).

    Prefect hands the raised exception over as the failed state's data.
    """
    return isinstance(state.data, TransientFetchError)


@task(
    name="ingest-feed",
    retries=FEED_RETRIES,
    retry_delay_seconds=[2, 4],
    retry_jitter_factor=0.5,
    retry_condition_fn=_retry_transient,
    cache_policy=NONE,
)
async def ingest_feed(
    source: FeedSource,
    state: FeedState,
    fetcher: Fetcher,
    store: SqlStore,
    config: PipelineConfig,
    pages: PageWorkers,
) -> FeedOutcome:
    """Fetch one feed and store its new articles, then record the feed's state."""
    logger = get_run_logger()
    outcome = await process_feed(
        source, state, fetcher=fetcher, store=store, config=config, pages=pages
    )
    last_try = (task_run.run_count or 1) > FEED_RETRIES
    if outcome.failed and outcome.transient and not outcome.retry_after and not last_try:
        logger.warning("%s: %s (will retry)", source.url, outcome.error)
        raise TransientFetchError(outcome.error or "transient failure", url=source.url)
    drops = await asyncio.to_thread(_record, store, outcome)
    for drop in drops:
        logger.warning("extraction health: %s: %s", source.url, drop)
        emit_event(
            event="newsflow.extraction-health.dropped",
            resource={"prefect.resource.id": f"newsflow.feed.{source.url}"},
            payload={"feed": source.url, "problem": drop},
        )
    outcome.health_warnings = drops
    for warning in outcome.warnings[:20]:
        logger.warning("%s: %s", source.url, warning)
    if outcome.failed:
        logger.warning("%s failed: %s", source.url, outcome.error)
    else:
        logger.info(
            "%s: %s, %d new, %d updated, %d duplicates, %d failed pages",
            source.url,
            outcome.status,
            outcome.new,
            outcome.updated,
            outcome.duplicates,
            outcome.failed_pages,
        )
    if progress_listener is not None:
        progress_listener(outcome)
    return outcome


def _record(store: SqlStore, outcome: FeedOutcome) -> list[str]:
    """Record the feed's state and this run's extraction health; return health drops."""
    if outcome.next_fetch_at is None:
        return []
    now = HealthCounts(outcome.extracted, outcome.with_date, outcome.with_author, outcome.long_body)
    drops = health_drops(now, recent_health(store.engine, outcome.feed_url))
    record_health(store.engine, outcome.feed_url, datetime.now(UTC), now)
    record_feed(
        store.engine,
        outcome.feed_url,
        FeedUpdate(
            status=outcome.status,
            fetched_at=datetime.now(UTC),
            next_fetch_at=outcome.next_fetch_at,
            validators=outcome.validators,
            error=outcome.error,
            parked=outcome.parked,
        ),
    )
    return drops


def lease_name(feed_url: str) -> str:
    return f"feed:{feed_url}"


def run_name() -> str:
    return "ingest-" + datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ")


def select_feeds(sources: list[FeedSource], tags: list[str] | None) -> list[FeedSource]:
    """Enabled feeds, restricted to those carrying any of ``tags`` when given."""
    wanted = set(tags or [])
    return [s for s in sources if s.enabled and (not wanted or wanted & set(s.tags))]


@flow(name="ingest", flow_run_name=run_name, log_prints=True)
async def ingest(
    feeds_path: str | None = None,
    database_url: str | None = None,
    tags: list[str] | None = None,
    only_due: bool = False,
    shard: int | None = None,
    shards: int = 1,
) -> list[dict[str, Any]]:
    """Fetch every selected feed once and store new articles; returns one row per feed.

    With ``shard``, only the feeds of shard ``shard`` of ``shards``
    (ingest.feeds.shards), so several workers can split one feeds file.
    """
    logger = get_run_logger()
    settings = Settings.load(feeds=feeds_path, database_url=database_url)
    sources = select_feeds(load_feeds(Path(settings.feeds)), tags)
    if not sources:
        raise ConfigError(
            f"no enabled feeds in {settings.feeds}" + (f" with tags {tags}" if tags else "")
        )
    if shard is not None:
        selected = len(sources)
        sources = select_shard(sources, shard, shards)
        if not sources:  # more shards than feeds: nothing to do is not an error
            logger.info("shard %d/%d has none of the %d feeds", shard, shards, selected)
            return []
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        sync_feeds(engine, sources)
        states = feed_states(engine, [s.url for s in sources])
        now = datetime.now(UTC)
        outcomes: list[FeedOutcome] = []
        runnable: list[FeedSource] = []
        for source in sources:
            state = states.get(source.url, FeedState(source.url))
            if state.parked:
                outcomes.append(
                    FeedOutcome(
                        source.url,
                        source.name,
                        status="parked",
                        error="parked after repeated failures: run `newsflow feeds reset URL`",
                    )
                )
            elif only_due and state.next_fetch_at and state.next_fetch_at > now:
                continue
            else:
                runnable.append(source)
        holder = new_holder()
        held = acquire_many(engine, [lease_name(s.url) for s in runnable], holder)
        for source in runnable:
            if lease_name(source.url) not in held:
                logger.info("%s is being fetched by another run: skipped", source.url)
                outcomes.append(FeedOutcome(source.url, source.name, status="skipped"))
        runnable = [s for s in runnable if lease_name(s.url) in held]
        if plan_listener is not None:
            plan_listener(len(runnable))
        store = SqlStore(engine)
        config = settings.pipeline_config()
        try:
            # At most as many feeds at once as requests: more would only hold their downloaded
            # pages in memory while they wait for a request slot or an extraction worker.
            feeds_at_once = asyncio.Semaphore(settings.max_concurrency)
            async with Fetcher(settings.http_config()) as fetcher, settings.page_workers() as pages:
                outcomes += await asyncio.gather(
                    *(
                        _guarded(
                            s,
                            states.get(s.url, FeedState(s.url)),
                            _FeedRun(fetcher, store, config, pages, feeds_at_once),
                        )
                        for s in runnable
                    )
                )
        finally:
            release(engine, held, holder)
    finally:
        engine.dispose()
    rows = [_row(o) for o in outcomes]
    await _publish(rows)
    failed = [o for o in outcomes if o.failed]
    if failed:
        logger.warning("%d of %d feeds failed", len(failed), len(outcomes))
    return rows


@dataclass(frozen=True, slots=True)
class _FeedRun:
    """What every feed's task of one flow run shares."""

    fetcher: Fetcher
    store: SqlStore
    config: PipelineConfig
    pages: PageWorkers
    slots: asyncio.Semaphore  # feeds processed at once


async def _guarded(source: FeedSource, state: FeedState, run: _FeedRun) -> FeedOutcome:
    """Run one feed's task when a slot is free; a crash becomes its error row, not the run's."""
    try:
        # The task run starts once the feed has a slot, so the UI shows waiting feeds as such.
        async with run.slots:
            with tags(*source.tags):  # the feed's tags on its task run, for filtering in the UI
                return await ingest_feed.with_options(task_run_name=task_name(source))(
                    source, state, run.fetcher, run.store, run.config, run.pages
                )
    except Exception as exc:  # a bug or a retried-out transient error: record, don't stop
        return FeedOutcome(
            source.url, source.name, status="error", error=str(exc) or type(exc).__name__
        )


def task_name(source: FeedSource) -> str:
    """A readable task-run name: the feed's host and path."""
    parsed = urlsplit(source.url)
    return f"feed-{parsed.netloc}{parsed.path}"[:120]


def _row(outcome: FeedOutcome) -> dict[str, Any]:
    return {
        "feed": outcome.feed_url,
        "name": outcome.name,
        "status": outcome.status,
        "new": outcome.new,
        "updated": outcome.updated,
        "duplicates": outcome.duplicates,
        "failed_pages": outcome.failed_pages,
        "error": outcome.error,
        "seconds": outcome.seconds,
        "health": "; ".join(outcome.health_warnings) or None,
    }


async def _publish(rows: list[dict[str, Any]]) -> None:
    """The run's table artifact (one row per feed) and markdown summary."""
    await create_table_artifact(
        table=rows, key="ingest-feeds", description="One row per feed: outcome of this run"
    )
    totals = {
        k: sum(int(r[k]) for r in rows) for k in ("new", "updated", "duplicates", "failed_pages")
    }
    failed = [r for r in rows if r["status"] == "error"]
    parked = [r for r in rows if r["status"] == "parked"]
    lines = [
        "# Ingest summary",
        "",
        f"- feeds: {len(rows)} ({len(failed)} failed, {len(parked)} parked)",
        f"- new articles: {totals['new']}",
        f"- updated: {totals['updated']}",
        f"- duplicates: {totals['duplicates']}",
        f"- failed pages: {totals['failed_pages']}",
    ]
    if failed:
        lines += ["", "## Failed feeds", ""] + [f"- {r['feed']}: {r['error']}" for r in failed]
    if parked:
        lines += ["", "## Parked feeds", ""] + [f"- {r['feed']}" for r in parked]
    await create_markdown_artifact(markdown="\n".join(lines), key="ingest-summary")
