"""Property tests (Hypothesis): text newsflow stores as plain text holds no markup and no
control characters, whatever HTML-ish input a feed sends.

Two paths make plain text out of feed markup: ``ingest.extract.html_to_text`` (summaries and
content of entries without a page) and the title cleaning of ``ingest.feeds.parse`` (titles of RSS,
Atom and JSON Feed). Canonical URLs (test_urls.py), date clamps (test_dates.py) and titles
from arbitrary text (test_parse.py) have their own properties; here the input is built from
the pieces attackers and broken feeds use: tags with handlers, scripts, comments, CDATA,
entities, markup escaped once or twice more than it should be, control characters.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingest.extract import html_to_text
from ingest.feeds.parse import MAX_TITLE_CHARS, parse_feed

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
FEED_URL = "https://outlet.example.com/rss"

# What an HTML parser would read as markup: a tag, an end tag, a comment or declaration, a PI.
MARKUP = re.compile(r"<[A-Za-z/!?]")
# C0 and C1 controls and DEL; paragraphs are separated by "\n", so only that one is allowed.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

TAGS = st.sampled_from(
    ["p", "b", "i", "a", "div", "span", "br", "img", "script", "style", "noscript", "template",
     "iframe", "svg", "title", "textarea", "pre", "table", "td", "li", "h1", "object"]
)  # fmt: skip
ATTRIBUTES = st.sampled_from(
    [
        "",
        ' onclick="alert(1)"',
        " onerror=alert(1)",
        ' href="javascript:alert(1)"',
        " href=JaVaScRiPt:alert(1)",
        " src=x",
        " style='background:url(javascript:alert(1))'",
        ' title="a > b"',
    ]
)
FIXED = st.sampled_from(
    [
        "<!-- a comment -->",
        "<!--",
        "-->",
        "--!>",
        "<![CDATA[",
        "]]>",
        "<?xml version='1.0'?>",
        "<!DOCTYPE html>",
        "</",
        "<",
        ">",
        "&",
        "&lt;",
        "&gt;",
        "&amp;",
        "&quot;",
        "&#60;",
        "&#x3C;",
        "&#x3c;script&#x3e;",
        "&nbsp;",
        "&#0;",
        "&#x1;",
        "&#128;",
        "&#x9f;",
        "&bogus;",
        "&lt",
        "alert(1)",
        "\n\n",
        "\t",
        "\r\n",
        "\x00",
        "\x08",
        "\x0b",
        "\x1b",
        "\x7f",
        "\x85",
        "\u200b",
        "\ufeff",
        "café “quoted”",
    ]
)
WORDS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


def _tag(name: str, attributes: str, inner: str) -> str:
    return f"<{name}{attributes}>{inner}</{name}>"


PIECE = st.one_of(
    FIXED,
    WORDS,
    st.builds(lambda n, a: f"<{n}{a}>", TAGS, ATTRIBUTES),
    st.builds(lambda n: f"</{n}>", TAGS),
)
HTMLISH = st.recursive(
    st.lists(PIECE, max_size=12).map("".join),
    lambda inner: st.one_of(
        st.builds(_tag, TAGS, ATTRIBUTES, inner),
        st.lists(inner, min_size=2, max_size=4).map("".join),
        # Markup escaped once more than it should be, as feeds often send it.
        inner.map(lambda s: html.escape(s, quote=False)),
    ),
    max_leaves=30,
)


def assert_plain(text: str, *, one_line: bool) -> None:
    assert not MARKUP.search(text), text
    assert not CONTROL.search(text), text
    if one_line:
        assert "\n" not in text and text == text.strip(), text


@given(HTMLISH)
@example("&lt;p&gt;&lt;/p&gt;")  # escaped once too often: was stored as "<p></p>"
@example("<<b>script>alert(1)")  # a tag that only appears once another is removed
@example("&lt;i&gt;&amp;lt;script&amp;gt;")  # escaped three times over
@settings(max_examples=600, deadline=None)
def test_html_to_text_gives_plain_text(fragment: str) -> None:
    assert_plain(html_to_text(fragment), one_line=False)


def _rss_title(title_xml: str) -> str | None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>{title_xml}</title><link>https://outlet.example.com/a</link></item>"
        "</channel></rss>"
    ).encode("utf-8", "surrogatepass")
    return parse_feed(body, url=FEED_URL, now=NOW).entries[0].title


@given(HTMLISH)
@example("<BR>&#x1;")  # crashed parse_feed: lxml refuses the control character it decoded
@example("\x8d")  # a C1 control character was kept
@example("&amp;lt;p&amp;gt;&amp;lt;/p&amp;gt;")  # escaped three times over
@settings(max_examples=400, deadline=None)
def test_rss_titles_become_plain_text(title: str) -> None:
    xml_safe = XML_INVALID.sub("", title)
    for title_xml in (
        html.escape(xml_safe, quote=False),  # the markup escaped, as RSS wants it
        "<![CDATA[" + xml_safe.replace("]]>", "") + "]]>",  # the markup as it is
    ):
        got = _rss_title(title_xml)
        assert got is None or len(got) <= MAX_TITLE_CHARS
        assert_plain(got or "", one_line=True)


@given(st.one_of(HTMLISH, st.text(max_size=200)))
@example("<BR>&#x1;")  # crashed parse_feed with a ValueError
@example("\ud800\x00\x85")
@settings(max_examples=400, deadline=None)
def test_json_feed_titles_become_plain_text(title: str) -> None:
    # JSON can carry what XML cannot: NUL, every control character, lone surrogates.
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "items": [{"id": "1", "url": "https://outlet.example.com/a", "title": title}],
    }
    feed = parse_feed(json.dumps(document).encode(), url=FEED_URL, now=NOW)
    for got in (feed.title, feed.entries[0].title):
        assert got is None or len(got) <= MAX_TITLE_CHARS
        assert_plain(got or "", one_line=True)
