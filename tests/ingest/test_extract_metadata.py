"""Metadata fields: which source wins, JSON-LD tolerance, title clean-up, URLs, tags."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.extract import extract_article
from ingest.extract.candidates import SOURCES
from ingest.extract.document import parse_document
from ingest.extract.jsonld import find_jsonld
from ingest.extract.metadata import strip_site_suffix
from ingest.model import FeedEntry

URL = "https://news.example.com/2021/09/15/story"
UNDATED_URL = "https://news.example.com/story"  # no day in the path to fall back on
NOW = datetime(2025, 1, 1, tzinfo=UTC)
STORY = "".join(
    f"<p>Paragraph {n} of the story says something long enough, with commas, to be prose.</p>"
    for n in range(6)
)


def page(head: str = "", body: str = "", *, lang: str = "en") -> str:
    return (
        f'<html lang="{lang}"><head><meta charset="utf-8">{head}</head>'
        f"<body>{body}<article>{STORY}</article></body></html>"
    )


def jsonld(data: str) -> str:
    return f'<script type="application/ld+json">{data}</script>'


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


@pytest.mark.parametrize(
    ("title", "site_names", "url", "expected"),
    [
        pytest.param("Headline | Site", ["Site"], URL, "Headline", id="pipe-site-name"),
        pytest.param(
            "Headline - example.com", [], "https://www.example.com/a", "Headline", id="domain"
        ),
        pytest.param(
            "Headline — Example News",
            [],
            "https://examplenews.org/a",
            "Headline",
            id="domain-words",
        ),
        pytest.param("Site | Headline", ["Site"], URL, "Headline", id="site-first"),
        pytest.param(
            "Q&A - Part two | The Times",
            ["The Times"],
            URL,
            "Q&A - Part two",
            id="inner-separator-kept",
        ),
        pytest.param("Left - Right", ["Other"], URL, "Left - Right", id="unrelated-suffix"),
        pytest.param("No separator", ["Site"], URL, "No separator", id="plain"),
        pytest.param(
            "市立図書館、日曜は午後8時まで開館へ｜南浦タイムズ",
            ["南浦タイムズ"],
            URL,
            "市立図書館、日曜は午後8時まで開館へ",
            id="full-width-bar",
        ),
        pytest.param(
            "首座城市书房在滨河公园开放_南湖日报",
            ["南湖日报"],
            URL,
            "首座城市书房在滨河公园开放",
            id="underscore",
        ),
        pytest.param(
            "东江市发布新版公交线路规划--东江晨报",
            ["东江晨报"],
            URL,
            "东江市发布新版公交线路规划",
            id="double-dash",
        ),
        pytest.param(
            "한빛시, 시내버스 노선 개편ㅣ한빛일보",
            ["한빛일보"],
            URL,
            "한빛시, 시내버스 노선 개편",
            id="hangul-bar",
        ),
    ],
)
def test_strip_site_suffix(title: str, site_names: list[str], url: str, expected: str) -> None:
    assert strip_site_suffix(title, site_names, url) == expected


@pytest.mark.parametrize(
    ("script", "headline"),
    [
        pytest.param('{"@type": "NewsArticle", "headline": "Plain"}', "Plain", id="object"),
        pytest.param(
            '[{"@type": "WebSite", "name": "S"}, {"@type": "Article", "headline": "L"}]',
            "L",
            id="list",
        ),
        pytest.param(
            '{"@graph": [{"@type": "WebPage"}, {"@type": ["Thing", "BlogPosting"], '
            '"headline": "Graph"}]}',
            "Graph",
            id="graph-and-type-list",
        ),
        pytest.param(
            '{"@type": "WebPage", "mainEntity": {"@type": "ReportageNewsArticle", '
            '"headline": "Nested"}}',
            "Nested",
            id="main-entity",
        ),
        pytest.param(
            '{"@type": "NewsArticle", "headline": "Trailing",}', "Trailing", id="trailing-comma"
        ),
        pytest.param(
            '<!-- {"@type": "NewsArticle", "headline": "Wrapped"} -->',
            "Wrapped",
            id="comment-wrapper",
        ),
        pytest.param(
            '{"@type": "NewsArticle", "headline": "Raw\nnewline"}',
            "Raw\nnewline",
            id="raw-newline-in-string",
        ),
        pytest.param(
            '{"@type": "Organization"} {"@type": "NewsArticle", "headline": "Second"}',
            "Second",
            id="concatenated",
        ),
        pytest.param('{"@type": "NewsArticle", "headline": "Unclosed"', None, id="broken"),
        pytest.param("", None, id="empty"),
    ],
)
def test_jsonld_is_read_tolerantly(script: str, headline: str | None) -> None:
    root = parse_document(f"<html><head>{jsonld(script)}</head><body></body></html>")
    ld = find_jsonld(root)
    got = ld.article.get("headline") if ld.article is not None else None
    assert got == headline


def test_jsonld_author_reference_resolves_in_graph() -> None:
    graph = (
        '{"@graph": [{"@type": "Person", "@id": "#p1", "name": "Ada Lovelace"},'
        '{"@type": "NewsArticle", "headline": "H", "author": {"@id": "#p1"}}]}'
    )
    article = extract_article(page(jsonld(graph)), URL, now=NOW)
    assert article.authors == ["Ada Lovelace"]
    assert article.sources["authors"] == "jsonld"


@pytest.mark.parametrize(
    ("head", "body", "title", "source"),
    [
        pytest.param(
            jsonld('{"@type": "NewsArticle", "headline": "From JSON-LD"}')
            + '<meta property="og:title" content="From OG"><title>From title</title>',
            "<h2>From h2 heading</h2>",
            "From JSON-LD",
            "jsonld",
            id="jsonld-first",
        ),
        pytest.param(
            '<meta property="og:title" content="From OG"><title>From title</title>',
            "<h2>From h2 heading</h2>",
            "From OG",
            "og",
            id="og-second",
        ),
        pytest.param(
            jsonld('{"@type": "NewsArticle", "headline": "Council passes budget"}')
            + '<meta property="og:title" content="Budget passed: what it means for you">',
            "<article><h1>Council passes the 2027 budget after a long night</h1></article>",
            "Council passes the 2027 budget after a long night",
            "dom",
            id="h1-worded-otherwise-than-metadata-is-what-readers-see",
        ),
        pytest.param(
            '<meta property="og:title" content="Mandarin cheesecake">',
            "<h1>Mandarin cheesecake</h1><p>Recipe by a reader</p>",
            "Mandarin cheesecake",
            "og",
            id="h1-equal-to-metadata",
        ),
        pytest.param(
            '<meta property="og:title" content="Mandarin cheesecake from a reader">',
            "<h1>Mandarin cheesecake</h1>",
            "Mandarin cheesecake",
            "dom",
            id="h1-shorter-than-metadata-with-a-tail",
        ),
        pytest.param(
            '<meta property="og:title" content="The beach at the end of the world">',
            "<h1>Jun 17 The beach at the end of the world</h1>",
            "The beach at the end of the world",
            "og",
            id="h1-with-a-date-glued-on-keeps-metadata",
        ),
        pytest.param(
            '<meta property="og:title" content="Sweden drops the investigation">',
            "<h2>Most read: five stories you missed</h2>",
            "Sweden drops the investigation",
            "og",
            id="h2-worded-otherwise-is-no-headline",
        ),
        pytest.param(
            '<meta property="og:title" content="Senator calls the president "unfit"">',
            '<h2>Senator calls the president "unfit"</h2>',
            'Senator calls the president "unfit"',
            "dom",
            id="metadata-cut-at-an-unescaped-quote",
        ),
        pytest.param(
            '<meta property="og:title" content="All things have their time...">',
            "<h1>All things have their time…</h1>",
            "All things have their time…",
            "dom",
            id="ellipsis-written-otherwise-is-no-longer-title",
        ),
        pytest.param(
            "<title>From title | News</title>",
            "<h1>From h1 heading</h1>",
            "From h1 heading",
            "dom",
            id="h1-third",
        ),
        pytest.param(
            "<title>From title &amp; more | Example</title>",
            "",
            "From title & more",
            "meta",
            id="title-last-entities-decoded",
        ),
        pytest.param(
            jsonld('{"@type": "NewsArticle", "headline": "A long headline cut for ..."}')
            + '<meta property="og:title" content="A long headline cut for search engines">',
            "",
            "A long headline cut for search engines",
            "og",
            id="truncated-headline",
        ),
        pytest.param(
            '<meta property="og:title" content="  Spaced\n  out   title ">',
            "",
            "Spaced out title",
            "og",
            id="whitespace-collapsed",
        ),
        pytest.param(
            '<meta property="og:title" content="SNOW MAPS AT HIGH RESOLUTION">',
            "<h1>Snow maps at high resolution</h1>",
            "SNOW MAPS AT HIGH RESOLUTION",
            "og",
            id="case-only-difference-keeps-metadata",
        ),
        pytest.param(
            jsonld('{"@type": "NewsArticle", "headline": "Stars want a new streaming model"}')
            + '<meta property="og:title" content="Royalties: Stars want a new streaming model">',
            "<h1>Royalties: Stars want a new streaming model</h1>",
            "Royalties: Stars want a new streaming model",
            "dom",
            id="visible-kicker-confirmed-by-og",
        ),
        pytest.param(
            '<meta property="og:title" content="New mayor sworn in">',
            '<h1>"Reform now" / New mayor sworn in</h1>',
            "New mayor sworn in",
            "og",
            id="visible-kicker-unconfirmed",
        ),
        pytest.param(
            '<meta property="og:title" content="Streit um Radwege: Stadtrat vertagt Entscheidung">',
            '<h1><span class="top">Streit um Radwege</span> <span>Stadtrat vertagt Entscheidung'
            "</span></h1>",
            "Streit um Radwege: Stadtrat vertagt Entscheidung",
            "og",
            id="kicker-in-h1-takes-the-metadata-separator",
        ),
        pytest.param(
            "<title>Streit um Radwege: Stadtrat vertagt Entscheidung | Talbote</title>",
            '<h1><span class="top">Streit um Radwege</span><span>Stadtrat vertagt Entscheidung'
            "</span></h1>",
            "Streit um Radwege: Stadtrat vertagt Entscheidung",
            "meta",
            id="kicker-in-h1-takes-the-title-separator",
        ),
        pytest.param(
            "<title>Talbote</title>",
            '<h1><span class="quote">»Wir bleiben«</span><span>Bürgermeisterin sagt Umzug ab'
            "</span></h1>",
            "»Wir bleiben« Bürgermeisterin sagt Umzug ab",
            "dom",
            id="two-elements-never-glued",
        ),
        pytest.param(
            "<title>Talbote</title>",
            "<h1>Die <b>E</b>-Mail kommt <em>nie</em>an<style>h1 b{color:red}</style></h1>",
            "Die E-Mail kommt niean",
            "dom",
            id="inline-markup-joined-as-written-styles-dropped",
        ),
        pytest.param(
            '<meta property="og:title" content="子どもへの体罰を禁止する法律ができる">',
            "<h1><ruby>子<rt>こ</rt></ruby>どもへの<ruby>体罰<rt>たいばつ</rt></ruby>を"
            "<span>禁止</span>する<span>法律</span>ができる</h1>",
            "子どもへの体罰を禁止する法律ができる",
            "og",
            id="japanese-ruby-and-spans-not-spaced",
        ),
        pytest.param(
            '<meta property="og:title" content="SNOW MAPS: \'THE BEST YET\'">',
            "<h1>Snow maps: ‘The best yet’</h1>",
            "SNOW MAPS: 'THE BEST YET'",
            "og",
            id="quotes-do-not-hide-a-case-only-difference",
        ),
        pytest.param(
            '<meta property="og:title" '
            'content="Umzug: Bürgermeisterin sagt &quot;Wir bleiben&quot;">',
            "<h2>Bürgermeisterin sagt „Wir bleiben“</h2>",
            "Bürgermeisterin sagt „Wir bleiben“",
            "dom",
            id="quotes-do-not-hide-a-kicker",
        ),
        pytest.param(
            "<title>市政府发布新版公交线路规划--时政--东方晨报</title>",
            "<h1>市政府发布新版公交线路规划</h1>",
            "市政府发布新版公交线路规划",
            "dom",
            id="short-chinese-h1-is-the-headline",
        ),
        pytest.param(
            "<title>윤 시장, 버스 노선 개편-정치ㅣ한빛일보</title>",
            "<h1>윤 시장, 버스 노선 개편</h1>",
            "윤 시장, 버스 노선 개편",
            "dom",
            id="short-korean-h1-is-the-headline",
        ),
        pytest.param(
            '<meta property="og:title" content="市立図書館、日曜も開館へ｜南浦タイムズ">',
            "<h2>市立図書館、日曜も開館へ</h2>",
            "市立図書館、日曜も開館へ",
            "dom",
            id="headline-before-a-full-width-bar",
        ),
    ],
)
def test_title_priority(head: str, body: str, title: str, source: str) -> None:
    article = extract_article(page(head, body), URL, now=NOW)
    assert article.title == title
    assert article.sources["title"] == source


def test_theme_flags_on_the_body_make_no_page_header() -> None:
    # WordPress themes flag a logo on <body> ("wp-custom-logo"): the story's h1 is still the
    # headline, though the metadata titles carry the site's name after it.
    html = (
        '<html lang="de"><head><meta property="og:title" content="Kramer fehlt in Peking - '
        'skisprung.example"></head><body class="single wp-custom-logo"><article><header>'
        '<h1 class="entry-title">"Pure Leere": Kramer fehlt in Peking</h1></header>'
        f"{STORY}</article></body></html>"
    )
    article = extract_article(html, URL, now=NOW)
    assert article.title == '"Pure Leere": Kramer fehlt in Peking'
    assert article.sources["title"] == "dom"


@pytest.mark.parametrize(
    ("head", "body", "published", "source"),
    [
        pytest.param(
            jsonld('{"@type": "NewsArticle", "datePublished": "2021-09-15T10:00:00Z"}')
            + '<meta property="article:published_time" content="2021-09-14T10:00:00Z">',
            "",
            "2021-09-15T10:00:00Z",
            "jsonld",
            id="jsonld-first",
        ),
        pytest.param(
            '<meta property="article:published_time" content="2021-09-14T10:00:00+02:00">'
            '<meta name="date" content="2021-09-13">',
            "",
            "2021-09-14T08:00:00Z",
            "og",
            id="article-published-time",
        ),
        pytest.param(
            '<meta name="sailthru.date" content="2021-09-13 07:30:00">',
            '<time datetime="2021-09-12T00:00:00Z">Sept 12</time>',
            "2021-09-13T07:30:00Z",
            "meta",
            id="meta-before-time",
        ),
        pytest.param(
            "",
            '<aside class="sidebar"><time datetime="2020-01-01T00:00:00Z">x</time>'
            '</aside><article><time datetime="2021-09-12T06:00:00Z">12 Sep</time></article>',
            "2021-09-12T06:00:00Z",
            "time",
            id="time-in-article-not-sidebar",
        ),
        pytest.param(
            jsonld('{"@type": "NewsArticle", "datePublished": "not a date"}')
            + '<meta name="pubdate" content="2021-09-11T01:02:03Z">',
            "",
            "2021-09-11T01:02:03Z",
            "meta",
            id="unparseable-skipped",
        ),
        pytest.param(
            '<meta name="date" content="2031-01-01">', "", None, None, id="future-rejected"
        ),
        pytest.param(
            '<script>var published = "2021-09-15T10:00:00Z";</script>',
            "",
            None,
            None,
            id="script-ignored",
        ),
    ],
)
def test_published_priority(
    head: str, body: str, published: str | None, source: str | None
) -> None:
    article = extract_article(page(head, body), UNDATED_URL, now=NOW)
    assert iso(article.published_at) == published
    assert article.sources.get("published_at") == source


@pytest.mark.parametrize(
    ("head", "canonical"),
    [
        pytest.param(
            '<link rel="canonical" href="/2021/09/15/story?utm_source=x#top">',
            "https://news.example.com/2021/09/15/story",
            id="relative-and-tracking",
        ),
        pytest.param(
            '<link rel="canonical" href="https://www.example.com/amp-free/story">',
            "https://www.example.com/amp-free/story",
            id="same-site-other-host",
        ),
        pytest.param(
            '<link rel="canonical" href="https://aggregator.example.net/copy">',
            "https://news.example.com/2021/09/15/story",
            id="other-site-ignored",
        ),
        pytest.param(
            '<link rel="canonical" href="javascript:void(0)">',
            "https://news.example.com/2021/09/15/story",
            id="not-http-ignored",
        ),
    ],
)
def test_canonical_url(head: str, canonical: str) -> None:
    assert extract_article(page(head), URL + "?utm_medium=rss", now=NOW).canonical_url == canonical


def test_image_tags_site_and_description() -> None:
    head = (
        '<base href="https://cdn.example.com/assets/">'
        '<meta property="og:image" content="img/photo.jpg">'
        '<meta name="twitter:image" content="https://other.example/t.jpg">'
        '<meta property="article:section" content="World">'
        '<meta property="article:tag" content="Climate"><meta property="article:tag" content="UN">'
        '<meta name="keywords" content="climate, COP26 ,un, , Glasgow">'
        '<meta name="application-name" content="Example News">'
        '<meta name="description" content="  Leaders   meet. ">'
    )
    article = extract_article(page(head), URL, now=NOW)
    assert article.image_url == "https://cdn.example.com/assets/img/photo.jpg"
    assert article.tags == ["Climate", "UN", "COP26", "Glasgow", "World"]
    assert article.site_name == "Example News"
    assert article.description == "Leaders meet."
    assert article.sources["tags"] == "og"


def test_missing_fields_come_from_the_feed_entry() -> None:
    entry = FeedEntry(
        guid="g1", link=URL, title="Feed title", summary="<p>Feed <b>summary</b> text.</p>",
        content=None, authors=["jane@example.com (Jane Feed)"],
        published_raw="Wed, 15 Sep 2021 10:00:00 GMT",
        published_at=datetime(2021, 9, 15, 10, tzinfo=UTC), tags=["Feedtag"],
        updated_at=datetime(2021, 9, 16, 10, tzinfo=UTC),
        image_url="https://news.example.com/feed.jpg", language="en-GB",
    )  # fmt: skip
    html = f"<html><body><div>{STORY}</div></body></html>"
    article = extract_article(html, URL, entry=entry, now=NOW)
    assert article.title == "Feed title"
    assert article.authors == ["Jane Feed"]
    assert article.published_at == entry.published_at
    assert article.published_raw == entry.published_raw
    assert article.updated_at is None  # only the page's own modification date counts
    assert article.description == "Feed summary text."
    assert article.image_url == entry.image_url
    assert article.tags == ["Feedtag"]
    assert {article.sources[k] for k in ("title", "authors", "published_at", "tags")} == {"feed"}


def test_sources_use_the_documented_names() -> None:
    head = jsonld('{"@type": "NewsArticle", "headline": "H", "datePublished": "2021-09-15"}')
    article = extract_article(page(head, "<h1>H</h1>"), URL, now=NOW)
    assert article.sources
    assert set(article.sources.values()) <= SOURCES


@pytest.mark.parametrize(
    ("title", "others", "url", "expected"),
    [
        pytest.param(
            "Der Steinkauz ist Vogel des Jahres | Schweizer Jäger Online",
            [],
            "https://schweizerjaeger.ch/aktuell/x",
            "Der Steinkauz ist Vogel des Jahres",
            id="host-spelt-out-and-extended",
        ),
        pytest.param(
            "Laufen im Winter: von bäh zu yeah › Nordish by Nature",
            ["Laufen im Winter: von bäh zu yeah"],
            URL,
            "Laufen im Winter: von bäh zu yeah",
            id="head-repeated-by-another-title",
        ),
        pytest.param("Home - Some Site", ["Home"], URL, "Home - Some Site", id="short-head-kept"),
    ],
)
def test_strip_site_suffix_by_evidence(
    title: str, others: list[str], url: str, expected: str
) -> None:
    assert strip_site_suffix(title, [], url, others) == expected
