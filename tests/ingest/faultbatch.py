"""Run a batch of feeds through ``process_feed`` in a fresh process; print the outcomes as JSON.

``tests/ingest/test_faults.py`` starts this as a child so the batch's peak memory is its own
(``VmHWM`` of a fresh process, not of a pytest session that has run other tests), while
the fault server keeps its pace in the parent. An address-space limit stops a regression
(an entity expanded, a bomb decoded) before it takes the machine's memory.

    python faultbatch.py DATABASE_URL FEED_URL...
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import resource
import sys
import time
from datetime import datetime
from typing import Any

import httpx

from ingest.fetch.client import Fetcher, HttpConfig
from ingest.fetch.polite import Politeness
from ingest.model import FeedResult, FeedSource, FeedState
from ingest.pipeline import PipelineConfig, process_feed
from storage.db import ensure_schema, make_engine
from storage.repository import SqlStore, sync_feeds

ADDRESS_SPACE_LIMIT = 4 << 30  # a backstop only: the test asserts the peak RSS, far lower

HTTP = HttpConfig(
    user_agent="newsflow-faults/1.0 (+https://example.invalid/bot)",
    connect_timeout=2.0,
    # Above the drip's one byte per second, so the drip hits the total deadline, not this.
    read_timeout=2.0,
    total_timeout=3.0,
    allow_private_networks=True,  # the faults live on loopback
    # Every fault shares 127.0.0.1; in production they are different hosts, so let them run
    # side by side instead of two at a time.
    per_host=64,
    max_connections=64,
)


class HostsApart(Politeness):
    """Every fault shares 127.0.0.1 but stands for a host of its own (see HTTP): one fault's
    429 must not pause the others, as it would pause a real host's other feeds."""

    async def pause(self, url: httpx.URL, seconds: float | None, reason: str) -> None:
        return None


def _flat(result: FeedResult) -> dict[str, Any]:
    """The facts of a feed's result the tests check, as one flat JSON object."""
    return {
        "feed_url": result.feed_url,
        "status": result.status.value,
        "error": result.error,
        "error_kind": result.error_kind,
        "warnings": list(result.warnings),
        "seconds": result.seconds,
        "parked": bool(result.update and result.update.parked),
        **dataclasses.asdict(result.pages),
    }


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def peak_rss_bytes() -> int:
    """This process's own high-water RSS. Not ``getrusage``: on Linux its ``ru_maxrss`` keeps
    the forking parent's peak across ``exec``, so a child of a large pytest session reported
    the session's 800 MiB as its own."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


async def run(database_url: str, urls: list[str]) -> dict[str, Any]:
    engine = make_engine(database_url)
    ensure_schema(engine)
    sources = [FeedSource(url, name=url.rsplit("/", 1)[-1]) for url in urls]
    sync_feeds(engine, sources)
    store = SqlStore(engine)
    started = time.monotonic()
    async with Fetcher(HTTP, politeness=HostsApart(HTTP.politeness)) as fetcher:
        outcomes = await asyncio.gather(
            *(
                process_feed(
                    s, FeedState(s.url), fetcher=fetcher, store=store, config=PipelineConfig()
                )
                for s in sources
            )
        )
    elapsed = time.monotonic() - started
    engine.dispose()
    return {
        "seconds": elapsed,
        "peak_rss_bytes": peak_rss_bytes(),
        "outcomes": [_flat(outcome) for outcome in outcomes],
    }


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    database_url, *urls = sys.argv[1:]
    report = asyncio.run(run(database_url, urls))
    json.dump(report, sys.stdout, default=_jsonable)


if __name__ == "__main__":
    main()
