"""The ``ingest`` flow: fetch the feeds that are due, store their new articles, say how it went.

The flow only orchestrates: which feeds to fetch is :func:`ingest.feeds.plan.plan_run`, one
feed is :func:`ingest.pipeline.process_feed`, recording it is
:func:`storage.outcomes.record_outcome`. Each unit of work is a Prefect task: one feed, or
whole sites packed together when a run has more feeds than ``NEWSFLOW_MAX_TASKS``, so a run of
10,000 feeds costs a hundred task runs, not ten thousand. A task whose feed failed ends
FAILED (a red bar in the run's timeline) after its outcome is recorded; the run ends
``Completed``, ``Partial`` or ``Failed`` (``flows.run_states``).

(The module is not called ``flows/ingest.py``: Prefect puts a flow file's folder on sys.path
when a worker loads it, and that name would then shadow the ``ingest`` package.)
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

from prefect import State, flow, get_run_logger, tags, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NONE
from prefect.events import emit_event
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from flows.arguments import as_is
from flows.run_states import failure_note, run_state
from flows.settings import Settings
from ingest.feeds.plan import RunPlan, UnitOfWork, plan_run, units_of_work
from ingest.feeds.sources import load_feeds
from ingest.fetch.client import Fetcher
from ingest.model import FeedResult, FeedSource, FeedState, FeedStatus, PageCounts
from ingest.pipeline import FEED_RETRIES, PipelineConfig, process_feed
from ingest.prepare import PageWorkers, start_fork_server
from storage.db import ensure_schema, make_engine
from storage.leases import acquire_many, new_holder, release
from storage.outcomes import record_outcome
from storage.politeness import SqlPolitenessStore
from storage.repository import SqlStore, feed_states, sync_feeds

#: Columns of the ``ingest-feeds`` artifact, what a person scans first leading.
ARTIFACT_COLUMNS = (
    "name",
    "status",
    "error",
    "new",
    "feed",
    "updated",
    "duplicates",
    "failed_pages",
    "disallowed",
    "deferred",
    "seconds",
    "health",
)
SHORT_ERROR = 80
Logger = logging.Logger | logging.LoggerAdapter[Any]


class RunReporter(Protocol):
    """Who wants to follow a run as it goes (the command line's progress bar)."""

    def planned(self, feeds: int) -> None:
        """The run will fetch this many feeds."""

    def finished(self, row: Mapping[str, Any]) -> None:
        """One feed is done (or listed without a fetch): its row of the run's table."""


@dataclass(slots=True)
class _Ledger:
    """What the run's tasks report back: one row per feed, and any crash of newsflow's code."""

    reporter: RunReporter | None
    results: list[FeedResult] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)

    def add(self, result: FeedResult, drops: Sequence[str] = ()) -> None:
        row = feed_row(result, drops)
        self.results.append(result)
        self.rows.append(row)
        if self.reporter is not None:
            self.reporter.finished(row)


@dataclass(frozen=True, slots=True)
class _FeedRun:
    """What every task of one flow run shares."""

    fetcher: Fetcher
    store: SqlStore
    config: PipelineConfig
    pages: PageWorkers
    states: Mapping[str, FeedState]
    feed_slots: asyncio.Semaphore  # feeds processed at once, across all tasks
    ledger: _Ledger

    async def feed(self, source: FeedSource) -> FeedResult:
        async with self.feed_slots:
            return await process_feed(
                source,
                self.states.get(source.url, FeedState(source.url)),
                fetcher=self.fetcher,
                store=self.store,
                config=self.config,
                pages=self.pages,
                retry=FEED_RETRIES,
            )


