"""Tests for ingest.backfill.sitemaps: fixture sitemaps, robots.txt, date hints, and the site walk.

Each ``tests/data/sitemaps/<case>.<ext>`` has a ``<case>.expect.json`` naming the URL it was
fetched from and either the expected ``error`` or its ``children`` ([url, lastmod]) and
``urls`` ([url, published_at, lastmod, title]). The walk runs through the real Fetcher over an
``httpx.MockTransport`` serving a small site; every requested path is recorded.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.backfill.sitemaps import (
    MAX_ENTRIES,
    MAX_SITEMAP_BYTES,
    SitemapRef,
    SitemapUrl,
    child_may_overlap,
    discover_sitemap_urls,
    in_range,
    parse_sitemap,
    sitemaps_from_robots,
    url_date_hint,
)
from ingest.errors import ParseError, TransientFetchError
from ingest.fetch.client import Fetcher, HttpConfig

SITEMAPS = Path(__file__).parents[1] / "data" / "sitemaps"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SINCE = datetime(2021, 9, 14, tzinfo=UTC)  # the period 2021-09-14 .. 2021-09-16 inclusive
UNTIL = datetime(2021, 9, 17, tzinfo=UTC)
SITE = "https://news.example.com"


def _cases() -> list[Any]:
    cases = []
    for expectation in sorted(SITEMAPS.glob("*.expect.json")):
        name = expectation.name.removesuffix(".expect.json")
        (document,) = [p for p in SITEMAPS.glob(f"{name}.*") if not p.name.endswith(".json")]
        cases.append(pytest.param(document, json.loads(expectation.read_text()), id=name))
    return cases


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@pytest.mark.parametrize(("document", "expected"), _cases())
def test_fixture_sitemap(document: Path, expected: dict[str, Any]) -> None:
    body = document.read_bytes()
    if "error" in expected:
        with pytest.raises(ParseError, match=re.escape(expected["error"])):
            parse_sitemap(body, url=expected["url"], now=NOW)
        return
    sitemap = parse_sitemap(body, url=expected["url"], now=NOW)
    children = [[ref.url, _iso(ref.lastmod)] for ref in sitemap.children]
    urls = [[u.url, _iso(u.published_at), _iso(u.lastmod), u.title] for u in sitemap.urls]
    assert children == expected["children"]
    assert urls == expected["urls"]


def test_gzip_sitemap_reads_like_the_plain_one() -> None:
    plain = (SITEMAPS / "lastmod-only.xml").read_bytes()
    url = "https://news.example.com/sitemap-2021-09.xml.gz"
    assert parse_sitemap(gzip.compress(plain, mtime=0), url=url, now=NOW) == parse_sitemap(
        plain, url=url, now=NOW
    )


def test_gzip_members_are_all_read() -> None:
    one = b"https://a.example/1\n"
    two = b"https://a.example/2\n"
    body = gzip.compress(one, mtime=0) + gzip.compress(two, mtime=0)
    sitemap = parse_sitemap(body, url="https://a.example/s.txt.gz", now=NOW)
    assert [u.url for u in sitemap.urls] == ["https://a.example/1", "https://a.example/2"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            gzip.compress(b" " * (MAX_SITEMAP_BYTES + 1), mtime=0),
            "larger than 50 MiB uncompressed",
            id="bomb",
        ),
        pytest.param(
            gzip.compress(b"https://a.example/1\n" * 1000, mtime=0)[:-20],
            "is cut short",
            id="truncated",
        ),
        pytest.param(b"\x1f\x8b" + b"\x00" * 40, "is corrupt", id="corrupt"),
    ],
)
def test_bad_gzip_is_a_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_sitemap(body, url="https://a.example/s.xml.gz", now=NOW)


def test_large_sitemap_is_capped(caplog: pytest.LogCaptureFixture) -> None:
    entry = "<url><loc>https://a.example/{0}</loc><lastmod>2021-09-15</lastmod></url>"
    items = "".join(entry.format(i) for i in range(MAX_ENTRIES + 5))
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>'
    sitemap = parse_sitemap(body.encode(), url="https://a.example/s.xml", now=NOW)
    assert len(sitemap.urls) == MAX_ENTRIES
    assert sitemap.urls[-1].url == f"https://a.example/{MAX_ENTRIES - 1}"
    assert "read no further" in caplog.text


# robots.txt


@pytest.mark.parametrize(
    ("robots", "expected"),
    [
        pytest.param(
            "User-agent: *\nDisallow: /admin\nSitemap: https://news.example.com/sitemap_index.xml\n",
            ["https://news.example.com/sitemap_index.xml"],
            id="absolute",
        ),
        pytest.param(
            "SITEMAP: https://news.example.com/a.xml\r\nsitemap : https://news.example.com/b.xml",
            ["https://news.example.com/a.xml", "https://news.example.com/b.xml"],
            id="any-case-and-spacing-crlf",
        ),
        pytest.param(
            "Sitemap: /sitemaps/news.xml\nSitemap: other.xml",
            ["https://news.example.com/sitemaps/news.xml", "https://news.example.com/other.xml"],
            id="relative",
        ),
        pytest.param(
            "Sitemap: https://news.example.com/a.xml\nSitemap: https://news.example.com/a.xml",
            ["https://news.example.com/a.xml"],
            id="duplicates",
        ),
        pytest.param(
            "# Sitemap: https://news.example.com/old.xml\n"
            "Sitemap: https://news.example.com/new.xml # the new one\n",
            ["https://news.example.com/new.xml"],
            id="comments",
        ),
        pytest.param(
            "\ufeffSitemap: https://cdn.example.net/news/sitemap.xml",
            ["https://cdn.example.net/news/sitemap.xml"],
            id="bom-and-other-host",
        ),
        pytest.param(
            "Sitemap:\nSitemap: ftp://news.example.com/s.xml\nSitemap: javascript:alert(1)",
            [],
            id="empty-and-not-http",
        ),
        pytest.param("User-agent: *\nDisallow:\n", [], id="none"),
    ],
)
def test_sitemaps_from_robots(robots: str, expected: list[str]) -> None:
    found = sitemaps_from_robots(robots.encode(), url="https://news.example.com/robots.txt")
    assert found == expected


# Dates: which pages and which child sitemaps belong to the period


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(SitemapUrl("u", published_at=_day("2021-09-14")), True, id="first-instant"),
        pytest.param(
            SitemapUrl("u", published_at=_day("2021-09-16T23:59:59")), True, id="last-second"
        ),
        pytest.param(SitemapUrl("u", published_at=_day("2021-09-17")), False, id="until-excluded"),
        pytest.param(
            SitemapUrl("u", published_at=_day("2021-09-13T23:59:59")), False, id="just-before"
        ),
        pytest.param(SitemapUrl("u", lastmod=_day("2021-09-15")), True, id="lastmod-only"),
        pytest.param(
            SitemapUrl("u", published_at=_day("2021-09-10"), lastmod=_day("2021-09-15")),
            False,
            id="news-date-wins-over-lastmod",
        ),
        pytest.param(SitemapUrl("u"), False, id="undated-never-in-range"),
    ],
)
def test_in_range(item: SitemapUrl, expected: bool) -> None:
    assert in_range(item, SINCE, UNTIL) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://e.com/sitemap-2021-09.xml", ("2021-09-01", "2021-09-30"), id="month"),
        pytest.param(
            "https://e.com/sitemap-posts-2021-09-15.xml", ("2021-09-15", "2021-09-15"), id="day"
        ),
        pytest.param("https://e.com/2021/09/", ("2021-09-01", "2021-09-30"), id="month-dirs"),
        pytest.param(
            "https://e.com/sitemaps/2021/09/15.xml", ("2021-09-15", "2021-09-15"), id="day-dirs"
        ),
        pytest.param(
            "https://e.com/sitemap_2021_02.xml.gz", ("2021-02-01", "2021-02-28"), id="underscores"
        ),
        pytest.param("https://e.com/sitemap-2020-02.xml", ("2020-02-01", "2020-02-29"), id="leap"),
        pytest.param("https://e.com/sitemap-2021.xml", ("2021-01-01", "2021-12-31"), id="year"),
        pytest.param("https://e.com/2021/", ("2021-01-01", "2021-12-31"), id="year-dir"),
        pytest.param(
            "https://e.com/sitemap.xml?yyyy=2021&mm=09", ("2021-09-01", "2021-09-30"), id="yyyy-mm"
        ),
        pytest.param(
            "https://e.com/sm.php?yyyy=2021&mm=09&dd=15",
            ("2021-09-15", "2021-09-15"),
            id="yyyy-mm-dd",
        ),
        pytest.param(
            "https://e.com/sitemap?year=2021&month=9", ("2021-09-01", "2021-09-30"), id="year-month"
        ),
        pytest.param("https://e.com/s?Y=2021", ("2021-01-01", "2021-12-31"), id="query-year-only"),
        pytest.param(
            "https://e.com/sitemap.xml?date=2021-09-15",
            ("2021-09-15", "2021-09-15"),
            id="query-date",
        ),
        pytest.param(
            "https://e.com/sitemaps/2021/sitemap-2021-09.xml",
            ("2021-09-01", "2021-09-30"),
            id="nested-agree",
        ),
        pytest.param("https://e.com/2020/sitemap-2021-09.xml", None, id="contradiction"),
        pytest.param(
            "https://e.com/sitemap-2021-09-01-2021-09-30.xml", None, id="range-is-no-single-period"
        ),
        pytest.param("https://e.com/sitemap.xml", None, id="none"),
        pytest.param("https://e.com/post-sitemap2.xml", None, id="yoast-page"),
        pytest.param("https://e.com/post-sitemap2015.xml", None, id="yoast-page-like-a-year"),
        pytest.param("https://e.com/sitemap-12345.xml", None, id="long-number"),
        pytest.param("https://e.com/sitemap-1990-01.xml", None, id="before-the-web"),
        pytest.param(
            "https://e.com/sitemap-2021-02-30.xml",
            ("2021-01-01", "2021-12-31"),
            id="no-such-day-keeps-the-year",
        ),
        pytest.param("https://e.com/sitemap-20210915.xml", None, id="compact-not-read"),
        pytest.param(
            "https://e.com/posts-2021-3.xml", ("2021-01-01", "2021-12-31"), id="page-3-of-2021"
        ),
        pytest.param("https://2021-09.example.com/sitemap.xml", None, id="host-is-not-a-hint"),
    ],
)
def test_url_date_hint(url: str, expected: tuple[str, str] | None) -> None:
    want = None if expected is None else tuple(date.fromisoformat(d) for d in expected)
    assert url_date_hint(url) == want


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        pytest.param(SitemapRef("https://e.com/s.xml"), True, id="nothing-known"),
        pytest.param(
            SitemapRef("https://e.com/s.xml", _day("2019-02-01")), False, id="lastmod-long-before"
        ),
        pytest.param(
            SitemapRef("https://e.com/s.xml", _day("2021-09-13")),
            True,
            id="bare-lastmod-the-day-before",
        ),
        pytest.param(
            SitemapRef("https://e.com/s.xml", _day("2030-01-01")), True, id="lastmod-after"
        ),
        pytest.param(SitemapRef("https://e.com/sitemap-2021-08.xml"), False, id="month-before"),
        pytest.param(SitemapRef("https://e.com/sitemap-2021-10.xml"), False, id="month-after"),
        pytest.param(SitemapRef("https://e.com/sitemap-2021-09.xml"), True, id="month-of"),
        pytest.param(
            SitemapRef("https://e.com/sitemap-2021-09-13.xml"), True, id="day-before-zone-slack"
        ),
        pytest.param(
            SitemapRef("https://e.com/sitemap-2021-09-17.xml"), True, id="day-after-zone-slack"
        ),
        pytest.param(SitemapRef("https://e.com/sitemap-2021-09-11.xml"), False, id="days-before"),
        pytest.param(SitemapRef("https://e.com/sitemap-2021-09-19.xml"), False, id="days-after"),
        pytest.param(
            SitemapRef("https://e.com/sitemap-2021-09.xml", _day("2021-09-30")),
            True,
            id="hint-and-lastmod",
        ),
    ],
)
def test_child_may_overlap(ref: SitemapRef, expected: bool) -> None:
    assert child_may_overlap(ref, SINCE, UNTIL) is expected


def test_child_may_overlap_without_until_only_prunes_older() -> None:
    assert child_may_overlap(SitemapRef("https://e.com/sitemap-2030-01.xml"), SINCE) is True
    assert child_may_overlap(SitemapRef("https://e.com/sitemap-2021-08.xml"), SINCE) is False


# Walking a site


Route = tuple[int, bytes] | bytes


class Site:
    """A site served through httpx.MockTransport; records every path requested."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.requested: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode("ascii")
        self.requested.append(path)
        route = self.routes.get(path, (404, b"not found"))
        status, body = route if isinstance(route, tuple) else (200, route)
        return httpx.Response(status, content=body)


