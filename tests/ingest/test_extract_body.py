"""Main text: furniture removal, container choice, JSON-LD reconciliation, fallbacks, bounds."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.errors import ExtractError
from ingest.extract import extract_article, html_to_text
from ingest.extract.boilerplate import furniture_kind
from ingest.extract.document import parse_document
from ingest.extract.reconcile import reconcile_with_jsonld
from ingest.model import FeedEntry

ROOT = Path(__file__).resolve().parents[2]
URL = "https://news.example.com/story"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
PARAGRAPHS = [
    f"Paragraph {word} of the story says something long enough, with commas, to be prose."
    for word in ("one", "two", "three", "four", "five", "six")
]
STORY = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def text_of(body: str, head: str = "") -> str:
    html = f'<html lang="en"><head>{head}</head><body>{body}</body></html>'
    return extract_article(html, URL, now=NOW).text


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("Plain &amp; simple\n\nSecond paragraph", "Plain & simple\n\nSecond paragraph"),
        ("<div>Line<br>break</div>", "Line\n\nbreak"),
        ("<ul><li>first</li><li>second</li></ul>", "first\n\nsecond"),
        ("<p>Hello <script>alert(1)</script>world <style>p{}</style></p>", "Hello world"),
        ("<p>\x00bad\x07 chars\u200b here</p>", "bad chars here"),
        ("<pre>def f():\n    return 1</pre>", "def f():\n    return 1"),
        ("<p>Tom &amp; Jerry &lt;3</p>", "Tom & Jerry <3"),
        ("<p>  spaced \n\t out  </p>", "spaced out"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_html_to_text(fragment: str, text: str) -> None:
    assert html_to_text(fragment) == text


@pytest.mark.parametrize(
    ("html", "kind"),
    [
        ('<div class="article__share-bar">x</div>', "share"),
        ('<div class="socialShareButtons">x</div>', "share"),
        ('<section class="most-read">x</section>', "related"),
        ('<div id="newsletter-signup">x</div>', "newsletter"),
        ('<div id="disqus_thread">x</div>', "comments"),
        ('<div class="cookie-banner">x</div>', "consent"),
        ('<div class="ad-slot">x</div>', "ad"),
        ('<ol class="breadcrumbs">x</ol>', "breadcrumb"),
        ('<div class="image-caption">x</div>', "caption"),
        ("<figcaption>x</figcaption>", "caption"),
        pytest.param('<p class="bildunterschrift">x</p>', "caption", id="caption-german"),
        pytest.param('<span class="legende">x</span>', "caption", id="caption-french"),
        pytest.param('<div class="pie-foto">x</div>', "caption", id="caption-spanish"),
        pytest.param('<p class="foto-legenda">x</p>', "caption", id="caption-portuguese"),
        pytest.param('<div class="photo-gallery">x</div>', "gallery", id="gallery"),
        pytest.param('<div class="bildergalerie">x</div>', "gallery", id="gallery-german"),
        pytest.param('<div class="owl-carousel">x</div>', None, id="carousel-may-hold-content"),
        ('<div aria-label="Related stories">x</div>', "related"),
        ('<div data-component="share-tools">x</div>', "share"),
        ('<div role="navigation">x</div>', "navigation"),
        ('<div style="display: none">x</div>', "hidden"),
        ("<div hidden>x</div>", "hidden"),
        ('<div class="sr-only">x</div>', "hidden"),
        ('<div class="story-body">x</div>', None),
        ('<article class="post category-comment tag-social">x</article>', None),
        ('<div class="content has-sidebar">x</div>', None),
        ('<div class="loader-head">x</div>', None),
        ('<span aria-hidden="true">T</span>', None),
    ],
)
def test_furniture_kind(html: str, kind: str | None) -> None:
    element = lxml.html.fragment_fromstring(html)
    found = furniture_kind(element)
    assert (found[0] if found else None) == kind


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        (False, ("navigation", True)),
        # Inside the article, a block named only as a header heads the story: a small kind
        # its other names give still counts.
        (True, ("share", False)),
    ],
)
def test_furniture_kind_of_a_story_header(headers: bool, kind: tuple[str, bool]) -> None:
    article = lxml.html.fragment_fromstring(
        '<article><div class="node-header share-tools">x</div></article>'
    )
    assert furniture_kind(article[0], headers=headers) == kind


def test_furniture_kind_is_the_same_when_asked_again() -> None:
    # The kinds of a set of names are cached: a second element with the same names, in a
    # different place, is still judged by its own place.
    page = lxml.html.fragment_fromstring(
        '<div><div class="node-header">a</div><article><div class="node-header">b</div>'
        "</article></div>"
    )
    outside, inside = page[0], page[1][0]
    assert furniture_kind(outside, headers=True) == ("navigation", True)
    assert furniture_kind(inside, headers=True) is None
    assert furniture_kind(outside, headers=True) == ("navigation", True)


def test_parsed_elements_all_have_the_html_methods() -> None:
    # One element class for every tag (no FormElement, InputElement...): what the extractor
    # calls (text_content, drop_tree, drop_tag) must work on a form as on a div.
    root = parse_document(
        '<html><body><form><label>Search</label><input name="q"><select><option>o</option>'
        "</select></form><div>text</div></body></html>"
    )
    assert {type(el) for el in root.iter()} == {lxml.html.HtmlElement}
    form = root.find(".//form")
    assert form is not None
    assert form.text_content() == "Searcho"
    form.drop_tree()
    assert root.text_content() == "text"


def test_headline_repeated_in_the_text_is_dropped_only_near_the_top() -> None:
    title = "A headline that the page repeats"
    body = f"<p>{title}</p>{STORY}<p>{title}</p>"
    assert text_of(body, f"<title>{title}</title>") == "\n\n".join([*PARAGRAPHS, title])


def test_story_inside_misnamed_wrapper_survives() -> None:
    body = (
        '<div class="page-with-sidebar wrapper-related"><div class="main">'
        f"<h1>Headline of the story</h1>{STORY}</div>"
        '<div class="sidebar"><p>Sidebar text long enough to be mistaken for prose.</p></div>'
        "</div>"
    )
    assert text_of(body) == "\n\n".join(PARAGRAPHS)


def test_furniture_inside_the_story_is_removed() -> None:
    body = (
        "<article><h1>Headline of the story</h1>"
        '<div class="share-tools"><a href="#">Share on Facebook</a></div>'
        f"{STORY[:200]}"
        '<figure><img src="x.jpg"><figcaption>A caption, Photo: Agency</figcaption></figure>'
        '<ul><li><a href="/1">Another headline elsewhere</a></li><li><a href="/2">And one more'
        "</a></li></ul>"
        f"{STORY[200:]}"
        '<div class="newsletter">Sign up for our newsletter</div></article>'
    )
    text = text_of(body)
    for furniture in ("Share on", "caption", "Another headline", "Sign up", "Headline of"):
        assert furniture not in text
    assert text.startswith(PARAGRAPHS[0]) and text.endswith(PARAGRAPHS[-1])


def test_best_container_wins_over_boilerplate_rich_blocks() -> None:
    teasers = "".join(
        f'<div class="teaser"><a href="/{n}">Teaser headline number {n} that links away</a></div>'
        for n in range(30)
    )
    body = f"<div>{teasers}</div><div class='entry'>{STORY}</div><div>{teasers}</div>"
    assert text_of(body) == "\n\n".join(PARAGRAPHS)


def test_output_has_no_markup_or_control_characters() -> None:
    odd = "<p>Bad \x01 bytes &lt;b&gt;escaped&lt;/b&gt; and <i>tags</i>.</p>"
    body = f"<article>{odd}{STORY}</article>"
    text = text_of(body)
    assert not CONTROL.search(text)
    assert "<i>" not in text and "Bad bytes <b>escaped</b> and tags." in text


FULL = " ".join(PARAGRAPHS)


@pytest.mark.parametrize(
    ("paragraphs", "article_body", "expected", "source"),
    [
        pytest.param(PARAGRAPHS, FULL, PARAGRAPHS, "dom", id="agree-keep-dom-breaks"),
        pytest.param(
            [*PARAGRAPHS[:3], "Advertisement: buy our fine products today, now!", *PARAGRAPHS[3:]],
            FULL,
            PARAGRAPHS,
            "jsonld",
            id="filter-dom-leftovers",
        ),
        pytest.param(
            PARAGRAPHS,
            " ".join(PARAGRAPHS[:2]) + " And the …",
            PARAGRAPHS,
            "dom",
            id="ellipsis-truncated",
        ),
        pytest.param(
            PARAGRAPHS, " ".join(PARAGRAPHS[:2]), PARAGRAPHS, "dom", id="prefix-truncated"
        ),
        pytest.param(
            ["Subscribe to read this article."],
            "\n".join(PARAGRAPHS),
            PARAGRAPHS,
            "jsonld",
            id="dom-missed-the-story",
        ),
        pytest.param(PARAGRAPHS, "Too short.", PARAGRAPHS, "dom", id="short-jsonld-ignored"),
        pytest.param(PARAGRAPHS, None, PARAGRAPHS, "dom", id="no-jsonld"),
    ],
)
def test_reconcile_with_jsonld(
    paragraphs: list[str], article_body: str | None, expected: list[str], source: str
) -> None:
    assert reconcile_with_jsonld(paragraphs, article_body) == (expected, source)


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("", id="empty"),
        pytest.param("   \n ", id="blank"),
        pytest.param(
            "<html><head><title>x</title></head><body><nav>Menu</nav></body></html>", id="no-text"
        ),
    ],
)
def test_page_without_text_raises(html: str) -> None:
    with pytest.raises(ExtractError):
        extract_article(html, URL, now=NOW)


def test_not_http_url_raises() -> None:
    with pytest.raises(ExtractError):
        extract_article(f"<p>{STORY}</p>", "ftp://example.com/a", now=NOW)


def entry(content: str | None, summary: str | None = None) -> FeedEntry:
    return FeedEntry(guid="1", link=URL, title="T", summary=summary, content=content)


def test_feed_content_when_page_has_no_text() -> None:
    html = "<html><body><div id='app'></div></body></html>"
    article = extract_article(html, URL, entry=entry(f"<div>{STORY}</div>"), now=NOW)
    assert article.text == "\n\n".join(PARAGRAPHS)
    assert article.sources["text"] == "feed"


def test_feed_summary_when_page_text_is_a_stub() -> None:
    html = "<html><body><p>Please enable cookies.</p></body></html>"
    article = extract_article(html, URL, entry=entry(None, " ".join(PARAGRAPHS)), now=NOW)
    assert article.text == " ".join(PARAGRAPHS)


PATHOLOGICAL = {
    "deep-nesting": "<div>" * 10_000 + "<p>deep</p>" + "</div>" * 10_000,
    "huge-paragraph": "<article><p>" + "word, " * 850_000 + "</p></article>",
    "many-links": "".join(f'<a href="/l{n}">link {n}</a> ' for n in range(50_000)) + STORY,
    "many-list-links": "<ul>"
    + "".join(f'<li><a href="/l{n}">link {n}</a></li>' for n in range(50_000))
    + f"</ul>{STORY}",
    "many-date-lines": "<h1>Headline of the story</h1>"
    + '<div class="date">15 September 2021 23:51</div>' * 20_000
    + STORY,
    # Every fallback that walks up from an element (bylines and dates beside the article,
    # furniture checks) meets a deep tree and thousands of candidates.
    "deep-byline-and-dates": "<div>" * 5_000
    + '<a rel="author" href="/a">Jane Doe</a><time datetime="2021-09-15T10:00:00Z">x</time>'
    + STORY
    + "</div>" * 5_000
    + '<span class="post-date">15 September 2021</span>' * 5_000
    + '<a rel="author" href="/b">John Roe</a>' * 5_000,
    "many-headers-and-kickers": "<article>"
    + '<header class="entry-header"><h1><span class="kicker">K</span> Title</h1></header>' * 5_000
    + f"{STORY}</article>",
}
MAX_SECONDS = 2.0
MAX_RSS_BYTES = 500 * 1024 * 1024
# Extracts the page files named on the command line, then prints the process's peak RSS.
RSS_PROBE = """
import contextlib, resource, sys
from datetime import UTC, datetime
from ingest.errors import ExtractError
from ingest.extract import extract_article
for path in sys.argv[1:]:
    with open(path, "rb") as handle, contextlib.suppress(ExtractError):
        extract_article(handle.read(), "https://news.example.com/story",
                        now=datetime(2025, 1, 1, tzinfo=UTC))
