"""Whether a page declares its content paywalled: marked, never guessed (issue #14).

A page says so in schema.org's ``isAccessibleForFree`` (Google's paywalled-content markup):
on the article (or its web page) node of the JSON-LD, on a ``hasPart`` element of it (the
part behind the wall, with its ``cssSelector``), or as microdata
(``<meta itemprop="isAccessibleForFree" content="false">``); or in the ``article:content_tier``
meta tag (``free``, ``metered``, ``locked``). ``True`` when any declaration says the content is
not free (a metered tier is a paywall too), ``False`` when the page declares it free and nothing
says otherwise, ``None`` when the page says nothing: no text is read for words like
"subscribe".
"""

from __future__ import annotations

from typing import Any

from ingest.extract.jsonld import ARTICLE_TYPES, PAGE_TYPES, JsonLd, ld_types
from ingest.extract.metadata import MetaTags

__all__ = ["declared_paywall"]

_FREE = frozenset({"true", "yes", "1", "free"})
_NOT_FREE = frozenset({"false", "no", "0"})
_TIERS = {"free": False, "metered": True, "locked": True, "premium": True, "subscriber": True}
_META_TIER_KEYS = ("article:content_tier", "og:article:content_tier", "content_tier")
_META_FREE_KEYS = ("isaccessibleforfree",)


def declared_paywall(ld: JsonLd, meta: MetaTags) -> tuple[bool, str] | None:
    """``(paywalled, source)`` as the page declares it (source ``jsonld`` or ``meta``), or None."""
    said: list[tuple[bool, str]] = []
    for node in _nodes(ld):
        free = _free(node.get("isAccessibleForFree"))
        if free is not None:
            said.append((not free, "jsonld"))
        for part in ld.resolve_all(node.get("hasPart")):
            if isinstance(part, dict) and _free(part.get("isAccessibleForFree")) is False:
                said.append((True, "jsonld"))
    for key in _META_FREE_KEYS:
        for value in meta.get(key):
            free = _free(value)
            if free is not None:
                said.append((not free, "meta"))
    for key in _META_TIER_KEYS:
        for value in meta.get(key):
            tier = _TIERS.get(value.strip().lower())
            if tier is not None:
                said.append((tier, "og" if key.startswith(("og:", "article:")) else "meta"))
    if not said:
        return None
    return next((s for s in said if s[0]), said[0])


def _nodes(ld: JsonLd) -> list[dict[str, Any]]:
    """The article and web page nodes: the picked ones first, then any other of those types."""
    picked = [node for node in (ld.article, ld.page) if node is not None]
    others = [
        node
        for node in ld.nodes
        if (ARTICLE_TYPES | PAGE_TYPES) & ld_types(node) and all(node is not p for p in picked)
    ]
    return picked + others


def _free(value: Any) -> bool | None:
    """``isAccessibleForFree`` as a boolean: schema.org writes True/False, sites also "false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, list) and len(value) == 1:
        return _free(value[0])
    if isinstance(value, str):
        text = value.strip().lower().removeprefix("https://schema.org/")
        text = text.removeprefix("http://schema.org/")
        if text in _FREE:
            return True
        if text in _NOT_FREE:
            return False
    return None
