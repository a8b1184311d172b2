"""What the throughput benchmark runs in a process of its own, so the site server never shares
a GIL with what is measured. Each prints one JSON line.

    python benchmarks/throughput_workers.py floor FEEDS_TOML [--parse] [--close]
    python benchmarks/throughput_workers.py pipeline FEEDS_TOML DB_URL [--profile OUT.prof [--wall]]
    python benchmarks/throughput_workers.py peer FEEDS_TOML DB_FILE [--per-host N]

* ``floor``: the feeds, then every page they link, through one ``httpx.AsyncClient`` at 16
  requests at a time, each page parsed with ``lxml.html.fromstring``; nothing kept.
* ``peer``: the script a user would write instead of newsflow (issue #16), with the same
  libraries plus trafilatura: one ``httpx.AsyncClient`` (16 connections, ``--per-host`` at a
  time per host, 2 by default as newsflow's), ``feedparser.parse`` on each feed's bytes,
  ``trafilatura.bare_extraction(html, url=..., with_metadata=True)`` in a
  ``ProcessPoolExecutor`` with one process per core, and ``sqlite3`` ``INSERT OR IGNORE``
  keyed on the URL with a SHA-256 of the text, committed per feed. At most 16 feeds are
  worked on at once, as newsflow's ``NEWSFLOW_MAX_CONCURRENCY`` default allows.
* ``pipeline``: newsflow's ``process_feed`` for every feed, as the ingest flow runs it, without
  Prefect; with ``--profile``, under cProfile in the event-loop thread and in every worker
  thread of ``asyncio.to_thread`` (merged into one pstats file). The profiler's clock is each
  thread's CPU time: a wall clock would charge a function for the time its thread waited for
  the GIL, a lock or SQLite's write lock (``--wall`` shows those waits).
"""

from __future__ import annotations

import asyncio
import cProfile
import hashlib
import json
import os
import pstats
import sqlite3
import sys
import threading
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import lxml.etree
import lxml.html

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CONCURRENCY = 16


async def floor(feed_urls: list[str], *, parse: bool, keepalive: bool) -> dict[str, Any]:
    """Download (and parse) every page the feeds link; return the count and the seconds."""
    limits = httpx.Limits(
        max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY if keepalive else 0
    )
    headers = {} if keepalive else {"Connection": "close"}
    slots = asyncio.Semaphore(CONCURRENCY)
    done = {"articles": 0, "bytes": 0}
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:

        async def get(url: str) -> bytes:
            async with slots:
                response = await client.get(url)
                response.raise_for_status()
                return response.content

        async def page(url: str) -> None:
            body = await get(url)
            if parse:
                lxml.html.fromstring(body)
            done["articles"] += 1
            done["bytes"] += len(body)

        started = time.perf_counter()
        feeds = await asyncio.gather(*(get(url) for url in feed_urls))
        links = [
            item.findtext("link") or ""
            for body in feeds
            for item in lxml.etree.fromstring(body).iter("item")
        ]
        await asyncio.gather(*(page(url) for url in links))
        return {**done, "seconds": time.perf_counter() - started}


# -- the peer: the script a user would write instead ------------------------------------------

