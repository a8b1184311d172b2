"""Locate the headline element and the region of the page that holds the article."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice

from lxml.html import HtmlElement

from ingest.extract.boilerplate import furniture_kind, name_words
from ingest.extract.text import DENSE, clean_text, text_weight, word_set

__all__ = [
    "blocks_after",
    "find_headline",
    "find_region",
    "in_furniture",
    "in_page_header",
    "same_text",
    "text_key",
]

_REGION_TAGS = frozenset(("article", "main"))
# Furniture that never holds the article's own headline, date or byline.
_FOREIGN = frozenset(
    ("nav", "aside", "footer", "navigation", "comments", "related", "complementary", "hidden")
)
_MAX_HEADLINES = 50
_NOT_ALNUM = re.compile(r"[\W_]+")
_MAX_HEADER_DEPTH = 12
# Names of the block showing the site's own name, which may be an <h1>.
_BRAND = word_set("sitetitle sitename sitebranding branding logo blogtitle blogname masthead")
_MIN_CONTAINED = 20  # a headline inside a longer title (or holding it) is at least this long


def text_key(text: str) -> str:
    """Reduce a text to lower-case letters and digits, for ``same_text`` comparisons."""
    return _NOT_ALNUM.sub("", text.lower())


def same_text(a: str, b: str) -> bool:
    """Return True when two short texts are the same up to case, spacing and punctuation."""
    ka, kb = text_key(a), text_key(b)
    return bool(ka) and ka == kb


def in_furniture(
    element: HtmlElement, stop: HtmlElement | None = None, allow: frozenset[str] = frozenset()
) -> bool:
    """Return True when ``element`` sits inside a sidebar, comment list, related list, nav...
    (below ``stop``; furniture kinds in ``allow`` do not count)."""
    node: HtmlElement | None = element
    while node is not None and node is not stop:
        found = furniture_kind(node, headers=True)
        if found is not None and found[0] in _FOREIGN and found[0] not in allow:
            return True
        node = node.getparent()
    return False


def find_headline(root: HtmlElement, titles: list[str]) -> HtmlElement | None:
    """Return the element showing the article's headline: the h1 matching a known title first."""
    keys = [text_key(title) for title in titles if title]
    fallback: HtmlElement | None = None
    fallback_in_region: HtmlElement | None = None
    matching_in_furniture: HtmlElement | None = None
    seen = 0
    for element in root.iter("h1", "h2"):
        text = clean_text(element.text_content())
        if not text or seen >= _MAX_HEADLINES:
            continue
        seen += 1
        key = text_key(text)
        long_enough = text_weight(key) > _MIN_CONTAINED
        matches = any(key == k or (long_enough and (key in k or k in key)) for k in keys)
        aside = in_furniture(element) or in_page_header(element)
        if matches:
            if not aside:
                return element
            if matching_in_furniture is None:
                matching_in_furniture = element
        if element.tag != "h1" or not _several_words(text) or aside:
            continue
        fallback = fallback if fallback is not None else element
        if fallback_in_region is None and _region_ancestor(element) is not None:
            fallback_in_region = element
    for choice in (matching_in_furniture, fallback_in_region, fallback):
        if choice is not None:
            return choice
    return None


def _several_words(text: str) -> bool:
    """Tell whether a heading says more than one word ("市政府发布新规划" is one run)."""
    return len(text.split()) >= 2 or len(DENSE.findall(text)) >= 4


def in_page_header(element: HtmlElement) -> bool:
    """Return True inside the page's own header (site title, logo), not a story's header."""
    for node in islice(element.iterancestors(), _MAX_HEADER_DEPTH):
        if node.tag in ("body", "html"):
            break  # theme flags ("wp-custom-logo") name the page, not a header in it
        found = furniture_kind(node)
        if found is not None and found[0] == "header":
            return True
        if not _BRAND.isdisjoint(name_words(node)):
            return True
    return not _BRAND.isdisjoint(name_words(element))


def _region_ancestor(element: HtmlElement) -> HtmlElement | None:
    for node in element.iterancestors():
        if node.tag in _REGION_TAGS or node.get("role") == "main":
            return node
        if "article" in (node.get("itemtype") or "").lower():
            return node
    return None


def blocks_after(headline: HtmlElement, per_level: int, levels: int = 3) -> Iterator[HtmlElement]:
    """Yield the elements that follow the headline: its next ``per_level`` siblings, then its
    parent's and grandparent's (a headline may sit alone in a block or two of its own, the
    by-line or the first paragraph in the block after)."""
    start: HtmlElement | None = headline
    for _ in range(levels):
        if start is None:
            return
        for sibling in islice(start.itersiblings(), per_level):
            if isinstance(sibling.tag, str):
                yield sibling
        start = start.getparent()


def find_region(root: HtmlElement, headline: HtmlElement | None) -> HtmlElement:
    """Return the element enclosing the article: <article>/<main> around the headline if any."""
    if headline is not None:
        region = _region_ancestor(headline)
        if region is not None:
            return region
        parent = headline.getparent()
        grandparent = parent.getparent() if parent is not None else None
        if grandparent is not None:
            return grandparent
        return parent if parent is not None else root
    for tag in ("article", "main"):
        found = root.find(f".//{tag}")
        if found is not None:
            return found
    body = root.find("body")
    return body if body is not None else root
