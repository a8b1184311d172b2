"""The ``newsflow`` command line. Flags override ``NEWSFLOW_*`` variables.

Prefect is imported only by the commands that run flows, after its environment defaults are set,
so ``newsflow articles`` and ``newsflow extract`` start fast.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from flows.columns import BACKFILL_COLUMNS, WARC_TABLE_COLUMNS
from flows.output import render_table, write_csv, write_jsonl
from flows.settings import Settings
from ingest.errors import ConfigError, IngestError

FEED_TABLE_COLUMNS = (
    "feed",
    "status",
    "new",
    "updated",
    "duplicates",
    "failed_pages",
    "disallowed",
    "seconds",
)
stderr = Console(stderr=True)


def _prefect_defaults() -> None:
    """Prefect settings that make a one-shot CLI run behave on a small machine."""
    # The ephemeral server can take ~20 s to start on 2 cores (PREFECT.md §7).
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@contextmanager
def _errors_to_exit() -> Iterator[None]:
    try:
        yield
    except IngestError as exc:
        _fail(str(exc))


def _parse_when(value: str | None, *, end: bool = False) -> datetime | None:
    """An ISO date or date-time; a bare date means the start (or end) of that UTC day."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO date or date-time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@click.group()
@click.version_option(package_name="newsflow")
def main() -> None:
    """newsflow: news feeds in, clean deduplicated articles out."""


# --- ingest ------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--feeds", "feeds_path", type=click.Path(dir_okay=False), help="Feeds file (.toml or .opml)."
)
@click.option("--db", "database_url", help="Database URL (sqlite:///... or postgresql://...).")
@click.option("--tag", "tags", multiple=True, help="Only feeds with this tag (repeatable).")
@click.option(
    "--shard",
    callback=lambda _ctx, _param, value: _parse_shard(value),
    metavar="K/N",
    help="Only shard K of N (0 <= K < N) of the feeds, split by a stable hash of their URL.",
)
@click.option("--fail-on-error", is_flag=True, help="Exit 1 when any feed fails.")
def ingest(
    feeds_path: str | None,
    database_url: str | None,
    tags: tuple[str, ...],
    shard: tuple[int, int] | None,
    fail_on_error: bool,
) -> None:
    """Run the ingest flow once through Prefect and print a per-feed table."""
    with _errors_to_exit():
        settings = Settings.load(feeds=feeds_path, database_url=database_url)
        _check_before_starting(settings)
        if settings.worker_processes():
            from ingest.prepare import start_fork_server

            start_fork_server()  # the extraction workers' fork server boots while Prefect starts
        run = run_ingest(settings, list(tags), shard)
    render_table(run.rows, FEED_TABLE_COLUMNS, title="newsflow ingest", widths={"feed": 60})
    failed = [r for r in run.rows if r["status"] == "error"]
    blocked = [r for r in run.rows if r["status"] == "ok" and r["error"]]  # walls on every page
    for row in failed + blocked:
        click.echo(f"{row['feed']}: {row['error']}", err=True)
    if run.failed:
        _fail(run.message)
    if fail_on_error and failed:
        _fail(f"{len(failed)} of {len(run.rows)} feeds failed")


def _parse_shard(value: str | None) -> tuple[int, int] | None:
    """``K/N`` as ``(K, N)``, refused unless ``0 <= K < N``."""
    if value is None:
        return None
    from ingest.feeds.shards import check_shard

    try:
        shard, shards = (int(part) for part in value.split("/"))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not K/N (e.g. 0/2)") from exc
    try:
        check_shard(shard, shards)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from exc
    return shard, shards


@dataclass(frozen=True, slots=True)
class FlowRun:
    """How a flow run ended, as the command line reports it."""

    state_name: str
    message: str
    failed: bool  # FAILED or CRASHED: the run did not do its job (exit 1)
    rows: list[dict[str, Any]]


