"""ingest/extract/paywall.py: paywalls as pages declare them, never guessed from their words."""

from __future__ import annotations

import pytest

from ingest.extract import extract_article

BODY = "".join(
    f"<p>Paragraph {n} of the report on the harbour council's budget, with every figure the "
    "council published and what each party said about it.</p>"
    for n in range(1, 6)
)


def page(head: str = "", body: str = BODY) -> str:
    return (
        f"<!doctype html><html lang='en'><head><title>Budget</title>{head}</head><body>"
        f"<article><h1>Budget</h1>{body}</article></body></html>"
    )


def ld(data: str) -> str:
    return f'<script type="application/ld+json">{data}</script>'


def meta(key: str, value: str, attr: str = "property") -> str:
    return f'<meta {attr}="{key}" content="{value}">'


@pytest.mark.parametrize(
    ("head", "paywalled", "source"),
    [
        pytest.param(
            ld('{"@type": "NewsArticle", "headline": "Budget", "isAccessibleForFree": false}'),
            True,
            "jsonld",
            id="jsonld-false",
        ),
        pytest.param(
            ld('{"@type": "NewsArticle", "headline": "Budget", "isAccessibleForFree": "False"}'),
            True,
            "jsonld",
            id="jsonld-string-False",
        ),
        pytest.param(
            ld('{"@type": "Article", "isAccessibleForFree": "http://schema.org/False"}'),
            True,
            "jsonld",
            id="jsonld-schema-url",
        ),
        pytest.param(
            ld('{"@type": "NewsArticle", "headline": "Budget", "isAccessibleForFree": true}'),
            False,
            "jsonld",
            id="jsonld-free",
        ),
        pytest.param(
            ld(
                '{"@type": "NewsArticle", "headline": "Budget", "isAccessibleForFree": "True",'
                ' "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": "False",'
                ' "cssSelector": ".paywall"}}'
            ),
            True,
            "jsonld",
            id="hasPart-behind-the-wall",
        ),
        pytest.param(
            ld(
                '{"@type": "NewsArticle", "hasPart": [{"@type": "WebPageElement",'
                ' "isAccessibleForFree": false, "cssSelector": ".premium"}]}'
            ),
            True,
            "jsonld",
            id="hasPart-list",
        ),
        pytest.param(
            ld(
                '{"@context": "https://schema.org", "@graph": [{"@type": "WebPage", "@id":'
                ' "#page", "isAccessibleForFree": "false"}, {"@type": "NewsArticle",'
                ' "headline": "Budget", "isPartOf": {"@id": "#page"}}]}'
            ),
            True,
            "jsonld",
            id="yoast-graph-web-page",
        ),
        pytest.param(meta("article:content_tier", "locked"), True, "og", id="content-tier-locked"),
        pytest.param(
            meta("article:content_tier", "metered"), True, "og", id="content-tier-metered"
        ),
        pytest.param(meta("article:content_tier", "free"), False, "og", id="content-tier-free"),
        pytest.param(
            meta("isAccessibleForFree", "false", attr="itemprop"), True, "meta", id="microdata"
        ),
        pytest.param(
            ld('{"@type": "NewsArticle", "isAccessibleForFree": true}')
            + meta("article:content_tier", "locked"),
            True,
            "og",
            id="any-declaration-of-a-wall-wins",
        ),
    ],
)
def test_a_declared_paywall_is_marked(head: str, paywalled: bool, source: str) -> None:
    article = extract_article(page(head), "https://news.example.com/budget.html")
    assert article.paywalled is paywalled
    assert article.sources["paywalled"] == source


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(page(), id="nothing-declared"),
        pytest.param(
            page(body=BODY + "<p>Subscribe to read the rest. Already a subscriber? Log in.</p>"),
            id="subscribe-words-are-not-a-declaration",
        ),
        pytest.param(
            page(ld('{"@type": "NewsArticle", "isAccessibleForFree": "maybe"}')),
            id="unreadable-value",
        ),
        pytest.param(
            page(ld('{"@type": "Organization", "isAccessibleForFree": false}')),
            id="not-the-article-node",
        ),
    ],
)
def test_a_page_that_declares_nothing_is_null(html: str) -> None:
    article = extract_article(html, "https://news.example.com/budget.html")
    assert article.paywalled is None
    assert "paywalled" not in article.sources