async def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]  # MockTransport never connects; no name is ever looked up


async def _discover(site: Site, **options: Any) -> list[SitemapUrl]:
    config = HttpConfig(user_agent="t", allow_private_networks=True)
    async with Fetcher(config, resolver=_loopback, transport=httpx.MockTransport(site.handle)) as f:
        found = discover_sitemap_urls(
            options.pop("site_url", f"{SITE}/feed/"),
            fetcher=f,
            since=SINCE,
            until=UNTIL,
            now=NOW,
            **options,
        )
        return [item async for item in found]


def _fixture(name: str) -> bytes:
    return (SITEMAPS / name).read_bytes()


def _news_site(**changes: Route) -> Site:
    routes: dict[str, Route] = {
        "/robots.txt": f"User-agent: *\nSitemap: {SITE}/sitemap_index.xml\n".encode(),
        "/sitemap_index.xml": _fixture("index.xml"),
        "/news-sitemap.xml": _fixture("news.xml"),
        "/sitemap-2021-09.xml.gz": gzip.compress(_fixture("lastmod-only.xml"), mtime=0),
        "/sitemap-pages-1.xml": _fixture("lastmod-only.xml"),
        "/sitemap-2021-08.xml": _fixture("lastmod-only.xml"),
        "/sitemap-broken.xml": (503, b"try later"),
    }
    routes.update(changes)
    return Site(routes)


