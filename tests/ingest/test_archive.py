"""Tests for ingest.backfill.archive: archive and paging links, WordPress page URLs, and the walk.

Feed documents are built by small helpers so each case shows only what it is about. The walk
runs through the real Fetcher over an ``httpx.MockTransport``; every requested path is recorded.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ingest.backfill.archive import ArchiveLinks, archive_links, walk_archive, wordpress_paged_url
from ingest.errors import ParseError, PermanentFetchError, TransientFetchError
from ingest.fetch.client import Fetcher, HttpConfig

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SINCE = datetime(2021, 9, 14, tzinfo=UTC)
SITE = "https://blog.example.com"
ATOM = "http://www.w3.org/2005/Atom"


def atom(entries: list[tuple[str, str]], links: dict[str, str] | None = None) -> bytes:
    """An Atom feed of ``(id, published date)`` entries with feed-level ``rel: href`` links."""
    link_xml = "".join(f'<link rel="{rel}" href="{href}"/>' for rel, href in (links or {}).items())
    entry_xml = "".join(
        f"<entry><id>{entry_id}</id><title>{entry_id}</title>"
        f'<link href="{SITE}/{entry_id}"/><published>{day}T10:00:00Z</published>'
        f"<updated>{day}T10:00:00Z</updated></entry>"
        for entry_id, day in entries
    )
    return (
        f'<feed xmlns="{ATOM}"><title>Blog</title><id>{SITE}/</id>'
        f"<updated>2021-09-20T00:00:00Z</updated>{link_xml}{entry_xml}</feed>"
    ).encode()


def rss(entries: list[tuple[str, str]], *, generator: str | None = None) -> bytes:
    """An RSS 2.0 feed of ``(slug, published date)`` items."""
    items = "".join(
        f"<item><title>{slug}</title><link>{SITE}/{slug}</link><guid>{SITE}/?p={slug}</guid>"
        f"<pubDate>{datetime.fromisoformat(day):%a, %d %b %Y} 10:00:00 +0000</pubDate></item>"
        for slug, day in entries
    )
    generator_xml = f"<generator>{generator}</generator>" if generator else ""
    return (
        f'<rss version="2.0"><channel><title>Blog</title><link>{SITE}/</link>'
        f"{generator_xml}{items}</channel></rss>"
    ).encode()


def days(prefix: str, first: str, count: int) -> list[tuple[str, str]]:
    """``count`` entries named ``prefix-N`` dated one a day, newest first, from ``first``."""
    start = datetime.fromisoformat(first)
    return [(f"{prefix}-{n}", f"{start - timedelta(days=n):%Y-%m-%d}") for n in range(count)]


# archive_links


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            atom([], {"prev-archive": "/archive/3", "current": "/feed", "next-archive": "/a/5"}),
            ArchiveLinks(
                prev_archive=f"{SITE}/archive/3",
                next_archive=f"{SITE}/a/5",
                current=f"{SITE}/feed",
            ),
            id="rfc5005-archived",
        ),
        pytest.param(
            atom([], {"next": f"{SITE}/feed?page=2", "previous": f"{SITE}/feed", "self": "x"}),
            ArchiveLinks(next=f"{SITE}/feed?page=2", previous=f"{SITE}/feed"),
            id="rfc5005-paged",
        ),
        pytest.param(
            atom([], {"prev": "/feed?page=1"}),
            ArchiveLinks(previous=f"{SITE}/feed?page=1"),
            id="prev-spelling",
        ),
        pytest.param(
            atom([], {"Prev-Archive alternate": "/old"}),
            ArchiveLinks(prev_archive=f"{SITE}/old"),
            id="several-rels-any-case",
        ),
        pytest.param(
            b'<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
            b"<title>B</title><link>https://blog.example.com/</link>"
            b'<atom:link rel="next" href="https://blog.example.com/feed/?paged=2"/>'
            b"<generator>https://wordpress.org/?v=6.4.2</generator>"
            b"<item><title>t</title></item></channel></rss>",
            ArchiveLinks(next=f"{SITE}/feed/?paged=2", generator="https://wordpress.org/?v=6.4.2"),
            id="atom-link-in-rss",
        ),
        pytest.param(
            f'<feed xmlns="{ATOM}"><generator uri="https://wordpress.org/" version="6">'
            "WordPress</generator><entry><id>1</id>"
            '<link rel="next" href="/entry-link"/></entry></feed>'.encode(),
            ArchiveLinks(generator="WordPress https://wordpress.org/"),
            id="entry-links-ignored",
        ),
        pytest.param(
            json.dumps(
                {"version": "https://jsonfeed.org/version/1.1", "items": [], "next_url": "?p=2"}
            ).encode(),
            ArchiveLinks(next=f"{SITE}/feed.json?p=2"),
            id="json-feed-next-url",
        ),
        pytest.param(
            atom([], {"prev-archive": "javascript:alert(1)"}), ArchiveLinks(), id="not-http"
        ),
        pytest.param(b"<rss><channel><title>x</channel>", ArchiveLinks(), id="broken-xml"),
        pytest.param(b"{not json", ArchiveLinks(), id="broken-json"),
        pytest.param(b"", ArchiveLinks(), id="empty"),
    ],
)
def test_archive_links(body: bytes, expected: ArchiveLinks) -> None:
    url = f"{SITE}/feed.json" if body.startswith(b"{") else f"{SITE}/feed"
    assert archive_links(body, url=url) == expected


def test_archive_links_older_prefers_archives_then_next() -> None:
    links = ArchiveLinks(prev_archive="a", next="n", previous="p", next_archive="x")
    assert links.older() == ["a", "n", "p"]


@pytest.mark.parametrize(
    ("url", "page", "expected"),
    [
        pytest.param(f"{SITE}/feed/", 2, f"{SITE}/feed/?paged=2", id="plain"),
        pytest.param(f"{SITE}/?feed=rss2", 3, f"{SITE}/?feed=rss2&paged=3", id="keeps-query"),
        pytest.param(f"{SITE}/feed/?paged=2&cat=4", 5, f"{SITE}/feed/?cat=4&paged=5", id="replace"),
        pytest.param(f"{SITE}/feed/?paged=4", 1, f"{SITE}/feed/", id="page-one-is-the-feed"),
        pytest.param(f"{SITE}/feed/?q=a%20b#top", 2, f"{SITE}/feed/?q=a%20b&paged=2", id="escapes"),
        pytest.param(f"{SITE}/feed/?pagedx=1", 2, f"{SITE}/feed/?pagedx=1&paged=2", id="lookalike"),
    ],
)
def test_wordpress_paged_url(url: str, page: int, expected: str) -> None:
    assert wordpress_paged_url(url, page) == expected


def test_wordpress_paged_url_refuses_page_zero() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        wordpress_paged_url(f"{SITE}/feed/", 0)


# walk_archive


Route = tuple[int, bytes] | tuple[int, bytes, dict[str, str]] | bytes


class Site:
    """A site served through httpx.MockTransport; records every path requested (robots.txt,
    which older pages are checked against, apart)."""

    def __init__(self, routes: dict[str, Route], default: Route = (404, b"")) -> None:
        self.routes = routes
        self.default = default
        self.requested: list[str] = []
        self.robots_requests = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode("ascii")
        if path == "/robots.txt":
            self.robots_requests += 1
        else:
            self.requested.append(path)
        route = self.routes.get(path, self.default)
        status, body, *headers = route if isinstance(route, tuple) else (200, route)
        return httpx.Response(status, content=body, headers=headers[0] if headers else None)


async def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]  # MockTransport never connects; no name is ever looked up


async def _walk(site: Site, feed_path: str = "/feed/", **options: Any) -> list[str]:
    """Walk the site's feed; return the ids (or links) of the entries yielded, in order."""
    config = HttpConfig(user_agent="t", allow_private_networks=True)
    transport = httpx.MockTransport(site.handle)
    async with Fetcher(config, resolver=_loopback, transport=transport) as fetcher:
        walk = walk_archive(
            SITE + feed_path, fetcher=fetcher, since=SINCE, now=NOW, max_bytes=1 << 20, **options
        )
        return [(entry.title or "") async for entry in walk]