@task(name="ingest-feeds", cache_policy=NONE)
async def ingest_feeds(unit: UnitOfWork, run: _FeedRun) -> State[Any]:
    """Fetch a unit's feeds, store their articles, record each outcome; FAILED if one failed.

    A feed failure is recorded (database, run table) before the task ends FAILED, and never
    stops the unit's other feeds. An exception from newsflow's own code is a crash, not a feed
    failure: the others are still recorded, then the task raises it (traceback in the log).
    """
    logger = get_run_logger()
    outcomes = await asyncio.gather(*(run.feed(s) for s in unit.feeds), return_exceptions=True)
    results = [o for o in outcomes if isinstance(o, FeedResult)]
    drops = await asyncio.to_thread(record_outcome, run.store.engine, results)
    several = len(unit.feeds) > 1
    for result in results:
        _report(logger, result, drops.get(result.feed_url, ()), each_feed=not several)
        run.ledger.add(result, drops.get(result.feed_url, ()))
    if several:
        logger.info("%s", unit_summary(results))
    crashes = [
        (s, o) for s, o in zip(unit.feeds, outcomes, strict=True) if isinstance(o, BaseException)
    ]
    for source, exc in crashes:
        if not isinstance(exc, Exception):
            raise exc  # cancelled: the run is being stopped
        logger.error("newsflow failed on %s", source.url, exc_info=exc)
        run.ledger.crashes.append(f"{source.url}: {type(exc).__name__}: {exc}")
    if crashes:
        raise crashes[0][1]
    failed = [r for r in results if r.failed]
    if failed:
        return Failed(message=_failures_message(failed, len(results)))
    return Completed(message=f"{len(results)} ok")


def _failures_message(failed: Sequence[FeedResult], of: int) -> str:
    if of == 1:
        return f"{_where(failed[0].feed_url)}: {failed[0].error}"
    notes = ", ".join(failure_note(_where(r.feed_url), r.error) for r in failed[:3])
    return f"{len(failed)} of {of} feeds failed: {notes}" + (", ..." if len(failed) > 3 else "")


def unit_summary(results: Sequence[FeedResult]) -> str:
    """One log line for a unit of several feeds: how many ended how, and the pages' counts.

    ``20 feeds: 19 ok, 1 error; 38 new, 0 updated, ...``. Each feed's own row is in the
    ``ingest-feeds`` artifact and ``newsflow feeds list``; its warnings are logged as before.
    """
    statuses = Counter(result.status.value for result in results)
    pages = sum((result.pages for result in results), PageCounts())
    ended = ", ".join(f"{n} {status}" for status, n in statuses.most_common())
    return f"{len(results)} feeds: {ended}; {pages.summary()}"


def _report(
    logger: logging.Logger | logging.LoggerAdapter[Any],
    result: FeedResult,
    drops: Sequence[str],
    *,
    each_feed: bool = True,
) -> None:
    """The feed's log lines and events: what people read in the UI and build automations on.

    ``each_feed`` False (a task of several feeds): a feed that worked gets no INFO line of its
    own, the task logs :func:`unit_summary` instead; warnings and failures are logged all the
    same. At thousands of feeds a line each was most of what the run sent Prefect's server.
    """
    url = result.feed_url
    for warning in result.warnings[:20]:
        logger.warning("%s: %s", url, warning)
    for drop in drops:
        logger.warning("extraction health: %s: %s", url, drop)
        emit_event(
            event="newsflow.extraction-health.dropped",
            resource={"prefect.resource.id": f"newsflow.feed.{url}"},
            payload={"feed": url, "problem": drop},
        )
    if not result.failed:
        if each_feed:
            logger.info("%s: %s, %s", url, result.status.value, result.pages.summary())
        if result.blocked_by:
            logger.warning("%s: every page was blocked by %s", url, result.blocked_by)
        return
    logger.warning("%s failed: %s", url, result.error)
    _feed_event("newsflow.feed.failed", result, error_class=result.error_kind)
    if result.update is not None and result.update.parked:
        logger.warning("%s is parked: run `newsflow feeds reset %s` once it is fixed", url, url)
        _feed_event("newsflow.feed.parked", result)


def _feed_event(name: str, result: FeedResult, **extra: str | None) -> None:
    """Emit ``name`` about the feed of ``result``: its URL, error and failures in a row."""
    url = result.feed_url
    emit_event(
        event=name,
        resource={"prefect.resource.id": f"newsflow.feed.{url}", "prefect.resource.name": url},
        payload={
            "feed": url,
            **extra,
            "message": result.error,
            "consecutive_failures": result.failures_in_a_row,
        },
    )


def run_name() -> str:
    """``ingest-2026-11-28T10:15Z-3f2a``: the time, and the run id's start to tell apart two
    runs of one minute."""
    return f"ingest-{datetime.now(UTC):%Y-%m-%dT%H:%MZ}-{_run_id()}"