IN_RANGE = [
    f"{SITE}/news/2021/09/14/first",
    f"{SITE}/news/2021/09/15/tz",
    f"{SITE}/news/2021/09/16/late",
    f"{SITE}/news/2021/09/15/dup",
    f"{SITE}/2021/09/15/page",
    f"{SITE}/2021/09/16/relative?a=1&b=2",
]


@pytest.mark.anyio
async def test_walk_yields_only_in_range_pages_and_skips_old_children(
    caplog: pytest.LogCaptureFixture,
) -> None:
    site = _news_site()
    with caplog.at_level(logging.WARNING, logger="ingest.backfill.sitemaps"):
        found = await _discover(site)
    assert [item.url for item in found] == IN_RANGE
    assert found[0].title == "First of the period"
    assert site.requested == [
        "/robots.txt",
        "/sitemap_index.xml",
        "/news-sitemap.xml",
        "/sitemap-2021-09.xml.gz",
        "/sitemap-broken.xml",
    ]  # never sitemap-pages-1.xml (lastmod 2019) nor sitemap-2021-08.xml (named for August)
    assert "skipped sitemap https://news.example.com/sitemap-broken.xml" in caplog.text


@pytest.mark.anyio
async def test_walk_falls_back_to_well_known_locations_without_robots() -> None:
    site = _news_site(**{"/robots.txt": (404, b"none"), "/sitemap_index.xml": (404, b"")})
    site.routes["/sitemap.xml"] = _fixture("index.xml")
    found = await _discover(site)
    assert [item.url for item in found] == IN_RANGE
    assert site.requested[:5] == [
        "/robots.txt",
        "/sitemap.xml",
        "/sitemap_index.xml",
        "/news-sitemap.xml",
        "/sitemap-news.xml",
    ]