def _run_flow(what: str, run: Awaitable[Any]) -> FlowRun:
    """Run a flow to its end and read its final state and table; a crash says why (exit 1)."""

    async def until_done() -> tuple[Any, Any]:
        state = await run
        return state, await state.aresult(raise_on_failure=False)

    try:
        state, data = asyncio.run(until_done())
    except IngestError:
        raise
    except Exception as exc:  # the pipeline itself broke: say why
        raise IngestError(f"the {what} failed: {type(exc).__name__}: {exc}") from exc
    return FlowRun(
        state.name or state.type.value,
        state.message or "",
        state.is_failed() or state.is_crashed(),
        data if isinstance(data, list) else [],
    )


def _check_before_starting(settings: Settings) -> None:
    """Refuse a bad feeds file or database URL before paying for Prefect's start-up."""
    from ingest.feeds.sources import load_feeds
    from storage.db import normalize_url

    load_feeds(Path(settings.feeds))
    normalize_url(settings.database_url)


class _ProgressReporter:
    """Follows an ingest run for the command line: a progress bar, and the table's rows."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.bar = progress.add_task("starting Prefect…", total=None)

    def planned(self, feeds: int) -> None:
        self.progress.update(self.bar, total=feeds, description="feeds")

    def finished(self, row: Mapping[str, Any]) -> None:
        if row["status"] not in ("parked", "skipped"):
            description = f"{str(row['feed'])[:50]} {row['status']}"
            self.progress.update(self.bar, advance=1, description=description)


def run_ingest(
    settings: Settings, tags: list[str], shard: tuple[int, int] | None = None
) -> FlowRun:
    """Run the ingest flow with a live progress display; say how it ended, with its rows."""
    _prefect_defaults()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.ingest_flow import ingest as ingest_flow

    with Progress(
        TextColumn("[bold]ingest[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        return _run_flow(
            "ingest run",
            ingest_flow(
                feeds_path=str(settings.feeds),
                database_url=settings.database_url,
                tags=tags or None,
                shard=shard[0] if shard else None,
                shards=shard[1] if shard else 1,
                reporter=_ProgressReporter(progress),
                return_state=True,
            ),
        )


# --- backfill / serve -------------------------------------------------------------------------


@main.command()
@click.option("--since", required=True, help="First day (YYYY-MM-DD, UTC), inclusive.")
@click.option("--until", required=True, help="Last day (YYYY-MM-DD, UTC), inclusive.")
@click.option("--feeds", "feeds_path", type=click.Path(dir_okay=False), help="Feeds file.")
@click.option("--db", "database_url", help="Database URL.")
@click.option(
    "--source",
    type=click.Choice(["sitemap", "archive", "reprocess", "ccnews", "warc"]),
    default="sitemap",
    show_default=True,
    help="Sitemaps, archived/paged feeds, re-extraction of stored pages (no network), "
    "Common Crawl's CC-NEWS, or the WARC files given with --warc.",
)
@click.option("--tag", "tags", multiple=True, help="Only feeds with this tag (repeatable).")
@click.option(
    "--warc",
    "warc_inputs",
    multiple=True,
    metavar="PATH_OR_URL",
    help="--source warc: a WARC file, directory, URL or *.paths(.gz) listing (repeatable).",
)
@click.option(
    "--all-sites",
    is_flag=True,
    help="--source ccnews|warc: keep every site's pages, not only the feeds' sites.",
)
@click.option(
    "--shard",
    callback=lambda _ctx, _param, value: _parse_shard(value),
    metavar="K/N",
    help="--source ccnews|warc: only shard K of N (0 <= K < N) of the WARC files.",
)
def backfill(
    since: str,
    until: str,
    feeds_path: str | None,
    database_url: str | None,
    source: str,
    tags: tuple[str, ...],
    warc_inputs: tuple[str, ...],
    all_sites: bool,
    shard: tuple[int, int] | None,
) -> None:
    """Ingest a past period, day by day (or WARC file by file); re-running skips what is done."""
    from ingest.backfill.days import day_range

    warc_source = source in ("ccnews", "warc")
    if not warc_source and (warc_inputs or all_sites or shard):
        raise click.UsageError("--warc, --all-sites and --shard need --source ccnews or warc")
    if source == "warc" and not warc_inputs:
        raise click.UsageError("--source warc needs at least one --warc PATH_OR_URL")
    if source == "ccnews" and warc_inputs:
        raise click.UsageError("--source ccnews finds its own files: --warc is for --source warc")
    with _errors_to_exit():
        day_range(since, until, today=datetime.now(UTC).date())  # refuse before any work
        settings = Settings.load(feeds=feeds_path, database_url=database_url)
        if not (all_sites and not Path(settings.feeds).exists()):
            _check_before_starting(settings)
        for given in warc_inputs:  # local files are checked now; URLs when they are fetched
            if not given.startswith(("http://", "https://")) and not Path(given).exists():
                raise ConfigError(f"--warc {given}: no such file or directory")
        _prefect_defaults()
        from flows.backfill import backfill as backfill_flow

        params: dict[str, Any] = {
            "since": since,
            "until": until,
            "source": source,
            "feeds_path": str(settings.feeds),
            "database_url": settings.database_url,
            "tags": list(tags) or None,
            "return_state": True,
        }
        if warc_source:
            run = _run_warc_backfill(
                backfill_flow,
                params,
                warc=list(warc_inputs) or None,
                all_sites=all_sites,
                shard=shard[0] if shard else None,
                shards=shard[1] if shard else 1,
            )
        else:
            run = _run_flow("backfill", backfill_flow(**params))
    if warc_source:
        _report_warc(run)
        return
    if run.rows:
        render_table(run.rows, BACKFILL_COLUMNS, title="newsflow backfill")
    elif not run.failed:
        click.echo("nothing to do: every day of the range is already done", err=True)
    from flows.run_states import PARTIAL

    if run.failed or run.state_name == PARTIAL:  # a failed day: run the same backfill again
        _fail(run.message)


class _WarcProgressDisplay:
    """Follows a WARC backfill for the command line: files, records, MB/s, pages kept."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.bar = progress.add_task(
            "starting Prefect…", total=None, records=0, kept=0, stored=0, rate=0.0
        )
        self.records = self.kept = self.stored = 0  # of the files finished
        self.current: tuple[int, int, int] = (0, 0, 0)

    def planned(self, files: int, done_before: int) -> None:
        note = f" ({done_before} done before)" if done_before else ""
        self.progress.update(self.bar, total=files, description=f"files{note}")

    def progressed(self, name: str, progress: Any, mb_per_s: float) -> None:
        counts = progress.counts
        self.current = (counts.records, counts.kept, counts.stored)
        self.progress.update(
            self.bar,
            description=name[:40],
            records=self.records + counts.records,
            kept=self.kept + counts.kept,
            stored=self.stored + counts.stored,
            rate=mb_per_s,
        )

    def finished(self, row: Mapping[str, Any]) -> None:
        self.records += int(row.get("records") or 0)
        self.kept += int(row.get("kept") or 0)
        self.stored += int(row.get("stored") or 0)
        self.current = (0, 0, 0)
        self.progress.update(
            self.bar,
            advance=1,
            description=f"{str(row.get('file'))[:40]} {row.get('status')}",
            records=self.records,
            kept=self.kept,
            stored=self.stored,
        )