@pytest.mark.anyio
@pytest.mark.parametrize("obey", [True, False], ids=["obeyed", "obey_robots-false"])
async def test_an_older_page_robots_txt_disallows_ends_the_walk_unrequested(obey: bool) -> None:
    site = Site(
        {
            "/robots.txt": b"User-agent: *\nDisallow: /archive/2\n",
            "/feed/": atom(days("new", "2021-09-20", 2), {"prev-archive": "/archive/3"}),
            "/archive/3": atom(days("a3", "2021-09-16", 2), {"prev-archive": "/archive/2"}),
            "/archive/2": atom(days("a2", "2021-09-15", 2), {"prev-archive": "/archive/1"}),
            "/archive/1": atom(days("a1", "2021-09-11", 2)),
        }
    )
    await _walk(site, obey_robots=obey)
    if obey:  # the feed itself is a subscription; its archive pages are crawled
        assert site.requested == ["/feed/", "/archive/3"]
        assert site.robots_requests == 1
    else:
        assert site.requested == ["/feed/", "/archive/3", "/archive/2", "/archive/1"]
        assert site.robots_requests == 0


@pytest.mark.anyio
async def test_prev_archive_chain_stops_at_since() -> None:
    site = Site(
        {
            "/feed/": atom(days("new", "2021-09-20", 2), {"prev-archive": "/archive/3"}),
            "/archive/3": atom(
                days("a3", "2021-09-16", 2), {"prev-archive": "/archive/2", "current": "/feed/"}
            ),
            # Every entry here is older than SINCE: the walk ends without asking for /archive/1.
            "/archive/2": atom(days("a2", "2021-09-13", 2), {"prev-archive": "/archive/1"}),
            "/archive/1": atom(days("a1", "2021-09-11", 2)),
        }
    )
    titles = await _walk(site)
    assert site.requested == ["/feed/", "/archive/3", "/archive/2"]
    assert titles == ["new-0", "new-1", "a3-0", "a3-1", "a2-0", "a2-1"]


