"""A good citizen of the real web (issue #14), against a loopback site with a request log.

Each test runs feeds through ``process_feed`` with one shared Fetcher per run (as the ingest
flow does), a real SQLite store for articles, robots.txt files and pauses, and
``record_outcome`` for the feeds table; the site's log (``politesite.py``) proves what was
asked for and when. The pacing test runs in real time: the delay is the behaviour under test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from politesite import HTML, PoliteSite
from sqlalchemy import Engine, func, select

from ingest.fetch.client import Fetcher, HttpConfig
from ingest.fetch.polite import (
    ROBOTS_INDEX_TTL,
    MemoryPolitenessStore,
    Politeness,
    PolitenessConfig,
)
from ingest.fetch.robots import RobotsFile
from ingest.model import FeedResult, FeedSource, FeedStatus
from ingest.pipeline import PipelineConfig, process_feed
from storage.db import ensure_schema, make_engine
from storage.models import FeedHealthRow, HostPauseRow, RobotsTxtRow
from storage.outcomes import record_outcome
from storage.politeness import SqlPolitenessStore
from storage.repository import ArticleQuery, SqlStore, feed_states, list_feeds, query_articles
from storage.repository import sync_feeds as sync

pytestmark = pytest.mark.anyio

AGENT = "newsflow/0.1.0 (+mailto:ops@example.org)"
GAP_SLACK = 0.05  # the server logs arrival; the client reserves starts exactly `gap` apart


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'polite.db'}")
    ensure_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
async def site() -> AsyncIterator[PoliteSite]:
    async with PoliteSite() as started:
        yield started


async def run(
    engine: Engine,
    sources: Sequence[FeedSource],
    *,
    config: PolitenessConfig | None = None,
    now: Callable[[], datetime] | None = None,
    one_by_one: bool = False,
) -> dict[str, FeedResult]:
    """One ingest run over ``sources``: one fetcher, feeds at once (or one by one), recorded."""
    config = config or PolitenessConfig()
    sync(engine, sources)
    states = feed_states(engine, [s.url for s in sources])
    http = HttpConfig(
        user_agent=AGENT,
        connect_timeout=2.0,
        read_timeout=2.0,
        total_timeout=10.0,
        allow_private_networks=True,
        politeness=config,
    )
    store = SqlPolitenessStore(engine)
    politeness = Politeness(config, store, now=now) if now is not None else None
    articles = SqlStore(engine)
    async with Fetcher(http, store=store, politeness=politeness) as fetcher:

        async def one(source: FeedSource) -> FeedResult:
            return await process_feed(
                source, states[source.url], fetcher=fetcher, store=articles, config=PipelineConfig()
            )

        if one_by_one:
            results = [await one(source) for source in sources]
        else:
            results = list(await asyncio.gather(*(one(source) for source in sources)))
    record_outcome(engine, results)
    return {r.feed_url: r for r in results}


def feeds_row(engine: Engine, url: str) -> dict[str, object]:
    return next(row for row in list_feeds(engine) if row["url"] == url)


def stored_urls(engine: Engine) -> list[str]:
    return sorted(a["url"] for a in query_articles(engine, ArticleQuery()))


def later(hours: float) -> Callable[[], datetime]:
    return lambda: datetime.now(UTC) + timedelta(hours=hours)


# --- robots.txt -----------------------------------------------------------------------------


async def test_a_disallowed_article_is_never_requested_and_counts_as_disallowed(
    site: PoliteSite, engine: Engine
) -> None:
    # newsflow's own group applies, not "*" (which would forbid everything).
    site.robots("User-agent: *\nDisallow: /\n\nUser-agent: NewsFlow\nDisallow: /members/\n")
    site.page("/news/open.html")
    site.page("/members/locked.html")
    feed = site.feed("/feed.xml", ["/news/open.html", "/members/locked.html"])

    result = (await run(engine, [FeedSource(feed)]))[feed]

    assert "/members/locked.html" not in site.paths()
    assert result.status is FeedStatus.OK
    pages = result.pages
    assert (pages.new, pages.disallowed, pages.failed_pages, pages.deferred) == (1, 1, 0, 0)
    assert any("disallowed by robots.txt" in w for w in result.warnings)
    assert stored_urls(engine) == [f"{site.base}/news/open.html"]
    row = feeds_row(engine, feed)
    assert (row["disallowed"], row["last_error"], row["consecutive_failures"]) == (1, None, 0)

    # Not requested again while the rule stands: the next run reads the feed again, not the page.
    again = (await run(engine, [FeedSource(feed)]))[feed]
    assert again.pages.disallowed == 1
    assert site.paths().count("/members/locked.html") == 0
    assert site.paths().count("/robots.txt") == 1


async def test_robots_txt_is_fetched_once_per_host_per_day_across_feeds_and_runs(
    site: PoliteSite, engine: Engine
) -> None:
    site.robots("User-agent: *\nDisallow: /private/\n")
    a, b = site.base + "/a.xml", site.base + "/b.xml"
    feeds = [FeedSource(a), FeedSource(b)]

    async def run_with_new_pages(n: int, now: Callable[[], datetime] | None = None) -> None:
        for feed in ("a", "b"):  # every run brings each feed a page of its own to fetch
            site.page(f"/{feed}/{n}.html")
            site.feed(f"/{feed}.xml", [f"/{feed}/{k}.html" for k in range(1, n + 1)])
        results = await run(engine, feeds, now=now)
        assert all(r.pages.new == 1 for r in results.values())

    await run_with_new_pages(1)
    await run_with_new_pages(2)  # a second run, a new fetcher: the stored copy is used
    assert site.paths().count("/robots.txt") == 1
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(RobotsTxtRow)) == 1
    await run_with_new_pages(3, now=later(hours=23))
    assert site.paths().count("/robots.txt") == 1
    await run_with_new_pages(4, now=later(hours=25))  # a day old: read again, once
    assert site.paths().count("/robots.txt") == 2


async def test_robots_txt_files_are_saved_in_a_batch_by_the_time_the_fetcher_closes(
    site: PoliteSite, engine: Engine
) -> None:
    """No write transaction per host: the run's robots.txt files go in when the fetcher closes
    (or ROBOTS_SAVE_BATCH at a time), and the next run finds them there."""
    site.robots("User-agent: *\nDisallow: /private/\n")
    site.page("/news/1.html")
    http = HttpConfig(user_agent=AGENT, allow_private_networks=True)
    store = SqlPolitenessStore(engine)

    def stored() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(RobotsTxtRow)) or 0)

    async with Fetcher(http, store=store) as fetcher:
        await fetcher.fetch(site.base + "/news/1.html", max_bytes=1 << 20, robots=True)
        assert (site.paths(), stored()) == (["/robots.txt", "/news/1.html"], 0)
    assert stored() == 1
    async with Fetcher(http, store=store) as fetcher:
        await fetcher.fetch(site.base + "/news/1.html", max_bytes=1 << 20, robots=True)
    assert site.paths().count("/robots.txt") == 1


async def test_a_run_reads_robots_txt_another_run_saved_once_its_index_is_renewed() -> None:
    """The origins the store holds are read once, and again after ROBOTS_INDEX_TTL: until then
    an origin another run saved meanwhile is fetched anew, after it the stored file is used."""
    now = datetime.now(UTC)
    store = MemoryPolitenessStore()
    clock = [0.0]
    politeness = Politeness(PolitenessConfig(), store, clock=lambda: clock[0])
    fetched: list[str] = []

    async def fetch(origin: str) -> RobotsFile:
        fetched.append(origin)
        return RobotsFile(origin, 200, "User-agent: *\nAllow: /\n", now)

    closed = "User-agent: *\nDisallow: /\n"
    await politeness.rules("https://a.example.com", fetch)  # reads the index: empty
    store.save_robots([RobotsFile("https://b.example.com", 200, closed, now)])  # another run
    await politeness.rules("https://b.example.com", fetch)
    assert fetched == ["https://a.example.com", "https://b.example.com"]
    store.save_robots([RobotsFile("https://c.example.com", 200, closed, now)])
    clock[0] = ROBOTS_INDEX_TTL + 1
    rules = await politeness.rules("https://c.example.com", fetch)
    assert fetched == ["https://a.example.com", "https://b.example.com"]
    assert not rules.allows("https://c.example.com/news/1.html")
    await politeness.flush()
    assert set(store.robots_fetched()) == {f"https://{h}.example.com" for h in "abc"}


async def test_robots_txt_answering_503_means_no_page_of_that_host_is_requested(
    site: PoliteSite, engine: Engine
) -> None:
    site.robots("down for maintenance", status=503)
    site.page("/news/1.html")
    site.page("/news/2.html")
    feed = site.feed("/feed.xml", ["/news/1.html", "/news/2.html"])

    result = (await run(engine, [FeedSource(feed)]))[feed]

    assert site.paths() == ["/feed.xml", "/robots.txt"]  # the feed is a subscription
    assert (result.status, result.pages.deferred, result.pages.failed_pages) == (
        FeedStatus.OK,
        2,
        0,
    )
    assert any("robots.txt unreachable" in w for w in result.warnings)
    assert stored_urls(engine) == []
    # Not cached: the next run asks again, and reads the pages once robots.txt is back.
    site.robots("User-agent: *\nAllow: /\n")
    again = (await run(engine, [FeedSource(feed)]))[feed]
    assert again.pages.new == 2
    assert site.paths().count("/robots.txt") == 2


@pytest.mark.parametrize("how", ["feed obey_robots = false", "NEWSFLOW_OBEY_ROBOTS=false"])
async def test_not_obeying_robots_fetches_everything(
    site: PoliteSite, engine: Engine, how: str
) -> None:
    site.robots("User-agent: *\nDisallow: /\nCrawl-delay: 30\n")
    site.page("/mine/1.html")
    site.page("/mine/2.html")
    feed = site.feed("/feed.xml", ["/mine/1.html", "/mine/2.html"])
    if how.startswith("feed"):
        sources, config = [FeedSource(feed, obey_robots=False)], PolitenessConfig()
    else:
        sources, config = [FeedSource(feed)], PolitenessConfig(obey_robots=False)

    result = (await run(engine, sources, config=config))[feed]

    assert result.pages.new == 2 and result.pages.disallowed == 0
    assert "/robots.txt" not in site.paths()  # neither its rules nor its delay were asked for
    assert len(stored_urls(engine)) == 2


# --- delays -----------------------------------------------------------------------------------


async def test_crawl_delay_spaces_page_requests_to_a_host_even_across_two_feeds(
    site: PoliteSite, engine: Engine
) -> None:
    site.robots("User-agent: *\nCrawl-delay: 2\n")
    site.page("/a/1.html")
    site.page("/b/1.html")
    feeds = [
        FeedSource(site.feed("/a.xml", ["/a/1.html"])),
        FeedSource(site.feed("/b.xml", ["/b/1.html"])),
    ]

    results = await run(engine, feeds)

    assert all(r.pages.new == 1 for r in results.values())
    pages = site.times(["/a/1.html", "/b/1.html"])
    assert len(pages) == 2
    assert pages[1] - pages[0] >= 2 - GAP_SLACK
    # Every request counts for the host's gap: the first page waited for the last feed.
    last_feed = max(site.times(["/a.xml", "/b.xml", "/robots.txt"]))
    assert pages[0] - last_feed >= 2 - GAP_SLACK


async def test_pages_a_crawl_delay_cannot_reach_within_the_run_are_left_for_the_next_run(
    site: PoliteSite, engine: Engine
) -> None:
    site.robots("User-agent: *\nCrawl-delay: 2\n")
    for n in (1, 2, 3):
        site.page(f"/news/{n}.html")
    feed = site.feed("/feed.xml", ["/news/1.html", "/news/2.html", "/news/3.html"], etag='"v1"')

    # A budget of 3 s: the first page's turn comes 2 s in, the next ones would come after it.
    result = (await run(engine, [FeedSource(feed)], config=PolitenessConfig(budget=3.0)))[feed]

    assert (result.pages.new, result.pages.deferred, result.pages.failed_pages) == (1, 2, 0)
    assert [p for p in site.paths() if p.startswith("/news/")] == ["/news/1.html"]
    assert result.status is FeedStatus.OK
    assert result.update is not None and result.update.validators is not None
    assert result.update.validators.etag is None  # no 304 next time: the pages are still due
    assert any("left for the next run" in w for w in result.warnings)


# --- pauses ----------------------------------------------------------------------------------


async def test_a_429_with_retry_after_on_one_feeds_page_stops_requests_to_the_host_from_every_feed(
    site: PoliteSite, engine: Engine
) -> None:
    site.robots("User-agent: *\nAllow: /\n")
    site.route("/a/1.html", 429, [("Retry-After", "120")], b"slow down")
    site.page("/b/1.html")
    a = site.feed("/a.xml", ["/a/1.html"])
    b = site.feed("/b.xml", ["/b/1.html"])
    feeds = [FeedSource(a), FeedSource(b)]

    first = await run(engine, feeds, one_by_one=True)  # feed a first: its page gets the 429

    assert site.paths() == ["/a.xml", "/robots.txt", "/a/1.html"]
    assert first[a].pages.failed_pages == 1 and first[a].pages.retry_pages == 1
    assert first[b].status is FeedStatus.FAILED  # its own feed is on the paused host
    assert first[b].error is not None and "asked for a pause" in first[b].error
    with engine.connect() as conn:
        pause = conn.execute(select(HostPauseRow)).one()
    assert pause.host == site.host
    assert timedelta(seconds=100) < pause.until - datetime.now(UTC) <= timedelta(seconds=120)

    # The pause is kept: the next run asks nothing of that host, from any feed.
    second = await run(engine, feeds)
    assert len(site.paths()) == 3
    assert all(r.status is FeedStatus.FAILED for r in second.values())
    assert all(r.error and "asked for a pause" in r.error for r in second.values())

    # Once it is over, the host is asked again.
    site.page("/a/1.html")
    third = await run(engine, feeds, now=later(hours=121 / 3600))
    assert third[a].pages.new == 1 and third[b].pages.new == 1


# --- walls -------------------------------------------------------------------------------------

CONSENT_FORM = b"""<!doctype html><html><head><title>Before you continue</title></head><body>
<h1>We value your privacy</h1><p>We and our partners use cookies to store and/or access
information on a device. With your consent we process personal data for personalised ads and
content. You can accept all, or manage options and object to legitimate interest.</p>
<form><button>Accept all</button><button>Reject all</button></form></body></html>"""


CHALLENGE_200 = b"""<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>
<script>(function(){window._cf_chl_opt={cvId: '3'};}());</script></body></html>"""
JS_DETECTIONS = "<script src='/cdn-cgi/challenge-platform/scripts/jsd/main.js' async></script>"


async def test_a_challenge_served_as_200_is_a_wall_and_a_page_with_cloudflares_scripts_is_not(
    site: PoliteSite, engine: Engine
) -> None:
    """The event loop no longer scans 2xx pages for a challenge's marks: preparation does, on
    pages with little text. Cloudflare's bot management puts its challenge platform's script
    in real pages too, which alone no longer marks a 2xx page as a challenge."""
    site.robots("User-agent: *\nAllow: /\n")
    site.route("/news/challenge.html", 200, [HTML], CHALLENGE_200)
    site.page("/news/real.html", "Harbour reopens", extra_head=JS_DETECTIONS)
    feed = site.feed("/feed.xml", ["/news/challenge.html", "/news/real.html"])

    result = (await run(engine, [FeedSource(feed)]))[feed]

    assert (result.pages.new, result.pages.blocked) == (1, 1)
    assert f"{site.base}/news/challenge.html: blocked by Cloudflare challenge" in result.warnings
    assert stored_urls(engine) == [f"{site.base}/news/real.html"]


async def test_bot_and_consent_walls_are_failed_pages_with_their_reasons_and_store_nothing(
    site: PoliteSite, engine: Engine
) -> None:
    site.robots("User-agent: *\nAllow: /\n")
    site.route(
        "/news/cf.html",
        403,
        [HTML, ("cf-mitigated", "challenge"), ("Server", "cloudflare")],
        b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body></body></html>",
    )
    site.route("/news/consent.html", 302, [("Location", "https://consent.example.test/?c=1")])
    site.route(
        "/news/dd.html",
        403,
        [HTML, ("x-datadome", "protected")],
        b"<html><script src='https://ct.captcha-delivery.com/c.js'></script></html>",
    )
    site.route("/news/form.html", 200, [HTML], CONSENT_FORM)
    paths = ["/news/cf.html", "/news/consent.html", "/news/dd.html", "/news/form.html"]
    feed = site.feed("/feed.xml", paths)

    result = (await run(engine, [FeedSource(feed)]))[feed]

    assert result.status is FeedStatus.OK
    assert (result.pages.failed_pages, result.pages.blocked, result.pages.new) == (4, 4, 0)
    warnings = "\n".join(result.warnings)
    assert f"{site.base}/news/cf.html: blocked by Cloudflare challenge (403)" in warnings
    assert (
        f"{site.base}/news/consent.html: blocked by consent wall "
        "(redirect to consent.example.test)" in warnings
    )
    assert f"{site.base}/news/dd.html: blocked by DataDome (403)" in warnings
    assert f"{site.base}/news/form.html: blocked by consent wall" in warnings
    assert stored_urls(engine) == []
    assert result.blocked_by == (
        "consent wall (2 pages), Cloudflare challenge (1 page), DataDome (1 page)"
    )
    row = feeds_row(engine, feed)
    assert row["blocked_by"] == result.blocked_by
    assert (row["last_status"], row["last_error"], row["consecutive_failures"]) == ("ok", None, 0)
    with engine.connect() as conn:  # nothing extracted: the extraction health is untouched
        assert conn.scalar(select(func.count()).select_from(FeedHealthRow)) == 0

    # Pages that get through clear it.
    site.page("/news/cf.html")
    site.feed("/feed.xml", ["/news/cf.html"])
    await run(engine, [FeedSource(feed)])
    assert feeds_row(engine, feed)["blocked_by"] is None