def _run_id() -> str:
    return (flow_run.id or "")[:4] or "0000"


@flow(name="ingest", flow_run_name=run_name, log_prints=True, persist_result=False)
async def ingest(
    feeds_path: str | None = None,
    database_url: str | None = None,
    tags: list[str] | None = None,
    only_due: bool = False,
    shard: int | None = None,
    shards: int = 1,
    reporter: Any = None,
) -> State[Any]:
    """Fetch every selected feed once and store new articles; the state's data is the table.

    With ``shard``, only the feeds of shard ``shard`` of ``shards`` (ingest.feeds.shards), so
    several workers can split one feeds file. ``only_due`` skips feeds whose next fetch has
    not come (scheduled runs). ``reporter`` (a :class:`RunReporter`; the command line's
    progress bar) hears of each feed as it finishes.
    """
    logger = get_run_logger()
    settings = Settings.load(feeds=feeds_path, database_url=database_url)
    sources = [s for s in load_feeds(Path(settings.feeds)) if s.enabled]
    ledger = _Ledger(reporter)
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        sync_feeds(engine, sources)
        states = feed_states(engine, [s.url for s in sources])
        plan = plan_run(
            sources,
            states,
            datetime.now(UTC),
            tags=tags,
            only_due=only_due,
            shard=(shard, shards) if shard is not None else None,
            early=settings.early(),
        )
        if plan.fetch and settings.worker_processes():
            start_fork_server()  # it boots while the leases are taken and the feeds fetched
        holder = new_holder()
        held = acquire_many(engine, [_lease(s.url) for s in plan.fetch], holder)
        plan = plan.leased_elsewhere([s.url for s in plan.fetch if _lease(s.url) not in held])
        _log_plan(logger, plan, shard, shards)
        if reporter is not None:
            reporter.planned(len(plan.fetch))
        for result in plan.unfetched_results():
            ledger.add(result)
        try:
            await _fetch_all(plan, states, settings, SqlStore(engine), ledger)
        finally:
            release(engine, held, holder)
    finally:
        engine.dispose()
    await _publish(ledger.rows)
    attempted = [r for r in ledger.results if r.status.attempted]
    failed = [r for r in attempted if r.failed]
    return run_state(
        "feed",
        len(attempted),
        [failure_note(_where(r.feed_url), r.error) for r in failed],
        broke=(
            f"{len(ledger.crashes)} feeds hit an error in newsflow itself, e.g. "
            f"{ledger.crashes[0]} (traceback in the log)"
            if ledger.crashes
            else None
        ),
        data=ledger.rows,
    )


async def _fetch_all(
    plan: RunPlan,
    states: Mapping[str, FeedState],
    settings: Settings,
    store: SqlStore,
    ledger: _Ledger,
) -> None:
    """Run every unit of work, a few at a time; a unit that fails never stops the others."""
    if not plan.fetch:
        return
    units = units_of_work(plan.fetch, settings.max_tasks)
    per_unit = math.ceil(len(plan.fetch) / len(units))
    # Enough units at once to keep every feed slot busy, few enough that units finish in turn
    # (the run page then shows progress) and no feed holds pages while waiting for a slot.
    unit_slots = asyncio.Semaphore(max(2, math.ceil(settings.max_concurrency / per_unit) + 1))
    # One fetcher for the whole run: every feed of a host shares its robots.txt, gap and pause.
    politeness = SqlPolitenessStore(store.engine)
    async with (
        Fetcher(settings.http_config(), store=politeness) as fetcher,
        settings.page_workers() as pages,
    ):
        run = _FeedRun(
            fetcher,
            store,
            settings.pipeline_config(),
            pages,
            states,
            asyncio.Semaphore(settings.max_concurrency),
            ledger,
        )
        await asyncio.gather(*(_run_unit(unit, run, unit_slots) for unit in units))


async def _run_unit(unit: UnitOfWork, run: _FeedRun, slots: asyncio.Semaphore) -> None:
    # The task run starts once the unit has a slot, so the UI shows waiting units as such.
    async with slots:
        one_feed = unit.feeds[0].tags if len(unit.feeds) == 1 else ()
        with tags(*one_feed):  # a feed's tags on its task run, for filtering in the UI
            feeds_task = ingest_feeds.with_options(task_run_name=unit.name)
            await cast(
                Awaitable[State[Any]], feeds_task(as_is(unit), as_is(run), return_state=True)
            )


