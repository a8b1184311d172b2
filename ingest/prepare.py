"""The CPU-bound work on downloaded bytes, run on every core: a page's extraction, a feed's parse.

Fetching is network-bound and stays on the event loop; saving is the database's. Everything in
between is pure computation on bytes: extracting the article (the bulk of it), hashing its
text, its near-duplicate fingerprint and compressing the page for re-extraction later. It is
done in one call, :func:`prepare_page`, so it can run in another process and the write
transaction only writes.

:class:`PageWorkers` runs that call in a pool of processes, one per core by default, so
extraction uses the whole machine instead of one core behind the GIL. With ``processes=0`` it
runs in threads of this process instead (small runs and tests: no process start-up). A worker
process that dies (a crash in a C library, the kernel's OOM killer) breaks the pool; the pool
is replaced and the pages that were in flight are tried once more, so one poisonous page fails
alone and never stops the feed or the run.

Feed documents are parsed in the same workers (:meth:`PageWorkers.parse_feed`): feedparser is
pure Python, and with thousands of small feeds per run their parsing, done in a thread of the
event loop's process, competed with the loop for its one GIL (issue #17).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from types import TracebackType
from typing import TypeVar

from ingest.dedup.keys import content_hash
from ingest.dedup.neardup import Fingerprint, fingerprint
from ingest.errors import ExtractError, ParseError, WallError
from ingest.extract import extract_article
from ingest.feeds.parse import parse_feed
from ingest.fetch.decode import decode_html
from ingest.fetch.walls import (
    CONSENT_MAX_WORDS,
    CONSENT_WALL,
    HEAD_BYTES,
    challenge_page,
    consent_page,
    reads_as_consent,
)
from ingest.model import Article, FeedEntry, ParsedFeed, RawPage

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PreparedPage:
    """A page made ready to store: its article and everything the store derives from it."""

    article: Article
    content_hash: str
    fingerprint: Fingerprint | None  # None: too short to be matched on text alone
    raw: RawPage


def prepare_page(
    body: bytes,
    url: str,
    *,
    content_type: str | None = None,
    entry: FeedEntry | None = None,
    now: datetime | None = None,
) -> PreparedPage:
    """Extract a page and compute its hash, fingerprint and compressed copy.

    Raises ``ExtractError`` when the page yields no article, and ``WallError`` when the page
    is a bot challenge (``ingest.fetch.walls.challenge_page``) or only a cookie/consent form
    (``consent_page``): never an article. Only pages with little text are looked at for
    either: a page of more than ``CONSENT_MAX_WORDS`` words is an article, whatever banner
    or script it also carries.
    """
    try:
        article = extract_article(body, url, content_type=content_type, entry=entry, now=now)
    except ExtractError:
        _refuse_wall_page(body, content_type, text=None)
        raise
    if article.word_count <= CONSENT_MAX_WORDS and article.sources.get("text") != "feed":
        _refuse_wall_page(body, content_type, text=article.text, title=article.title)
    return PreparedPage(
        article=article,
        content_hash=content_hash(article.text),
        fingerprint=fingerprint(article.text),
        raw=RawPage.of(url, content_type, body),
    )


def _refuse_wall_page(
    body: bytes, content_type: str | None, *, text: str | None, title: str | None = None
) -> None:
    """Raise WallError when a page with little text is a bot challenge or only a consent form
    (the page is decoded again only when its text reads as one)."""
    challenge = challenge_page(body[:HEAD_BYTES])
    if challenge is not None:
        raise WallError.of(challenge)
    if text is not None and not reads_as_consent(text):
        return
    if consent_page(decode_html(body, content_type)[0], text, title):
        raise WallError.of(CONSENT_WALL)


def default_processes() -> int:
    """One worker process per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: How often a worker process checks that its owner (whose pool it serves) is still there.
PARENT_CHECK_SECONDS = 0.5


def _start_worker(owner: int) -> None:
    """Set up a worker process: it leaves when the process whose pool it serves does."""
    threading.Thread(target=_exit_with, args=(owner,), name="owner-watch", daemon=True).start()