PEER_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    url TEXT PRIMARY KEY,
    title TEXT,
    author TEXT,
    date TEXT,
    text TEXT NOT NULL,
    sha256 TEXT NOT NULL
)
"""


def peer_extract(html: bytes, url: str) -> tuple[str | None, str | None, str | None, str] | None:
    """One page through trafilatura, in a worker process: (title, author, date, text)."""
    import trafilatura

    document = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if document is None or not document.text:
        return None
    return document.title, document.author, document.date, document.text


async def peer(feed_urls: list[str], db_file: Path, *, per_host: int) -> dict[str, Any]:
    """Ingest every feed as a short script would; return the count and the seconds."""
    import feedparser
    import trafilatura  # noqa: F401  (imported before the workers fork: they start warm)

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    hosts: dict[str, asyncio.Semaphore] = {}
    feeds_at_once = asyncio.Semaphore(CONCURRENCY)
    done = {"articles": 0, "failed_pages": 0, "failed_feeds": 0}
    first_error: list[str] = []
    loop = asyncio.get_running_loop()
    db = sqlite3.connect(db_file)
    db.execute(PEER_SCHEMA)
    db.commit()
    insert = "INSERT OR IGNORE INTO articles VALUES (?, ?, ?, ?, ?, ?)"
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:

            async def get(url: str) -> bytes:
                host = urlsplit(url).netloc
                async with hosts.setdefault(host, asyncio.Semaphore(per_host)):
                    response = await client.get(url)
                    response.raise_for_status()
                    return response.content

            async def page(url: str) -> tuple[Any, ...] | None:
                try:
                    html = await get(url)
                    found = await loop.run_in_executor(pool, peer_extract, html, url)
                except Exception as exc:  # one page never stops the feed
                    first_error[:] = first_error or [f"{url}: {exc!r}"]
                    done["failed_pages"] += 1
                    return None
                if found is None:
                    done["failed_pages"] += 1
                    return None
                text = found[3]
                return (url, *found, hashlib.sha256(text.encode()).hexdigest())

            async def feed(url: str) -> None:
                async with feeds_at_once:
                    try:
                        parsed = feedparser.parse(await get(url))
                    except Exception as exc:
                        first_error[:] = first_error or [f"{url}: {exc!r}"]
                        done["failed_feeds"] += 1
                        return
                    links = [entry.link for entry in parsed.entries if entry.get("link")]
                    rows = [row for row in await asyncio.gather(*map(page, links)) if row]
                    before = db.total_changes
                    db.executemany(insert, rows)
                    db.commit()
                    done["articles"] += db.total_changes - before

            # Start the workers now, as a script's pool would be by its first page.
            await asyncio.gather(*(loop.run_in_executor(pool, int) for _ in range(4)))
            started = time.perf_counter()
            await asyncio.gather(*map(feed, feed_urls))
            seconds = time.perf_counter() - started
    db.close()
    return {**done, "seconds": seconds, "first_error": first_error[0] if first_error else None}


# -- newsflow without Prefect ----------------------------------------------------------------


async def pipeline(feeds_file: Path, database_url: str) -> dict[str, Any]:
    """Run every feed through ``process_feed`` and record it, as the ingest flow does."""
    from flows.settings import Settings
    from ingest.feeds.sources import load_feeds
    from ingest.fetch.client import Fetcher
    from ingest.model import FeedResult, FeedSource, FeedState
    from ingest.pipeline import FEED_RETRIES, process_feed
    from ingest.prepare import PageWorkers
    from storage.db import ensure_schema, make_engine
    from storage.outcomes import record_outcome
    from storage.repository import SqlStore, feed_states, sync_feeds

    settings = Settings.load(feeds=str(feeds_file), database_url=database_url)
    sources = load_feeds(feeds_file)
    engine = make_engine(database_url)
    ensure_schema(engine)
    sync_feeds(engine, sources)
    states = feed_states(engine, [s.url for s in sources])
    store = SqlStore(engine)
    config = settings.pipeline_config()
    slots = asyncio.Semaphore(settings.max_concurrency)  # feeds at once, as the flow allows

    async def one(source: FeedSource, fetcher: Fetcher, pages: PageWorkers) -> FeedResult:
        async with slots:
            return await process_feed(
                source,
                states.get(source.url, FeedState(source.url)),
                fetcher=fetcher,
                store=store,
                config=config,
                pages=pages,
                retry=FEED_RETRIES,
            )

    started = time.perf_counter()
    async with Fetcher(settings.http_config()) as fetcher, settings.page_workers() as pages:
        results = await asyncio.gather(*(one(source, fetcher, pages) for source in sources))
    await asyncio.to_thread(record_outcome, engine, results)  # as the flow's tasks do
    engine.dispose()
    errors = [r.error for r in results if r.failed]
    return {
        "seconds": time.perf_counter() - started,
        "articles": sum(r.pages.new for r in results),
        "failed_pages": sum(r.pages.failed_pages for r in results),
        "failed_feeds": len(errors),
        "first_error": errors[0] if errors else None,
        "thread_cpu_s": thread_cpu(),
    }


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far of the event-loop (main) thread and of all other live threads, and
    of the other threads by kind: ``to_thread`` (asyncio's workers: saves, lookups), the
    process pool's manager and feeder threads, and the rest."""
    tick = os.sysconf("SC_CLK_TCK")
    split = {"loop": 0.0, "others": 0.0, "to_thread": 0.0, "pool_threads": 0.0, "rest": 0.0}
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    for task in Path("/proc/self/task").iterdir():
        stat = (task / "stat").read_text()
        name = names.get(int(task.name), "")
        utime, stime = stat[stat.rindex(")") + 2 :].split()[11:13]
        seconds = (int(utime) + int(stime)) / tick
        if int(task.name) == os.getpid():
            split["loop"] += seconds
            continue
        split["others"] += seconds
        if name.startswith("asyncio_"):
            split["to_thread"] += seconds
        elif name.startswith(("QueueFeeder", "Thread-")):
            split["pool_threads"] += seconds
        else:
            split["rest"] += seconds
    return {kind: round(seconds, 2) for kind, seconds in split.items()}


