"""Preparing pages: extraction, hash, fingerprint and compressed copy, in threads or processes."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.dedup.keys import content_hash
from ingest.dedup.neardup import fingerprint
from ingest.errors import ExtractError, ParseError
from ingest.extract import extract_article
from ingest.feeds.parse import parse_feed
from ingest.prepare import PageWorkers, prepare_page

URL = "https://news.example.com/2026/11/28/story"
STORY = " ".join(
    f"Paragraph {n} of the council report says the budget for the river bridge grows again."
    for n in range(12)
)
PAGE = (
    "<html lang='en'><head><title>Bridge budget grows | Example News</title></head><body>"
    "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
    "<article><h1>Bridge budget grows</h1>"
    + "".join(f"<p>{sentence}.</p>" for sentence in STORY.split(". "))
    + "</article><footer>Copyright Example News</footer></body></html>"
).encode()
EMPTY_PAGE = b"<html><body><script>var x = 1;</script></body></html>"


def test_a_prepared_page_carries_what_the_store_derives_from_its_article() -> None:
    page = prepare_page(PAGE, URL, content_type="text/html; charset=utf-8")
    article = extract_article(PAGE, URL, content_type="text/html; charset=utf-8")
    assert page.article.text == article.text and page.article.title == "Bridge budget grows"
    assert page.content_hash == content_hash(article.text)
    assert page.fingerprint is not None and page.fingerprint == fingerprint(article.text)
    assert page.raw.body == PAGE  # compressed, and given back byte for byte
    assert len(page.raw.compressed) < len(PAGE)


@pytest.fixture(params=[0, 2], ids=["threads", "processes"])
def workers(request: pytest.FixtureRequest) -> Iterator[PageWorkers]:
    with PageWorkers(request.param) as pool:
        yield pool


def test_workers_prepare_pages_like_a_direct_call(workers: PageWorkers) -> None:
    async def run() -> list[object]:
        return await asyncio.gather(*(workers.prepare(PAGE, f"{URL}-{n}") for n in range(4)))

    direct = [prepare_page(PAGE, f"{URL}-{n}") for n in range(4)]
    assert asyncio.run(run()) == direct


def test_an_extract_error_comes_back_as_itself(workers: PageWorkers) -> None:
    with pytest.raises(ExtractError, match="no article text"):
        asyncio.run(workers.prepare(EMPTY_PAGE, URL))


FEED = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>Example News</title>"
    b"<link>https://news.example.com/</link>"
    + b"".join(
        b"<item><title>Story %d &amp; more</title><link>https://news.example.com/%d</link>"
        b"<pubDate>Fri, 27 Nov 2026 10:0%d:00 GMT</pubDate></item>" % (n, n, n)
        for n in range(3)
    )
    + b"</channel></rss>"
)
FEED_URL = "https://news.example.com/rss"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HEADERS = {"content-type": "application/rss+xml"}


def test_workers_parse_feeds_like_a_direct_call(workers: PageWorkers) -> None:
    parsed = asyncio.run(workers.parse_feed(FEED, url=FEED_URL, headers=HEADERS, now=NOW))
    assert parsed == parse_feed(FEED, url=FEED_URL, headers=HEADERS, now=NOW)
    assert [e.title for e in parsed.entries] == [f"Story {n} & more" for n in range(3)]


def test_a_parse_error_comes_back_as_itself(workers: PageWorkers) -> None:
    with pytest.raises(ParseError):
        asyncio.run(workers.parse_feed(EMPTY_PAGE, url=FEED_URL, headers={}, now=NOW))


def test_a_dead_worker_process_costs_no_page() -> None:
    with PageWorkers(1) as workers:
        first = asyncio.run(workers.prepare(PAGE, URL))
        pool = workers._pool
        assert pool is not None
        for process in list(pool._processes.values()):  # what the OOM killer would do
            os.kill(process.pid, signal.SIGKILL)
            process.join()
        again = asyncio.run(workers.prepare(PAGE, URL))
        assert again == first
        assert workers._pool is not pool  # the broken pool was replaced


def _language_model_loaded() -> bool:
    from ingest.extract import lang

    return lang._load_identifier.cache_info().currsize == 1


def test_workers_start_with_the_language_model_loaded() -> None:
    """The fork server loads it once (ingest.preload): no worker loads its own."""
    with PageWorkers(1) as workers:
        assert asyncio.run(workers._off_loop(_language_model_loaded, "no page"))


# A fresh process (the fork server is started once per process) that counts how often its
# event loop ran a 10 ms timer while its first page started the pool.
_TICKS = """
import asyncio
from ingest.prepare import PageWorkers

