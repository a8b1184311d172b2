"""Read what a page says about itself: JSON-LD, OpenGraph, Twitter cards, ``<meta>``, ``<link>``.

Each field gets an ordered list of candidates, best source first, as the extraction rules say:
the publisher's structured data (JSON-LD) before OpenGraph before plain meta tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement

from ingest.extract.candidates import Candidate
from ingest.extract.jsonld import JsonLd, ld_text
from ingest.extract.region import in_furniture
from ingest.extract.text import clean_text, word_set

__all__ = [
    "MetaTags",
    "PageMetadata",
    "read_metadata",
    "site_from_title",
    "split_tags",
    "strip_site_suffix",
]

# " | " and friends; a bar needs no spaces ("NEWS WEB EASY|Headline"), nor do the bars and
# doubled dashes of East Asian titles ("見出し｜Site", "제목-정치ㅣSite", "标题--时政--Site",
# "标题_Site"), and a trailing "(Site)" counts too.
_TITLE_SEPARATORS = re.compile(
    r"\s+(?:\||-|–|—|::|·|•|»|›|/|:)\s+|\s*[|｜丨ㅣ_]\s*|\s*--\s*|\s+(?=\([^()]+\)$)"
)
_MIN_REPEATED_HEAD = 15
_SPELLED_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_TAG_SPLIT = re.compile(r"[,;،，、]")
_MAX_TAGS = 30
# Host labels that never name a site ("www.example.co.uk" is named by "example").
_HOST_NOISE = word_set("www m amp com org net co uk de fr edu gov info news ac")

# Keys of <meta> tags that carry each field, best first; "article:" is OpenGraph's namespace.
PUBLISHED_KEYS = (
    "article:published_time", "og:published_time", "og:article:published_time",
    "datepublished", "pubdate", "publishdate", "publish-date", "publish_date", "publication_date",
    "date", "dc.date", "dc.date.issued", "dc.date.created", "dcterms.date", "dcterms.issued",
    "dcterms.created", "sailthru.date", "parsely-pub-date", "article.published",
    "article_date_original", "original-publish-date", "originalpublicationdate",
    "cxenseparse:recs:publishtime", "citation_publication_date", "citation_date",
)  # fmt: skip
UPDATED_KEYS = (
    "article:modified_time", "og:updated_time", "og:modified_time", "datemodified",
    "dcterms.modified", "dc.date.modified", "last-modified", "lastmod", "article.updated",
)  # fmt: skip
_DESCRIPTION_KEYS = ("og:description", "description", "dc.description", "twitter:description")
_IMAGE_KEYS = (
    "og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src",
)  # fmt: skip
_TAG_KEYS = ("article:tag", "news_keywords", "keywords", "parsely-tags", "sailthru.tags")


class MetaTags:
    """The page's ``<meta>`` values by lower-cased key, in document order."""

    def __init__(self, root: HtmlElement) -> None:
        self._values: dict[str, list[str]] = {}
        for meta in root.iter("meta"):
            attrib = meta.attrib
            key = attrib.get("property") or attrib.get("name") or attrib.get("http-equiv")
            value = attrib.get("content")
            if not value or not value.strip():
                continue
            names = [key] if key else []
            itemprop = attrib.get("itemprop")
            if itemprop and not in_furniture(meta):
                # Microdata counts, also beside a property name, except in teasers of other
                # stories; one element may name several ("datePublished dateCreated").
                names.extend(itemprop.split())
            for name in names:
                self._values.setdefault(name.strip().lower(), []).append(value.strip())

    def get(self, key: str) -> list[str]:
        return self._values.get(key, [])

    @staticmethod
    def source(key: str) -> str:
        """Return the source family of a meta key."""
        if key.startswith(("og:", "article:")):
            return "og"
        if key.startswith("twitter:"):
            return "twitter"
        return "meta"

    def candidates(self, keys: tuple[str, ...]) -> list[Candidate[str]]:
        out: list[Candidate[str]] = []
        for key in keys:
            out.extend(Candidate(value, self.source(key), key) for value in self.get(key))
        return out


@dataclass(slots=True)
class PageMetadata:
    """Candidates for each field, read from the page's head and structured data."""

    title: list[Candidate[str]] = field(default_factory=list)
    description: list[Candidate[str]] = field(default_factory=list)
    image_url: list[Candidate[str]] = field(default_factory=list)
    site_name: list[Candidate[str]] = field(default_factory=list)
    canonical_url: list[Candidate[str]] = field(default_factory=list)
    language: list[Candidate[str]] = field(default_factory=list)
    published: list[Candidate[str]] = field(default_factory=list)  # raw strings
    updated: list[Candidate[str]] = field(default_factory=list)
    tags: list[Candidate[list[str]]] = field(default_factory=list)
    article_body: str | None = None


