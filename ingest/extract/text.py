"""Turn an HTML subtree into plain-text blocks (paragraphs), and feed fragments into text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

__all__ = [
    "DENSE",
    "UNSPACED",
    "Block",
    "clean_text",
    "html_to_text",
    "iter_blocks",
    "join_blocks",
    "parse_fragment",
    "text_weight",
    "word_set",
    "word_shingles",
]

# Control characters, invisible format characters and lone surrogates are dropped; the
# zero-width (non-)joiners stay because Persian and Indic scripts need them.
_DROP = dict.fromkeys(
    [
        *range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0),
        0x00AD, 0x200B, 0x2060, 0xFEFF, 0xFFFE, 0xFFFF, *range(0xD800, 0xE000),
    ]
)  # fmt: skip


def word_set(words: str) -> frozenset[str]:
    """Return the whitespace-separated words of ``words`` as a set (for readable tables)."""
    return frozenset(words.split())


BLOCK_TAGS = word_set(
    """address article aside blockquote body center dd details dialog dir div dl dt fieldset
    figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html li main menu nav ol
    p pre section summary table tbody td tfoot th thead tr ul"""
)
HEADING_TAGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
# Dropped with their content wherever text is produced; <rt>/<rp> are ruby annotations (the
# reading printed above Japanese or Chinese characters), not words of the text.
SILENT_TAGS = word_set(
    """script style noscript template iframe svg math canvas object embed video audio map button
    input select option optgroup textarea datalist head title meta link source track dialog
    rt rp"""
)

# Scripts written without spaces between words (kana, CJK ideographs), and those whose single
# characters say about as much as a short word (the same, and Hangul syllables).
_KANA_HAN = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
UNSPACED = re.compile(f"[{_KANA_HAN}]")
DENSE = re.compile(f"[{_KANA_HAN}\u1100-\u11ff\uac00-\ud7af]")
_DENSE_WEIGHT = 3  # a character of those scripts says about as much as three Latin letters

_TAG_LIKE = re.compile(r"<[A-Za-z!/]")
_WORD = re.compile(r"\w+")
# "<" runs an HTML parser would read as the start of a tag, comment, declaration or PI.
_MARKUP_START = re.compile(r"<+(?=[A-Za-z/!?])")
_BLANK_LINES = re.compile(r"\n\s*\n")


def clean_text(value: str) -> str:
    """Collapse whitespace and drop control and invisible characters."""
    return " ".join(value.translate(_DROP).split())


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph-like piece of text and the block element that holds it."""

    text: str
    tag: str
    element: HtmlElement


def _flush(parts: list[str], owner: HtmlElement, preformatted: bool) -> Iterator[Block]:
    """Turn the pending inline text into a Block (and empty ``parts``)."""
    if not parts:
        return
    raw = "".join(parts)
    parts.clear()
    if preformatted:
        # Code keeps its line structure and indentation.
        lines = (line.rstrip() for line in raw.translate(_DROP).expandtabs(4).splitlines())
        text = "\n".join(line for line in lines if line)
    else:
        text = clean_text(raw)
    if text:
        yield Block(text, str(owner.tag), owner)


def iter_blocks(
    root: HtmlElement, skip: Callable[[HtmlElement], bool] | None = None
) -> Iterator[Block]:
    """Yield the text blocks under ``root`` in document order, skipping ``skip`` subtrees.

    Inline text accumulates until a block element (or ``<br>``) starts or ends; each run
    becomes one Block owned by the innermost open block element.
    """
    parts: list[str] = []
    owners: list[HtmlElement] = [root]
    in_pre = 0
    skipped: HtmlElement | None = None
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag
        if not isinstance(tag, str):  # a comment: only its tail is text
            if event == "end" and element.tail:
                parts.append(element.tail)
            continue
        if event == "start":
            if tag in SILENT_TAGS or (skip is not None and element is not root and skip(element)):
                # The next event is this element's "end": only its tail remains to be read.
                walker.skip_subtree()
                skipped = element
                continue
            if tag in BLOCK_TAGS or tag == "br":
                yield from _flush(parts, owners[-1], in_pre > 0)
            if tag in BLOCK_TAGS:
                owners.append(element)
            in_pre += tag == "pre"
            if element.text:
                parts.append(element.text)
            continue
        if element is skipped:
            skipped = None
        else:
            if tag in BLOCK_TAGS:
                yield from _flush(parts, owners.pop(), in_pre > 0)
            in_pre -= tag == "pre"
        if element.tail and element is not root:
            parts.append(element.tail)
    yield from _flush(parts, owners[-1], in_pre > 0)


def text_weight(text: str) -> int:
    """The length of a text, a character of a dense script counting as three: thresholds
    written in Latin letters then hold for Chinese, Japanese and Korean too."""
    return len(text) + (_DENSE_WEIGHT - 1) * len(DENSE.findall(text))


def word_shingles(text: str, size: int = 3) -> set[tuple[str, ...]]:
    """Return the runs of ``size`` lower-cased words of ``text`` (one shorter run for a text
    of fewer words), for telling how much of one text another repeats."""
    words = [word.lower() for word in _WORD.findall(text)]
    if len(words) < size:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def join_blocks(texts: list[str]) -> str:
    """Join paragraphs with one blank line between them."""
    return "\n\n".join(text for text in texts if text)


def parse_fragment(fragment: str) -> HtmlElement:
    """Parse an HTML fragment into a ``<div>`` wrapper without comments."""
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True)
    wrapper: HtmlElement = lxml.html.fragment_fromstring(
        fragment.replace("\x00", ""), create_parent="div", parser=parser
    )
    return wrapper


def html_to_text(fragment: str) -> str:
    """Turn a feed summary or content (HTML or plain text) into paragraphs of plain text."""
    text = _markup_to_text(fragment)
    if not _MARKUP_START.search(text):
        return text
    # The feed escaped its markup once more than it should ("&lt;p&gt;"): read it again, as
    # titles are; what is still markup after that is left as text a browser will not run.
    paragraphs = (_markup_to_text(p) for p in _BLANK_LINES.split(text))
    return _MARKUP_START.sub("", join_blocks([p for p in paragraphs if p]))


def _markup_to_text(fragment: str) -> str:
    if not fragment or not fragment.strip():
        return ""
    if not _TAG_LIKE.search(fragment):
        # Plain text keeps its own blank-line paragraphs; entities are still decoded.
        paragraphs = (_fragment_text(part) for part in _BLANK_LINES.split(fragment))
        return join_blocks([text for text in paragraphs if text])
    try:
        root = parse_fragment(fragment)
    except (etree.ParserError, ValueError):
        return clean_text(fragment)
    return join_blocks([block.text for block in iter_blocks(root)])


def _fragment_text(text: str) -> str:
    if "&" not in text:
        return clean_text(text)
    try:
        root = parse_fragment(text)
    except (etree.ParserError, ValueError):
        return clean_text(text)
    return clean_text(root.text_content())
