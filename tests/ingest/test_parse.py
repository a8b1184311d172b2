"""Tests for ingest.feeds.parse: fixture feeds with expectations beside them, and hostile input.

Each ``tests/data/feeds/<case>.<ext>`` has a ``<case>.expect.json`` naming the request (url,
headers) and either the expected ``error`` or the expected ``feed`` fields and ``entries``
(by index, only the fields listed are compared).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.errors import ParseError
from ingest.feeds.parse import MAX_HTML_BYTES, MAX_TITLE_CHARS, discover_feed_links, parse_feed

FEEDS = Path(__file__).parents[1] / "data" / "feeds"
PACKAGE = Path(__file__).parents[2] / "ingest"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
FEED_FIELDS = ("title", "link", "language", "ttl_minutes")


def _cases() -> list[Any]:
    cases = []
    for expectation in sorted(FEEDS.glob("*.expect.json")):
        name = expectation.name.removesuffix(".expect.json")
        (document,) = [p for p in FEEDS.glob(f"{name}.*") if not p.name.endswith(".expect.json")]
        cases.append(pytest.param(document, json.loads(expectation.read_text()), id=name))
    return cases


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@pytest.mark.parametrize(("document", "expected"), _cases())
def test_fixture_feed(document: Path, expected: dict[str, Any]) -> None:
    body = document.read_bytes()
    kwargs: dict[str, Any] = {
        "url": expected["url"],
        "headers": expected.get("headers"),
        "now": NOW,
    }
    if "error" in expected:
        with pytest.raises(ParseError, match=re.escape(expected["error"])):
            parse_feed(body, **kwargs)
        return
    feed = parse_feed(body, **kwargs)
    want = expected["feed"]
    for field in FEED_FIELDS:
        if field in want:
            assert getattr(feed, field) == want[field], field
    assert len(feed.entries) == want["entry_count"]
    if want.get("warnings") == []:
        assert feed.warnings == []
    for fragment in want.get("warnings", []):
        assert any(fragment in warning for warning in feed.warnings), feed.warnings
    for index, fields in expected.get("entries", {}).items():
        entry = asdict(feed.entries[int(index)])
        assert {k: _jsonable(entry[k]) for k in fields} == fields


def test_every_fixture_has_an_expectation() -> None:
    documents = {p.name.split(".")[0] for p in FEEDS.iterdir()}
    expectations = {p.name.removesuffix(".expect.json") for p in FEEDS.glob("*.expect.json")}
    assert documents == expectations


def test_script_and_handlers_never_reach_any_field() -> None:
    feed = parse_feed(
        (FEEDS / "script_injection.xml").read_bytes(), url="https://inject.example.com/", now=NOW
    )
    dangerous = re.compile(
        r"<\s*(script|svg|img[^>]*onerror)|on(error|load|mouseover)\s*=|javascript:", re.I
    )
    assert feed.title is not None and not dangerous.search(feed.title)
    for entry in feed.entries:
        for value in (entry.title, entry.summary, entry.content, entry.link):
            assert value is None or not dangerous.search(value), value
        assert entry.title is not None and "<" not in entry.title


def test_xxe_does_not_read_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    body = (
        (FEEDS / "xxe.xml").read_bytes().replace(b"file:///etc/hostname", secret.as_uri().encode())
    )
    for document in (body, (FEEDS / "xxe.xml").read_bytes()):
        feed = parse_feed(document, url="https://xxe.example.com/", now=NOW)
        text = repr(feed)
        assert "TOP-SECRET-MARKER" not in text
        hostname = Path("/etc/hostname")
        if hostname.exists() and hostname.read_text().strip():
            assert f"Host: {hostname.read_text().strip()}" not in text


# Entity bombs run in a child process with an address-space limit, so a regression fails the
# test instead of exhausting the machine.
_BOMB_CHILD = r"""
import json, resource, sys, time
from datetime import UTC, datetime
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024**2, 1536 * 1024**2))
from ingest.feeds.parse import parse_feed
results = {}
for path in sys.argv[1:]:
    started = time.perf_counter()
    body = Path(path).read_bytes()
    feed = parse_feed(body, url="https://bomb.example.com/", now=datetime.now(UTC))
    entry = feed.entries[0]
    results[Path(path).name] = {
        "seconds": time.perf_counter() - started,
        "title": entry.title or "",
        "summary": entry.summary or "",
    }
