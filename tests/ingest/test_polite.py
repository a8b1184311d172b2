"""ingest/fetch/polite.py on a fake clock: gaps, floors, caps, budgets, pauses, robots lookups.

The loopback tests (test_politeness.py) show the same behaviour on the wire; these pin the
arithmetic without waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ingest.errors import DeferredError, DisallowedError, HostPausedError
from ingest.fetch.polite import (
    DEFAULT_PAUSE,
    HostPause,
    MemoryPolitenessStore,
    Politeness,
    PolitenessConfig,
    host_key,
    origin_of,
)
from ingest.fetch.robots import RobotsFile, RobotsRules

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SITE = "https://news.example.com"


class Clock:
    """A monotonic clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Harness:
    """A Politeness on a fake clock, whose robots.txt fetches are answered with ``robots``
    (None: unreachable) and recorded in ``asked``."""

    def __init__(
        self,
        robots: str | None = "User-agent: *\nCrawl-delay: 2\n",
        store: MemoryPolitenessStore | None = None,
        **config: Any,
    ) -> None:
        self.robots = robots
        self.asked: list[str] = []
        self.clock = Clock()
        self.store = store or MemoryPolitenessStore()
        self.politeness = Politeness(
            PolitenessConfig(**config),
            self.store,
            clock=self.clock,
            sleep=self.clock.sleep,
            now=lambda: NOW + timedelta(seconds=self.clock.now - 100.0),
        )

    async def _fetch_robots(self, origin: str) -> RobotsFile | RobotsRules:
        self.asked.append(origin)
        if self.robots is None:
            return RobotsRules.unreachable("server error 503")
        return RobotsFile(origin, 200, self.robots, NOW)

    async def before(self, path: str, *, robots: bool = True, site: str = SITE) -> float:
        return await self.politeness.before(
            httpx.URL(site + path), robots=robots, fetch_robots=self._fetch_robots
        )


async def test_crawl_delay_spaces_requests_and_robots_txt_is_asked_once() -> None:
    site = Harness()
    waits = [await site.before(f"/news/{n}.html") for n in range(4)]
    assert waits == [0.0, 2.0, 2.0, 2.0]
    assert site.asked == [SITE]


async def test_a_feed_request_is_not_held_by_the_crawl_delay_but_counts_for_the_next_page() -> None:
    site = Harness()
    assert await site.before("/feed.xml", robots=False) == 0.0
    assert await site.before("/feed2.xml", robots=False) == 0.0
    assert await site.before("/news/1.html") == 2.0


async def test_the_host_delay_is_a_floor_for_every_request() -> None:
    site = Harness(robots="User-agent: *\nCrawl-delay: 1\n", host_delay=3.0)
    assert await site.before("/feed.xml", robots=False) == 0.0
    assert await site.before("/feed2.xml", robots=False) == 3.0
    assert await site.before("/news/1.html") == 3.0  # above the robots.txt delay


async def test_the_crawl_delay_is_capped() -> None:
    site = Harness(robots="User-agent: *\nCrawl-delay: 3600\n", max_crawl_delay=30.0)
    await site.before("/news/1.html")
    assert await site.before("/news/2.html") == 30.0


async def test_a_turn_beyond_the_budget_is_left_for_the_next_run_without_waiting() -> None:
    site = Harness(budget=5.0)
    for _ in range(3):  # turns at 0, 2 and 4 s
        await site.before("/news/a.html")
    with pytest.raises(DeferredError, match="left for the next run"):
        await site.before("/news/b.html")  # its turn would be at 6 s
    assert site.clock.now == 104.0  # nothing was slept for the page put off
    assert await site.before("/a", site="https://other.example.org") == 0.0  # its own turns


async def test_not_obeying_robots_ignores_rules_and_delay_but_not_the_floor() -> None:
    site = Harness(robots="User-agent: *\nDisallow: /\nCrawl-delay: 9\n")
    await site.before("/a.html", robots=False)
    assert await site.before("/b.html", robots=False) == 0.0
    assert site.asked == []
    everyone = Harness(robots="User-agent: *\nDisallow: /\n", obey_robots=False, host_delay=1.0)
    await everyone.before("/a.html")
    assert await everyone.before("/b.html") == 1.0
    assert everyone.asked == []


async def test_disallowed_and_unreachable() -> None:
    site = Harness(robots="User-agent: *\nDisallow: /private/\n")
    with pytest.raises(DisallowedError, match=r"disallowed by robots\.txt"):
        await site.before("/private/a.html")
    down = Harness(robots=None)
    with pytest.raises(DeferredError, match=r"robots\.txt unreachable \(server error 503\)"):
        await down.before("/news/a.html")
    with pytest.raises(DeferredError):
        await down.before("/news/b.html")
    assert down.asked == [SITE]  # unreachable for the rest of the run: not asked again
    assert down.store.robots(SITE) is None  # and not kept for the next run


async def test_a_stored_robots_txt_is_used_while_fresh() -> None:
    store = MemoryPolitenessStore()
    store.save_robots([RobotsFile(SITE, 200, "User-agent: *\nDisallow: /x/\n", NOW)])
    fresh = Harness(store=store)
    with pytest.raises(DisallowedError):
        await fresh.before("/x/a.html")
    assert fresh.asked == []
    old = MemoryPolitenessStore()
    old.save_robots([RobotsFile(SITE, 200, "", NOW - timedelta(hours=25))])
    stale = Harness(store=old)
    await stale.before("/x/a.html")
    assert stale.asked == [SITE]
    await stale.politeness.flush()  # what the fetcher does when it closes
    kept = old.robots(SITE)
    assert kept is not None and kept.fetched_at == NOW


async def test_a_pause_stops_every_request_to_the_host_and_is_kept() -> None:
    store = MemoryPolitenessStore()
    site = Harness(store=store)
    await site.politeness.pause(httpx.URL(SITE + "/a.html"), 120.0, "rate limited (429)")
    for robots in (True, False):
        with pytest.raises(HostPausedError) as caught:
            await site.before("/b.html", robots=robots)
        assert caught.value.retry_after == pytest.approx(120.0)
    # A new run (a new Politeness on the same store) honours it, until it is over.
    again = Harness(store=store)
    with pytest.raises(HostPausedError, match="asked for a pause"):
        await again.before("/c.html")
    again.clock.now += 121
    assert await again.before("/c.html") == 0.0


async def test_a_429_without_retry_after_pauses_for_the_default() -> None:
    site = Harness()
    await site.politeness.pause(httpx.URL(SITE + "/a.html"), None, "rate limited (429)")
    [pause] = site.store.pauses(NOW)
    assert pause.until == NOW + timedelta(seconds=DEFAULT_PAUSE)


async def test_a_shorter_pause_never_cuts_a_longer_one() -> None:
    store = MemoryPolitenessStore()
    store.save_pause(HostPause("news.example.com", NOW + timedelta(hours=1), "first"))
    store.save_pause(HostPause("news.example.com", NOW + timedelta(minutes=1), "second"))
    assert [p.reason for p in store.pauses(NOW)] == ["first"]


@pytest.mark.parametrize(
    ("url", "host", "origin"),
    [
        ("https://News.Example.com/a", "news.example.com", "https://news.example.com"),
        ("http://127.0.0.1:8080/a", "127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://example.com:443/a", "example.com", "https://example.com"),
        ("http://[::1]:81/a", "[::1]:81", "http://[::1]:81"),
    ],
)
def test_hosts_and_origins(url: str, host: str, origin: str) -> None:
    assert host_key(httpx.URL(url)) == host
    assert origin_of(httpx.URL(url)) == origin
