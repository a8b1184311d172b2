"""Choose the article's title: the headline a reader sees, as the metadata confirms it.

Candidates come from JSON-LD, OpenGraph, Twitter cards, the page's headline element and
``<title>``; site names are stripped from each. The visible headline (its kicker, the small
topic line above it, left out) then goes first whenever it agrees with the best metadata
title: the same words written with the page's own typography ("„Quote“" where og:title says
'"Quote"'), or the metadata title with a kicker or a site name around it ("Klimaschutz:
Bohren, bis es heiß wird" for the headline "Bohren, bis es heiß wird"). An article's h1
worded otherwise than the metadata also goes first: the metadata then carries a title written
for search engines or social cards, and the reader copies the h1. The texts of the headline's
elements are never glued together; where the markup lost the separator a metadata title keeps
between the same words ("Kicker: Headline"), that title is given. Quotation marks of any
typography compare as one.
"""

from __future__ import annotations

import re
from itertools import islice

from lxml import etree
from lxml.html import HtmlElement

from ingest.extract.boilerplate import is_hidden
from ingest.extract.candidates import Candidate
from ingest.extract.metadata import PageMetadata, strip_site_suffix
from ingest.extract.text import SILENT_TAGS, UNSPACED, clean_text, word_set

__all__ = ["choose_titles", "headline_text"]

_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)$")
# Names of the topic line printed above or before a headline, inside the headline element.
_KICKER = word_set(
    """kicker kickers dachzeile overline topline roofline eyebrow supertitle superheadline
    overhead spitzmarke rubric rubrik ressort subtitle label category"""
)
# What may stand between a kicker or a site name and the headline.
_SEPARATORS = frozenset(":|-–—·•/")
_SUFFIX_SEPARATORS = frozenset("|-–—·•｜丨ㅣ_")
_SENTENCE_END = frozenset(".?!…")
_STRIPPED = " :|-–—·•/"
_BREAKS = frozenset(("br", "div", "p"))
# Punctuation that leans on the word after or before it.
_OPENING = frozenset("([{¿¡")
_CLOSING = frozenset(",.:;!?)]}…")
# Markup that may sit inside a word; any other element's text is a piece of its own.
_INLINE = word_set("a abbr b bdi bdo em i mark q rb ruby s small strong sub sup u wbr")
_NAME_PARTS = re.compile(r"[^a-z0-9]+")
_MIN_SHARE = 0.3  # a headline framed by a kicker or site name is most of the title
_METADATA = ("jsonld", "og", "twitter", "meta")
_MAX_NODES = 60
_QUOTES = frozenset("\"'“”„«»‘’‚")
# Quotation marks of every typography, read as one so that they never decide a comparison.
_PLAIN_QUOTES = str.maketrans(dict.fromkeys("“”„«»‹›", '"') | dict.fromkeys("‘’‚", "'"))


def headline_text(element: HtmlElement) -> str:
    """Return a headline element's visible text without its kicker."""
    pieces: list[str] = []
    walker = etree.iterwalk(element, events=("start", "end"))
    for event, node in islice(walker, 2 * _MAX_NODES):
        if not isinstance(node.tag, str):
            if event == "end" and node.tail:
                _append(pieces, node.tail, glued=False)
            continue
        if event == "start":
            if node is not element and (
                node.tag in SILENT_TAGS or is_hidden(node) or _is_kicker(node)
            ):
                walker.skip_subtree()  # the next event is this node's "end": keep its tail only
                continue
            if node.tag in _BREAKS:
                pieces.append(" ")
            if node.text:
                _append(pieces, node.text, glued=node.tag in _INLINE)
        elif node is not element and node.tail:
            _append(pieces, node.tail, glued=node.tag in _INLINE)
    # A separator written between kicker and headline stays behind when the kicker goes.
    return clean_text("".join(pieces)).strip(_STRIPPED)


def _append(pieces: list[str], text: str, *, glued: bool) -> None:
    """Add an element's text, with a space where it would touch the text of another element
    ("<span>»Wir bleiben«</span><span>Bürgermeisterin ...": two lines on screen); inline
    markup (``<b>``, ``<a>``) may sit inside a word and is joined as written."""
    last = pieces[-1][-1:] if pieces else " "
    first = text[:1]
    # Scripts written without spaces (Japanese with its ruby readings) join as they are, and
    # so does punctuation that leans on a word ("Kicker" + ": ").
    joined = last.isspace() or first.isspace() or last in _OPENING or first in _CLOSING
    if not (glued or joined or UNSPACED.search(last + first)):
        pieces.append(" ")
    pieces.append(text)


def _is_kicker(node: HtmlElement) -> bool:
    # Class words read plainly: "topic-label" names a kicker here, not a WordPress taxonomy.
    names = f"{node.get('class') or ''} {node.get('id') or ''}".lower()
    return not _KICKER.isdisjoint(_NAME_PARTS.split(names))


