"""The demo site server: files, content types, placeholders, revalidation, recorded requests.

The second half checks that the bundled site and its expected.json agree with each other,
so an edit to a page cannot silently break the end-to-end expectations.
"""

from __future__ import annotations

import http.client
import json
import time
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import lxml.html
import pytest

from flows.demo.server import (
    DEMO_FEED_PATHS,
    DEMO_FEEDS,
    DEMO_LEGACY_PATHS,
    DEMO_SITE_DIR,
    SiteServer,
    load_expected,
    serve_demo_site,
)
from ingest.feeds.sources import load_feeds

LEGACY_HTML = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'
    "</head><body><p>مرحبا {base}</p></body></html>"
)
TINY_SITE: dict[str, bytes] = {
    "index.html": b"<h1>home</h1>",
    "news/page.html": b'<link rel="canonical" href="{base}/news/page.html"><p>caf\xc3\xa9</p>',
    "news/other.html": b"<p>another page</p>",
    "news/rss.xml": b"<rss><channel><link>{base}/news/</link></channel></rss>",
    "news/atom.xml": b'<feed xmlns="http://www.w3.org/2005/Atom"><id>{base}/</id></feed>',
    "news/feed.json": b'{"home_page_url": "{base}/news/"}',
    "legacy.html": LEGACY_HTML.encode("cp1256"),
    "logo.png": b"\x89PNG\r\n\x1a\n{base}\x00\x01",
    "empty/.keep": b"",
}


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    for name, data in TINY_SITE.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (tmp_path / "secret.txt").write_text("outside the site root")
    return root


@pytest.fixture
def tiny(tiny_root: Path) -> Iterator[SiteServer]:
    with SiteServer(tiny_root, legacy_paths={"/legacy.html"}) as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    # trust_env=False: a proxy from the environment must never see loopback test traffic.
    with httpx.Client(trust_env=False, timeout=5) as c:
        yield c


def raw_get(server: SiteServer, path: str) -> int:
    """Send `path` exactly as written (httpx would normalise dot segments away)."""
    host, port = server.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


# ----------------------------------------------------------------------------- serving


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        pytest.param("/news/page.html", "text/html; charset=utf-8", id="html"),
        pytest.param("/legacy.html", "text/html", id="legacy-html-no-charset"),
        pytest.param("/news/rss.xml", "application/rss+xml", id="rss"),
        pytest.param("/news/atom.xml", "application/atom+xml", id="atom"),
        pytest.param("/news/feed.json", "application/feed+json", id="json-feed"),
        pytest.param("/logo.png", "image/png", id="png"),
        pytest.param("/", "text/html; charset=utf-8", id="directory-index"),
    ],
)
def test_serves_files_with_content_type(
    tiny: SiteServer, client: httpx.Client, path: str, content_type: str
) -> None:
    response = client.get(tiny.url(path))
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["content-length"] == str(len(response.content))


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/news/page.html", id="html"),
        pytest.param("/news/rss.xml", id="rss"),
        pytest.param("/news/atom.xml", id="atom"),
        pytest.param("/news/feed.json", id="json-feed"),
    ],
)
def test_replaces_base_placeholder(tiny: SiteServer, client: httpx.Client, path: str) -> None:
    body = client.get(tiny.url(path)).text
    assert "{base}" not in body
    assert f"{tiny.base_url}/" in body


@pytest.mark.parametrize(
    ("path", "name"),
    [
        pytest.param("/legacy.html", "legacy.html", id="legacy-page"),
        pytest.param("/logo.png", "logo.png", id="binary"),
    ],
)
def test_serves_bytes_unchanged(
    tiny: SiteServer, client: httpx.Client, path: str, name: str
) -> None:
    assert client.get(tiny.url(path)).content == TINY_SITE[name]


def test_ignores_query_string(tiny: SiteServer, client: httpx.Client) -> None:
    plain = client.get(tiny.url("/news/page.html"))
    tracked = client.get(tiny.url("/news/page.html?utm_source=rss&fbclid=abc"))
    assert tracked.status_code == 200
    assert tracked.content == plain.content
    assert tracked.headers["etag"] == plain.headers["etag"]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/nope.html", id="missing-file"),
        pytest.param("/news/page.html/extra", id="below-a-file"),
        pytest.param("/empty/", id="directory-without-index"),
        pytest.param("/../secret.txt", id="dot-dot"),
        pytest.param("/%2e%2e/secret.txt", id="encoded-dot-dot"),
        pytest.param("/news/..%2f..%2fsecret.txt", id="encoded-slash"),
    ],
)
def test_answers_404_outside_the_site(tiny: SiteServer, path: str) -> None:
    assert raw_get(tiny, path) == 404


def test_head_sends_get_headers_without_body(tiny: SiteServer, client: httpx.Client) -> None:
    get = client.get(tiny.url("/news/rss.xml"))
    head = client.head(tiny.url("/news/rss.xml"))
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "etag", "last-modified"):
        assert head.headers[name] == get.headers[name]
    assert client.head(tiny.url("/nope.html")).status_code == 404