@pytest.mark.anyio
async def test_robots_txt_answering_5xx_puts_the_walk_off_without_asking_for_a_sitemap() -> None:
    site = _news_site(**{"/robots.txt": (500, b"oops")})
    site.routes["/sitemap.xml"] = _fixture("index.xml")
    with pytest.raises(TransientFetchError, match=r"robots\.txt unreachable"):
        await _discover(site)
    assert site.requested == ["/robots.txt"]  # RFC 9309: unreachable means all disallowed


@pytest.mark.anyio
async def test_a_feed_that_ignores_robots_reads_well_known_sitemaps_when_robots_txt_fails() -> None:
    site = _news_site(**{"/robots.txt": (500, b"oops"), "/sitemap_index.xml": (404, b"")})
    site.routes["/sitemap.xml"] = _fixture("index.xml")
    found = await _discover(site, obey_robots=False)
    assert [item.url for item in found] == IN_RANGE
    assert site.requested[:2] == ["/robots.txt", "/sitemap.xml"]


@pytest.mark.anyio
async def test_a_sitemap_robots_txt_disallows_is_never_requested() -> None:
    site = _news_site(
        **{
            "/robots.txt": (
                f"User-agent: *\nDisallow: /sitemap-2021-09.xml.gz\n"
                f"Sitemap: {SITE}/sitemap_index.xml\n"
            ).encode()
        }
    )
    found = await _discover(site)
    assert "/sitemap-2021-09.xml.gz" not in site.requested
    assert [item.url for item in found] == IN_RANGE[:4]  # the news sitemap's pages only


