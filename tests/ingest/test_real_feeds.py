"""Eight real feeds (``../shared/corpora/feeds``, beside the clone) through ``parse_feed``.

The corpus is the publishers' content, for local evaluation only: it is read in place, never
copied here, and the tests skip when it is absent. The expected values were read from the files
themselves (titles, links, dates as written, encodings as declared); the counts match the
corpus README, which cites mediacloud/rss-fetcher's own assertions for CNN and Korea Times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.extract.dates.parse import EARLIEST
from ingest.feeds.parse import parse_feed
from ingest.model import FeedEntry, ParsedFeed

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "feeds" / "files"
NOW = datetime(2026, 5, 1, tzinfo=UTC)

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"real-feed corpus not found at {CORPUS} (it is not in the repo)"
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@dataclass(frozen=True)
class RealFeed:
    file: str
    url: str  # where the feed lives, as links are resolved against it
    title: str
    link: str
    language: str | None
    entries: int
    dated: int  # entries with a published date
    # (entry index, FeedEntry field, exact value)
    checks: list[tuple[int, str, Any]] = field(default_factory=list)
    headers: dict[str, str] | None = None
    ttl_minutes: int | None = None
    warning: str | None = None  # a substring one of the warnings must contain
    empty: int = 0  # entries with no title and no link in the file itself


FEEDS = [
    RealFeed(
        "mediacloud__real-cnn.rss",
        "http://rss.cnn.com/rss/cnn_topstories.rss",
        title="CNN.com - RSS Channel - HP Hero",  # CDATA with spaces around it
        link="https://www.cnn.com/index.html",
        language="en-us",
        entries=69,
        dated=52,  # 53 <pubDate> in the file, one of them the channel's
        ttl_minutes=10,
        checks=[
            (
                0,
                "title",
                "Any investigation of a former president raises a host of highly sensitive and "
                "potentially explosive political and legal questions",
            ),
            (
                0,
                "link",
                "https://www.cnn.com/2022/07/26/politics/"
                "justice-department-pence-short-jacob-trump-grand-jury/index.html",
            ),
            (0, "published_raw", "Wed, 27 Jul 2022 03:27:09 GMT"),
            (0, "published_at", utc(2022, 7, 27, 3, 27, 9)),
            (
                0,
                "image_url",
                "https://cdn.cnn.com/cnnnext/dam/assets/"
                "220726125917-short-trump-jacob-split-super-169.jpg",
            ),
            (1, "published_at", utc(2022, 7, 27, 12, 57, 47)),
            (68, "published_at", None),  # a podcast episode without a date
        ],
    ),
    RealFeed(
        "mediacloud__real-korean-times.rss",
        "https://www.koreatimes.co.kr/www/rss/rss.xml",
        title="Korea Times News",
        link="https://www.koreatimes.co.kr/",
        language="us",  # the feed says <language>US</language>
        entries=195,
        dated=195,  # every <pubdate> is "Thu,28 Jul 2022 4:35:5 GMT+9": nine hours east
        checks=[
            (0, "title", "France on course for driest July on record: weather office"),
            (0, "link", "https://www.koreatimes.co.kr/www/nation/2022/07/501_333483.html?fl"),
            (0, "published_raw", "Thu,28 Jul 2022 4:35:5 GMT+9"),
            (0, "published_at", utc(2022, 7, 27, 19, 35, 5)),
            (0, "tags", ["nation"]),
            (0, "authors", ["KoreaTimes"]),
            (
                0,
                "image_url",
                "http://img.koreatimes.co.kr/upload/thumbnailV2/K2022072700409_b067c0ea56bf.jpg",
            ),
            (194, "authors", ["Kim Bo-eun"]),
            (194, "published_at", utc(2022, 7, 27, 19, 35, 5)),
        ],
    ),
    RealFeed(
        "miniflux__encoding_ISO-8859-1.xml",
        "https://rss.golem.de/rss.php?feed=RSS2.0",
        title="Golem.de",
        link="https://www.golem.de/",
        language="de",
        entries=40,
        dated=40,
        checks=[
            (
                0,
                "title",
                "Red Dead Redemption 2: Hinweise auf PC-Umsetzung in App von Rockstar Games",
            ),
            (0, "published_raw", "Sun, 28 Oct 2018 13:48:00 +0100"),
            (0, "published_at", utc(2018, 10, 28, 12, 48)),
        ],
    ),
    RealFeed(
        "miniflux__rdf_UTF8.xml",
        "https://www.heise.de/newsticker/heise.rdf",
        title="heise online News",
        link="https://www.heise.de/newsticker/",
        language=None,
        entries=60,
        dated=0,  # RSS 0.90 has no dates
        checks=[
            (0, "title", "OLED-TVs: Vorsichtsmaßnahmen gegen Einbrennen"),
            (
                0,
                "link",
                "https://www.heise.de/newsticker/meldung/"
                "OLED-TVs-Vorsichtsmassnahmen-gegen-Einbrennen-4205274.html?wt_mc=rss.ho.beitrag.rdf",
            ),
            (1, "title", "Mega-Deal: IBM übernimmt Red Hat"),
        ],
    ),
    RealFeed(
        "miniflux__urdu_UTF8.xml",
        "http://feeds.bbci.co.uk/urdu/rss.xml",
        # Two spaces after "News" in the file: titles are one line with single spaces.
        title="BBC News اردو - پاکستان کے لیے امریکی امداد کی بہار و خزاں",
        link="http://www.bbcurdu.com",
        language="ur",
        entries=26,
        dated=26,
        ttl_minutes=15,
        checks=[
            (
                0,
                "title",
                "امریکی عسکری امداد کی بندش کی وجوہات: انڈیا سے جنگ، جوہری پروگرام"
                " اور اب دہشت گردوں کی پشت پناہی",
            ),
            (0, "guid", "http://www.bbc.com/urdu/pakistan-42575603"),
            (0, "published_at", utc(2018, 1, 5, 16, 51)),
            (
                0,
                "image_url",
                "http://c.files.bbci.co.uk/A787/production/_99478824_gettyimages-856735580.jpg",
            ),
        ],
    ),
    RealFeed(
        "miniflux__no_encoding_ISO-8859-1.xml",
        "https://le-cercle-psy.scienceshumaines.com/rss",
        title="Flux RSS du magazine de psychologie Le Cercle Psy",
        link="https://le-cercle-psy.scienceshumaines.com/rss",
        language=None,
        entries=10,
        dated=10,
        # No XML declaration, so UTF-8 is assumed; the bytes are Latin-1 and read as such.
        warning="parsed as windows-1252",
        empty=1,  # <item> number 4 has an empty title, link and description
        checks=[
            (0, "title", "Perturbateurs endocriniens : quels effets sur le cerveau ?"),
            (0, "published_at", utc(2018, 10, 17, 10, 30)),
            # The file itself has the broken entity "et#8230;".
            (1, "title", "Masters en Psycho : une simplificationet#8230; très complexe"),
        ],
    ),
    RealFeed(
        "miniflux__encoding_WINDOWS-1251.xml",
        "http://ibash.org.ru/rss.xml",
        title="iBash.Org.Ru",
        link="http://ibash.org.ru/",
        language="ru",
        entries=50,
        dated=50,
        checks=[
            (0, "title", "Цитата #17703"),
            (0, "link", "http://ibash.org.ru/quote.php?id=17703"),
            (0, "published_at", utc(2018, 3, 21, 7, 27, 32)),
        ],
    ),
    RealFeed(
        "trafilatura__npr-technology-feed.json",
        "https://feeds.npr.org/1019/feed.json",
        headers={"content-type": "application/json"},
        title="Technology",
        link="https://www.npr.org/sections/technology/?utm_medium=JSONFeed&utm_campaign=technology",
        language=None,
        entries=25,
        dated=25,
        checks=[
            (0, "guid", "1050315385"),
            (0, "title", "Keller Rinaudo: How can delivery drones save lives?"),
            (0, "published_raw", "2021-10-29T10:26:00-04:00"),
            (0, "published_at", utc(2021, 10, 29, 14, 26)),
            (0, "authors", ["Manoush Zomorodi"]),
        ],
    ),
]


def _parse(feed: RealFeed) -> ParsedFeed:
    body = (CORPUS / feed.file).read_bytes()
    return parse_feed(body, url=feed.url, headers=feed.headers, now=NOW)


def _params() -> list[Any]:
    return [pytest.param(feed, id=feed.file.split("__")[1].rsplit(".", 1)[0]) for feed in FEEDS]


@pytest.mark.parametrize("feed", _params())
def test_feed_fields(feed: RealFeed) -> None:
    parsed = _parse(feed)
    assert (parsed.title, parsed.link, parsed.language) == (feed.title, feed.link, feed.language)
    assert parsed.ttl_minutes == feed.ttl_minutes
    if feed.warning is None:
        assert parsed.warnings == []
    else:
        assert any(feed.warning in w for w in parsed.warnings), parsed.warnings


@pytest.mark.parametrize("feed", _params())
def test_every_entry_is_kept_with_its_dates(feed: RealFeed) -> None:
    entries = _parse(feed).entries
    assert len(entries) == feed.entries
    assert sum(e.published_at is not None for e in entries) == feed.dated
    for entry in entries:
        assert entry.published_at is None or EARLIEST <= entry.published_at <= NOW
        assert entry.published_at is None or entry.published_at.tzinfo is UTC


@pytest.mark.parametrize("feed", _params())
def test_entries_have_titles_and_distinct_links(feed: RealFeed) -> None:
    entries = _parse(feed).entries
    empty = [e for e in entries if e.title is None and e.link is None]
    assert len(empty) == feed.empty
    entries = [e for e in entries if e not in empty]
    assert all(e.title for e in entries)
    links = [e.link for e in entries]
    assert all(link and link.startswith(("http://", "https://")) for link in links)
    assert len(set(links)) == len(links)


@pytest.mark.parametrize("feed", _params())
def test_text_is_decoded_in_the_right_encoding(feed: RealFeed) -> None:
    """No replacement characters and no mojibake ("Ã©", "Ð¦") anywhere in titles or summaries."""
    for entry in _parse(feed).entries:
        for text in (entry.title or "", entry.summary or ""):
            assert "\ufffd" not in text
            assert not any(sign in text for sign in ("Ã", "Ð", "Ñ", "â€")), text[:80]


@pytest.mark.parametrize(
    ("feed", "index", "name", "value"),
    [
        pytest.param(feed, index, name, value, id=f"{feed.file.split('__')[1][:12]}-{index}-{name}")
        for feed in FEEDS
        for index, name, value in feed.checks
    ],
)
def test_entry_values(feed: RealFeed, index: int, name: str, value: Any) -> None:
    entry: FeedEntry = _parse(feed).entries[index]
    assert getattr(entry, name) == value