def _log_plan(logger: Logger, plan: RunPlan, shard: int | None, shards: int) -> None:
    if shard is not None and plan.other_shards:
        logger.info(
            "shard %d/%d: %d feeds of other shards left out", shard, shards, plan.other_shards
        )
    for source in plan.leased:
        logger.info("%s is being fetched by another run: skipped", source.url)
    if plan.not_due:
        logger.info("%d feeds are not due yet", len(plan.not_due))


def _lease(feed_url: str) -> str:
    return f"feed:{feed_url}"


def _where(url: str) -> str:
    """A feed as people name it in a message: host and path."""
    parsed = urlsplit(url)
    return f"{parsed.netloc}{parsed.path}"


def feed_row(result: FeedResult, drops: Sequence[str] = ()) -> dict[str, Any]:
    """One feed's row of the run's table (artifact and command line).

    ``disallowed``: pages robots.txt disallows (not requested, not failed); ``deferred``: pages
    left for the next run (crawl delay, a host's pause, robots.txt unreachable). A feed whose
    every page was blocked by a bot or consent wall says so in ``error``.
    """
    pages = result.pages
    blocked = f"all pages blocked by {result.blocked_by}" if result.blocked_by else None
    return {
        "name": result.name or _where(result.feed_url),
        "status": result.status.value,
        "error": result.error or blocked,
        "new": pages.new,
        "feed": result.feed_url,
        "updated": pages.updated,
        "duplicates": pages.duplicates,
        "failed_pages": pages.failed_pages,
        "disallowed": pages.disallowed,
        "deferred": pages.deferred,
        "seconds": result.seconds,
        "health": "; ".join(drops) or None,
    }


def _failed_first(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    order = {FeedStatus.FAILED.value: 0, FeedStatus.PARKED.value: 1}
    return sorted(rows, key=lambda r: order.get(r["status"], 2))


async def _publish(rows: Sequence[Mapping[str, Any]]) -> None:
    """The run's table artifact (one row per feed, failures first) and its summary."""
    table = [
        {c: (_short(r[c]) if c == "error" else r[c]) for c in ARTIFACT_COLUMNS}
        for r in _failed_first(rows)
    ]
    await acreate_table_artifact(
        table=table,
        key="ingest-feeds",
        description="One row per feed, failed feeds first; full errors in ingest-summary",
    )
    failed = [r for r in rows if r["status"] == FeedStatus.FAILED.value]
    parked = [r for r in rows if r["status"] == FeedStatus.PARKED.value]
    totals = {
        k: sum(int(r[k]) for r in rows)
        for k in ("new", "updated", "duplicates", "failed_pages", "disallowed", "deferred")
    }
    lines = ["# Ingest summary", ""]
    if failed:
        lines += [f"## {len(failed)} failed feeds", ""]
        lines += [f"- **{r['name']}** ({r['feed']}): {r['error']}" for r in failed] + [""]
    lines += [
        "## Totals",
        "",
        f"- feeds: {len(rows)} ({len(failed)} failed, {len(parked)} parked)",
        f"- new articles: {totals['new']}",
        f"- updated: {totals['updated']}",
        f"- duplicates: {totals['duplicates']}",
        f"- failed pages: {totals['failed_pages']}",
        f"- pages disallowed by robots.txt (not requested): {totals['disallowed']}",
        f"- pages left for the next run (crawl delay, host pause): {totals['deferred']}",
    ]
    if parked:
        lines += ["", "## Parked feeds (`newsflow feeds reset URL`)", ""]
        lines += [f"- {r['feed']}" for r in parked]
    await acreate_markdown_artifact(
        markdown="\n".join(lines),
        key="ingest-summary",
        description=f"{len(failed)} failed of {len(rows)} feeds, then totals",
    )


def _short(error: str | None) -> str | None:
    if error is None or len(error) <= SHORT_ERROR:
        return error
    return error[: SHORT_ERROR - 1] + "…"