try:  # Linux: this process's own high-water mark (getrusage keeps the forking parent's)
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    print(int(line.split()[1]) * 1024)
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(peak if sys.platform == "darwin" else peak * 1024)
"""


def pathological_page(name: str) -> bytes:
    return f"<html><body>{PATHOLOGICAL[name]}</body></html>".encode()


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_pathological_pages_finish_quickly(name: str) -> None:
    html = pathological_page(name)
    # CPU time of this process: what the page costs, whatever else the machine is running.
    started = time.process_time()
    with contextlib.suppress(ExtractError):  # giving up cleanly is fine; hanging is not
        extract_article(html, URL, now=NOW)
    assert time.process_time() - started < MAX_SECONDS


def test_pathological_pages_stay_under_the_memory_cap(tmp_path: Path) -> None:
    # Peak RSS of a fresh interpreter per page, so libxml2's own allocations (which
    # tracemalloc cannot see) count too; the pages run side by side to keep the test short.
    probes = {}
    for name in PATHOLOGICAL:
        path = tmp_path / f"{name}.html"
        path.write_bytes(pathological_page(name))
        command = [sys.executable, "-c", RSS_PROBE, str(path)]
        probes[name] = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    peaks = {}
    for name, probe in probes.items():
        out, _ = probe.communicate(timeout=120)
        assert probe.returncode == 0, f"{name}: the probe failed"
        peaks[name] = int(out.strip().splitlines()[-1])
    too_big = {
        name: f"{peak / 2**20:.0f} MiB"
        for name, peak in peaks.items()
        if not 0 < peak < MAX_RSS_BYTES
    }
    assert not too_big, too_big


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["p", "div", "li", "td", "span", "pre"]))
def test_any_text_extracts_or_raises_extract_error(text: str, tag: str) -> None:
    html = f"<html><body><article><{tag}>{text}</{tag}>{STORY}</article></body></html>"
    article = extract_article(html, URL, now=NOW)
    assert not CONTROL.search(article.text)
    assert PARAGRAPHS[-1] in article.text


def test_trailing_related_zone_and_widget_labels_are_cut() -> None:
    first, rest = (
        "".join(f"<p>{p}</p>" for p in PARAGRAPHS[:3]),
        "".join(f"<p>{p}</p>" for p in PARAGRAPHS[3:]),
    )
    body = (
        f"<article>{first}<p>Advertisement</p><p>Read also:</p><p>Another story elsewhere</p>"
        f"{rest}<h3>You may also like</h3><p>{PARAGRAPHS[0]} Teaser copy.</p>"
        "<h3>Comments</h3><p>First comment, long enough to look like a real paragraph.</p>"
        "</article>"
    )
    assert text_of(body) == "\n\n".join(PARAGRAPHS)


def test_related_heading_early_in_the_text_does_not_end_it() -> None:
    rest = "".join(f"<p>{p}</p>" for p in PARAGRAPHS[1:])
    body = f"<article><p>{PARAGRAPHS[0]}</p><h2>Comments</h2>{rest}</article>"
    assert text_of(body) == "\n\n".join([PARAGRAPHS[0], "Comments", *PARAGRAPHS[1:]])


def test_story_wrapped_in_furniture_is_read_in_a_second_pass() -> None:
    # Each half of the story sits in a box with an unlucky name, and neither holds most of
    # the page: setting both aside leaves nothing, so the page is read again without them.
    halves = ["".join(f"<p>{p}</p>" for p in part) for part in (PARAGRAPHS[:3], PARAGRAPHS[3:])]
    body = "".join(f'<div class="social-post-body">{half}</div>' for half in halves)
    assert text_of(body) == "\n\n".join(PARAGRAPHS)


def test_first_sentence_starting_with_by_is_kept() -> None:
    first = "By the time the fire was out, the old mill had burned to the ground."
    body = f"<article><h1>Fire at the mill</h1><p>{first}</p>{STORY}</article>"
    assert text_of(body).startswith(first)


@pytest.mark.parametrize(
    ("top", "kept"),
    [
        pytest.param(
            "<p class='teaser'>The council has approved the new budget for the harbour bridge "
            "after a debate that lasted well into the night.</p>"
            "<p>The council has approved the new budget for the harbour bridge after a debate "
            "that lasted well into the night, the mayor said on Tuesday.</p>",
            [
                "The council has approved the new budget for the harbour bridge after a debate "
                "that "
                "lasted well into the night, the mayor said on Tuesday."
            ],
            id="teaser-repeated-by-the-opening-goes",
        ),
        pytest.param(
            "<p>Bridge budget approved after long night</p><p>The council has approved the "
            "budget for the harbour bridge after a long night of debate, the mayor said.</p>",
            [
                "Bridge budget approved after long night",
                "The council has approved the budget "
                "for the harbour bridge after a long night of debate, the mayor said.",
            ],
            id="short-subtitle-echoing-the-opening-stays",
        ),
        pytest.param(
            "<h2>The council has approved the new budget for the harbour bridge after a debate "
            "that lasted well into the night.</h2><p>The council has approved the new budget for"
            " the harbour bridge after a debate that lasted well into the night, the mayor "
            "said.</p>",
            [
                "The council has approved the new budget for the harbour bridge after a debate "
                "that "
                "lasted well into the night.",
                "The council has approved the new budget for the "
                "harbour bridge after a debate that lasted well into the night, the mayor said.",
            ],
            id="deck-heading-stays",
        ),
    ],
)
def test_teaser_repeated_by_the_opening(top: str, kept: list[str]) -> None:
    text = text_of(f"<article><h1>Bridge budget</h1>{top}{STORY}</article>")
    assert text == "\n\n".join([*kept, *PARAGRAPHS])


def test_gallery_beside_the_story_is_set_aside() -> None:
    gallery = (
        '<div class="photo-gallery"><div class="slide"><img src="1.jpg"><p>The new bridge seen '
        "from the north bank at dawn, before the opening.</p><p>1 / 3</p></div>"
        '<div class="slide"><img src="2.jpg"><p>Visitors crossing the bridge on Sunday '
        "afternoon, when the weather cleared.</p><p>2 / 3</p></div></div>"
    )
    first = "".join(f"<p>{p}</p>" for p in PARAGRAPHS[:3])
    rest = "".join(f"<p>{p}</p>" for p in PARAGRAPHS[3:])
    text = text_of(f"<article><h1>Bridge opens</h1>{first}{gallery}{rest}</article>")
    assert "Visitors crossing" not in text and "1 / 3" not in text
    assert text == "\n\n".join(PARAGRAPHS)


def test_short_chinese_story_is_long_enough_to_set_furniture_aside() -> None:
    # A hundred characters of Chinese say as much as some three hundred Latin letters: the
    # strict reading stands, and the gallery beside the story stays out.
    story = [
        "西山国家森林公园今年首次开放夜间观星活动，吸引了大批天文爱好者。公园在山顶观景台设置了十台天文望远镜。",
        "公园管理处表示，为保护野生动物，夜间活动每天限流三百人，游客需要提前在网上预约。活动将持续到十月底。",
    ]
    gallery = (
        '<ul class="gallery"><li><img src="a.jpg"><p>图为游客在山顶观景台用天文望远镜观测月球。</p>'
        '</li><li><img src="b.jpg">'
        "<p>图为讲解员向游客介绍夏季星空中的主要星座和银河。</p></li></ul>"
    )
    body = (
        f"<article><h1>西山森林公园首开夜间观星活动</h1><p>{story[0]}</p>{gallery}"
        f"<p>{story[1]}</p></article>"
    )
    html = f'<html lang="zh"><head></head><body>{body}</body></html>'
    assert extract_article(html, URL, now=NOW).text == "\n\n".join(story)


def test_cjk_by_line_inside_the_story_is_not_text() -> None:
    story = "".join(
        f"<p>这是新闻的第{n}段，内容足够长，可以算作正文的一部分，记录了当天发生的事情。</p>"
        for n in range(5)
    )
    html = (
        '<html lang="zh"><body><article><h1>市政府发布新版公交线路规划</h1><div class="content">'
        f"<p>本报记者 张伟 李娜</p>{story}</div></article></body></html>"
    )
    article = extract_article(html, URL, now=NOW)
    assert article.authors == ["张伟", "李娜"]
    assert "本报记者" not in article.text


UPDATES = [
    (
        "Water level falls below seven metres",
        "The river at Kaltenbach fell below seven "
        "metres for the first time since Friday, and the fire brigade expects to reopen the road.",
    ),
    (
        "Schools stay closed on Tuesday",
        "The education office has decided that the primary "
        "schools in Kaltenbach and Weilerfeld will stay closed on Tuesday as well.",
    ),
    (
        "Volunteers fill sandbags",
        "About two hundred volunteers came to the depot this "
        "morning to fill sandbags, and the town asks that no more helpers come.",
    ),
    ("Good morning", "Welcome to our live coverage of the flood."),
]


@pytest.mark.parametrize(
    ("entry", "head"),
    [
        pytest.param('<div class="post">', "", id="short-update-joins-the-series"),
        pytest.param(
            '<article class="entry">',
            '<div class="entry-head">1{i}:0{i} <span>by Jane Roe</span></div>',
            id="time-and-by-line-heading-each-update",
        ),
    ],
)
def test_live_blog_updates(entry: str, head: str) -> None:
    close = "</article>" if entry.startswith("<article") else "</div>"
    updates = "".join(
        f"{entry}{head.format(i=i)}<h3>{title}</h3><p>{text}</p>{close}"
        for i, (title, text) in enumerate(UPDATES)
    )
    html = f"<main><h1>Flood: live</h1><div class='live'>{updates}</div></main>"
    text = text_of(html)
    assert text == "\n\n".join(f"{title}\n\n{text}" for title, text in UPDATES)


def test_a_lone_short_sibling_named_like_the_story_stays_out() -> None:
    # One story block beside a short box of the same name: no series of updates.
    story = f'<div class="box">{STORY}</div><div class="box"><p>Subscribe for more news.</p></div>'
    assert text_of(f"<main><h1>Headline</h1>{story}</main>") == "\n\n".join(PARAGRAPHS)


@pytest.mark.parametrize(
    "credit",
    [
        pytest.param("（责编：王丽、陈刚）", id="chinese-editors"),
        pytest.param("责任编辑：赵敏", id="chinese-editor-in-charge"),
        pytest.param("来源：东江晨报", id="chinese-source"),
        pytest.param("출처: 한빛일보", id="korean-source"),
    ],
)
def test_cjk_credit_lines_are_not_text(credit: str) -> None:
    story = [
        f"这是新闻的第{n}段，内容足够长，可以算作正文的一部分，记录了当天发生的事情。"
        for n in range(5)
    ]
    paragraphs = "".join(f"<p>{p}</p>" for p in story)
    html = (
        '<html lang="zh"><head><title>市政府发布新版公交线路规划</title></head><body><article>'
        f'<h1>市政府发布新版公交线路规划</h1><div class="content">{paragraphs}<p>{credit}</p></div>'
        "</article></body></html>"
    )
    assert extract_article(html, URL, now=NOW).text == "\n\n".join(story)