def test_etag_is_strong_and_follows_content(tiny: SiteServer, client: httpx.Client) -> None:
    first = client.get(tiny.url("/news/page.html")).headers["etag"]
    again = client.get(tiny.url("/news/page.html")).headers["etag"]
    other = client.get(tiny.url("/news/other.html")).headers["etag"]
    assert first == again != other
    assert first.startswith('"') and first.endswith('"')


def _shift(http_date: str, seconds: int) -> str:
    return formatdate(parsedate_to_datetime(http_date).timestamp() + seconds, usegmt=True)


# Each case builds the request headers from the ETag and Last-Modified of a first 200.
Conditional = Callable[[str, str], dict[str, str]]


@pytest.mark.parametrize(
    ("conditional", "status"),
    [
        pytest.param(lambda etag, lm: {"If-None-Match": etag}, 304, id="etag"),
        pytest.param(lambda etag, lm: {"If-None-Match": "W/" + etag}, 304, id="weak-etag"),
        pytest.param(lambda etag, lm: {"If-None-Match": f'"x", {etag}'}, 304, id="etag-in-list"),
        pytest.param(lambda etag, lm: {"If-None-Match": "*"}, 304, id="etag-star"),
        pytest.param(lambda etag, lm: {"If-None-Match": '"stale"'}, 200, id="other-etag"),
        pytest.param(
            lambda etag, lm: {"If-None-Match": '"stale"', "If-Modified-Since": lm},
            200,
            id="etag-overrides-date",
        ),
        pytest.param(lambda etag, lm: {"If-Modified-Since": lm}, 304, id="same-date"),
        pytest.param(
            lambda etag, lm: {"If-Modified-Since": _shift(lm, 3600)}, 304, id="later-date"
        ),
        pytest.param(
            lambda etag, lm: {"If-Modified-Since": _shift(lm, -3600)}, 200, id="earlier-date"
        ),
        pytest.param(lambda etag, lm: {"If-Modified-Since": "yesterday"}, 200, id="bad-date"),
        pytest.param(lambda etag, lm: {}, 200, id="unconditional"),
    ],
)
def test_revalidation(
    tiny: SiteServer, client: httpx.Client, conditional: Conditional, status: int
) -> None:
    url = tiny.url("/news/rss.xml")
    first = client.get(url)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    response = client.get(url, headers=conditional(etag, last_modified))
    assert response.status_code == status
    assert response.headers["etag"] == etag
    assert response.headers["last-modified"] == last_modified
    assert response.content == (b"" if status == 304 else first.content)


def test_records_requests(tiny: SiteServer, client: httpx.Client) -> None:
    client.get(tiny.url("/news/rss.xml"), headers={"If-None-Match": '"abc"'})
    client.head(tiny.url("/news/page.html?utm_source=x"))
    client.get(tiny.url("/nope.html"))
    recorded = tiny.requests
    assert [(r.method, r.path) for r in recorded] == [
        ("GET", "/news/rss.xml"),
        ("HEAD", "/news/page.html?utm_source=x"),
        ("GET", "/nope.html"),
    ]
    assert recorded[0].headers["if-none-match"] == '"abc"'
    assert all(name == name.lower() for r in recorded for name in r.headers)
    tiny.clear_requests()
    assert tiny.requests == []


def test_base_url_only_while_running(tiny_root: Path, client: httpx.Client) -> None:
    server = SiteServer(tiny_root)
    with pytest.raises(RuntimeError):
        _ = server.base_url
    with server:
        url = server.url("/")
        assert url.startswith("http://127.0.0.1:")
        assert client.get(url).status_code == 200
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as fresh:
        fresh.get(url)


def test_exit_ends_keep_alive_connections_promptly(tiny_root: Path) -> None:
    with SiteServer(tiny_root) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", "/news/page.html")
        conn.getresponse().read()  # HTTP/1.1: the connection stays open, its thread waits
        started = time.monotonic()
    # Without closing open connections, exit would wait for the handler's 10 s idle timeout.
    assert time.monotonic() - started < 5
    assert conn.sock is not None
    conn.sock.settimeout(2)
    assert conn.sock.recv(1) == b""  # closed by the server, not left hanging
    conn.close()


def test_feeds_toml_lists_the_feeds_with_absolute_urls(tiny_root: Path) -> None:
    feeds = {"/news/rss.xml": "Tiny News", "/news/feed.json": None}
    with SiteServer(tiny_root, feeds=feeds) as server:
        document = tomllib.loads(server.feeds_toml())
        assert document == {
            "feeds": [
                {"url": server.url("/news/rss.xml"), "name": "Tiny News"},
                {"url": server.url("/news/feed.json")},
            ]
        }


# ----------------------------------------------------------------------------- the demo site


@pytest.fixture(scope="module")
def demo() -> Iterator[SiteServer]:
    with serve_demo_site() as server:
        yield server


@pytest.fixture(scope="module")
def expected(demo: SiteServer) -> dict[str, Any]:
    return load_expected(demo.base_url)