def _run_warc_backfill(flow: Any, params: dict[str, Any], **warc: Any) -> FlowRun:
    """Run a ccnews/warc backfill with a live display of files, records, MB/s and pages kept."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]backfill[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "{task.fields[records]} records, {task.fields[rate]:.1f} MB/s, "
            "{task.fields[kept]} kept, {task.fields[stored]} stored"
        ),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        display = _WarcProgressDisplay(progress)
        return _run_flow("backfill", flow(**params, **warc, reporter=display))


def _report_warc(run: FlowRun) -> None:
    if run.rows:
        render_table(run.rows, WARC_TABLE_COLUMNS, title="newsflow backfill", widths={"file": 50})
        for row in run.rows:
            if row.get("status") == "failed":
                click.echo(f"{row['file']}: {row.get('error')}", err=True)
    elif not run.failed:
        click.echo("nothing to do: every WARC file of the range is already done", err=True)
    from flows.run_states import PARTIAL

    if run.failed or run.state_name == PARTIAL:  # a failed file: run the same backfill again
        _fail(run.message)


@main.command()
@click.option("--feeds", "feeds_path", type=click.Path(dir_okay=False), help="Feeds file.")
@click.option("--db", "database_url", help="Database URL.")
@click.option(
    "--interval",
    "interval_minutes",
    type=click.FloatRange(min=0.1),
    default=5,
    show_default=True,
    help="Minutes between scheduled ingests (each reads only the feeds that are due).",
)
@click.option("--cron", help="A cron schedule (UTC) for ingest instead of --interval.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=2, show_default=True, help="Flow runs at once."
)
def serve(
    feeds_path: str | None,
    database_url: str | None,
    interval_minutes: float,
    cron: str | None,
    limit: int,
) -> None:
    """Serve ingest/scheduled, backfill/manual and maintenance/daily from this process."""
    with _errors_to_exit():
        settings = Settings.load(feeds=feeds_path, database_url=database_url)
        _check_before_starting(settings)
        if not os.environ.get("PREFECT_API_URL"):
            raise ConfigError(
                "newsflow serve needs a Prefect server: start one with `prefect server start` "
                "and set PREFECT_API_URL=http://127.0.0.1:4200/api"
            )
    _prefect_defaults()
    from prefect import serve as prefect_serve

    from flows.deployments import served_deployments

    deployments = served_deployments(
        feeds_path=str(Path(settings.feeds).resolve()),
        database_url=settings.database_url,
        interval_minutes=interval_minutes,
        cron=cron,
    )
    prefect_serve(*deployments, limit=limit)


# --- articles ----------------------------------------------------------------------------------


ARTICLE_TABLE_COLUMNS = ("id", "published_at", "site_name", "title", "word_count", "cluster_id")
REVISION_TABLE_COLUMNS = ("id", "revised_at", "fetched_at", "title", "diff_summary")


@main.command()
@click.option("--db", "database_url", help="Database URL.")
@click.option("--since", help="Published (else fetched) at or after this ISO date/time (UTC).")
@click.option("--until", help="Published (else fetched) at or before this ISO date/time (UTC).")
@click.option("--feed", "feed_url", help="Only articles from this feed URL.")
@click.option("--unique", is_flag=True, help="One article per story.")
@click.option(
    "--cluster", "cluster_id", type=int, metavar="ID", help="Every outlet's copy of one story."
)
@click.option(
    "--search",
    metavar="TEXT",
    help='Full-text search of title and body, best match first: words, "a phrase", OR, -word.',
)
@click.option(
    "--revisions",
    "revisions_of",
    type=int,
    metavar="ID",
    help="The earlier versions of one article instead of articles.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most N articles.")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl", "csv"]), default="table")
def articles(
    database_url: str | None,
    since: str | None,
    until: str | None,
    feed_url: str | None,
    unique: bool,
    cluster_id: int | None,
    search: str | None,
    revisions_of: int | None,
    limit: int | None,
    fmt: str,
) -> None:
    """List stored articles, newest first (best match first with --search)."""
    from storage.repository import (
        ARTICLE_KEYS,
        REVISION_KEYS,
        ArticleQuery,
        list_revisions,
        query_articles,
    )

    if revisions_of is not None:
        if since or until or feed_url or unique or cluster_id is not None or search is not None:
            raise click.UsageError("--revisions lists one article's versions: use it alone")
        with _errors_to_exit(), _engine(database_url) as engine:
            revisions = list_revisions(engine, revisions_of)[:limit]
        _emit(revisions, fmt, REVISION_KEYS, REVISION_TABLE_COLUMNS, widths={"title": 50})
        return
    query = ArticleQuery(
        since=_parse_when(since),
        until=_parse_when(until, end=True),
        feed_url=feed_url,
        unique=unique,
        cluster_id=cluster_id,
        limit=limit,
        search=search,
    )
    with _errors_to_exit(), _engine(database_url) as engine:
        rows = query_articles(engine, query)
    _emit(rows, fmt, ARTICLE_KEYS, ARTICLE_TABLE_COLUMNS, widths={"title": 60})


def _emit(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    keys: Sequence[str],
    columns: Sequence[str],
    widths: dict[str, int] | None = None,
) -> None:
    if fmt == "jsonl":
        write_jsonl(rows, sys.stdout)
    elif fmt == "csv":
        write_csv(rows, keys, sys.stdout)
    else:
        render_table(rows, columns, widths=widths)


@contextmanager
def _engine(database_url: str | None) -> Iterator[Any]:
    from storage.db import ensure_schema, make_engine

    settings = Settings.load(database_url=database_url)
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        yield engine
    finally:
        engine.dispose()


# --- export ------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet", "warc"]),
    required=True,
    help="warc: the stored raw pages as WARC response records (backfill --source warc reads it).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The file to write (replaced atomically).",
)
@click.option(
    "--since-last",
    "consumer",
    metavar="NAME",
    help="Only what changed since NAME's last export, then remember this one.",
)
@click.option("--db", "database_url", help="Database URL.")
def export(fmt: str, out: Path, consumer: str | None, database_url: str | None) -> None:
    """Write stored articles to a file: all of them, or only what changed for a consumer."""
    from flows.export_cmd import export_articles

    with _errors_to_exit(), _engine(database_url) as engine:
        result = export_articles(engine, fmt, out, consumer)
    since = f" changed since {consumer}'s last export" if consumer else ""
    positions = f" (changes {result.after + 1} to {result.upto})" if result.rows else ""
    what = "pages" if fmt == "warc" else "articles"
    click.echo(f"exported {result.rows} {what}{since} to {result.path}{positions}", err=True)


# --- feeds -------------------------------------------------------------------------------------


FEED_KEYS = (
    "url",
    "name",
    "last_fetched_at",
    "last_status",
    "last_error",
    "consecutive_failures",
    "next_fetch_at",
    "poll_minutes",
    "article_count",
    "disallowed",
    "blocked_by",
)


@main.group()
def feeds() -> None:
    """Inspect and manage the feeds the store knows."""


@feeds.command("list")
@click.option("--db", "database_url", help="Database URL.")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table")
def feeds_list(database_url: str | None, fmt: str) -> None:
    """Every feed with its health: last status and error, failures, next fetch, the interval
    learned from its publishing (minutes), articles, pages robots.txt disallows, and what
    blocked all of its pages (a bot or consent wall)."""
    from storage.repository import list_feeds

    with _errors_to_exit(), _engine(database_url) as engine:
        rows = list_feeds(engine)
    if fmt == "jsonl":
        write_jsonl(rows, sys.stdout)
    else:
        render_table(rows, FEED_KEYS, widths={"url": 50, "last_error": 40, "blocked_by": 30})


@feeds.command("reset")
@click.argument("url")
@click.option("--db", "database_url", help="Database URL.")
def feeds_reset(url: str, database_url: str | None) -> None:
    """Un-park a feed and clear its failure count so the next run fetches it."""
    from storage.repository import reset_feed

    with _errors_to_exit(), _engine(database_url) as engine:
        if not reset_feed(engine, url):
            raise ConfigError(f"no feed with URL {url} in the store")
    click.echo(f"reset {url}")


# --- alerts ------------------------------------------------------------------------------------


@main.group()
def alerts() -> None:
    """Prefect automations that notify a person when a run or a feed goes wrong."""


@alerts.command("install")
@click.option("--webhook", metavar="URL", help="POST a JSON body to this URL (a webhook block).")
@click.option("--block", metavar="NAME", help="Notify through this existing notification block.")
def alerts_install(webhook: str | None, block: str | None) -> None:
    """Create or update, on the server at PREFECT_API_URL, the automations that notify on a
    Failed, Crashed or Partial run of ingest, backfill or maintenance, a parked feed, and a
    drop in extraction health. Running it again changes nothing."""
    if (webhook is None) == (block is None):
        raise click.UsageError("give one of --webhook URL or --block NAME")
    _prefect_defaults()
    from flows.alerts import install

    with _errors_to_exit():
        done = asyncio.run(install(webhook=webhook, block=block))
    click.echo(f"notification block {done.block}: {done.block_change}")
    for name, change in done.automations:
        click.echo(f"automation {name!r}: {change}")


@alerts.command("list")
@click.option("--all", "every", is_flag=True, help="Every automation on the server.")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table")
def alerts_list(every: bool, fmt: str) -> None:
    """newsflow's automations on the server at PREFECT_API_URL: trigger, action, enabled."""
    _prefect_defaults()
    from flows.alerts import list_alerts, rows_for_table

    with _errors_to_exit():
        rows = rows_for_table(asyncio.run(list_alerts(every=every)))
    if fmt == "jsonl":
        write_jsonl(rows, sys.stdout)
    elif rows:
        render_table(rows, ("name", "trigger", "action", "enabled"), widths={"trigger": 70})
    else:
        click.echo("no newsflow alerts on this server: run `newsflow alerts install`", err=True)