def read_metadata(root: HtmlElement, ld: JsonLd, meta: MetaTags, base_url: str) -> PageMetadata:
    """Collect the candidates the page's metadata offers for each field."""
    page = PageMetadata()
    page.site_name = _site_names(root, ld, meta)
    page.title = _titles(root, ld, meta)
    page.description = _jsonld_last(meta.candidates(_DESCRIPTION_KEYS), ld, "description")
    page.image_url = [
        Candidate(urljoin(base_url, c.value), c.source, c.origin)
        for c in meta.candidates(_IMAGE_KEYS) + _jsonld_images(ld)
        if not c.value.startswith("data:")
    ]
    page.canonical_url = _canonicals(root, meta, base_url)
    page.language = _languages(root, ld, meta)
    page.published = _jsonld_first(ld, ("datePublished", "dateCreated"), meta, PUBLISHED_KEYS)
    page.updated = _jsonld_first(ld, ("dateModified",), meta, UPDATED_KEYS)
    page.tags = _tags(ld, meta)
    body = ld.article_get("articleBody")
    page.article_body = body if isinstance(body, str) and body.strip() else None
    return page


def _clean(value: str | None) -> str | None:
    text = clean_text(value) if value else ""
    return text or None


def _titles(root: HtmlElement, ld: JsonLd, meta: MetaTags) -> list[Candidate[str]]:
    out: list[Candidate[str]] = []
    headline = ld_text(ld.article_get("headline")) or ld_text(ld.article_get("name"))
    if headline:
        out.append(Candidate(headline, "jsonld", "headline"))
    out.extend(meta.candidates(("og:title", "twitter:title")))
    # The DOM headline (h1) is inserted by the caller, which knows the article region.
    title = root.find(".//title")
    if title is not None and title.text:
        out.append(Candidate(title.text, "meta", "<title>"))
    out.extend(meta.candidates(("dc.title", "citation_title", "parsely-title", "sailthru.title")))
    return [Candidate(text, c.source, c.origin) for c in out if (text := _clean(c.value))]


def _site_names(root: HtmlElement, ld: JsonLd, meta: MetaTags) -> list[Candidate[str]]:
    out = meta.candidates(("og:site_name",))
    publisher = ld.resolve(ld.get("publisher"))
    if isinstance(publisher, list) and publisher:
        publisher = ld.resolve(publisher[0])
    if isinstance(publisher, dict) and (name := ld_text(publisher.get("name"))):
        out.append(Candidate(name, "jsonld", "publisher.name"))
    for node in ld.of_type("WebSite"):
        if name := ld_text(node.get("name")):
            out.append(Candidate(name, "jsonld", "WebSite.name"))
    out.extend(meta.candidates(("application-name", "apple-mobile-web-app-title")))
    return [Candidate(text, c.source, c.origin) for c in out if (text := _clean(c.value))]


def _jsonld_last(
    meta_candidates: list[Candidate[str]], ld: JsonLd, key: str
) -> list[Candidate[str]]:
    out = list(meta_candidates)
    if value := ld_text(ld.get(key)):
        # JSON-LD descriptions sit after og/meta ones, as the rules order them.
        out.insert(min(2, len(out)), Candidate(value, "jsonld", key))
    return [Candidate(text, c.source, c.origin) for c in out if (text := _clean(c.value))]


def _jsonld_images(ld: JsonLd) -> list[Candidate[str]]:
    out: list[Candidate[str]] = []
    for item in ld.resolve_all(ld.get("image") or ld.get("thumbnailUrl")):
        url: Any = item
        if isinstance(item, dict):
            url = item.get("url") or item.get("contentUrl")
        if isinstance(url, list):
            url = url[0] if url else None
        if isinstance(url, str) and url.strip():
            out.append(Candidate(url.strip(), "jsonld", "image"))
    return out


def _canonicals(root: HtmlElement, meta: MetaTags, base_url: str) -> list[Candidate[str]]:
    out: list[Candidate[str]] = []
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" in rel and href:
            out.append(Candidate(urljoin(base_url, href), "meta", "link rel=canonical"))
    out.extend(
        Candidate(urljoin(base_url, c.value), c.source, c.origin)
        for c in meta.candidates(("og:url",))
    )
    return out


def _languages(root: HtmlElement, ld: JsonLd, meta: MetaTags) -> list[Candidate[str]]:
    out: list[Candidate[str]] = []
    for attr in ("lang", "{http://www.w3.org/XML/1998/namespace}lang", "xml:lang"):
        if value := root.get(attr):
            out.append(Candidate(value, "meta", "html lang"))
    out.extend(meta.candidates(("og:locale",)))
    in_language = ld.get("inLanguage")
    if isinstance(in_language, dict):
        in_language = in_language.get("alternateName") or in_language.get("name")
    if value := ld_text(in_language):
        out.append(Candidate(value, "jsonld", "inLanguage"))
    out.extend(meta.candidates(("content-language", "language", "dc.language")))
    return out


