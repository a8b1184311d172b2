"""Politeness per host: robots.txt, crawl delays, pauses a host asked for (issue #14).

The :class:`~ingest.fetch.client.Fetcher` asks :class:`Politeness` before every request (every
redirect hop included) and tells it of every 429/503. One ``Politeness`` lives as long as its
fetcher, i.e. one run, and is shared by every feed of the run, so a host's gap and pause hold
for all of its feeds at once.

* **Pauses.** A 429 (or a 503 with ``Retry-After``) pauses the host for ``Retry-After`` seconds
  (:data:`DEFAULT_PAUSE` when a 429 names none). No request goes to a paused host, from any
  feed; the pause is saved in the store, so the next run honours what is left of it.
* **robots.txt** is read once per origin (scheme, host and port) and kept in the store for 24
  hours (:mod:`ingest.fetch.robots` says what an answer means). Which origins the store holds
  is read in one query (again after :data:`ROBOTS_INDEX_TTL`), so an origin it does not hold
  costs no database read, and fetched files are saved :data:`ROBOTS_SAVE_BATCH` at a time and
  when the fetcher closes: at thousands of hosts per run, a read and a write transaction per
  host queued behind the article saves for SQLite's write lock (issue #17). A file not saved
  because the process died is fetched again by the next run. A URL it disallows raises
  :class:`~ingest.errors.DisallowedError` and is never requested. An unreachable robots.txt
  disallows everything on that origin until the next run
  (:class:`~ingest.errors.DeferredError`). Requests made with ``robots=False`` (subscribed
  feed documents, ``obey_robots = false`` feeds) skip all of this but the pauses and the floor.
* **Gaps.** Requests to one host start at least ``gap`` seconds apart: ``NEWSFLOW_HOST_DELAY``
  for every request, and for requests that obey robots.txt its ``Crawl-delay`` (or
  ``Request-rate``), capped by ``NEWSFLOW_MAX_CRAWL_DELAY``. Each request reserves its start
  before it sleeps, so concurrent feeds queue in order. A crawled request whose turn would come
  after the run's budget (``NEWSFLOW_CRAWL_BUDGET`` seconds from the start) is not made at all:
  it raises :class:`~ingest.errors.DeferredError` and the page is left for the next run.

The store (``storage.politeness.SqlPolitenessStore``) is synchronous and called in a worker
thread; without one, robots.txt and pauses are kept in memory for the fetcher's life.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx

from ingest.errors import DeferredError, DisallowedError, HostPausedError
from ingest.fetch.robots import RobotsFile, RobotsRules, latest_per_origin

__all__ = [
    "DEFAULT_PAUSE",
    "ROBOTS_INDEX_TTL",
    "ROBOTS_SAVE_BATCH",
    "HostPause",
    "MemoryPolitenessStore",
    "Politeness",
    "PolitenessConfig",
    "PolitenessStore",
    "host_key",
    "origin_of",
]

log = logging.getLogger(__name__)

#: A 429 that names no Retry-After pauses its host this long.
DEFAULT_PAUSE = 60.0
#: Seconds this run trusts its list of the origins the store holds a robots.txt for; another
#: run's saves show up after at most this long.
ROBOTS_INDEX_TTL = 60.0
#: Fetched robots.txt files saved in one transaction (the rest when the fetcher closes).
ROBOTS_SAVE_BATCH = 100


@dataclass(frozen=True, slots=True)
class PolitenessConfig:
    """How polite to be (docs/politeness.md; the ``NEWSFLOW_*`` settings)."""

    obey_robots: bool = True  # NEWSFLOW_OBEY_ROBOTS
    host_delay: float = 0.0  # NEWSFLOW_HOST_DELAY: floor of the gap for every host
    max_crawl_delay: float = 30.0  # NEWSFLOW_MAX_CRAWL_DELAY: cap on a robots.txt delay
    budget: float | None = 600.0  # NEWSFLOW_CRAWL_BUDGET: seconds; None: no budget


@dataclass(frozen=True, slots=True)
class HostPause:
    """A host that asked not to be requested before ``until`` (UTC)."""

    host: str  # host[:port], as :func:`host_key` gives
    until: datetime
    reason: str


class PolitenessStore(Protocol):
    """Where robots.txt files and host pauses outlive a run (sync; called from a thread)."""

    def robots(self, origin: str) -> RobotsFile | None:
        """The last robots.txt stored for ``origin``, however old."""

    def robots_fetched(self) -> dict[str, datetime]:
        """When the robots.txt stored for each origin was fetched (no bodies: one cheap read)."""

    def save_robots(self, files: Sequence[RobotsFile]) -> None:
        """Keep each file for its origin, replacing an earlier fetch (a later one stays)."""

    def pauses(self, now: datetime) -> list[HostPause]:
        """Every pause that still runs at ``now``."""

    def save_pause(self, pause: HostPause) -> None:
        """Keep ``pause``; a longer pause already stored for the host stays."""


class MemoryPolitenessStore:
    """A :class:`PolitenessStore` in memory: for a fetcher with no database, and for tests."""

    def __init__(self) -> None:
        self.robots_files: dict[str, RobotsFile] = {}
        self.host_pauses: dict[str, HostPause] = {}

    def robots(self, origin: str) -> RobotsFile | None:
        return self.robots_files.get(origin)

    def robots_fetched(self) -> dict[str, datetime]:
        return {origin: f.fetched_at for origin, f in self.robots_files.items()}

    def save_robots(self, files: Sequence[RobotsFile]) -> None:
        kept = latest_per_origin([*self.robots_files.values(), *files])
        self.robots_files = {robots.origin: robots for robots in kept}

    def pauses(self, now: datetime) -> list[HostPause]:
        return [p for p in self.host_pauses.values() if p.until > now]

    def save_pause(self, pause: HostPause) -> None:
        known = self.host_pauses.get(pause.host)
        if known is None or known.until < pause.until:
            self.host_pauses[pause.host] = pause


def host_key(url: httpx.URL) -> str:
    """``www.example.com``, or ``127.0.0.1:8080`` off the scheme's default port."""
    host = url.host.lower()
    host = f"[{host}]" if ":" in host else host
    return host if url.port is None else f"{host}:{url.port}"


