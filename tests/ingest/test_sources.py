"""Tests for ingest.feeds.sources: feeds.toml and OPML, and the errors a person reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.errors import ConfigError
from ingest.feeds.sources import load_feeds
from ingest.model import FeedSource

GOOD_TOML = """\
# Feeds newsflow ingests.

[[feeds]]
url = "https://www.example.com/rss.xml"
name = "Example News"
tags = ["world", "politics", "world"]

[[feeds]]
url = "https://blog.example.org/atom.xml"
enabled = false

[[feeds]]
"url" = "http://radio.example.net/feed.json"   # quoted key, plain http
name = "  "
"""


def write(tmp_path: Path, text: str | bytes, name: str = "feeds.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_reads_toml(tmp_path: Path) -> None:
    assert load_feeds(write(tmp_path, GOOD_TOML)) == [
        FeedSource(
            url="https://www.example.com/rss.xml", name="Example News", tags=("world", "politics")
        ),
        FeedSource(url="https://blog.example.org/atom.xml", enabled=False),
        FeedSource(url="http://radio.example.net/feed.json"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty-file"),
        pytest.param("# only a comment\n", [], id="only-comments"),
        pytest.param(
            'feeds = [{url = "https://a.example.com/rss"}]\n',
            [FeedSource(url="https://a.example.com/rss")],
            id="inline-array-of-tables",
        ),
    ],
)
def test_reads_unusual_but_valid_toml(
    tmp_path: Path, text: str, expected: list[FeedSource]
) -> None:
    assert load_feeds(write(tmp_path, text)) == expected


TWO_FEEDS = """\
[[feeds]]
url = "https://a.example.com/rss"
name = "A"