def _jsonld_first(
    ld: JsonLd, ld_keys: tuple[str, ...], meta: MetaTags, meta_keys: tuple[str, ...]
) -> list[Candidate[str]]:
    out: list[Candidate[str]] = []
    for key in ld_keys:
        if value := ld_text(ld.get(key)):
            out.append(Candidate(value, "jsonld", key))
    out.extend(meta.candidates(meta_keys))
    # Last, the web page node's own value when the article node has another: Yoast may date
    # the page to the second while another script dates the article to the day.
    for key in ld_keys:
        value = ld_text(ld.page_get(key))
        if value and all(value != candidate.value for candidate in out):
            out.append(Candidate(value, "jsonld", f"WebPage {key}"))
    return out


def _tags(ld: JsonLd, meta: MetaTags) -> list[Candidate[list[str]]]:
    """Tags in the page's order (article:tag, JSON-LD keywords, keyword metas), then the
    OpenGraph section, which names a category rather than a topic."""
    out: list[Candidate[list[str]]] = []
    if tags := meta.get("article:tag"):
        out.append(Candidate(tags, "og", "article:tag"))
    keywords = ld.article_get("keywords")
    if isinstance(keywords, str | list):
        values = keywords if isinstance(keywords, list) else [keywords]
        out.append(Candidate([v for v in values if isinstance(v, str)], "jsonld", "keywords"))
    for key in _TAG_KEYS[1:]:
        if values := meta.get(key):
            out.append(Candidate(values, "meta", key))
    if sections := meta.get("article:section"):
        out.append(Candidate(sections, "og", "article:section"))
    return out


def split_tags(candidates: list[Candidate[list[str]]]) -> list[str]:
    """Merge tag candidates: split on commas, strip, dedupe case-insensitively, keep order."""
    seen: set[str] = set()
    tags: list[str] = []
    for candidate in candidates:
        for value in candidate.value:
            for part in _TAG_SPLIT.split(value):
                tag = clean_text(part)
                if tag and len(tag) <= 80 and tag.lower() not in seen:
                    seen.add(tag.lower())
                    tags.append(tag)
    return tags[:_MAX_TAGS]


def strip_site_suffix(
    title: str, site_names: list[str], url: str, other_titles: list[str] | None = None
) -> str:
    """Remove a trailing (or leading) " | Site" when it names the site or its domain
    ("Schweizer Jäger Online" on schweizerjaeger.ch), or when the rest is another of the
    page's titles (the h1 says "Headline", og:title "Headline › Blog")."""
    separators = list(_TITLE_SEPARATORS.finditer(title))
    if not separators:
        return title
    keys = {_key(name) for name in site_names if name}
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    if host:
        keys.add(_key(host))
        keys.update(_key(label) for label in host.split(".") if label not in _HOST_NOISE)
    keys.discard("")
    titles = {_key(other) for other in other_titles or []}
    for separator in separators:
        head, tail = title[: separator.start()].strip(), title[separator.end() :].strip()
        # A short head that another candidate repeats is more likely the site's name.
        repeated = len(head) >= _MIN_REPEATED_HEAD and _key(head) in titles
        if head and (_names_site(_key(tail), keys) or repeated):
            return head
    head, tail = title[: separators[0].start()].strip(), title[separators[0].end() :].strip()
    if tail and _names_site(_key(head), keys):
        return tail
    if len(tail) >= _MIN_REPEATED_HEAD and len(head) < len(tail) and _key(tail) in titles:
        return tail  # "Site|Headline" where the page's headline says "Headline"
    return title


def _names_site(key: str, site_keys: set[str]) -> bool:
    """Tell whether a title part names the site: equal keys, or one extending the other
    ("schweizerjaegeronline" and the host label "schweizerjaeger")."""
    if key in site_keys:
        return True
    return len(key) >= 5 and any(
        len(site) >= 5 and (key.startswith(site) or site.startswith(key)) for site in site_keys
    )


def site_from_title(title: str, headline: str) -> str | None:
    """Return "Site" from a ``<title>`` "Headline | Site" whose first part is the headline."""
    for separator in _TITLE_SEPARATORS.finditer(title):
        head, tail = title[: separator.start()], title[separator.end() :].strip()
        if _key(head) == _key(headline) and 2 <= len(tail) <= 60:
            return tail
    return None


def _key(text: str) -> str:
    """Reduce a name to lower-case letters and digits for loose comparison (umlauts spelt
    out as in host names: "Jäger" -> "jaeger")."""
    return "".join(ch for ch in text.lower().translate(_SPELLED_OUT) if ch.isalnum())