def origin_of(url: httpx.URL) -> str:
    """``https://www.example.com`` (the port when not the default): robots.txt's scope."""
    return f"{url.scheme}://{host_key(url)}"


RobotsFetch = Callable[[str], Awaitable[RobotsFile | RobotsRules]]


class Politeness:
    """The per-run politeness state of one fetcher (see the module's docstring)."""

    def __init__(
        self,
        config: PolitenessConfig | None = None,
        store: PolitenessStore | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config or PolitenessConfig()
        self.store: PolitenessStore = store or MemoryPolitenessStore()
        self._clock, self._sleep, self._now = clock, sleep, now
        self._budget_end = None if self.config.budget is None else clock() + self.config.budget
        self._next_start: dict[str, float] = {}  # host -> the latest start reserved
        self._rules: dict[str, RobotsRules] = {}
        self._stored_at: dict[str, datetime] = {}  # origin -> when the store's file was fetched
        self._index_read_at: float | None = None
        self._unsaved: list[RobotsFile] = []
        self._paused: dict[str, HostPause] = {}
        self._pauses_loaded = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._locks: dict[str, asyncio.Lock] = {}

    # --- before a request ------------------------------------------------------------------

    async def before(self, url: httpx.URL, *, robots: bool, fetch_robots: RobotsFetch) -> float:
        """Wait for ``url``'s turn; return the seconds waited.

        Raises HostPausedError (the host is paused), DisallowedError (robots.txt says no),
        DeferredError (robots.txt unreachable, or the turn falls beyond the run's budget).
        ``fetch_robots`` fetches an origin's robots.txt when it is not known yet.
        """
        await self._load_pauses()
        host = host_key(url)
        self.check_pause(host)
        crawled = robots and self.config.obey_robots
        gap = self.config.host_delay
        if crawled:
            rules = await self.rules(origin_of(url), fetch_robots)
            if rules.unreachable_now:
                raise DeferredError(f"left for the next run: {rules.reason}", url=str(url))
            if not rules.allows(str(url)):
                raise DisallowedError("disallowed by robots.txt", url=str(url))
            delay = rules.crawl_delay()
            if delay is not None:
                gap = max(gap, min(delay, self.config.max_crawl_delay))
            self.check_pause(host)  # the robots.txt fetch may have been answered with a 429
        return await self._turn(host, gap, deferrable=crawled)

    def check_pause(self, host: str) -> None:
        """Raise HostPausedError when ``host`` is paused now."""
        pause = self._paused.get(host)
        if pause is None:
            return
        left = (pause.until - self._now()).total_seconds()
        if left <= 0:
            del self._paused[host]
            return
        raise HostPausedError(
            f"not requested: {host} asked for a pause until {pause.until:%H:%M:%S} UTC "
            f"({pause.reason}); left for the next run",
            retry_after=left,
        )

    async def _turn(self, host: str, gap: float, *, deferrable: bool) -> float:
        now = self._clock()
        last = self._next_start.get(host)
        start = now if last is None else max(now, last + gap)
        if deferrable and start > now and self._budget_end is not None and start > self._budget_end:
            raise DeferredError(
                f"left for the next run: the host's crawl delay of {gap:g} s leaves no turn "
                "within this run"
            )
        self._next_start[host] = start  # reserved before sleeping: the next caller queues after
        if start > now:
            await self._sleep(start - now)
        return start - now

    # --- robots.txt --------------------------------------------------------------------------

    async def rules(self, origin: str, fetch_robots: RobotsFetch) -> RobotsRules:
        """The robots.txt rules of ``origin``: this run's, the store's if fresh, else fetched."""
        known = self._rules.get(origin)
        if known is not None:
            return known
        async with self._lock(f"robots:{origin}"):
            known = self._rules.get(origin)
            if known is not None:
                return known
            stored = await self._stored_robots(origin)
            if stored is not None and stored.fresh(self._now()):
                rules = RobotsRules.of(stored)
            else:
                fetched = await fetch_robots(origin)
                if isinstance(fetched, RobotsFile):
                    self._unsaved.append(fetched)
                    if len(self._unsaved) >= ROBOTS_SAVE_BATCH:
                        await self.flush()
                    rules = RobotsRules.of(fetched)
                else:
                    rules = fetched
                    log.warning("%s: %s", origin, rules.reason)
            self._rules[origin] = rules
            return rules

    async def _stored_robots(self, origin: str) -> RobotsFile | None:
        """The store's robots.txt for ``origin``; no read when its index says it has none."""
        if self._index_stale():
            async with self._lock("robots-index"):
                if self._index_stale():
                    self._stored_at = await asyncio.to_thread(self.store.robots_fetched)
                    self._index_read_at = self._clock()
        if origin not in self._stored_at:
            return None
        return await asyncio.to_thread(self.store.robots, origin)

    def _index_stale(self) -> bool:
        read_at = self._index_read_at
        return read_at is None or self._clock() - read_at > ROBOTS_INDEX_TTL

    async def flush(self) -> None:
        """Save the robots.txt files fetched since the last save, in one transaction."""
        files, self._unsaved = self._unsaved, []
        if files:
            await asyncio.to_thread(self.store.save_robots, files)

    # --- pauses ------------------------------------------------------------------------------

    async def pause(self, url: httpx.URL, seconds: float | None, reason: str) -> None:
        """Pause ``url``'s host for ``seconds`` (None: :data:`DEFAULT_PAUSE`), and save it."""
        host = host_key(url)
        wait = DEFAULT_PAUSE if seconds is None else seconds
        if wait <= 0:
            return
        pause = HostPause(host, self._now() + timedelta(seconds=wait), reason)
        known = self._paused.get(host)
        if known is None or known.until < pause.until:
            self._paused[host] = pause
        log.warning("pausing requests to %s for %g s: %s", host, wait, reason)
        await asyncio.to_thread(self.store.save_pause, pause)

    async def _load_pauses(self) -> None:
        if self._pauses_loaded:
            return
        async with self._lock("pauses"):
            if self._pauses_loaded:
                return
            for pause in await asyncio.to_thread(self.store.pauses, self._now()):
                known = self._paused.get(pause.host)
                if known is None or known.until < pause.until:
                    self._paused[pause.host] = pause
            self._pauses_loaded = True

    def _lock(self, name: str) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # locks bind to the loop that first waits on them
            self._loop, self._locks = loop, {}
        return self._locks.setdefault(name, asyncio.Lock())