async def run():
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    with PageWorkers(2) as workers:
        await workers.prepare(b"<html><body><p>x</p></body></html>", "https://example.com/")
    ticker.cancel()
    print(ticks)

asyncio.run(run())
"""


def test_the_event_loop_goes_on_while_the_workers_start() -> None:
    """Booting the fork server takes a second or so: fetches must not wait for it."""
    done = subprocess.run(
        [sys.executable, "-c", _TICKS], capture_output=True, text=True, timeout=120, check=True
    )
    # Blocked while the fork server booted, the loop ticked once or twice at most.
    assert int(done.stdout) >= 10


# A fresh process: the fork server started ahead of the run is the one the pool's workers
# come from, and starting it again starts no second one.
_STARTED_AHEAD = """
import asyncio, os
from multiprocessing import forkserver
from ingest.prepare import PageWorkers, start_fork_server

start_fork_server()
server = forkserver._forkserver._forkserver_pid
start_fork_server()
assert forkserver._forkserver._forkserver_pid == server
with PageWorkers(1) as workers:
    parent = asyncio.run(workers._off_loop(os.getppid, "no page"))
print(server, parent)
"""


def test_a_fork_server_started_ahead_is_the_one_workers_come_from() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _STARTED_AHEAD],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    server, parent = done.stdout.split()
    assert server == parent


# A process that starts a pool, prints its workers' ids and waits to be killed.
_OWNER = """
import asyncio, sys, time
from ingest.prepare import PageWorkers
workers = PageWorkers(2)
asyncio.run(workers.prepare(b"<html><body><p>x</p></body></html>", "https://example.com/"))
print(" ".join(str(pid) for pid in workers._pool._processes), flush=True)
time.sleep(120)
"""


def test_workers_leave_when_their_owner_is_killed() -> None:
    # The workers come from a fork server and hold its clients' pipe, so neither the pool's
    # pipes nor the fork server tell them: each watches the owning process itself.
    root = Path(__file__).resolve().parents[2]
    with subprocess.Popen(
        [sys.executable, "-c", _OWNER], cwd=root, stdout=subprocess.PIPE, text=True
    ) as owner:
        try:
            assert owner.stdout is not None
            workers = [int(pid) for pid in owner.stdout.readline().split()]
            assert workers
        finally:
            owner.kill()
    deadline = time.monotonic() + 20
    while (alive := [pid for pid in workers if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive


def test_workers_leave_while_their_killed_owner_is_not_yet_reaped() -> None:
    # A parent that reads a killed owner's output to its end (communicate) reaps it only
    # after the pipes close, and the workers hold them: the zombie owner must count as gone.
    root = Path(__file__).resolve().parents[2]
    owner = subprocess.Popen([sys.executable, "-c", _OWNER], cwd=root, stdout=subprocess.PIPE)
    try:
        assert owner.stdout is not None
        workers = [int(pid) for pid in owner.stdout.readline().split()]
        assert workers
        os.kill(owner.pid, signal.SIGKILL)  # not reaped: owner.pid stays a zombie meanwhile
        output, _ = owner.communicate(timeout=30)  # EOF only once every worker has left
        assert output == b""
        assert not [pid for pid in workers if _running(pid)]
    finally:
        if owner.poll() is None:
            owner.kill()
        owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, left for init to reap, has stopped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_negative_process_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="processes"):
        PageWorkers(-1)


def test_the_word_count_travels_with_the_article_and_follows_its_text() -> None:
    """Counted once where the page is prepared (a worker), read on the loop and by the store."""
    article = prepare_page(PAGE, URL).article
    counted = article.word_count
    assert counted == len(article.text.split())
    copy = pickle.loads(pickle.dumps(article))  # as it comes back from a worker process
    assert copy._words is not None and copy.word_count == counted
    copy.text = "three more words"
    assert copy.word_count == 3
    assert copy == dataclasses.replace(article, text="three more words")