def _exit_with(owner: int) -> None:
    """End this worker when its owner is gone (killed with SIGKILL, say): no orphans.

    A pool's workers share its queue's pipes, so none of them ever sees the pipe close. Nor
    can a worker wait for its parent, the fork server: each worker holds the pipe whose end
    tells the fork server that its clients are gone, so the server outlives the owner for as
    long as the workers do. The owner is asked for by its process id.
    """
    while _alive(owner):
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs. A killed owner stays a zombie until its own parent reaps
    it, and a parent that first reads the owner's output to its end (``communicate``) waits
    for these workers to close the pipes they inherited: a zombie counts as gone."""
    try:
        os.kill(pid, 0)  # signal 0: no signal, only the check that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:  # Linux: the state is the field after the parenthesised command name
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


#: What a worker needs, imported (and its language model loaded) once in the fork server
#: rather than once per worker.
PRELOAD = ("ingest.preload",)


def _worker_context() -> multiprocessing.context.BaseContext:
    """Where worker processes come from: a fork server that has imported the extractor.

    Not plain fork: forking a process that runs threads (the event loop's, the database's)
    can copy a lock held mid-operation into the child. The fork server is a fresh,
    single-threaded process, as a spawned one is, but it imports the extractor (lxml, the
    language model, ...) once and forks every worker from there, where spawn imported it
    again in each worker and in each pool that replaced a broken one (issue #16).
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


def start_fork_server() -> None:
    """Start the fork server the extraction workers come from, unless it runs already.

    It boots in a process of its own (imports the extractor, loads the language model: a
    second or more of one core) and this returns at once. Called where a run of page work is
    known to come (the ingest flow once it has feeds to fetch, the command line before
    Prefect starts), the boot overlaps other start-up work instead of the run's first pages,
    which would otherwise wait for it while the second core idled.
    """
    _worker_context()  # names what the fork server preloads
    multiprocessing.forkserver.ensure_running()


class PageWorkers:
    """Where :func:`prepare_page` runs: a pool of ``processes`` processes, or threads if 0.

    Use as a context manager (sync or async). The processes start when the first page or
    feed needs them, so a run with nothing new to fetch never pays for them, and they start
    in a thread: booting the fork server takes a second or two, during which the event loop
    goes on fetching instead of waiting for it.
    """

    def __init__(self, processes: int = 0) -> None:
        if processes < 0:
            raise ValueError("processes must be 0 (threads) or more")
        self.processes = processes
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._starting: asyncio.Future[ProcessPoolExecutor] | None = None
        self._closed = False

    async def prepare(
        self,
        body: bytes,
        url: str,
        *,
        content_type: str | None = None,
        entry: FeedEntry | None = None,
        now: datetime | None = None,
    ) -> PreparedPage:
        """Prepare one page off the event loop; raises ``ExtractError`` as prepare_page does."""
        call = partial(prepare_page, body, url, content_type=content_type, entry=entry, now=now)
        try:
            return await self._off_loop(call, url)
        except BrokenProcessPool as exc:
            raise ExtractError(
                f"cannot extract {url}: the extractor's worker process died on it"
            ) from exc

    async def parse_feed(
        self, body: bytes, *, url: str, headers: Mapping[str, str], now: datetime
    ) -> ParsedFeed:
        """Parse a feed document off the event loop; raises ``ParseError`` as parse_feed does."""
        call = partial(parse_feed, body, url=url, headers=dict(headers), now=now)
        try:
            return await self._off_loop(call, url)
        except BrokenProcessPool as exc:
            raise ParseError(f"cannot parse {url}: the worker process died on it") from exc

    async def _off_loop(self, call: Callable[[], T], url: str) -> T:
        """Run ``call`` in a worker, once more in a fresh pool if its worker died."""
        if self.processes == 0:
            return await asyncio.to_thread(call)
        try:
            return await self._in_pool(call)
        except BrokenProcessPool:
            log.warning("a worker process died; retrying %s in a fresh pool", url)
        return await self._in_pool(call)

    async def _in_pool(self, call: Callable[[], T]) -> T:
        """Run ``call`` in the pool; a broken pool is dropped before the error goes up."""
        pool = await self._started()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, call)
        except BrokenProcessPool:
            self._replace(pool)
            raise

    async def _started(self) -> ProcessPoolExecutor:
        """The pool, its processes all running: started in a thread by the first caller."""
        if self._pool is not None:
            return self._pool
        if self._starting is None or self._starting.get_loop() is not asyncio.get_running_loop():
            self._starting = asyncio.ensure_future(asyncio.to_thread(self._start))
        starting = self._starting
        try:
            return await asyncio.shield(starting)
        except BaseException:
            if starting.done() and self._starting is starting:
                self._starting = None  # it failed: the next caller tries again
            raise

    def _start(self) -> ProcessPoolExecutor:
        """Make the pool and wait until each worker runs (the executor forks one per task)."""
        pool = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=_worker_context(),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
        try:
            for ready in [pool.submit(os.getpid) for _ in range(self.processes)]:
                ready.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        with self._lock:
            if not self._closed:
                self._pool = pool
                return pool
        pool.shutdown(wait=False, cancel_futures=True)  # closed while it started
        raise RuntimeError("the page workers were closed while they started")

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Drop a broken pool (once, however many pages noticed it); the next call starts anew."""
        with self._lock:
            if self._pool is not broken:
                return
            self._pool = None
            self._starting = None
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers; one still starting is stopped as soon as it has started."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PageWorkers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> PageWorkers:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        starting = self._starting
        if starting is not None and not starting.done():
            # Let the start finish before closing: it then finds the pool closed and stops it.
            with contextlib.suppress(Exception):
                await asyncio.shield(starting)
        await asyncio.to_thread(self.close)
