"""Authors: credit lines cleaned into people, best source first, organisations as last resort."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.extract import extract_article
from ingest.extract.authors import clean_author_names

URL = "https://news.example.com/a/story"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
STORY = "".join(
    f"<p>Paragraph {n} of the story says something long enough, with commas, to be prose.</p>"
    for n in range(6)
)


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        pytest.param("By Jane Doe and John Roe", ["Jane Doe", "John Roe"], id="by-and"),
        pytest.param("By Jane Doe, Staff Writer", ["Jane Doe"], id="job-title"),
        pytest.param("Jane Doe Senior Correspondent", ["Jane Doe"], id="trailing-title"),
        pytest.param("Jane Doe | Updated 3 May 2021, 10:00", ["Jane Doe"], id="updated-date"),
        pytest.param("by Jane Doe jane.doe@example.com @janedoe", ["Jane Doe"], id="email-handle"),
        pytest.param("Jane Doe https://example.com/jane", ["Jane Doe"], id="url"),
        pytest.param(
            "Jane Doe, John Roe & Ann Lee, Associated Press",
            ["Jane Doe", "John Roe", "Ann Lee", "Associated Press"],
            id="list",
        ),
        pytest.param(
            "Von Max Mustermann und Erika Musterfrau",
            ["Max Mustermann", "Erika Musterfrau"],
            id="german",
        ),
        pytest.param("Par Jean Dupont et Marie Curie", ["Jean Dupont", "Marie Curie"], id="french"),
        pytest.param("بقلم: أحمد سالم", ["أحمد سالم"], id="arabic"),
        pytest.param("Автор: Иван Петров", ["Иван Петров"], id="russian"),
        pytest.param("Ursula von der Leyen", ["Ursula von der Leyen"], id="particles"),
        pytest.param("Posted by admin", [], id="admin"),
        pytest.param("Share on Facebook", [], id="not-a-name"),
        pytest.param("follow us on twitter", [], id="lowercase-words"),
        pytest.param("Published 15 Sep 2021", [], id="date-only"),
        pytest.param("VON MORITZ KELLER am 21. April 2020", ["MORITZ KELLER"], id="dated-tail"),
        pytest.param("Jane Doe Thursday, November 5", ["Jane Doe"], id="weekday-tail"),
        pytest.param("Interview: Julia Lauter", ["Julia Lauter"], id="interview-label"),
        pytest.param("Eingestellt von Der Michel", ["Der Michel"], id="blogger-posted-by"),
        pytest.param("Beitrag von", [], id="label-without-name"),
        pytest.param("No Author", [], id="no-author"),
        pytest.param("gizzmo", [], id="handle-not-in-free-text"),
        pytest.param("Perry Bacon Jr.", ["Perry Bacon Jr."], id="suffix-keeps-its-full-stop"),
        pytest.param("By Joe S.", ["Joe S."], id="final-initial-keeps-its-full-stop"),
        pytest.param("By Jane Doe.", ["Jane Doe"], id="sentence-full-stop-dropped"),
        pytest.param("Grant Tinsley, PhD", ["Grant Tinsley"], id="degree-is-no-name"),
        pytest.param("Jane Doe MD", ["Jane Doe"], id="trailing-degree"),
        pytest.param("Erstellt von Andri Bryner", ["Andri Bryner"], id="created-by-german"),
        pytest.param(
            "Ein Artikel von Pamela Sladky | 27.01.2022 - 12:45",
            ["Pamela Sladky"],
            id="an-article-by",
        ),
        pytest.param("Redaktion: Eberhard Fuhr", ["Eberhard Fuhr"], id="desk-label"),
        pytest.param("FOCUS-Online-Experte Robin Tschöpe", ["Robin Tschöpe"], id="leading-title"),
        pytest.param(
            "Christoph Hein Chefredakteur", ["Christoph Hein"], id="trailing-german-title"
        ),
        pytest.param(
            "Redacción Diario Pagina Siete", ["Redacción Diario Pagina Siete"], id="desk-kept-whole"
        ),
        pytest.param(
            "Christian Seiler Illustration von Markus Roost",
            ["Christian Seiler"],
            id="illustrator-is-no-author",
        ),
        pytest.param("Foto: Ingo Schneider", [], id="photo-credit-is-no-author"),
        pytest.param(
            "Glen Owen And Brendan Carlin For The Mail On Sunday",
            ["Glen Owen", "Brendan Carlin"],
            id="employer-tail",
        ),
        pytest.param(
            "Analysis by Chris Cillizza, CNN Editor-at-large",
            ["Chris Cillizza", "CNN"],
            id="analysis-by-and-a-hyphenated-title",
        ),
        pytest.param("Текст: Лида Буслаева", ["Лида Буслаева"], id="russian-text-label"),
        pytest.param(
            "Finian Cunningham. Sputnik International",
            ["Finian Cunningham", "Sputnik International"],
            id="full-stop-between-credits",
        ),
        pytest.param("NH. Shear", ["NH. Shear"], id="initials-keep-their-full-stop"),
        pytest.param("Dr. Jane Doe", ["Dr. Jane Doe"], id="title-keeps-its-full-stop"),
        pytest.param("Mehr", [], id="more-link-is-no-name"),
        pytest.param("Auteur(s) :", [], id="plural-label-alone"),
        pytest.param("Von Jane Roe, dpa", ["Jane Roe", "dpa"], id="agency-after-a-comma"),
        pytest.param("Max Muster/SDA", ["Max Muster", "SDA"], id="agency-after-a-slash"),
        pytest.param("Jane Roe (AFP)", ["Jane Roe", "AFP"], id="agency-in-brackets"),
        pytest.param("Jane Doe (Berlin)", [], id="bracketed-place-is-no-agency"),
        pytest.param("Von Jane Roe mit dpa", ["Jane Roe", "dpa"], id="agency-with-mit"),
        pytest.param("Im Gespräch mit Karin Fischer", [], id="with-a-person-is-no-credit-list"),
        pytest.param("Par Claire Dubois avec AFP", ["Claire Dubois", "AFP"], id="agency-with-avec"),
        pytest.param("epd", ["epd"], id="agency-alone-in-its-own-spelling"),
        pytest.param("Por María López | EFE", ["María López", "EFE"], id="agency-spanish"),
        pytest.param("김민준 기자", ["김민준"], id="korean-reporter"),
        pytest.param("(서울=연합뉴스) 김민준 기자 =", ["김민준"], id="korean-agency-dateline"),
        pytest.param("워싱턴=이수진 특파원", ["이수진"], id="korean-correspondent-and-place"),
        pytest.param(
            "김민준·이수진 기자 minjun@example.com", ["김민준", "이수진"], id="korean-two-reporters"
        ),
        pytest.param("山田太郎記者", ["山田太郎"], id="japanese-reporter-written-on"),
        pytest.param("（ワシントン＝山田太郎）", ["山田太郎"], id="japanese-place-and-reporter"),
        pytest.param(
            "この記事を書いた人 山田 花子 編集部 記者 フォロー する",
            ["山田 花子"],
            id="japanese-profile-box",
        ),
        pytest.param("新华社记者 张三 李四", ["张三", "李四"], id="chinese-agency-reporters"),
        pytest.param("本报记者张三", ["张三"], id="chinese-own-reporter-written-on"),
        pytest.param("张三、李四", ["张三", "李四"], id="chinese-enumeration-comma"),
        pytest.param("陳小明 編輯", ["陳小明"], id="chinese-traditional-editor"),
        pytest.param("社会部 山田太郎記者", ["山田太郎"], id="japanese-desk-before-reporter"),
        pytest.param("사회부 김민준 기자", ["김민준"], id="korean-desk-before-reporter"),
        pytest.param("阿部 真理子", ["阿部 真理子"], id="japanese-surname-ending-in-desk-char"),
        pytest.param(
            "时事评论员认为这项政策将在明年全面推开", [], id="chinese-sentence-is-no-name"
        ),
        pytest.param("Jane Roe Redaktion", ["Jane Roe"], id="desk-after-a-name"),
        pytest.param("Redaktion", ["Redaktion"], id="desk-alone-kept-for-the-outlet"),
        pytest.param("N-Land Redaktion", ["N-Land Redaktion"], id="desk-after-an-outlet"),
        pytest.param("Muhabir Ahmet Yılmaz", ["Ahmet Yılmaz"], id="turkish-leading-title"),
        pytest.param("Ahmet Yılmaz, Muhabir", ["Ahmet Yılmaz"], id="turkish-trailing-title"),
        pytest.param("Frankfurt, Germany", [], id="place-and-country"),
        pytest.param("Kirche und Leben, Münster, Germany", [], id="publisher-address-is-no-name"),
        pytest.param("Agenturen", [], id="agencies-word-german"),
        pytest.param("Nachrichtenagentur", [], id="news-agency-word"),
        pytest.param("Bild © ARD", [], id="picture-copyright"),
        pytest.param("Jane Doe | Bild © ARD", ["Jane Doe"], id="picture-copyright-after-name"),
        pytest.param("Fotoğraf: AA", [], id="turkish-photo-credit"),
        pytest.param("김민준 기자 사진=연합뉴스", ["김민준"], id="korean-photo-credit"),
    ],
)
def test_clean_author_names(raw: str, names: list[str]) -> None:
    assert clean_author_names(raw) == names


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        pytest.param("gizzmo", ["gizzmo"], id="user-name"),
        pytest.param("christian.stadtfeld", ["christian.stadtfeld"], id="dotted-user-name"),
        pytest.param("kath.net", [], id="domain"),
        pytest.param("wordpressadmin", [], id="admin-account"),
        pytest.param("von", [], id="function-word"),
    ],
)
def test_author_links_may_show_user_names(raw: str, names: list[str]) -> None:
    assert clean_author_names(raw, handles=True) == names


def page(head: str = "", byline: str = "") -> str:
    return (
        f'<html lang="en"><head>{head}</head><body><article><h1>Headline of the story</h1>'
        f"{byline}{STORY}</article>"
        '<section class="comments"><span class="author">Commenter Name</span><p>Nice.</p></section>'
        "</body></html>"
    )


def ld_author(value: str) -> str:
    return (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Headline of the '
        f'story", "author": {value}}}</script>'
    )


@pytest.mark.parametrize(
    ("head", "byline", "authors", "source"),
    [
        pytest.param(
            ld_author('[{"@type": "Person", "name": "Ada Byron"}, "Alan Turing"]'),
            '<p class="byline">By Someone Else</p>',
            ["Ada Byron", "Alan Turing"],
            "jsonld",
            id="jsonld-first",
        ),
        pytest.param(
            ld_author('{"@type": "Organization", "name": "Example Wire"}')
            + '<meta name="author" content="Grace Hopper">',
            "",
            ["Grace Hopper"],
            "meta",
            id="person-beats-organisation",
        ),
        pytest.param(
            ld_author('{"@type": "NewsMediaOrganization", "name": "Example Wire"}'),
            "",
            ["Example Wire"],
            "jsonld",
            id="organisation-when-alone",
        ),
        pytest.param(
            '<meta property="article:author" content="https://facebook.com/someone">',
            '<span itemprop="author" itemscope><span itemprop="name">Linus Pauling</span></span>',
            ["Linus Pauling"],
            "dom",
            id="url-meta-ignored-itemprop",
        ),
        pytest.param(
            "",
            '<div class="byline">By <a rel="author" href="/a">Rosalind Franklin</a>'
            ' and <a rel="author" href="/b">Max Perutz</a></div>',
            ["Rosalind Franklin", "Max Perutz"],
            "dom",
            id="rel-author-links",
        ),
        pytest.param(
            '<meta name="author" content="JANE DOE"><meta name="author" content="jane doe">',
            "",
            ["JANE DOE"],
            "meta",
            id="dedupe-case-insensitive",
        ),
        pytest.param(
            '<meta property="og:site_name" content="Example News">'
            '<meta name="author" content="Example News">',
            "",
            ["Example News"],
            "meta",
            id="site-as-only-credit",
        ),
        pytest.param(
            '<meta name="author" content="Troy L. Smith, Cleveland.com">',
            "",
            ["Troy L. Smith"],
            "meta",
            id="domain-beside-a-person-is-the-outlet",
        ),
        pytest.param(
            '<meta property="og:site_name" content="CNN">'
            '<meta name="author" content="Jill Disis, CNN Business">',
            "",
            ["Jill Disis"],
            "meta",
            id="desk-of-the-site-beside-a-person",
        ),
        pytest.param(
            '<meta name="author" content="Jane Doe. The Guardian">',
            "",
            ["Jane Doe"],
            "meta",
            id="outlet-named-with-an-article",
        ),
        pytest.param(
            ld_author('{"@type": "Person", "name": "Jane Roe"}'),
            '<p class="byline">Von Jane Roe, dpa</p>',
            ["Jane Roe", "dpa"],
            "jsonld",
            id="agency-beside-the-person-the-byline-shows",
        ),
        pytest.param(
            ld_author(
                '[{"@type": "Person", "name": "Jane Roe"}, {"@type": "Organization", '
                '"name": "AFP"}]'
            ),
            "",
            ["Jane Roe", "AFP"],
            "jsonld",
            id="agency-organisation-after-the-person",
        ),
        pytest.param(
            ld_author('{"@type": "Organization", "name": "Example Wire"}'),
            '<p class="byline">Reuters</p>',
            ["Reuters"],
            "dom",
            id="agency-alone-before-an-organisation",
        ),
        pytest.param(
            '<meta name="author" content="dpa">',
            '<p class="byline">By Jane Roe</p>',
            ["Jane Roe"],
            "dom",
            id="person-over-an-agency-elsewhere",
        ),
        pytest.param(
            '<meta name="author" content="Redaktion">',
            '<p class="byline">Jane Roe, Redaktion</p>',
            ["Jane Roe"],
            "dom",
            id="person-over-the-desk",
        ),
        pytest.param(
            '<meta name="author" content="Redaktion">',
            "",
            ["Redaktion"],
            "meta",
            id="desk-when-no-person",
        ),
        pytest.param(
            '<meta name="author" content="Frankfurt, Germany">',
            '<p class="byline">By Jane Roe</p>',
            ["Jane Roe"],
            "dom",
            id="dateline-meta-is-no-author",
        ),
        pytest.param(
            "",
            '<figure><img src="a.jpg"><p class="byline">Bild: Max Muster</p></figure>'
            '<p class="byline">By Jane Roe</p>',
            ["Jane Roe"],
            "dom",
            id="byline-in-a-figure-credits-the-picture",
        ),
        pytest.param("", "", [], None, id="none-not-commenters"),
    ],
)
def test_author_sources(head: str, byline: str, authors: list[str], source: str | None) -> None:
    article = extract_article(page(head, byline), URL, now=NOW)
    assert article.authors == authors
    assert article.sources.get("authors") == source


def test_byline_is_not_repeated_in_the_text() -> None:
    article = extract_article(page("", "<p>By Jane Doe and John Roe</p>"), URL, now=NOW)
    assert article.authors == ["Jane Doe", "John Roe"]
    assert "Jane Doe" not in article.text


@pytest.mark.parametrize(
    ("article", "authors"),
    [
        pytest.param(
            '<div class="head"><h1>Headline of the story</h1></div>'
            '<div class="meta"><span class="icon"></span><span> von Andreas Kurz </span></div>',
            ["Andreas Kurz"],
            id="by-line-in-the-block-after-the-headline",
        ),
        pytest.param(
            '<header><div><h1>Headline of the story</h1></div><div class="sub"></div></header>'
            '<div class="info">Ein Artikel von <strong>Pia Stern</strong> | 27.01.2022</div>',
            ["Pia Stern"],
            id="by-line-two-levels-up",
        ),
        pytest.param(
            '<h1>Headline of the story</h1><p class="autorenzeile">Volkmar Kabisch, NDR</p>',
            ["Volkmar Kabisch"],
            id="german-byline-class",
        ),
        pytest.param(
            '<h1>Headline of the story</h1><div class="info"><h5>Datum: </h5>03.11.2021<br>'
            "<h5>Autor: </h5>Peter Maahn/SP-X</div>",
            ["Peter Maahn"],
            id="label-element-then-name",
        ),
        pytest.param(
            "<h1>Headline of the story</h1><p><strong>Text:</strong> Klaus Friedrich</p>",
            ["Klaus Friedrich"],
            id="bold-label-then-name",
        ),
        pytest.param(
            '<h1>Headline of the story</h1><div class="author-date-block">'
            '<span class="label">Autor:</span> Fritz Imhof<br><span class="label">Datum:</span>'
            ' 3. Mai<br><span class="label">Quelle:</span> Livenet</div>',
            ["Fritz Imhof"],
            id="labels-in-a-byline-block-are-no-names",
        ),
        pytest.param(
            '<h1>Headline of the story</h1><div class="meta">'
            '<span class="articleAuthorDateBlockLabel">Autor:</span> Fritz Imhof<br>'
            '<span class="articleAuthorDateBlockLabel">Datum:</span> 3. Mai</div>',
            ["Fritz Imhof"],
            id="label-elements-named-as-bylines-are-no-names",
        ),
        pytest.param(
            '<h1>Headline of the story</h1><p class="summary">A summary of the news.'
            '<span class="credit">By U.S. Customs and Border Protection</span></p>',
            [],
            id="media-credit-is-no-by-line",
        ),
        pytest.param(
            '<h1>Headline of the story</h1><div class="teaser"><p>Von Berlin nach Hamburg in'
            " 90 Minuten: die neue Strecke</p></div>",
            [],
            id="sentence-starting-with-von-is-no-by-line",
        ),
        pytest.param(
            "<h1>Headline of the story</h1><p>Auteur : Kossi Amegan</p>",
            ["Kossi Amegan"],
            id="label-and-name-on-a-line-of-their-own",
        ),
        pytest.param(
            "<h1>Headline of the story</h1><p>Autor: Das sagt die Studie über Mieten in "
            "Großstädten und was daraus folgt</p>",
            [],
            id="label-before-a-sentence-is-no-credit",
        ),
    ],
)
def test_by_lines_near_the_headline(article: str, authors: list[str]) -> None:
    html = f'<html lang="de"><body><article>{article}{STORY}</article></body></html>'
    assert extract_article(html, URL, now=NOW).authors == authors


@pytest.mark.parametrize(
    ("tail", "authors"),
    [
        pytest.param(
            '<div class="edit">(责编：张三、李四)</div>', ["张三", "李四"], id="short-label"
        ),
        pytest.param("<p>责任编辑：<b>王五</b></p>", ["王五"], id="long-label-name-in-markup"),
        pytest.param("<p>本文编辑部整理</p>", [], id="no-credit"),
    ],
)
def test_chinese_editors_are_credited(tail: str, authors: list[str]) -> None:
    story = "".join(
        f"<p>这是新闻的第{n}段，内容足够长，可以算作正文的一部分。</p>" for n in range(6)
    )
    html = (
        '<html lang="zh-CN"><head><title>新闻</title></head><body><article>'
        f"<h1>市政府发布新版公交线路规划</h1>{story}{tail}</article></body></html>"
    )
    assert extract_article(html, URL, now=NOW).authors == authors


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        pytest.param("华中通讯社记者 刘洋", ["刘洋"], id="chinese-reporter"),
        pytest.param("김민준 기자", ["김민준"], id="korean-reporter"),
        pytest.param("来源：华中在线", [], id="chinese-source-is-no-by-line"),
    ],
)
def test_cjk_by_line_after_the_headline(line: str, authors: list[str]) -> None:
    story = "".join(
        f"<p>这是新闻的第{n}段，内容足够长，可以算作正文的一部分，记录了当天发生的事情。</p>"
        for n in range(5)
    )
    html = (
        '<html lang="zh"><body><article><h1>市政府发布新版公交线路规划</h1>'
        f'<div class="source">{line}</div><div class="article-content">{story}</div>'
        "</article></body></html>"
    )
    article = extract_article(html, URL, now=NOW)
    assert article.authors == authors
    assert line not in article.text