# --- extract -----------------------------------------------------------------------------------


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="PATH_OR_URL...")
@click.option("--url", "base_url", help="The page's URL, for files (resolves links, canonical).")
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl"]), default="json")
@click.option("--explain", is_flag=True, help="Show where every field came from.")
def extract(inputs: tuple[str, ...], base_url: str | None, fmt: str, explain: bool) -> None:
    """Clean and extract pages without a database: one JSON object per input, in order."""
    from flows.extract_cmd import extract_inputs

    with _errors_to_exit():
        results = extract_inputs(
            list(inputs), base_url=base_url, settings=Settings.load(), explain=explain
        )
    if fmt == "jsonl":
        write_jsonl(results, sys.stdout)
    else:
        from flows.output import jsonable

        payload: Any = jsonable(results[0]) if len(results) == 1 else [jsonable(r) for r in results]
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


# --- db ----------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--db", "database_url", help="Database URL.")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(database_url: str | None, revision: str) -> None:
    """Apply Alembic migrations."""
    from storage.db import current_revision, make_engine, upgrade

    with _errors_to_exit():
        engine = make_engine(Settings.load(database_url=database_url).database_url)
        try:
            upgrade(engine, revision)
            click.echo(f"database at revision {current_revision(engine)}")
        finally:
            engine.dispose()


