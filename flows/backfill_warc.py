"""The WARC sources of the ``backfill`` flow: a CC-NEWS month, or any WARC files.

One Prefect task per file. A file is read record by record in a worker thread
(``ingest.backfill.warc_scan``) while the event loop extracts and stores the previous step's
pages; after each step is stored its progress is recorded (``storage.warc_files``), so a file
that is done is skipped by the next run, downloading nothing, and a run killed inside a file
resumes at the first record it had not stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

from prefect import State, get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NONE
from sqlalchemy import Engine

from flows.arguments import as_is
from flows.columns import WARC_COLUMNS
from flows.settings import Settings
from ingest.backfill.ccnews import ccnews_files
from ingest.backfill.days import DayRange
from ingest.backfill.warc_pages import (
    WarcCounts,
    WarcFileStatus,
    WarcProgress,
    page_records,
    selection_scope,
)
from ingest.backfill.warc_scan import ScanStep, SiteFilter, scan_warc
from ingest.backfill.warc_sources import WarcFile, resolve_warc_inputs, shard_files
from ingest.backfill.warc_stream import open_warc
from ingest.dedup.identity import collapse_records
from ingest.errors import ConfigError, IngestError
from ingest.fetch.client import Fetcher
from ingest.model import FeedSource, SaveCounts
from ingest.prepare import PageWorkers
from ingest.urls import site_of
from storage.repository import SqlStore
from storage.warc_files import file_progress, record_progress, start_file

WARC_SOURCES = ("ccnews", "warc")
#: How long the reading thread waits for one chunk of a remote file before giving up.
CHUNK_WAIT_SECONDS = 600.0


class WarcReporter(Protocol):
    """Who follows a WARC backfill as it goes (the command line's progress display)."""

    def planned(self, files: int, done_before: int) -> None:
        """The run will read this many files; ``done_before`` were finished by earlier runs."""

    def progressed(self, name: str, progress: WarcProgress, mb_per_s: float) -> None:
        """A step of a file was stored."""

    def finished(self, row: Mapping[str, Any]) -> None:
        """A file is done or failed: its row of the run's table."""


@dataclass(frozen=True, slots=True)
class WarcPlan:
    """What every file of one run is read for."""

    source: str  # ccnews | warc
    days: DayRange
    sites: frozenset[str] | None  # None: every site (--all-sites)
    feed_of_site: dict[str, str]
    scope: str
    max_body: int


def plan_sites(sources: Sequence[FeedSource], *, all_sites: bool) -> dict[str, str]:
    """The site of each selected feed, mapped to the first feed of that site."""
    feed_of_site: dict[str, str] = {}
    for source in sources:
        try:
            feed_of_site.setdefault(site_of(source.url), source.url)
        except ValueError as exc:
            raise ConfigError(f"feed {source.url!r}: {exc}") from exc
    if not feed_of_site and not all_sites:
        raise ConfigError("no feeds selected: name feeds (--feeds, --tag) or use --all-sites")
    return feed_of_site


async def warc_files(
    plan: WarcPlan,
    inputs: Sequence[str],
    *,
    settings: Settings,
    fetcher: Fetcher,
    shard: tuple[int, int] | None,
) -> list[WarcFile]:
    """The files of the run: a CC-NEWS range's, or those ``--warc`` names; then the shard's."""
    if plan.source == "ccnews":
        if inputs:
            raise ConfigError("--warc is for --source warc; --source ccnews finds its own files")
        files = await ccnews_files(
            plan.days,
            base_url=settings.ccnews_url,
            lag_days=settings.ccnews_capture_lag_days,
            fetcher=fetcher,
            today=datetime.now(UTC).date(),
            max_bytes=settings.max_feed_bytes,
        )
    else:
        if not inputs:
            raise ConfigError("--source warc needs at least one --warc PATH_OR_URL")
        files = await resolve_warc_inputs(inputs, fetcher=fetcher, ccnews_base=settings.ccnews_url)
    return shard_files(files, *shard) if shard else files


async def run_warc_backfill(
    plan: WarcPlan,
    inputs: Sequence[str],
    *,
    settings: Settings,
    engine: Engine,
    shard: tuple[int, int] | None,
    reporter: WarcReporter | None,
) -> tuple[list[dict[str, Any]], int]:
    """Read every file of the run not done before; its rows, and how many were done before."""
    logger = get_run_logger()
    http = dataclasses.replace(
        settings.http_config(), per_host=1, trusted_hosts=named_hosts(settings, inputs)
    )
    store = SqlStore(engine)
    async with Fetcher(http) as fetcher:
        files = await warc_files(plan, inputs, settings=settings, fetcher=fetcher, shard=shard)
        known = await asyncio.to_thread(file_progress, engine, plan.scope, [f.url for f in files])
        todo = [f for f in files if _status(known.get(f.url)) is not WarcFileStatus.DONE]
        logger.info(
            "backfill %s from %s: %d files, %d done before",
            plan.days.label(),
            plan.source,
            len(files),
            len(files) - len(todo),
        )
        if reporter is not None:
            reporter.planned(len(todo), len(files) - len(todo))
        rows = []
        async with settings.page_workers() as workers:
            for file in todo:
                row = await _file(file, plan, fetcher, store, workers, reporter)
                rows.append(row)
                if reporter is not None:
                    reporter.finished(row)
    return rows, len(files) - len(todo)


def named_hosts(settings: Settings, inputs: Sequence[str]) -> tuple[str, ...]:
    """The hosts the operator named: the CC-NEWS archive's and those of ``--warc`` URLs.

    They may be on a private network (a mirror, a test server on loopback); hosts found in
    listings or redirects are vetted by the SSRF guard as usual.
    """
    hosts = []
    for url in (settings.ccnews_url, *inputs):
        host = urlsplit(url).hostname if url.startswith(("http://", "https://")) else None
        if host:
            hosts.append(host)
    return tuple(dict.fromkeys(hosts))


def _status(progress: WarcProgress | None) -> WarcFileStatus | None:
    return progress.status if progress is not None else None


async def _file(
    file: WarcFile,
    plan: WarcPlan,
    fetcher: Fetcher,
    store: SqlStore,
    workers: PageWorkers,
    reporter: WarcReporter | None,
) -> dict[str, Any]:
    """Run one file's task; a failed file is a row with its error (the next run retries it)."""
    file_task = backfill_warc_file.with_options(task_run_name=f"warc-{file.name[:80]}")
    state = await cast(
        "asyncio.Future[State[dict[str, Any]]]",
        file_task(file, as_is(plan), fetcher, store, workers, reporter, return_state=True),
    )
    try:
        row: dict[str, Any] = await state.aresult()
    except Exception as exc:  # the file failed: its row says how far it got, and why
        known = await asyncio.to_thread(file_progress, store.engine, plan.scope, [file.url])
        progress = known.get(file.url, WarcProgress())
        failed = dataclasses.replace(progress, status=WarcFileStatus.FAILED, error=str(exc))
        return file_row(file, failed, 0.0, 0)
    return row


@task(name="warc-file", cache_policy=NONE)
async def backfill_warc_file(
    file: WarcFile,
    plan: WarcPlan,
    fetcher: Fetcher,
    store: SqlStore,
    workers: PageWorkers,
    reporter: WarcReporter | None,
) -> dict[str, Any]:
    """Read one WARC file from where an earlier run left it; store its pages of the range."""
    logger = get_run_logger()
    engine = store.engine
    progress = await asyncio.to_thread(
        start_file, engine, source=plan.source, url=file.url, scope=plan.scope, days=plan.days
    )
    if progress.resume_offset:
        logger.info("%s: resuming at byte %d", file.url, progress.resume_offset)
    started = time.monotonic()
    reading = _Reading(file, plan, progress, started, reporter)
    try:
        progress = await _read(reading, fetcher, store, workers)
    except (IngestError, OSError) as exc:
        failed = dataclasses.replace(
            reading.progress, status=WarcFileStatus.FAILED, error=str(exc)[:2000]
        )
        await asyncio.to_thread(
            record_progress, engine, url=file.url, scope=plan.scope, progress=failed
        )
        logger.warning("%s: %s", file.url, exc)
        raise
    return file_row(file, progress, time.monotonic() - started, reading.bytes_this_run)


@dataclass(slots=True)
class _Reading:
    """One file being read: where it stands, for the steps, the progress display and errors."""

    file: WarcFile
    plan: WarcPlan
    progress: WarcProgress
    started: float
    reporter: WarcReporter | None
    first_offset: int = 0
    bytes_this_run: int = 0

    def __post_init__(self) -> None:
        self.first_offset = self.progress.resume_offset


async def _read(
    reading: _Reading, fetcher: Fetcher, store: SqlStore, workers: PageWorkers
) -> WarcProgress:
    plan, file = reading.plan, reading.file
    async with open_warc(
        file,
        offset=reading.progress.resume_offset,
        fetcher=fetcher,
        chunk_timeout=CHUNK_WAIT_SECONDS,
    ) as stream:
        steps = scan_warc(stream, wanted=SiteFilter(plan.sites), max_body=plan.max_body)
        pending: asyncio.Future[ScanStep | None] | None = _ahead(steps)
        try:
            while pending is not None:
                step = await pending
                pending = None
                if step is None:
                    break
                if not step.done:
                    pending = _ahead(steps)  # read the next step while this one is stored
                counts = await _store_step(step, plan, store, workers)
                await _advance(reading, step, counts, store.engine)
        finally:
            if pending is not None:  # an error while storing: let the reader stop first
                await asyncio.gather(pending, return_exceptions=True)
    return reading.progress


def _ahead(steps: Iterator[ScanStep]) -> asyncio.Future[ScanStep | None]:
    return asyncio.ensure_future(asyncio.to_thread(next, steps, None))


async def _store_step(
    step: ScanStep, plan: WarcPlan, store: SqlStore, workers: PageWorkers
) -> WarcCounts:
    """Extract and store one step's pages; what became of its records."""
    found = await page_records(
        step.pages, days=plan.days, feed_of_site=plan.feed_of_site, workers=workers
    )
    saved = SaveCounts()
    collapsed = 0
    for feed_url, records in found.by_feed.items():
        batch = collapse_records(records)
        saved += await asyncio.to_thread(store.save, feed_url, batch.unique)
        collapsed += batch.collapsed
    if found.warnings:
        get_run_logger().info("%d pages yielded no article, e.g. %s", *_first(found.warnings))
    return WarcCounts(
        records=step.records,
        kept=len(step.pages),
        stored=saved.new + saved.updated,
        duplicates=saved.duplicates + collapsed,
        out_of_range=found.out_of_range,
        failed_pages=found.failed,
    )


def _first(warnings: Sequence[str]) -> tuple[int, str]:
    return len(warnings), warnings[0]


async def _advance(reading: _Reading, step: ScanStep, counts: WarcCounts, engine: Engine) -> None:
    """Record a stored step: counts, the offset to resume at, done at the end."""
    progress = WarcProgress(
        status=WarcFileStatus.DONE if step.done else WarcFileStatus.RUNNING,
        counts=reading.progress.counts + counts,
        bytes_read=step.position,
        resume_offset=step.resume_offset,
    )
    await asyncio.to_thread(
        record_progress, engine, url=reading.file.url, scope=reading.plan.scope, progress=progress
    )
    reading.progress = progress
    reading.bytes_this_run = step.position - reading.first_offset
    if reading.reporter is not None:
        seconds = max(time.monotonic() - reading.started, 1e-6)
        reading.reporter.progressed(
            reading.file.name, progress, reading.bytes_this_run / 1e6 / seconds
        )


def file_row(
    file: WarcFile, progress: WarcProgress, seconds: float, bytes_this_run: int
) -> dict[str, Any]:
    """One file's row of the run's table (and of the ``backfill-warc`` artifact)."""
    counts = progress.counts
    return {
        "file": file.name,
        "url": file.url,
        "status": progress.status.value,
        "records": counts.records,
        "kept": counts.kept,
        "stored": counts.stored,
        "duplicates": counts.duplicates,
        "out_of_range": counts.out_of_range,
        "failed_pages": counts.failed_pages,
        "mb": round(progress.bytes_read / 1e6, 1),
        "mb_per_s": round(bytes_this_run / 1e6 / max(seconds, 1e-6), 1),
        "seconds": round(seconds, 1),
        "error": progress.error,
    }


async def publish_warc(plan: WarcPlan, rows: Sequence[Mapping[str, Any]], done_before: int) -> None:
    """The ``backfill-warc`` table artifact: one row per file this run read."""
    table = [{c: r.get(c) for c in (*WARC_COLUMNS, "error")} for r in rows]
    if not table:
        return
    await acreate_table_artifact(
        table=table,
        key="backfill-warc",
        description=(
            f"backfill {plan.days.label()} ({plan.source}): {len(rows)} files read, "
            f"{done_before} done before"
        ),
    )


def make_plan(
    source: str,
    days: DayRange,
    sources: Sequence[FeedSource],
    *,
    all_sites: bool,
    settings: Settings,
) -> WarcPlan:
    """What the run's files are read for."""
    feed_of_site = plan_sites(sources, all_sites=all_sites)
    sites = None if all_sites else frozenset(feed_of_site)
    return WarcPlan(
        source=source,
        days=days,
        sites=sites,
        feed_of_site=feed_of_site,
        scope=selection_scope(sites, days),
        max_body=settings.max_page_bytes,
    )