def choose_titles(
    page: PageMetadata, headline: HtmlElement | None, site_names: list[str], url: str
) -> list[Candidate[str]]:
    """Order title candidates, best first, with site names stripped."""
    titles = list(page.title)
    visible = headline_text(headline) if headline is not None else ""
    if headline is not None and visible:
        position = sum(1 for c in titles if c.source in ("jsonld", "og", "twitter"))
        titles.insert(position, Candidate(visible, "dom", headline.tag))
    values = [c.value for c in titles]
    cleaned = [
        Candidate(strip_site_suffix(c.value, site_names, url, values), c.source, c.origin, c.value)
        for c in titles
    ]
    cleaned = _visible_first(cleaned)
    if cleaned and _ELLIPSIS.search(cleaned[0].value):
        # A headline cut for search engines ("...") yields to a complete one it begins.
        stem = _ELLIPSIS.sub("", cleaned[0].value)
        for candidate in cleaned[1:]:
            complete = not _ELLIPSIS.search(candidate.value)  # "…" and "..." are one cut
            if complete and candidate.value.startswith(stem) and len(candidate.value) > len(stem):
                cleaned.remove(candidate)
                cleaned.insert(0, candidate)
                break
    return cleaned


def _visible_first(titles: list[Candidate[str]]) -> list[Candidate[str]]:
    """Put the page's headline first when it agrees with the best metadata title."""
    dom = next((c for c in titles if c.source == "dom"), None)
    metadata = [c for c in titles if c.source in _METADATA]
    if dom is None or not metadata:
        return titles
    if titles[0] is dom:
        # The same words capitalised otherwise: the page's CSS may print them in capitals,
        # which the metadata spells out; or with a separator the page's markup lost.
        cased = next((c for c in metadata if _case_only(c.value, dom.value)), None)
        better = cased or _with_separators(dom, metadata)
        return titles if better is None else [better, *(c for c in titles if c is not better)]
    best = metadata[0].value
    if dom.value == best:
        return titles
    rewritten = _rewritten(dom, best) or _cut_at_quote(best, dom.value)
    if _agrees(dom.value, best, [c.value for c in metadata]) or rewritten:
        # The headline's words, but with the separator a metadata title keeps between them.
        shown = _with_separators(dom, metadata) or dom
        return [shown, *(c for c in titles if c is not shown)]
    return titles


def _with_separators(dom: Candidate[str], metadata: list[Candidate[str]]) -> Candidate[str] | None:
    """Return a metadata title with the headline's very words and a separator the headline
    lost: the page glued two of its elements together ("Streit um Radwege Stadtrat ...")."""
    key, shown = _key(dom.value), _separators(dom.value)
    for candidate in metadata:
        if _key(candidate.value) == key and _separators(candidate.value) > shown:
            return candidate
    return None


def _separators(text: str) -> int:
    """Count the separators between parts of a title: colons, dashes set off by spaces,
    bars and dots."""
    return sum(text.count(mark) for mark in ":|–—·•") + text.count(" - ")


def _rewritten(dom: Candidate[str], best: str) -> bool:
    """Tell whether the page's h1 is a headline the metadata words otherwise (a title written
    for search engines or social cards): the reader sees the h1. Not when the h1 holds the
    whole metadata title plus a kicker, a date or a teaser glued on without a separator."""
    if dom.origin != "h1" or _case_only(dom.value, best):
        return False
    visible, other = _key(dom.value), _key(best)
    return not (other and other in visible)


def _cut_at_quote(best: str, visible: str) -> bool:
    """Tell whether the metadata title stops where the headline goes on with a quotation
    mark: an unescaped quote ended the attribute ('content="Biden de "incapacitado""')."""
    if not visible.startswith(best) or len(visible) == len(best):
        return False
    return visible[len(best) :].lstrip()[:1] in _QUOTES


def _case_only(a: str, b: str) -> bool:
    a, b = _plain(a), _plain(b)
    return a != b and a.lower() == b.lower()


def _plain(text: str) -> str:
    return text.translate(_PLAIN_QUOTES)


def _agrees(visible: str, best: str, metadata: list[str]) -> bool:
    """Tell whether the visible headline is the best metadata title written with other
    punctuation, or that title without a kicker or site name around it. A visible headline
    longer than the title must be confirmed by another metadata title."""
    if _case_only(visible, best):
        return False
    if _key(visible) == _key(best) or _framed(visible, best):
        return True
    return _framed(best, visible) and any(_key(visible) == _key(other) for other in metadata)


def _framed(inner: str, outer: str) -> bool:
    """Tell whether ``outer`` is ``inner`` with a kicker before it ("Kicker: inner") or a site
    name after it ("inner | Site"), set off by a separator."""
    inner, outer = _plain(inner), _plain(outer)
    if len(inner) < _MIN_SHARE * len(outer) or inner == outer:
        return False
    if outer.endswith(inner):
        before = outer[: -len(inner)]
        stripped = before.rstrip()
        return stripped != before and stripped[-1:] in _SEPARATORS and len(stripped) > 1
    if outer.startswith(inner):
        after = outer[len(inner) :].strip()
        # "Title / subtitle?" goes on with the sentence; "Title | Site" names the site.
        return (
            after[:1] in _SUFFIX_SEPARATORS and len(after) > 1 and after[-1:] not in _SENTENCE_END
        )
    return False


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())
