"""Find the article described by a page's JSON-LD (schema.org), tolerating broken JSON."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

from lxml.html import HtmlElement

from ingest.extract.text import word_set

__all__ = ["JsonLd", "find_jsonld", "ld_names", "ld_text", "ld_types"]

ARTICLE_TYPES = word_set(
    """article newsarticle reportagenewsarticle analysisnewsarticle opinionnewsarticle
    backgroundnewsarticle reviewnewsarticle askpublicnewsarticle blogposting liveblogposting
    socialmediaposting report scholarlyarticle techarticle satiricalarticle
    advertisercontentarticle claimreview"""
)
PAGE_TYPES = frozenset(
    ("webpage", "itempage", "collectionpage", "aboutpage", "profilepage", "medicalwebpage")
)
_MAX_NODES = 5000  # a page's graph is small; this bounds a hostile one

_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_WRAPPERS = ("<!--", "-->", "<![CDATA[", "]]>", "//<![CDATA[", "//]]>")


class JsonLd:
    """The JSON-LD nodes of a page, with the article node (if any) picked out."""

    def __init__(self, nodes: list[dict[str, Any]]) -> None:
        self.nodes = nodes
        self.by_id = {node["@id"]: node for node in nodes if isinstance(node.get("@id"), str)}
        self.article = _pick(nodes, ARTICLE_TYPES)
        self.page = _pick(nodes, PAGE_TYPES)

    def resolve(self, value: Any) -> Any:
        """Follow a ``{"@id": ...}`` reference to the node it names (Yoast-style graphs)."""
        if isinstance(value, dict) and set(value) == {"@id"}:
            return self.by_id.get(value["@id"], value)
        return value

    def resolve_all(self, value: Any) -> list[Any]:
        """Return ``value`` as a list of resolved items."""
        items = value if isinstance(value, list) else [value]
        return [self.resolve(item) for item in items if item is not None]

    def get(self, key: str) -> Any:
        """Return ``key`` from the article node, else from the web page node."""
        for node in (self.article, self.page):
            if node is not None and node.get(key) not in (None, "", []):
                return node[key]
        return None

    def page_get(self, key: str) -> Any:
        """Return ``key`` from the web page node only."""
        return self.page.get(key) if self.page is not None else None

    def article_get(self, key: str) -> Any:
        """Return ``key`` from the article node only."""
        return self.article.get(key) if self.article is not None else None

    def of_type(self, *types: str) -> Iterator[dict[str, Any]]:
        wanted = {t.lower() for t in types}
        for node in self.nodes:
            if wanted & ld_types(node):
                yield node


def find_jsonld(root: HtmlElement) -> JsonLd:
    """Collect every JSON-LD node of the page (lists, ``@graph`` and nested objects)."""
    nodes: list[dict[str, Any]] = []
    for script in root.iter("script"):
        kind = (script.get("type") or "").lower()
        if "ld+json" not in kind:
            continue
        for data in _loads(script.text or ""):
            _flatten(data, nodes)
            if len(nodes) >= _MAX_NODES:
                return JsonLd(nodes)
    return JsonLd(nodes)


def _loads(text: str) -> Iterator[Any]:
    """Parse a script's JSON, repairing the usual breakage, yielding each top-level value."""
    text = text.strip()
    for wrapper in _WRAPPERS:
        text = text.replace(wrapper, "")
    text = text.strip().rstrip(";")
    if not text:
        return
    # strict=False accepts raw newlines and tabs inside strings, common in articleBody.
    decoder = json.JSONDecoder(strict=False)
    for attempt in (text, _TRAILING_COMMA.sub(r"\1", text)):
        values, ok = _decode_all(decoder, attempt)
        if ok or values:
            yield from values
            return


def _decode_all(decoder: json.JSONDecoder, text: str) -> tuple[list[Any], bool]:
    """Decode one or more concatenated JSON values; report whether all text was used."""
    values: list[Any] = []
    index = 0
    while index < len(text):
        try:
            value, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            return values, False
        values.append(value)
        while index < len(text) and text[index] in " \t\r\n,;":
            index += 1
    return values, True


def _flatten(data: Any, out: list[dict[str, Any]]) -> None:
    """Append every dict node found in ``data`` (iteratively: graphs can be deep)."""
    stack = [data]
    while stack and len(out) < _MAX_NODES:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            if "@type" in item:
                out.append(item)
            for key in ("@graph", "mainEntity", "itemListElement", "hasPart"):
                child = item.get(key)
                if isinstance(child, list | dict):
                    stack.append(child)


def ld_types(node: dict[str, Any]) -> set[str]:
    """Return a node's ``@type`` values, lower-cased, without the schema.org prefix."""
    raw = node.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {v.rsplit("/", 1)[-1].lower() for v in values if isinstance(v, str)}


def _pick(nodes: list[dict[str, Any]], types: frozenset[str]) -> dict[str, Any] | None:
    """Pick the richest node of the wanted types (a page may list several)."""
    best: dict[str, Any] | None = None
    best_score = -1
    for node in nodes:
        if not ld_types(node) & types:
            continue
        score = sum(key in node for key in ("headline", "datePublished", "author", "articleBody"))
        if score > best_score:
            best, best_score = node, score
    return best


def ld_text(value: Any) -> str | None:
    """Return a scalar JSON-LD value as a string (first item of a list, ``@value`` of a dict)."""
    if isinstance(value, list):
        value = next((item for item in value if item not in (None, "")), None)
    if isinstance(value, dict):
        value = value.get("@value", value.get("name"))
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        # Publishers often HTML-escape JSON-LD strings ("SpaceX&apos;s").
        text = html.unescape(str(value)).strip()
        return text or None
    return None


def ld_names(ld: JsonLd, value: Any) -> Iterator[tuple[str, bool]]:
    """Yield ``(name, is_person)`` for each person or organisation in ``value``."""
    for item in ld.resolve_all(value):
        if isinstance(item, str):
            yield item, True
        elif isinstance(item, dict):
            name = ld_text(item.get("name"))
            if name is None and (item.get("givenName") or item.get("familyName")):
                given = ld_text(item.get("givenName")) or ""
                family = ld_text(item.get("familyName")) or ""
                name = f"{given} {family}".strip()
            if name:
                types = ld_types(item)
                is_org = any(t.endswith(("organization", "organisation")) for t in types)
                yield name, not (is_org or "corporation" in types)
