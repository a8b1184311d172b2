"""Assemble an Article from a page: parse once, read metadata, then find the main text.

Field priorities (best first) are in each helper; what the page lacks comes from the feed
entry. ``Article.sources`` names where each field came from; ``collect`` also keeps every
candidate, so a caller can explain a choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from lxml.html import HtmlElement

from ingest.errors import ExtractError
from ingest.extract.authors import clean_author_names, find_authors
from ingest.extract.body import extract_body
from ingest.extract.candidates import Candidate
from ingest.extract.dates.datelines import date_from_url, find_dates
from ingest.extract.dates.published import first_date, order_published
from ingest.extract.dates.zones import zone_of_page
from ingest.extract.document import parse_document
from ingest.extract.jsonld import find_jsonld
from ingest.extract.lang import choose_language
from ingest.extract.metadata import (
    MetaTags,
    PageMetadata,
    read_metadata,
    site_from_title,
    split_tags,
)
from ingest.extract.paywall import declared_paywall
from ingest.extract.reconcile import reconcile_with_jsonld
from ingest.extract.region import find_headline, find_region
from ingest.extract.text import UNSPACED, clean_text, html_to_text
from ingest.extract.titles import choose_titles
from ingest.fetch.decode import decode_html
from ingest.model import Article, FeedEntry
from ingest.urls import canonicalize_url, same_site

__all__ = ["Extraction", "collect", "extract_article"]

# Below this much text a page has no article of its own; a feed's full content is better.
_MIN_BODY_CHARS = 150


@dataclass(slots=True)
class Extraction:
    """An article and the candidates each field was chosen from."""

    article: Article
    candidates: dict[str, list[Candidate[Any]]] = field(default_factory=dict)


def extract_article(
    html: str | bytes,
    url: str,
    *,
    content_type: str | None = None,
    entry: FeedEntry | None = None,
    now: datetime | None = None,
) -> Article:
    """Extract the article a page shows: text, title, authors, dates, language and more.

    Raises ``ExtractError`` when neither the page nor the feed entry yields any text.
    """
    return collect(html, url, content_type=content_type, entry=entry, now=now).article


def collect(
    html: str | bytes,
    url: str,
    *,
    content_type: str | None = None,
    entry: FeedEntry | None = None,
    now: datetime | None = None,
) -> Extraction:
    """Like ``extract_article``, keeping every field's candidates."""
    if url.startswith("file:"):
        canonical_page = url  # a saved page: its own canonical link, if any, says where it lives
    else:
        try:
            canonical_page = canonicalize_url(url)
        except ValueError as exc:
            raise ExtractError(f"cannot extract {url!r}: not an http(s) or file URL") from exc
    text = decode_html(html, content_type)[0] if isinstance(html, bytes) else html
    try:
        return _collect(text, url, canonical_page, entry, now or datetime.now(UTC))
    except (etree.LxmlError, RecursionError) as exc:
        raise ExtractError(f"cannot extract {url}: the HTML defeated the parser ({exc})") from exc


def _collect(
    html: str, url: str, canonical_page: str, entry: FeedEntry | None, now: datetime
) -> Extraction:
    root = parse_document(html)
    ld = find_jsonld(root)
    meta = MetaTags(root)
    page = read_metadata(root, ld, meta, _base_url(root, url))
    site_names = [c.value for c in page.site_name]
    headline = find_headline(root, [c.value for c in page.title])
    titles = choose_titles(page, headline, site_names, url)
    region = find_region(root, headline)
    shown = find_dates(root, region, headline)
    han = any(UNSPACED.search(candidate.value) for candidate in titles)
    credits = find_authors(ld, meta, region, headline, site_names, han=han)
    # Everything above reads the intact tree; the body extraction drops scripts and styles.
    body = extract_body(
        root, headline=headline, titles=[c.value for c in titles], authors=credits.names
    )
    texts = _text_candidates(body.paragraphs, body.lead, page.article_body, entry)
    if not texts and page.description:
        # A page whose body is only links or pictures still describes itself: better than
        # losing its title, date and authors with an error.
        texts = [page.description[0]]
    if not texts:
        raise ExtractError(
            f"{url}: the page has no article text, no description, and the feed entry none"
        )

    feed = _FeedCandidates(entry)
    candidates: dict[str, list[Candidate[Any]]] = {
        "text": texts,
        "title": titles + feed.title,
        # Dates found only where dates seldom are come after the feed's; a day in the URL's
        # path comes late: it has no time of day. Modification dates come last, for a page
        # that shows no other.
        "published_at": order_published(
            page.published,
            shown.published,
            feed.published + shown.fallback + date_from_url(url),
            page.updated + shown.updated,
        ),
        # The page's own modification date only: a feed's <updated> dates the entry.
        "updated_at": page.updated + shown.updated,
        "description": page.description + feed.description,
        "image_url": page.image_url + feed.image,
        "site_name": list(page.site_name),
        "canonical_url": page.canonical_url,
        "language": page.language,
        "tags": page.tags,
        "authors": credits.candidates,
    }
    sources: dict[str, str] = {}
    canonical = _canonical(page, url)
    if canonical is not None:
        sources["canonical_url"] = canonical.source
    article = Article(
        url=url,
        canonical_url=canonical.value if canonical is not None else canonical_page,
        title=_take(candidates["title"], "title", sources),
        text=_take(texts, "text", sources),
        description=_take(candidates["description"], "description", sources),
        image_url=_take(candidates["image_url"], "image_url", sources),
    )
    article.authors = _authors(credits.names, credits.source, entry, sources)
    zoned = candidates["published_at"] + candidates["updated_at"]
    local = zone_of_page(url, [c.value for c in page.language])
    published = first_date(candidates["published_at"], now, zoned, local)
    if published is not None:
        article.published_at, article.published_raw = published.value, published.raw
        sources["published_at"] = published.source
    updated = first_date(candidates["updated_at"], now, zoned, local)
    if updated is not None:
        article.updated_at = updated.value
        sources["updated_at"] = updated.source
    language = choose_language(page.language, article.text, entry.language if entry else None)
    if language is not None:
        article.language = language.value
        sources["language"] = language.source
    article.tags = split_tags(page.tags)
    if article.tags:
        sources["tags"] = page.tags[0].source
    elif feed.tags:
        article.tags = split_tags(feed.tags)
        sources["tags"] = "feed"
    if not candidates["site_name"] and article.title:
        candidates["site_name"] = _site_from_titles(titles, article.title)
    article.site_name = _take(candidates["site_name"], "site_name", sources)
    paywall = declared_paywall(ld, meta)
    if paywall is not None:
        article.paywalled, sources["paywalled"] = paywall
    article.sources = sources
    return Extraction(article, candidates)