@pytest.mark.anyio
async def test_paged_feed_follows_next_not_back_to_previous() -> None:
    site = Site(
        {
            "/feed/": atom(days("p1", "2021-09-20", 2), {"next": "/feed/?page=2"}),
            "/feed/?page=2": atom(
                days("p2", "2021-09-18", 2), {"previous": "/feed/", "next": "/feed/?page=3"}
            ),
            "/feed/?page=3": atom(days("p3", "2021-09-16", 2), {"previous": "/feed/?page=2"}),
        }
    )
    titles = await _walk(site)
    assert site.requested == ["/feed/", "/feed/?page=2", "/feed/?page=3"]
    assert titles == ["p1-0", "p1-1", "p2-0", "p2-1", "p3-0", "p3-1"]


@pytest.mark.anyio
async def test_wordpress_pages_until_404() -> None:
    wordpress = "https://wordpress.org/?v=6.4.2"
    site = Site(
        {
            "/feed/": rss(days("w1", "2021-09-20", 3), generator=wordpress),
            "/feed/?paged=2": rss(days("w2", "2021-09-17", 3), generator=wordpress),
        }
    )
    titles = await _walk(site)
    assert site.requested == ["/feed/", "/feed/?paged=2", "/feed/?paged=3"]
    assert titles == ["w1-0", "w1-1", "w1-2", "w2-0", "w2-1", "w2-2"]


@pytest.mark.anyio
async def test_wordpress_pages_stop_at_since() -> None:
    site = Site(
        {
            "/feed/": rss(days("w1", "2021-09-16", 2)),
            "/feed/?paged=2": rss(days("w2", "2021-09-14", 2)),  # 09-14 and 09-13: not all older
            "/feed/?paged=3": rss(days("w3", "2021-09-12", 2)),  # all older: last page read
            "/feed/?paged=4": rss(days("w4", "2021-09-10", 2)),
        }
    )
    titles = await _walk(site)
    assert site.requested == ["/feed/", "/feed/?paged=2", "/feed/?paged=3"]
    assert titles[-2:] == ["w3-0", "w3-1"]


