"""Find the standfirst: the prose between the headline and the main text's container.

Many layouts put the headline and a lead paragraph in an article header and the body in a
separate block; the body's container then starts after the lead. The elements lying between
the headline and that container, in document order, are read, and their prose paragraphs
(not bylines, dates, captions or links: the caller cleans those) open the text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice

from lxml.html import HtmlElement

from ingest.extract.boilerplate import name_words
from ingest.extract.measure import Stats
from ingest.extract.text import Block, iter_blocks, word_set

__all__ = ["find_lead"]

# The gap between headline and body holds a lead, a byline and a date, not a page section.
_MAX_GAP_CHARS = 1500
_MAX_GAP_ELEMENTS = 40
_MIN_LEAD_CHARS = 60
_MAX_LINK_SHARE = 0.2
_MAX_DEPTH = 12
# Pictures and their captions, and the article's metadata line, sit in the same gap.
_NOT_LEAD = word_set(
    """figure image images img photo photos picture media video videos gallery slideshow
    caption credit metadata meta byline author authors date dateline timestamp"""
)


def find_lead(
    headline: HtmlElement | None,
    container: HtmlElement,
    stats: dict[HtmlElement, Stats],
    skip: Callable[[HtmlElement], bool],
) -> list[Block]:
    """Return the prose blocks between ``headline`` and ``container`` (empty when the
    headline is inside the container, follows it, or is far from it)."""
    if headline is None or _inside(headline, container) or _inside(container, headline):
        return []
    gap = _gap(headline, container)
    if gap is None:
        return []
    size = sum(stats[el].text for el in gap if el in stats)
    if not gap or size > _MAX_GAP_CHARS:
        return []
    blocks: list[Block] = []

    def ignored(element: HtmlElement) -> bool:
        return (
            skip(element)
            or element.tag == "figure"
            or not _NOT_LEAD.isdisjoint(name_words(element))
        )

    for element in gap:
        if not ignored(element):
            blocks.extend(b for b in iter_blocks(element, skip=ignored) if _is_prose(b, stats))
    return blocks


def _inside(element: HtmlElement, ancestor: HtmlElement) -> bool:
    return any(node is ancestor for node in islice(element.iterancestors(), 64))


def _gap(headline: HtmlElement, container: HtmlElement) -> list[HtmlElement] | None:
    """Return the elements strictly between the headline and the container, outermost
    first, or None when the headline does not come first or the two are far apart."""
    up_container = [container, *islice(container.iterancestors(), _MAX_DEPTH)]
    index = {id(node): depth for depth, node in enumerate(up_container)}
    up_headline = [headline]
    for node in islice(headline.iterancestors(), _MAX_DEPTH):
        if id(node) in index:
            common = node
            break
        up_headline.append(node)
    else:
        return None
    down_container = list(reversed(up_container[: index[id(common)]]))
    headline_branch, container_branch = up_headline[-1], down_container[0]
    children = list(common)
    try:
        start, end = children.index(headline_branch), children.index(container_branch)
    except ValueError:
        return None
    if start >= end:
        return None
    gap: list[HtmlElement] = []
    for node in up_headline[:-1]:  # what follows the headline, inside its branch
        gap.extend(_elements(node.itersiblings()))
    gap.extend(_elements(children[start + 1 : end]))
    for node in down_container[1:]:  # what precedes the container, inside its branch
        gap.extend(reversed(list(_elements(node.itersiblings(preceding=True)))))
    return gap if len(gap) <= _MAX_GAP_ELEMENTS else None


def _elements(nodes: Iterator[HtmlElement] | list[HtmlElement]) -> Iterator[HtmlElement]:
    return (node for node in islice(nodes, _MAX_GAP_ELEMENTS + 1) if isinstance(node.tag, str))


def _is_prose(block: Block, stats: dict[HtmlElement, Stats]) -> bool:
    if len(block.text) < _MIN_LEAD_CHARS or block.tag.startswith("h"):
        return False
    measures = stats.get(block.element)
    if measures is None or not measures.inline:
        return True
    return measures.inline_links <= _MAX_LINK_SHARE * measures.inline