print(json.dumps(results))
"""


def _bomb_variants(tmp_path: Path) -> list[Path]:
    quadratic = (FEEDS / "quadratic_blowup.xml").read_text()
    # Encodings that hide "<!DOCTYPE" from a scan of the raw bytes.
    utf16 = tmp_path / "quadratic_utf16.xml"
    utf16.write_bytes(
        quadratic.replace('version="1.0"', 'version="1.0" encoding="utf-16"').encode("utf-16")
    )
    utf7 = tmp_path / "quadratic_utf7.xml"
    body = quadratic.split("?>", 1)[1]
    utf7.write_bytes(b'<?xml version="1.0" encoding="utf-7"?>' + body.encode("utf-7"))
    return [FEEDS / "quadratic_blowup.xml", FEEDS / "billion_laughs.xml", utf16, utf7]


def test_entity_bombs_are_not_expanded(tmp_path: Path) -> None:
    paths = _bomb_variants(tmp_path)
    child = subprocess.run(
        [sys.executable, "-c", _BOMB_CHILD, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PACKAGE.parent,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    results = json.loads(child.stdout)
    assert set(results) == {p.name for p in paths}
    for name, result in results.items():
        assert result["seconds"] < 1.0, name
        assert len(result["title"]) <= MAX_TITLE_CHARS, name
        for text in (result["title"], result["summary"]):
            assert "A" * 100 not in text and "lollol" not in text, name


def _rss(items: str, *, title: str = "Generated") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"{items}</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        pytest.param(
            "<p onclick='x()'>Hi <b>there</b></p>", "<p>Hi <b>there</b></p>", id="handler"
        ),
        pytest.param("a<script>alert(1)</script>b<style>p{}</style>", "ab", id="script-style"),
        pytest.param('<a href="javascript:alert(1)">x</a>', "<a>x</a>", id="javascript-href"),
        pytest.param(
            '<a href="https://e.example/">x</a>',
            '<a href="https://e.example/">x</a>',
            id="link-kept-without-rel",
        ),
        pytest.param("<p style='position:fixed'>x</p>", "<p>x</p>", id="style-attribute"),
        pytest.param(
            "a<textarea>form text</textarea><svg><text>drawn</text></svg>b",
            "ab",
            id="text-the-reader-never-sees",
        ),
        pytest.param(
            "safe<iframe src='https://e.example/'> <b>text</b></iframe>",
            "safe &lt;b&gt;text&lt;/b&gt;",
            id="iframe-text-kept",
        ),
        pytest.param(
            "<section><p>one</p></section><font>two</font>",
            "<section><p>one</p></section><font>two</font>",
            id="feedparser-blocks",
        ),
        pytest.param("kept<!-- unclosed" + " x" * 10, "kept", id="unclosed-comment"),
    ],
)
def test_summaries_keep_only_allowlisted_markup(markup: str, expected: str) -> None:
    item = f"<item><link>https://e.example/1</link><description><![CDATA[{markup}]]></description></item>"
    (entry,) = parse_feed(_rss(item), url="https://e.example/rss", now=NOW).entries
    assert entry.summary == expected


def test_ten_thousand_items_are_all_kept() -> None:
    items = "".join(
        f"<item><guid>g{i}</guid><title>Story {i}</title><link>https://big.example.com/{i}</link>"
        f"<pubDate>Fri, 31 May 2024 09:15:00 GMT</pubDate></item>"
        for i in range(10_000)
    )
    feed = parse_feed(_rss(items), url="https://big.example.com/rss", now=NOW)
    assert len(feed.entries) == 10_000
    assert [e.position for e in feed.entries] == list(range(10_000))
    last = feed.entries[9_999]
    # feedparser resolves a relative GUID against the feed URL, as it does links.
    assert last.guid == "https://big.example.com/g9999" and last.published_at is not None


def test_huge_titles_and_content_are_capped_on_character_boundaries() -> None:
    huge_title = "é🙂" * 200_000  # 1.2 MB of UTF-8 per title
    huge_content = "€" * 400_000  # 1.2 MB of UTF-8
    items = "".join(
        f"<item><title>{huge_title}</title><link>https://big.example.com/{i}</link>"
        f"<description>{huge_content}</description></item>"
        for i in range(3)
    )
    feed = parse_feed(_rss(items, title=huge_title), url="https://big.example.com/rss", now=NOW)
    assert feed.title is not None and len(feed.title) == MAX_TITLE_CHARS
    assert len(feed.entries) == 3
    for entry in feed.entries:
        assert entry.title == huge_title[:MAX_TITLE_CHARS]
        assert entry.summary is not None
        encoded = entry.summary.encode("utf-8")
        assert MAX_HTML_BYTES - 3 <= len(encoded) <= MAX_HTML_BYTES
        assert set(entry.summary) == {"€"}


#: These inputs take well under a second when parsing is linear and half a minute or more when
#: it is quadratic; the deadline tells the two apart even on a loaded CI machine.
LINEAR_DEADLINE = 10.0


@pytest.mark.parametrize(
    "markup",
    [
        pytest.param("<!--" * 50_000, id="unclosed-comments"),  # feedparser alone: ~30 s
        pytest.param("<![" * 50_000, id="marked-sections"),  # html.parser: AssertionError
        pytest.param("<a" * 100_000, id="open-tags"),
        pytest.param("<div>" * 40_000, id="nesting"),
    ],
)
def test_pathological_markup_is_parsed_in_linear_time(markup: str) -> None:
    cdata = f"<![CDATA[{markup}]]>"
    item = f"<item><title>{cdata}</title><description>{cdata}</description></item>"
    started = time.perf_counter()
    feed = parse_feed(_rss(item), url="https://slow.example.com/rss", now=NOW)
    assert time.perf_counter() - started < LINEAR_DEADLINE
    assert len(feed.entries) == 1


def test_markup_nested_past_the_bound_keeps_the_text_html_to_text_reads() -> None:
    from ingest.extract import html_to_text

    markup = "<div>x" * 5_000 + "</div>" * 5_000  # parsed by libxml2 first: past 512 levels
    item = f"<item><link>https://e.example/1</link><description><![CDATA[{markup}]]></description></item>"
    (entry,) = parse_feed(_rss(item), url="https://e.example/rss", now=NOW).entries
    assert entry.summary is not None
    assert html_to_text(entry.summary) == html_to_text(markup) != ""


@pytest.mark.parametrize(
    ("prolog", "entries"),
    [
        pytest.param(b"<!DOCTYPE a>" * 200_000, 1, id="many-doctypes"),
        pytest.param(b'<!DOCTYPE a [<!ENTITY x "<b>">]>' * 60_000, 1, id="elements-in-subsets"),
        pytest.param(b'<!DOCTYPE a [<!-- " -->]>' * 80_000, 1, id="comments-in-subsets"),
        pytest.param(b'<!DOCTYPE a [<!ENTITY x "' + b"'" * 2_000_000, 0, id="unterminated-literal"),
    ],
)
def test_doctype_floods_are_stripped_in_linear_time(prolog: bytes, entries: int) -> None:
    body = prolog + _rss("<item><title>x</title><link>https://f.example.com/1</link></item>")
    started = time.perf_counter()
    try:
        feed = parse_feed(body, url="https://f.example.com/rss", now=NOW)
    except ParseError:
        feed = None
    assert time.perf_counter() - started < LINEAR_DEADLINE
    assert (len(feed.entries) if feed else 0) == entries


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        pytest.param(b"", None, "the feed is empty", id="empty"),
        pytest.param(b" \r\n\t ", None, "the feed is empty", id="whitespace"),
        pytest.param(bytes(range(256)) * 64, None, "not a feed", id="binary-garbage"),
        pytest.param(
            b"\x89PNG\r\n\x1a\n" + b"\x00" * 500,
            {"Content-Type": "image/png"},
            "not a feed",
            id="png",
        ),
        pytest.param(
            b"just some words", {"Content-Type": "text/plain"}, "not a feed", id="plain-text"
        ),
        pytest.param(
            b"<html><body>hi</body></html>", None, "got an HTML page", id="html-no-doctype"
        ),
        pytest.param(
            b"<?xml version='1.0'?><!-- x --><!DOCTYPE html PUBLIC '-//W3C//DTD XHTML 1.0//EN' "
            b"'http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd'><html><body/></html>",
            None,
            "got an HTML page",
            id="xhtml",
        ),
        pytest.param(b'{"data": [1, 2]}', None, "not a JSON Feed", id="json-not-jsonfeed"),
        pytest.param(
            b"{not json",
            {"Content-Type": "application/feed+json"},
            "not valid JSON",
            id="broken-json",
        ),
        pytest.param(
            b"[" * 100_000 + b"]" * 100_000,
            {"Content-Type": "application/json"},
            "not valid JSON",
            id="deep-json",
        ),
        pytest.param(
            b'{"version": "https://jsonfeed.org/version/1.1", "title": "x"}',
            None,
            "no 'items' list",
            id="jsonfeed-without-items",
        ),
        pytest.param(b"<rss><channel><title>Cut", None, "not a feed", id="truncated-no-entries"),
    ],
)
def test_not_a_feed(body: bytes, headers: dict[str, str] | None, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        parse_feed(body, url="https://www.example.com/feed", headers=headers, now=NOW)


def test_truncated_feed_keeps_the_entries_it_has() -> None:
    body = _rss("<item><title>Complete</title><link>https://t.example.com/1</link></item>")
    feed = parse_feed(body[: body.index(b"</channel>")], url="https://t.example.com/", now=NOW)
    assert [e.title for e in feed.entries] == ["Complete"]
    assert any("not well-formed" in warning for warning in feed.warnings)


def test_json_feed_is_detected_without_content_type() -> None:
    body = (FEEDS / "jsonfeed_1_1.json").read_bytes()
    feed = parse_feed(body, url="https://radio.example.com/feed.json", now=NOW)
    assert len(feed.entries) == 2


def test_a_str_body_is_refused() -> None:
    with pytest.raises(TypeError, match="bytes"):
        parse_feed("/etc/hostname", url="https://www.example.com/", now=NOW)  # type: ignore[arg-type]


def test_feedparser_only_ever_gets_bytesio() -> None:
    """feedparser.parse(str) opens local paths and URLs: every call must wrap bytes (STYLE §4)."""
    calls = []
    for source in PACKAGE.rglob("*.py"):
        text = source.read_text()
        assert not re.search(r"from\s+feedparser\s+import\s+[^\n]*\bparse\b", text), source
        calls += re.findall(r"feedparser\.parse\(\s*([^,)]*)", text)
    assert calls, "expected at least one feedparser.parse call"
    assert all(argument.startswith("io.BytesIO(") for argument in calls), calls


@given(st.text(max_size=300))
@settings(max_examples=150, deadline=None)
def test_any_title_becomes_markup_free_text(title: str) -> None:
    xml_safe = re.sub(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd]", "", title)
    body = _rss(
        f"<item><title>{escape(xml_safe)}</title><link>https://h.example.com/</link></item>"
    )
    feed = parse_feed(body, url="https://h.example.com/rss", now=NOW)
    got = feed.entries[0].title
    assert got is None or (len(got) <= MAX_TITLE_CHARS and got == got.strip())
    assert got is None or not re.search(r"<[A-Za-z/!?][^<>]*>", got)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml">'
            b'<link rel="alternate" type="application/atom+xml" href="https://x.example.com/atom">'
            b'<link rel="alternate" type="application/feed+json" href="feed.json"></head></html>',
            [
                "https://www.example.com/rss.xml",
                "https://x.example.com/atom",
                "https://www.example.com/news/feed.json",
            ],
            id="rss-atom-json",
        ),
        pytest.param(
            b'<head><base href="https://cdn.example.com/"><link rel="Alternate Feed" '
            b'type="application/RSS+XML; charset=utf-8" href="r.xml"></head>',
            ["https://cdn.example.com/r.xml"],
            id="base-href-and-case",
        ),
        pytest.param(
            b'<link rel="stylesheet" type="text/css" href="a.css">'
            b'<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">'
            b'<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
            b'<link rel="alternate" type="application/rss+xml">',
            [],
            id="not-feeds",
        ),
        pytest.param(
            b'<link rel="alternate" type="application/rss+xml" href="/a">' * 2,
            ["https://www.example.com/a"],
            id="duplicates",
        ),
        pytest.param(
            FEEDS.joinpath("html_page.html").read_bytes(),
            ["https://www.example.com/feeds/all.rss"],
            id="fixture-page",
        ),
        pytest.param(b"", [], id="empty"),
    ],
)
def test_discover_feed_links(html: bytes, expected: list[str]) -> None:
    assert discover_feed_links(html, url="https://www.example.com/news/") == expected
