"""Visible date lines near the headline, and which dates a page's markup offers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.extract import extract_article
from ingest.extract.dates.datelines import read_date_line
from ingest.extract.dates.parse import parse_date
from ingest.extract.dates.zones import zone_of_language, zone_of_url
from ingest.model import FeedEntry

NOW = datetime(2025, 1, 1, tzinfo=UTC)
URL = "https://news.example.com/story"
STORY = "".join(
    f"<p>Paragraph {n} of the story says something long enough, with commas, to be prose.</p>"
    for n in range(6)
)


def parsed(line: str) -> list[tuple[str | None, bool]]:
    out = []
    for mention in read_date_line(line):
        value = parse_date(mention.value, now=NOW)
        out.append((value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None, mention.updated))
    return out


@pytest.mark.parametrize(
    ("line", "dates"),
    [
        # A time without a zone is read as UTC: the page gives no better evidence.
        pytest.param(
            "Wednesday, 15 September, 2021 - 23:51",
            [("2021-09-15T23:51:00Z", False)],
            id="weekday-day-month-year-time",
        ),
        pytest.param(
            "Published 15 Sep 2021, 23:51 BST", [("2021-09-15T22:51:00Z", False)], id="bst"
        ),
        pytest.param(
            "Published 15 Sep 2021, 23:51 BST | Updated 16 Sep 2021, 08:00 BST",
            [("2021-09-15T22:51:00Z", False), ("2021-09-16T07:00:00Z", True)],
            id="published-and-updated",
        ),
        pytest.param(
            "Updated 3:04 PM ET, Wed September 15, 2021",
            [("2021-09-15T19:04:00Z", True)],
            id="time-before-date-et-summer",
        ),
        pytest.param(
            "January 5, 2022 at 9:30 a.m. ET", [("2022-01-05T14:30:00Z", False)], id="et-winter"
        ),
        pytest.param("15.09.2021, 14:30 Uhr", [("2021-09-15T14:30:00Z", False)], id="german"),
        pytest.param("15. September 2021", [("2021-09-15T00:00:00Z", False)], id="german-month"),
        pytest.param(
            "le 15 septembre 2021 à 23h51", [("2021-09-15T23:51:00Z", False)], id="french"
        ),
        pytest.param("15 de septiembre de 2021", [("2021-09-15T00:00:00Z", False)], id="spanish"),
        pytest.param("Posted on 2021-09-15", [("2021-09-15T00:00:00Z", False)], id="iso"),
        pytest.param(
            "Sept. 16, 2021 at 10:02 p.m. GMT+2", [("2021-09-16T20:02:00Z", False)], id="gmt-offset"
        ),
        pytest.param("13/04/2021 10:00", [("2021-04-13T10:00:00Z", False)], id="slashed-day-first"),
        pytest.param("03/04/2021", [], id="slashed-ambiguous"),
        pytest.param(
            "Price 2.50 on 15 Sep 2021 BY JANE",
            [("2021-09-15T00:00:00Z", False)],
            id="no-false-time-or-zone",
        ),
        pytest.param(
            "15 августа 2016, 13:43", [("2016-08-15T13:43:00Z", False)], id="russian-genitive"
        ),
        pytest.param(
            "15 сентября 2021 г. в 23:51", [("2021-09-15T23:51:00Z", False)], id="russian-year-mark"
        ),
        pytest.param("15 września 2021 r., 23:51", [("2021-09-15T23:51:00Z", False)], id="polish"),
        pytest.param("15 Eylül 2021 saat 23:51", [("2021-09-15T23:51:00Z", False)], id="turkish"),
        pytest.param(
            "15 settembre 2021 ore 23:51", [("2021-09-15T23:51:00Z", False)], id="italian"
        ),
        pytest.param(
            "15 de setembro de 2021 às 23h51", [("2021-09-15T23:51:00Z", False)], id="portuguese"
        ),
        pytest.param("15 okt. 2021 om 23:51", [("2021-10-15T23:51:00Z", False)], id="dutch-abbr"),
        pytest.param("19.2.2020 klo 14.00", [("2020-02-19T14:00:00Z", False)], id="finnish-klo"),
        pytest.param(
            "2021. szeptember 15. 23:51", [("2021-09-15T23:51:00Z", False)], id="hungarian"
        ),
        pytest.param(
            "2021年9月15日(水) 23時51分", [("2021-09-15T23:51:00Z", False)], id="japanese"
        ),
        pytest.param(
            "发布时间：2021年9月15日 23:51", [("2021-09-15T23:51:00Z", False)], id="chinese"
        ),
        pytest.param("2021년 9월 15일", [("2021-09-15T00:00:00Z", False)], id="korean"),
        pytest.param(
            "١٥ سبتمبر ٢٠٢١ 23:51", [("2021-09-15T23:51:00Z", False)], id="arabic-indic-digits"
        ),
        pytest.param("١٥ آب ٢٠٢١", [("2021-08-15T00:00:00Z", False)], id="arabic-levant-month"),
        pytest.param(
            "Mi., 15.09.2021, 23:51 MESZ", [("2021-09-15T21:51:00Z", False)], id="german-zone-name"
        ),
        pytest.param("The 1990s were a long time ago", [], id="no-date"),
        pytest.param("31 February 2021", [(None, False)], id="impossible-day"),
    ],
)
def test_read_date_line(line: str, dates: list[tuple[str | None, bool]]) -> None:
    assert parsed(line) == dates


def test_date_line_beside_headline_not_sidebar() -> None:
    html = (
        '<html lang="en"><body><div class="sidebar"><h3>Most read</h3>'
        '<div class="date">Monday, 13 September, 2021 - 08:00</div></div>'
        '<div class="node"><h1>Headline of the story here</h1>'
        '<div class="date">Wednesday, 15 September, 2021 - 23:51</div>'
        f'<div class="content">{STORY}</div></div></body></html>'
    )
    article = extract_article(html, URL, now=NOW)
    assert article.published_at == datetime(2021, 9, 15, 23, 51, tzinfo=UTC)
    assert article.published_raw == "Wednesday, 15 September, 2021 - 23:51"
    assert article.sources["published_at"] == "dom"
    assert "2021" not in article.text


def test_updated_time_element_is_not_the_publication_date() -> None:
    html = (
        '<html lang="en"><body><article><h1>Headline of the story here</h1>'
        '<p class="meta">Updated <time datetime="2021-09-16T09:00:00Z">16 Sep</time></p>'
        '<span class="pub"><time datetime="2021-09-15T09:00:00Z">15 Sep</time></span>'
        f"{STORY}</article></body></html>"
    )
    article = extract_article(html, URL, now=NOW)
    assert article.published_at == datetime(2021, 9, 15, 9, tzinfo=UTC)
    assert article.updated_at == datetime(2021, 9, 16, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "zone"),
    [
        pytest.param("https://www.zeitung.de/a", "Europe/Berlin", id="country-domain"),
        pytest.param("https://news.example.co.uk/a", "Europe/London", id="second-level"),
        pytest.param("https://elpais.com.uy/a", "America/Montevideo", id="com-country"),
        pytest.param("https://news.example.com/a", None, id="generic-domain"),
        pytest.param("https://www.example.com.br/a", None, id="several-zones"),
        pytest.param("file:///tmp/page.html", None, id="no-host"),
    ],
)
def test_country_zone_of_a_url(url: str, zone: str | None) -> None:
    found = zone_of_url(url)
    assert (str(found) if found else None) == zone


@pytest.mark.parametrize(
    ("head", "published"),
    [
        pytest.param("", "2021-09-15T23:51:00Z", id="no-zone-anywhere-utc"),
        pytest.param(
            '<meta property="article:modified_time" content="2021-09-16T08:00:00-04:00">',
            "2021-09-16T03:51:00Z",
            id="offset-of-the-page's-other-date",
        ),
    ],
)
def test_date_line_without_zone(head: str, published: str) -> None:
    html = (
        f'<html lang="en"><head>{head}</head><body><article><h1>Headline of the story here</h1>'
        f'<p class="date">15 September 2021, 23:51</p>{STORY}</article></body></html>'
    )
    article = extract_article(html, URL, now=NOW)
    assert article.published_at is not None
    assert article.published_at.strftime("%Y-%m-%dT%H:%M:%SZ") == published


@pytest.mark.parametrize(
    ("layout", "published"),
    [
        pytest.param(
            '<div class="site-content sidebar"><h1>Headline of the story here</h1>'
            '<time datetime="2021-09-15T23:51:00+02:00">15 Sep</time>{story}</div>',
            datetime(2021, 9, 15, 21, 51, tzinfo=UTC),
            id="block-around-headline-named-sidebar-is-the-article",
        ),
        pytest.param(
            '<div class="content-area"><h1>Headline of the story here</h1>{story}'
            '<div class="sidebar related"><time datetime="2021-09-01T08:00:00Z">1 Sep</time>'
            "</div></div>",
            None,
            id="sidebar-beside-headline-is-still-furniture",
        ),
    ],
)
def test_furniture_around_the_headline(layout: str, published: datetime | None) -> None:
    head = "<head><title>Headline of the story here</title></head>"
    html = (
        f'<html lang="en">{head}<body><article>{layout.format(story=STORY)}</article></body></html>'
    )
    assert extract_article(html, URL, now=NOW).published_at == published


def _page(head: str, line: str) -> str:
    return (
        f'<html lang="en"><head><title>Headline of the story here</title>{head}</head><body>'
        f'<article><h1>Headline of the story here</h1><p class="date">{line}</p>{STORY}'
        "</article></body></html>"
    )


@pytest.mark.parametrize(
    ("head", "line", "url", "published"),
    [
        pytest.param(
            "",
            "Updated June 13, 2019",
            URL,
            "2019-06-13T00:00:00Z",
            id="only-an-update-date-shown",
        ),
        pytest.param(
            '<meta property="article:published" itemprop="datePublished dateCreated"'
            ' content="2019-11-18T17:56:27.000Z">',
            "",
            "https://news.example.com/2019/11/18/story",
            "2019-11-18T17:56:27Z",
            id="meta-with-a-property-and-several-itemprops",
        ),
        pytest.param(
            "",
            '<time itemprop="dateCreated" class="entry-date updated"'
            ' datetime="2019-11-20T01:22:37-05:00"></time>'
            '<time itemprop="dateModified" class="entry-date updated"'
            ' datetime="2019-11-20T06:38:32-05:00">11/20/19 6:38 AM</time>',
            "https://news.example.com/2019/11/20/story",
            "2019-11-20T06:22:37Z",
            id="creation-itemprop-beats-an-updated-class",
        ),
        pytest.param(
            '<script type="application/ld+json">{"@type": "ClaimReview",'
            ' "datePublished": "2019-11-18T10:15:00+00:00"}</script>',
            "18 November 2019",
            URL,
            "2019-11-18T10:15:00Z",
            id="fact-check-claim-review",
        ),
        pytest.param(
            '<script type="application/ld+json">{"@type": "MedicalWebPage",'
            ' "datePublished": "2019-11-14T08:00:00.000Z"}</script>',
            "November 14, 2019",
            URL,
            "2019-11-14T08:00:00Z",
            id="medical-web-page",
        ),
        pytest.param(
            '<script type="application/ld+json">{"@graph": [{"@type": "WebPage",'
            ' "datePublished": "2018-09-15T10:15:48+02:00"}]}</script>'
            '<script type="application/ld+json">{"@type": "Article",'
            ' "datePublished": "2018-09-15"}</script>',
            "",
            URL,
            "2018-09-15T08:15:48Z",
            id="web-page-node-gives-the-time-of-the-articles-day",
        ),
        pytest.param(
            '<meta property="article:modified_time" content="2019-06-13T10:00:00Z">',
            "",
            "https://news.example.com/2019/06/10/story",
            "2019-06-10T00:00:00Z",
            id="url-day-before-modification-date",
        ),
        pytest.param(
            '<script type="application/ld+json">{"@type": "NewsArticle", '
            '"datePublished": "2021-09-03T08:00:00Z"}</script>'
            '<meta property="article:published_time" content="2021-09-06T10:00:00+02:00">',
            "6 September 2021",
            URL,
            "2021-09-06T08:00:00Z",
            id="structured-dates-disagree-the-shown-day-decides",
        ),
        pytest.param(
            '<script type="application/ld+json">{"@type": "NewsArticle", '
            '"datePublished": "2021-09-05T21:00:00-05:00"}</script>'
            '<meta property="article:published_time" content="2021-09-06T02:00:30Z">',
            "6 September 2021",
            URL,
            "2021-09-06T02:00:00Z",
            id="same-instant-in-two-zones-is-no-disagreement",
        ),
        pytest.param(
            '<meta name="publishdate" content="2021-09-15">',
            "15.09.2021, 23:51 Uhr",
            "https://www.zeitung.de/story",
            "2021-09-15T21:51:00Z",
            id="bare-day-takes-the-time-of-the-same-day-line",
        ),
        pytest.param(
            '<meta name="publishdate" content="2021-09-15">'
            '<meta property="article:modified_time" content="2021-09-15T12:00:00Z">',
            "",
            URL,
            "2021-09-15T00:00:00Z",
            id="bare-day-never-takes-a-modification-time",
        ),
        pytest.param(
            '<meta property="article:published_time" content="10/05/2022 05:22 pm">'
            '<meta property="article:modified_time" content="2022/05/10 17:36:11">',
            "",
            URL,
            "2022-05-10T17:22:00Z",
            id="slashed-date-read-as-the-page's-other-dates",
        ),
        pytest.param(
            '<meta property="article:published_time" content="05/10/2022 05:22 pm">'
            '<meta property="article:modified_time" content="2022-05-10T17:36:11Z">',
            "",
            URL,
            "2022-05-10T17:22:00Z",
            id="slashed-date-month-first",
        ),
    ],
)
def test_publication_choice(head: str, line: str, url: str, published: str) -> None:
    article = extract_article(_page(head, line), url, now=NOW)
    assert article.published_at is not None
    assert article.published_at.strftime("%Y-%m-%dT%H:%M:%SZ") == published


@pytest.mark.parametrize(
    ("tag", "zone"),
    [
        pytest.param("de", "Europe/Berlin", id="german"),
        pytest.param("ja-JP", "Asia/Tokyo", id="japanese-with-region"),
        pytest.param("zh_CN", "Asia/Shanghai", id="chinese-underscore"),
        pytest.param("es-ES", None, id="spanish-region-is-a-template-default"),
        pytest.param("en-GB", None, id="english-says-nothing"),
        pytest.param("", None, id="empty"),
    ],
)
def test_zone_of_a_language(tag: str, zone: str | None) -> None:
    found = zone_of_language(tag)
    assert (str(found) if found else None) == zone


@pytest.mark.parametrize(
    ("lang", "url", "published"),
    [
        pytest.param("de", URL, "2021-09-15T21:51:00Z", id="generic-domain-german-page"),
        pytest.param("es-ES", URL, "2021-09-15T23:51:00Z", id="generic-domain-spanish-page"),
        pytest.param(
            "en", "https://www.zeitung.de/story", "2021-09-15T21:51:00Z", id="domain-before-lang"
        ),
    ],
)
def test_zone_from_the_page_language(lang: str, url: str, published: str) -> None:
    html = (
        f'<html lang="{lang}"><body><article><h1>Headline of the story here</h1>'
        f'<p class="date">15.09.2021, 23:51 Uhr</p>{STORY}</article></body></html>'
    )
    article = extract_article(html, url, now=NOW)
    assert article.published_at is not None
    assert article.published_at.strftime("%Y-%m-%dT%H:%M:%SZ") == published


@pytest.mark.parametrize(
    ("markup", "published"),
    [
        pytest.param(
            '<span itemprop="datePublished">28. Dezember 2022</span>',
            "2022-12-28T00:00:00Z",
            id="microdata-date-in-german-words",
        ),
        pytest.param(
            '<time datetime="15. März 2021, 23:51">gestern</time>',
            "2021-03-15T23:51:00Z",
            id="time-attribute-in-words",
        ),
        pytest.param(
            '<time datetime="2021-09-15T23:51:00+02:00">15. September 2021</time>',
            "2021-09-15T21:51:00Z",
            id="iso-attribute-kept-with-its-zone",
        ),
    ],
)
def test_marked_up_dates_in_words(markup: str, published: str) -> None:
    # The markup sits below the article, out of reach of the date lines near the headline.
    html = (
        '<html lang="en"><body><article><h1>Headline of the story here</h1>'
        f"{STORY}<div>{markup}</div></article></body></html>"
    )
    article = extract_article(html, URL, now=NOW)
    assert article.published_at is not None
    assert article.published_at.strftime("%Y-%m-%dT%H:%M:%SZ") == published


LONG = " Und sie sprechen lange darüber, was damals geschah, und was es heute bedeutet." * 4


@pytest.mark.parametrize(
    ("article", "published"),
    [
        pytest.param(
            "<h1>Headline of the story here</h1>{story}"
            '<div class="sidebar"><p class="time"><time datetime="2022-01-28">28 Jan</time></p>'
            "</div>",
            datetime(2022, 1, 28, tzinfo=UTC),
            id="time-in-the-articles-side-column",
        ),
        pytest.param(
            "<h1>Headline of the story here</h1>{story}"
            '<div class="sidebar"><div class="related-posts"><time datetime="2022-01-02">2 Jan'
            "</time></div></div>",
            None,
            id="time-in-a-related-list-inside-the-side-column",
        ),
        pytest.param(
            "<div><h2>Headline of the story here</h2></div><div><p>Von Clara Linde</p>"
            "<p>27.1.2022 - Bei der Erinnerung an die Verfolgten kommen viele zusammen.{long}</p>"
            "{story}</div>",
            datetime(2022, 1, 27, tzinfo=UTC),
            id="date-opening-a-paragraph",
        ),
        pytest.param(
            "<h1>Headline of the story here</h1><p>Pressemitteilung vom 25. Januar 2022 | Berlin"
            " - Die künftige Zusammenarbeit wurde heute vereinbart.{long}</p>{story}",
            datetime(2022, 1, 25, tzinfo=UTC),
            id="labelled-date-opening-a-paragraph",
        ),
        pytest.param(
            "<h1>Headline of the story here</h1><p>Am 4. Februar 2022 erscheint das neue Album,"
            " sagt die Sängerin.{long}</p>{story}",
            None,
            id="date-inside-a-sentence-is-not-a-dateline",
        ),
        pytest.param(
            "<h1>Headline of the story here</h1>{story}<p>12.03.2020 war der Tag.{long}</p>",
            None,
            id="date-opening-a-late-paragraph",
        ),
    ],
)
def test_last_resort_dates(article: str, published: datetime | None) -> None:
    head = "<head><title>Headline of the story here</title></head>"
    # Paragraphs longer than a date line: only the new rules may read a date in them.
    body = f"<article>{article.format(story=STORY, long=LONG)}</article>"
    html = f'<html lang="de">{head}<body>{body}</body></html>'
    assert extract_article(html, URL, now=NOW).published_at == published


def test_a_feed_date_beats_a_date_opening_a_paragraph() -> None:
    body = (
        "<h1>Headline of the story here</h1><p>12.03.2020 - Damals begann es, sagen alle hier."
        f"{LONG}</p>{STORY}"
    )
    html = f"<html lang='de'><body><article>{body}</article></body></html>"
    entry = FeedEntry(
        guid="g", link=URL, title=None, summary=None, content=None,
        published_at=datetime(2022, 5, 1, 8, 0, tzinfo=UTC),
    )  # fmt: skip
    assert extract_article(html, URL, entry=entry, now=NOW).published_at == datetime(
        2022, 5, 1, 8, 0, tzinfo=UTC
    )
    assert extract_article(html, URL, now=NOW).published_at == datetime(2020, 3, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "published"),
    [
        pytest.param(
            '<header class="site-header"><div class="page-header"><h1>Headline of the story here'
            '<h4 class="author">am <time datetime="2020-02-23T10:07:02+01:00">23. Februar 2020'
            "</time></h4></h1></div></header>",
            datetime(2020, 2, 23, 9, 7, 2, tzinfo=UTC),
            id="date-in-the-headline-printed-in-the-page-header",
        ),
        pytest.param(
            '<header class="site-header"><div class="page-header"><h1>Site of the city'
            '<time datetime="2020-02-23T10:07:02+01:00">23. Februar 2020</time></h1></div>'
            "</header>",
            None,
            id="date-in-another-h1-of-the-page-header",
        ),
    ],
)
def test_dates_in_the_page_header(header: str, published: datetime | None) -> None:
    body = f"{header}<article><h1>Headline of the story here</h1>{STORY}</article>"
    html = f'<html lang="de"><head><title>Headline of the story here</title></head><body>{body}'
    assert extract_article(html + "</body></html>", URL, now=NOW).published_at == published