@pytest.mark.anyio
async def test_walk_falls_back_when_no_sitemap_robots_names_can_be_read() -> None:
    site = Site(
        {
            "/robots.txt": f"Sitemap: {SITE}/gone.xml\n".encode(),
            "/news-sitemap.xml": _fixture("news.xml"),
        }
    )
    found = await _discover(site)
    assert [item.url for item in found] == IN_RANGE[:4]
    assert site.requested[:2] == ["/robots.txt", "/gone.xml"]


@pytest.mark.anyio
async def test_walk_without_any_sitemap_says_what_it_tried() -> None:
    site = Site({"/robots.txt": b"User-agent: *\nDisallow:\n", "/sitemap.xml": b"<html></html>"})
    with pytest.raises(ParseError) as caught:
        await _discover(site, site_url="https://news.example.com")
    message = str(caught.value)
    assert message.startswith(
        "no sitemap found for https://news.example.com (robots.txt has no Sitemap line; "
        "/sitemap.xml: the document at https://news.example.com/sitemap.xml is not a sitemap"
    )
    assert "/sitemap_index.xml: not found (404)" in message
    assert "/sitemap-news.xml: not found (404)" in message


@pytest.mark.anyio
async def test_walk_that_only_met_transient_errors_is_transient() -> None:
    site = Site({"/robots.txt": f"Sitemap: {SITE}/s.xml\n".encode()})
    site.routes.update({path: (503, b"") for path in ("/s.xml", "/sitemap.xml")})
    with pytest.raises(TransientFetchError, match="could not read any sitemap"):
        await _discover(site)


@pytest.mark.anyio
async def test_walk_stops_at_max_sitemaps() -> None:
    site = _news_site()
    found = await _discover(site, max_sitemaps=2)
    assert site.requested == ["/robots.txt", "/sitemap_index.xml", "/news-sitemap.xml"]
    assert [item.url for item in found] == IN_RANGE[:4]


@pytest.mark.anyio
async def test_walk_reads_each_sitemap_once_even_in_a_cycle() -> None:
    def index(*children: str) -> bytes:
        locs = "".join(f"<sitemap><loc>{SITE}{c}</loc></sitemap>" for c in children)
        return f"<sitemapindex>{locs}</sitemapindex>".encode()

    site = Site(
        {
            "/robots.txt": f"Sitemap: {SITE}/a.xml\nSitemap: {SITE}/b.xml\n".encode(),
            "/a.xml": index("/b.xml", "/a.xml", "/news.xml"),
            "/b.xml": index("/a.xml", "/news.xml?"),  # the same URL, spelled differently
            "/news.xml": _fixture("news.xml"),
        }
    )
    found = await _discover(site)
    assert site.requested == ["/robots.txt", "/a.xml", "/b.xml", "/news.xml"]
    assert len(found) == 4


@pytest.mark.anyio
async def test_walk_refuses_a_site_url_that_is_not_http() -> None:
    site = Site({})
    with pytest.raises(ValueError, match="not an absolute http"):
        await _discover(site, site_url="file:///etc/passwd")
    assert site.requested == []