[[feeds]]
url = "https://b.example.com/rss"
{extra}
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            TWO_FEEDS.format(extra='tag = ["x"]'),
            "feeds.toml:7: unknown key 'tag' in [[feeds]] #2 "
            "(allowed: url, name, tags, enabled, obey_robots)",
            id="unknown-key",
        ),
        pytest.param(
            TWO_FEEDS.format(extra="name = 42"),
            "feeds.toml:7: 'name' in [[feeds]] #2 must be a string, not an integer",
            id="name-not-string",
        ),
        pytest.param(
            TWO_FEEDS.format(extra='tags = "world"'),
            "feeds.toml:7: 'tags' in [[feeds]] #2 must be an array, not a string",
            id="tags-not-array",
        ),
        pytest.param(
            TWO_FEEDS.format(extra='tags = ["world", 3]'),
            "feeds.toml:7: 'tags' in [[feeds]] #2 must be a list of strings",
            id="tags-not-strings",
        ),
        pytest.param(
            TWO_FEEDS.format(extra='enabled = "yes"'),
            "feeds.toml:7: 'enabled' in [[feeds]] #2 must be a boolean, not a string",
            id="enabled-not-bool",
        ),
        pytest.param(
            TWO_FEEDS.format(extra="enabled = 1"),
            "feeds.toml:7: 'enabled' in [[feeds]] #2 must be a boolean, not an integer",
            id="enabled-one",
        ),
        pytest.param(
            TWO_FEEDS.format(extra="enabled = 2024-01-01"),
            "feeds.toml:7: 'enabled' in [[feeds]] #2 must be a boolean, not a date or time",
            id="enabled-date",
        ),
        pytest.param(
            '[[feeds]]\nname = "No URL"\n',
            "feeds.toml:1: [[feeds]] #1 has no 'url'",
            id="missing-url",
        ),
        pytest.param(
            "[[feeds]]\nurl = 3\n",
            "feeds.toml:2: 'url' in [[feeds]] #1 must be a string, not an integer",
            id="url-not-string",
        ),
        pytest.param(
            '\n[[feeds]]\nname = "x"\nurl = "ftp://a.example.com/rss"\n',
            "feeds.toml:4: 'url' in [[feeds]] #1 is not an http(s) URL: 'ftp://a.example.com/rss'",
            id="url-not-http",
        ),
        pytest.param(
            '[[feeds]]\nurl = "/relative/rss"\n',
            "feeds.toml:2: 'url' in [[feeds]] #1 is not an http(s) URL",
            id="url-relative",
        ),
        pytest.param(
            TWO_FEEDS.replace("b.example.com", "A.EXAMPLE.com").format(extra=""),
            "feeds.toml:6: duplicate url 'https://A.EXAMPLE.com/rss' in [[feeds]] #2 "
            "(already in [[feeds]] #1 at line 1)",
            id="duplicate-url",
        ),
        pytest.param(
            'title = "My feeds"\n[[feeds]]\nurl = "https://a.example.com/rss"\n',
            "feeds.toml:1: unknown top-level key 'title' (only [[feeds]] tables are allowed)",
            id="unknown-top-level-key",
        ),
        pytest.param(
            '[[feeds]]\nurl = "https://a.example.com/rss"\n[settings]\nx = 1\n',
            "feeds.toml:3: unknown top-level key 'settings'",
            id="unknown-table",
        ),
        pytest.param(
            '[feeds]\nurl = "https://a.example.com/rss"\n',
            "feeds.toml:1: 'feeds' must be [[feeds]] tables",
            id="single-brackets",
        ),
        pytest.param(
            '[[feeds]]\nurl = "https://a.example.com/rss"\nname = "unterminated\n',
            "feeds.toml:3: invalid TOML:",
            id="malformed-string",
        ),
        pytest.param(
            '[[feeds]]\nurl = "https://a.example.com/rss"\nurl = "https://b.example.com/rss"\n',
            "feeds.toml:3: invalid TOML:",
            id="key-twice",
        ),
        pytest.param(
            '[[feeds]]\nurl = "https://a.example.com/rss"\n[[feeds]\n',
            "feeds.toml:3: invalid TOML:",
            id="broken-header",
        ),
        pytest.param("x = " + "[" * 100_000, "feeds.toml:1: invalid TOML:", id="deep-nesting"),
    ],
)
def test_toml_errors_name_file_line_and_reason(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_feeds(path)
    assert str(caught.value).startswith(f"{tmp_path}/")
    assert message in str(caught.value)


def test_toml_that_is_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, b'[[feeds]]\nurl = "https://a.example.com/rss"\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=re.escape(f"{path}:3: the file is not UTF-8 text")):
        load_feeds(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=re.escape(f"feeds file not found: {path}")):
        load_feeds(path)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read feeds file"):
        load_feeds(tmp_path)


OPML = """\
<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="News" title="News">
      <outline text="World">
        <outline type="rss" text="Example World" title="Example World (title wins)"
                 xmlUrl="https://www.example.com/world.rss" htmlUrl="https://www.example.com/world"/>
      </outline>
      <outline type="rss" text="Radio" xmlUrl="https://radio.example.net/feed.json"
               category="/Audio/Podcasts, Daily"/>
    </outline>
    <outline type="rss" text="Top level" xmlURL="http://blog.example.org/atom.xml"/>
    <outline text="Tech">
      <outline type="rss" text="Example World again" xmlUrl="https://WWW.example.com/world.rss"/>
    </outline>
    <outline text="Empty folder"/>
  </body>
</opml>
"""


def test_reads_opml(tmp_path: Path) -> None:
    assert load_feeds(write(tmp_path, OPML, "subscriptions.opml")) == [
        FeedSource(
            url="https://www.example.com/world.rss",
            name="Example World (title wins)",
            tags=("News", "World", "Tech"),
        ),
        FeedSource(
            url="https://radio.example.net/feed.json",
            name="Radio",
            tags=("News", "Audio", "Podcasts", "Daily"),
        ),
        FeedSource(url="http://blog.example.org/atom.xml", name="Top level"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            '<?xml version="1.0"?>\n<opml version="2.0">\n<body>\n'
            '<outline text="x">\n</body></opml>',
            "feeds.opml:5: malformed OPML:",
            id="mismatched-tag",
        ),
        pytest.param("", "feeds.opml:1: malformed OPML:", id="empty"),
        pytest.param(
            '<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>',
            "feeds.opml:2: not an OPML file",
            id="not-opml",
        ),
        pytest.param(
            '<opml version="2.0"><head/></opml>',
            "feeds.opml:1: OPML file has no <body>",
            id="no-body",
        ),
        pytest.param(
            '<opml version="2.0"><body>\n\n<outline text="x" xmlUrl="file:///etc/passwd"/></body></opml>',
            "feeds.opml:3: xmlUrl is not an http(s) URL: 'file:///etc/passwd'",
            id="file-url",
        ),
    ],
)
def test_opml_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_feeds(write(tmp_path, text, "feeds.opml"))


LOLS = '<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'


@pytest.mark.parametrize(
    ("doctype", "reference"),
    [
        pytest.param('<!ENTITY xxe SYSTEM "{secret}">', "&xxe;", id="external-entity"),
        pytest.param(LOLS, "&lol2;", id="internal-entities"),
    ],
)
def test_opml_doctype_is_refused(tmp_path: Path, doctype: str, reference: str) -> None:
    secret = write(tmp_path, "TOP-SECRET-MARKER", "secret.txt")
    text = (
        f'<?xml version="1.0"?>\n<!DOCTYPE opml [{doctype.format(secret=secret.as_uri())}]>\n'
        f'<opml version="2.0"><body><outline text="Feeds {reference}">'
        '<outline text="A" xmlUrl="https://a.example.com/rss"/></outline></body></opml>'
    )
    with pytest.raises(ConfigError, match=r"feeds\.opml:\d+: ") as caught:
        load_feeds(write(tmp_path, text, "feeds.opml"))
    assert "TOP-SECRET-MARKER" not in str(caught.value)


@pytest.mark.parametrize(
    "doctype",
    [
        pytest.param("<!DOCTYPE opml>", id="bare"),
        pytest.param("<!DOCTYPE opml []>", id="empty-subset"),
    ],
)
def test_opml_harmless_doctype_is_accepted(tmp_path: Path, doctype: str) -> None:
    text = f'{doctype}<opml version="1.0"><body><outline xmlUrl="https://a.example.com/rss"/></body></opml>'
    assert load_feeds(write(tmp_path, text, "feeds.opml")) == [
        FeedSource(url="https://a.example.com/rss")
    ]
