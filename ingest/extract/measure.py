"""Measure text and link lengths for every element of a tree in one linear pass."""

from __future__ import annotations

from collections.abc import Container

from lxml import etree
from lxml.html import HtmlElement

from ingest.extract.text import BLOCK_TAGS

__all__ = ["Stats", "forget", "measure"]

_COMMAS = (",", "،", "，", "、")
_LIST_ITEMS = frozenset(("li", "dd", "dt"))


class Stats:
    """Text measures of one element (characters, whitespace collapsed)."""

    __slots__ = (
        "commas", "inline", "inline_links", "links", "listed", "paragraphs", "prose", "text",
    )  # fmt: skip

    def __init__(self) -> None:
        self.text = 0  # all text in the subtree
        self.links = 0  # text inside <a> in the subtree
        self.inline = 0  # text not inside a nested block element: the element's own paragraph
        self.inline_links = 0
        self.commas = 0  # commas in the inline text
        self.paragraphs = 0  # paragraphs (inline text of 80+ chars) in the subtree
        self.prose = 0  # characters in those paragraphs, when they are not mostly links
        self.listed = 0  # the part of ``prose`` held in list items (teasers, glossaries...)

    @property
    def link_density(self) -> float:
        return self.links / self.text if self.text else 0.0


def _measure_text(text: str) -> tuple[int, int]:
    """Return the length of ``text`` with whitespace collapsed, and its commas."""
    words = text.split()
    if not words:
        return 0, 0  # the whitespace between tags: most text nodes of a page
    length = len(" ".join(words))  # join runs in C: faster than summing
    if text.isascii():
        return length, text.count(",")
    return length, sum(text.count(comma) for comma in _COMMAS)


def forget(stats: dict[HtmlElement, Stats], element: HtmlElement) -> int:
    """Take a subtree about to be removed out of the stats; return the number of steps taken.

    Ancestors lose its text and links (and its inline text up to the first block ancestor);
    an ancestor whose own paragraph shrinks below the threshold keeps counting as one, which
    is close enough for choosing a container.
    """
    own = stats.get(element)
    if own is None:
        return 0
    steps = 0
    inline = element.tag not in BLOCK_TAGS
    for ancestor in element.iterancestors():
        steps += 1
        measures = stats.get(ancestor)
        if measures is None:
            continue
        measures.text -= own.text
        measures.links -= own.links
        measures.paragraphs -= own.paragraphs
        measures.prose -= own.prose
        measures.listed -= own.listed
        if inline:
            measures.inline -= own.inline
            measures.inline_links -= own.inline_links
            measures.commas -= own.commas
            inline = ancestor.tag not in BLOCK_TAGS
    for node in element.iter():
        steps += 1
        stats.pop(node, None)
    return steps


def measure(
    root: HtmlElement, skip: Container[HtmlElement] | None = None
) -> dict[HtmlElement, Stats]:
    """Return the stats of every element under ``root`` in one walk (no recursion), leaving
    out the subtrees in ``skip`` (their tails still count: they belong to the parent)."""
    stats: dict[HtmlElement, Stats] = {}
    stack: list[Stats] = []
    skipped: HtmlElement | None = None
    blocks, list_items = BLOCK_TAGS, _LIST_ITEMS  # locals: this loop runs per element
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag
        if event == "start":
            if skip is not None and element is not root and element in skip:
                walker.skip_subtree()  # the next event is this element's "end"
                skipped = element
            elif isinstance(tag, str):
                own = Stats()
                text = element.text
                if text:
                    own.text, own.commas = _measure_text(text)
                    own.inline = own.text
                stack.append(own)
            continue
        if element is skipped:
            skipped = None
        elif isinstance(tag, str):
            own = stack.pop()
            if tag == "a":
                own.links = own.text
                own.inline_links = own.inline
            if own.inline >= 80 and tag in blocks:
                own.paragraphs += 1
                if own.inline_links < 0.3 * own.inline:
                    own.prose += own.inline
            if tag in list_items:
                own.listed = own.prose  # paragraphs inside a list item are listed too
            stats[element] = own
            if not stack:
                continue
            parent = stack[-1]
            if own.text:
                parent.text += own.text
                parent.links += own.links
                parent.paragraphs += own.paragraphs
                parent.prose += own.prose
                parent.listed += own.listed
                if tag not in blocks:
                    parent.inline += own.inline
                    parent.inline_links += own.inline_links
                    parent.commas += own.commas
        tail = element.tail
        if tail and stack and element is not root:
            # The tail is text of the parent, after this element.
            length, commas = _measure_text(tail)
            if length:
                parent = stack[-1]
                parent.text += length
                parent.inline += length
                parent.commas += commas
    return stats
