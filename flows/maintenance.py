"""The ``maintenance`` flow: prune old raw pages, tidy the database, report feed health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from flows.settings import Settings
from storage.db import ensure_schema, make_engine
from storage.maintenance import optimize, prune_raw_pages
from storage.repository import list_feeds


def maintenance_run_name() -> str:
    """``maintenance-2026-11-28-3f2a``: the day, and the run id's start."""
    return f"maintenance-{datetime.now(UTC):%Y-%m-%d}-{(flow_run.id or '')[:4] or '0000'}"


@flow(name="maintenance", flow_run_name=maintenance_run_name, log_prints=True)
def maintenance(
    database_url: str | None = None, raw_page_retention_days: int | None = None
) -> dict[str, Any]:
    """Delete raw pages older than the retention, vacuum/analyze, and report feed health."""
    logger = get_run_logger()
    settings = Settings.load(
        database_url=database_url, raw_page_retention_days=raw_page_retention_days
    )
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        cutoff = datetime.now(UTC) - timedelta(days=settings.raw_page_retention_days)
        pruned = prune_raw_pages(engine, cutoff)
        ran = optimize(engine)
        feeds = list_feeds(engine)
    finally:
        engine.dispose()
    unhealthy = [f for f in feeds if f["parked"] or f["consecutive_failures"]]
    for feed in unhealthy:
        state = "parked" if feed["parked"] else f"{feed['consecutive_failures']} failures"
        logger.warning("%s is %s: %s", feed["url"], state, feed["last_error"])
    if unhealthy:
        create_table_artifact(
            table=[
                {k: f[k] for k in ("url", "last_status", "consecutive_failures", "last_error")}
                for f in unhealthy
            ],
            key="maintenance-feed-health",
            description="Feeds that are failing or parked",
        )
    summary = {
        "raw_pages_pruned": pruned,
        "cutoff": cutoff.isoformat(),
        "optimize": ran,
        "feeds": len(feeds),
        "parked": sum(f["parked"] for f in feeds),
        "failing": sum(bool(f["consecutive_failures"]) and not f["parked"] for f in feeds),
    }
    create_markdown_artifact(
        markdown="# Maintenance\n\n" + "\n".join(f"- {k}: {v}" for k, v in summary.items()),
        key="maintenance-summary",
    )
    return summary