@pytest.mark.anyio
async def test_site_ignoring_paged_costs_one_request() -> None:
    feed = rss(days("only", "2021-09-20", 3))
    site = Site({"/feed/": feed}, default=feed)  # every ?paged=N answers with the same feed
    titles = await _walk(site)
    assert site.requested == ["/feed/", "/feed/?paged=2"]
    assert titles == ["only-0", "only-1", "only-2"]


@pytest.mark.anyio
async def test_paged_redirect_back_to_the_feed_is_a_repeat() -> None:
    site = Site(
        {
            "/feed/": rss(days("r", "2021-09-20", 2)),
            "/feed/?paged=2": (301, b"", {"Location": f"{SITE}/feed/"}),
        }
    )
    titles = await _walk(site)
    assert site.requested == ["/feed/", "/feed/?paged=2", "/feed/"]
    assert titles == ["r-0", "r-1"]


@pytest.mark.anyio
async def test_walk_stops_at_max_pages() -> None:
    routes: dict[str, Route] = {"/feed/": rss(days("m1", "2021-09-30", 2))}
    for page in range(2, 10):
        routes[f"/feed/?paged={page}"] = rss(days(f"m{page}", "2021-09-30", 2))
    site = Site(routes)
    titles = await _walk(site, max_pages=3)
    assert site.requested == ["/feed/", "/feed/?paged=2", "/feed/?paged=3"]
    assert len(titles) == 6


@pytest.mark.anyio
async def test_undated_entries_never_end_the_walk_by_date() -> None:
    undated = b"<rss><channel><title>B</title><item><title>u</title></item></channel></rss>"
    site = Site({"/feed/": undated})
    titles = await _walk(site)
    assert site.requested == ["/feed/", "/feed/?paged=2"]
    assert titles == ["u"]


@pytest.mark.anyio
async def test_first_page_errors_are_raised() -> None:
    with pytest.raises(PermanentFetchError, match="not found"):
        await _walk(Site({}))
    with pytest.raises(ParseError):
        await _walk(Site({"/feed/": b"<html><body>no feed</body></html>"}))


@pytest.mark.anyio
async def test_transient_error_on_an_older_page_is_raised_for_a_retry() -> None:
    site = Site({"/feed/": rss(days("t", "2021-09-20", 2)), "/feed/?paged=2": (503, b"")})
    with pytest.raises(TransientFetchError, match="503"):
        await _walk(site)
    assert site.requested == ["/feed/", "/feed/?paged=2"]


@pytest.mark.anyio
async def test_unreadable_older_page_ends_the_walk() -> None:
    site = Site({"/feed/": rss(days("x", "2021-09-20", 2)), "/feed/?paged=2": b"<html></html>"})
    titles = await _walk(site)
    assert titles == ["x-0", "x-1"]
    assert site.requested == ["/feed/", "/feed/?paged=2"]


@pytest.mark.anyio
async def test_archive_link_to_a_private_address_ends_the_walk() -> None:
    site = Site(
        {"/feed/": atom(days("p", "2021-09-20", 2), {"prev-archive": "http://intra.example/a"})}
    )

    async def resolve(host: str, port: int) -> list[str]:
        # Never connected to: the SSRF guard refuses before the (mock) transport is asked.
        return ["10.0.0.1"] if host == "intra.example" else ["93.184.216.34"]

    config = HttpConfig(user_agent="t")  # private networks refused, as in production
    async with Fetcher(config, resolver=resolve, transport=httpx.MockTransport(site.handle)) as f:
        walk = walk_archive(f"{SITE}/feed/", fetcher=f, since=SINCE, now=NOW, max_bytes=1 << 20)
        titles = [entry.title async for entry in walk]
    assert titles == ["p-0", "p-1"]
    assert site.requested == ["/feed/"]