# --- demo --------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--keep", type=click.Path(dir_okay=False), help="Keep the demo database at this path."
)
def demo(keep: str | None) -> None:
    """Serve the bundled sample site on loopback and ingest it into a temporary SQLite file."""
    import tempfile

    from flows.demo.server import serve_demo_site

    with tempfile.TemporaryDirectory(prefix="newsflow-demo-") as tmp, serve_demo_site() as site:
        db_path = Path(keep) if keep else Path(tmp) / "demo.db"
        feeds_file = Path(tmp) / "feeds.toml"
        feeds_file.write_text(site.feeds_toml(), encoding="utf-8")
        click.echo(f"demo site at {site.base_url}, database {db_path}", err=True)
        os.environ["NEWSFLOW_ALLOW_PRIVATE_NETWORKS"] = "true"  # the site is on 127.0.0.1
        with _errors_to_exit():
            settings = Settings.load(feeds=str(feeds_file), database_url=f"sqlite:///{db_path}")
            run = run_ingest(settings, [])
        render_table(
            run.rows, FEED_TABLE_COLUMNS, title="newsflow demo: ingest", widths={"feed": 60}
        )
        from storage.db import make_engine
        from storage.repository import ArticleQuery, query_articles

        engine = make_engine(settings.database_url)
        stored = query_articles(engine, ArticleQuery())
        engine.dispose()
        render_table(
            stored,
            ("id", "published_at", "site_name", "title", "authors", "language", "word_count"),
            title="stored articles",
            widths={"title": 50},
        )