def profiled_pipeline(
    feeds_file: Path, database_url: str, out: Path, *, wall: bool = False
) -> dict[str, Any]:
    """Run ``pipeline`` with a cProfile profiler in each thread; merge them into ``out``."""
    profiles: list[cProfile.Profile] = []
    clock = time.perf_counter if wall else time.thread_time

    def profile_this_thread() -> None:
        profile = cProfile.Profile(clock)
        profiles.append(profile)
        profile.enable()

    # The same size as asyncio's default executor, which asyncio.to_thread would use.
    workers = ThreadPoolExecutor(
        min(32, (os.cpu_count() or 1) + 4), initializer=profile_this_thread
    )

    # Profiling slows every thread down, and the feeds' saves queue for SQLite's one write
    # lock: wait as long as it takes rather than fail the run with "database is locked".
    import storage.db

    storage.db.SQLITE_BUSY_TIMEOUT_MS = 3_600_000

    async def main() -> dict[str, Any]:
        asyncio.get_running_loop().set_default_executor(workers)
        return await pipeline(feeds_file, database_url)

    loop_profile = cProfile.Profile(clock)
    loop_profile.enable()
    result = asyncio.run(main())
    loop_profile.disable()
    workers.shutdown(wait=True)
    loop_seconds = pstats.Stats(loop_profile).total_tt  # type: ignore[attr-defined]
    merged = pstats.Stats(loop_profile, *profiles)
    merged.dump_stats(out)
    return {
        **result,
        "clock": "wall" if wall else "thread CPU",
        "loop_thread_s": round(loop_seconds, 2),
        "all_threads_s": round(merged.total_tt, 2),  # type: ignore[attr-defined]
        "worker_threads": len(profiles),
    }


def main(argv: list[str]) -> None:
    kind, feeds_file = argv[0], Path(argv[1])
    if kind == "floor":
        urls = [f["url"] for f in tomllib.loads(feeds_file.read_text())["feeds"]]
        answer = asyncio.run(floor(urls, parse="--parse" in argv, keepalive="--close" not in argv))
    elif kind == "peer":
        urls = [f["url"] for f in tomllib.loads(feeds_file.read_text())["feeds"]]
        per_host = int(argv[argv.index("--per-host") + 1]) if "--per-host" in argv else 2
        answer = asyncio.run(peer(urls, Path(argv[2]), per_host=per_host))
    elif kind == "pipeline" and "--profile" in argv:
        out = Path(argv[argv.index("--profile") + 1])
        answer = profiled_pipeline(feeds_file, argv[2], out, wall="--wall" in argv)
    elif kind == "pipeline":
        answer = asyncio.run(pipeline(feeds_file, argv[2]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(answer))


if __name__ == "__main__":
    main(sys.argv[1:])