def feed_links(body: bytes, path: str) -> list[str]:
    """Return the entry links of an RSS, Atom or JSON feed, in document order."""
    if path.endswith(".json"):
        return [item["url"] for item in json.loads(body)["items"]]
    root = ET.fromstring(body)
    if root.tag == "rss":
        return [item.findtext("link", "") for item in root.iter("item")]
    atom = "{http://www.w3.org/2005/Atom}"
    return [
        link.get("href", "")
        for entry in root.iter(f"{atom}entry")
        for link in entry.iter(f"{atom}link")
        if link.get("rel", "alternate") == "alternate"
    ]


def collapse(text: str) -> str:
    return " ".join(text.split())


def body_paragraphs(html_bytes: bytes, encoding: str, first: str) -> list[str]:
    """Return the <p> children of the element holding the paragraph that reads `first`."""
    doc = lxml.html.document_fromstring(html_bytes.decode(encoding))
    starts = [
        p
        for p in doc.iter("p")
        if isinstance(p, lxml.html.HtmlElement) and collapse(p.text_content()) == first
    ]
    assert len(starts) == 1, f"first paragraph found {len(starts)} times"
    container = starts[0].getparent()
    assert container is not None
    return [
        collapse(p.text_content())
        for p in container.iterchildren("p")
        if isinstance(p, lxml.html.HtmlElement)
    ]


def test_demo_legacy_page_is_windows_1256(demo: SiteServer, client: httpx.Client) -> None:
    (path,) = DEMO_LEGACY_PATHS
    page = DEMO_SITE_DIR / path.lstrip("/")
    response = client.get(demo.url(path))
    assert response.headers["content-type"] == "text/html"
    assert response.content == page.read_bytes()
    assert response.content == Path(f"{page}.src").read_text("utf-8").encode("cp1256")
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    assert b"charset=windows-1256" in response.content
    assert b"<meta charset" not in response.content.lower()


@pytest.mark.parametrize("feed_path", DEMO_FEED_PATHS)
def test_demo_feed_links_resolve_except_the_failed_page(
    demo: SiteServer, client: httpx.Client, expected: dict[str, Any], feed_path: str
) -> None:
    feed = client.get(demo.url(feed_path))
    links = feed_links(feed.content, feed_path)
    counts = expected["counts"]["per_feed"][feed_path]
    assert len(links) == counts["entries"]
    assert all(link.startswith(demo.base_url + "/") for link in links)
    missing = [link for link in links if client.get(link).status_code == 404]
    assert len(missing) == counts["failed_pages"]
    failed = {demo.url(path) for path in expected["failed_pages"]}
    assert set(missing) <= failed


def test_demo_feeds_toml_loads(demo: SiteServer, tmp_path: Path) -> None:
    feeds_file = tmp_path / "feeds.toml"
    feeds_file.write_text(demo.feeds_toml(), encoding="utf-8")
    sources = load_feeds(feeds_file)
    assert [source.url for source in sources] == [demo.url(path) for path in DEMO_FEED_PATHS]
    assert [source.name for source in sources] == list(DEMO_FEEDS.values())


def test_demo_counts_add_up(expected: dict[str, Any]) -> None:
    counts = expected["counts"]
    per_feed = counts["per_feed"]
    assert [f["path"] for f in expected["feeds"]] == list(DEMO_FEED_PATHS)
    assert list(per_feed) == list(DEMO_FEED_PATHS)
    for name in ("entries", "new", "duplicates", "failed_pages"):
        assert counts["totals"][name] == sum(feed[name] for feed in per_feed.values())
    stored = counts["stored"]
    assert stored == len(expected["articles"]) == counts["totals"]["new"]
    totals = counts["totals"]
    assert stored == totals["entries"] - totals["duplicates"] - totals["failed_pages"]
    assert {"stored", *DEMO_FEED_PATHS} <= set(expected["notes"])
    second = counts["second_run"]
    assert list(second["per_feed"]) == list(DEMO_FEED_PATHS)
    assert all(feed["new"] == 0 for feed in second["per_feed"].values())
    assert set(second["page_requests"]) <= set(expected["failed_pages"])


@pytest.mark.parametrize(
    "path", sorted(json.loads((DEMO_SITE_DIR / "expected.json").read_text("utf-8"))["articles"])
)
def test_demo_expected_article_matches_its_page(
    demo: SiteServer, client: httpx.Client, expected: dict[str, Any], path: str
) -> None:
    article = expected["articles"][path]
    assert article["canonical_url"] == demo.url(path)
    response = client.get(article["canonical_url"])
    assert response.status_code == 200
    encoding = "cp1256" if path in DEMO_LEGACY_PATHS else "utf-8"
    body = article["text"].split("\n\n")
    assert all(p and p == collapse(p) for p in body)
    # The whole body block of the page, in order: nothing missing, nothing extra.
    assert body_paragraphs(response.content, encoding, body[0]) == body
    assert article["word_count"] == len(article["text"].split())
    assert 150 <= article["word_count"] <= 600
    assert 4 <= len(body) <= 10
    assert article["title"] not in article["text"]
    assert article["feed_url"] in DEMO_FEED_PATHS
    for stamp in (article["published_at"], article["updated_at"]):
        assert stamp is None or stamp.endswith("Z")