class _FeedCandidates:
    """What the feed entry offers for each field, as last-resort candidates."""

    def __init__(self, entry: FeedEntry | None) -> None:
        self.title: list[Candidate[str]] = []
        self.description: list[Candidate[str]] = []
        self.image: list[Candidate[str]] = []
        self.published: list[Candidate[str]] = []
        self.tags: list[Candidate[list[str]]] = []
        if entry is None:
            return
        if entry.title and (title := clean_text(entry.title)):
            self.title.append(Candidate(title, "feed", "entry.title"))
        if entry.summary and (summary := clean_text(html_to_text(entry.summary))):
            self.description.append(Candidate(summary, "feed", "entry.summary"))
        if entry.image_url:
            self.image.append(Candidate(entry.image_url, "feed", "entry.image_url"))
        if entry.published_at is not None:
            value = entry.published_at.isoformat()
            raw = entry.published_raw or value
            self.published.append(Candidate(value, "feed", "entry.published_at", raw))
        if entry.tags:
            self.tags.append(Candidate(list(entry.tags), "feed", "entry.tags"))


def _take(candidates: list[Candidate[str]], name: str, sources: dict[str, str]) -> Any:
    if not candidates:
        return None
    sources[name] = candidates[0].source
    return candidates[0].value


def _base_url(root: HtmlElement, url: str) -> str:
    base = root.find(".//base[@href]")
    href = base.get("href", "").strip() if base is not None else ""
    return urljoin(url, href) if href.startswith(("http://", "https://", "/")) else url


def _site_from_titles(titles: list[Candidate[str]], headline: str) -> list[Candidate[str]]:
    """A page without a declared site name still shows it in "Headline | Site"."""
    for candidate in titles:
        if candidate.origin == "<title>" and candidate.raw:
            name = site_from_title(candidate.raw, headline)
            if name:
                return [Candidate(name, "meta", "<title> suffix")]
    return []


def _text_candidates(
    paragraphs: list[str], lead: int, article_body: str | None, entry: FeedEntry | None
) -> list[Candidate[str]]:
    """Order the body text candidates: the page (DOM or JSON-LD) first, unless it is a stub
    shorter than the feed's own content or summary."""
    chosen, source = reconcile_with_jsonld(paragraphs, article_body, lead)
    page = Candidate("\n\n".join(chosen), source, "page")
    feed_text = ""
    if entry is not None:
        feed_text = html_to_text(entry.content or "") or html_to_text(entry.summary or "")
    feed = Candidate(feed_text, "feed", "entry.content")
    stub = len(page.value) < _MIN_BODY_CHARS and len(page.value) < len(feed.value)
    ordered = [feed, page] if stub else [page, feed]
    return [candidate for candidate in ordered if candidate.value]


def _canonical(page: PageMetadata, url: str) -> Candidate[str] | None:
    """Return the page's canonical link (canonicalized) when it stays on the same site."""
    for candidate in page.canonical_url:
        try:
            canonical = canonicalize_url(candidate.value)
            if url.startswith("file:") or same_site(canonical, url):
                return Candidate(canonical, candidate.source, candidate.origin)
        except ValueError:
            continue
    return None


def _authors(
    names: list[str], source: str | None, entry: FeedEntry | None, sources: dict[str, str]
) -> list[str]:
    if names and source is not None:
        sources["authors"] = source
        return names
    if entry is None:
        return []
    cleaned = [name for raw in entry.authors for name in clean_author_names(raw)]
    if cleaned:
        sources["authors"] = "feed"
    return list(dict.fromkeys(cleaned))
