"""An ingest over more than 256 hosts (#17): every feed fetched, every article stored.

Past 256 hosts the fetcher closes idle per-host pools while others release theirs, which once
crashed feeds with ``KeyError: '127.0.0.48'``. Here 300 outlets, each on its own loopback
address (127.0.1.1 to 127.0.2.50), go through the ingest flow into SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from many_hosts import FEED_PATH, STORY_PATH, ManyHosts

from storage.db import make_engine
from storage.repository import ArticleQuery, list_feeds, query_articles

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness", "allow_loopback")]
OUTLETS = 300


@pytest.fixture(scope="module")
def outlets() -> Iterator[ManyHosts]:
    with ManyHosts(OUTLETS) as server:
        yield server


def run_ingest(
    feeds_file: Path, db_url: str
) -> tuple[Any, list[dict[str, Any]], list[str], list[tuple[int, str]]]:
    """The flow's final state, its table, the states of its task runs, and its log lines."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.logging.handlers import APILogHandler

    from flows.ingest_flow import ingest

    async def run() -> tuple[Any, list[dict[str, Any]], list[str], list[tuple[int, str]]]:
        state = await ingest(feeds_path=str(feeds_file), database_url=db_url, return_state=True)
        rows = await state.aresult(raise_on_failure=False)
        await APILogHandler.aflush()  # the run's log lines reach the server in batches
        run_id = state.state_details.flow_run_id
        async with get_client() as client:
            ran = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
            tasks = await client.read_task_runs(flow_run_filter=ran)
            of_run = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            logs: list[Any] = []
            while page := await client.read_logs(of_run, limit=200, offset=len(logs)):
                logs += page
        return (
            state,
            rows,
            [t.state_type.value for t in tasks if t.state_type],
            [(log.level, log.message) for log in logs],
        )

    return asyncio.run(run())


def test_an_ingest_over_300_hosts_fetches_every_feed_and_stores_every_article(
    outlets: ManyHosts, tmp_path: Path, db_url: str
) -> None:
    assert len(set(outlets.hosts)) == OUTLETS > 256
    feeds_file = tmp_path / "feeds.toml"
    feeds_file.write_text(
        "".join(f'[[feeds]]\nurl = "{outlets.feed_url(h)}"\n\n' for h in outlets.hosts),
        encoding="utf-8",
    )
    before = outlets.requests.copy()

    state, rows, tasks, logs = run_ingest(feeds_file, db_url)

    assert state.type.value == "COMPLETED", state.message
    assert len(rows) == OUTLETS and {r["status"] for r in rows} == {"ok"}
    assert sum(r["new"] for r in rows) == OUTLETS
    # Units of work: 300 feeds packed into NEWSFLOW_MAX_TASKS (100) task runs at most.
    assert 0 < len(tasks) <= 100 and set(tasks) == {"COMPLETED"}
    # One INFO line per task of several feeds, not one per feed: the per-feed rows are the
    # artifact's and the database's.
    summaries = [m for level, m in logs if level == logging.INFO and " feeds: " in m]
    assert sum(int(m.split(" feeds: ")[0]) for m in summaries) == OUTLETS
    assert len(summaries) == len(tasks)
    per_feed = [m for level, m in logs if level == logging.INFO and m.startswith("http://")]
    assert per_feed == []
    served = outlets.requests - before
    assert {h for (h, path) in served if path == FEED_PATH} == set(outlets.hosts)
    assert {h for (h, path) in served if path == STORY_PATH} == set(outlets.hosts)

    engine = make_engine(db_url)
    try:
        feeds = list_feeds(engine)
        articles = query_articles(engine, ArticleQuery(limit=10 * OUTLETS))
    finally:
        engine.dispose()
    assert {f["url"] for f in feeds} == {outlets.feed_url(h) for h in outlets.hosts}
    assert {f["last_status"] for f in feeds} == {"ok"}
    assert {f["article_count"] for f in feeds} == {1}
    assert {a["canonical_url"] for a in articles} == {outlets.story_url(h) for h in outlets.hosts}
