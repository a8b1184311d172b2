"""The deployments newsflow serves: the same names and schedules as ``prefect.yaml``.

``ingest/scheduled`` (every 5 minutes, only the feeds that are due: each feed's own interval,
learned between NEWSFLOW_MIN_INTERVAL and NEWSFLOW_MAX_INTERVAL, says when),
``backfill/manual`` (no schedule: run it with parameters), ``maintenance/daily`` (03:00 UTC).
"""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron, Interval
from prefect.types.entrypoint import EntrypointType

from flows.backfill import backfill
from flows.ingest_flow import ingest
from flows.maintenance import maintenance

NO_OVERLAP = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
MAINTENANCE_CRON = "0 3 * * *"


def served_deployments(
    *, feeds_path: str, database_url: str, interval_minutes: float = 5, cron: str | None = None
) -> list[Any]:
    """Runner deployments for ``prefect.serve``; flows read everything else from NEWSFLOW_*."""
    schedule = (
        Cron(cron, timezone="UTC") if cron else Interval(int(interval_minutes * 60), timezone="UTC")
    )
    common = {"feeds_path": feeds_path, "database_url": database_url}
    # Load flows by module path: served runs then work from any directory.
    by_module = EntrypointType.MODULE_PATH
    return [
        ingest.to_deployment(
            name="scheduled",
            entrypoint_type=by_module,
            schedules=[schedule],
            parameters={**common, "only_due": True},
            concurrency_limit=NO_OVERLAP,
            tags=["newsflow", "ingest"],
            description="Fetch the feeds that are due and store their new articles.",
        ),
        backfill.to_deployment(
            name="manual",
            entrypoint_type=by_module,
            parameters=common,
            concurrency_limit=NO_OVERLAP,
            tags=["newsflow", "backfill"],
            description="Backfill a past period: set since and until (YYYY-MM-DD, inclusive).",
        ),
        maintenance.to_deployment(
            name="daily",
            entrypoint_type=by_module,
            schedules=[Cron(MAINTENANCE_CRON, timezone="UTC")],
            parameters={"database_url": database_url},
            concurrency_limit=NO_OVERLAP,
            tags=["newsflow", "maintenance"],
            description="Prune old raw pages, vacuum/analyze, report feed health.",
        ),
    ]
