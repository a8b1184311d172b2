"""Weigh a page's JSON-LD ``articleBody`` against the text found in its DOM.

The publisher's ``articleBody`` is clean but often flat (no paragraph breaks) and sometimes
cut short; the DOM text has paragraphs but may carry leftovers. So:

* the two agree: keep the DOM paragraphs (same words, with breaks);
* the DOM holds all of ``articleBody`` and more: if ``articleBody`` covers only the first
  part of the story it was truncated and the DOM wins, otherwise the DOM paragraphs are
  filtered down to those ``articleBody`` contains;
* the DOM misses much of ``articleBody``: the DOM picked the wrong part of the page (or the
  text is rendered by script), so ``articleBody`` is used, split on its own line breaks.
"""

from __future__ import annotations

import html
import re

from ingest.extract.text import clean_text, html_to_text, word_shingles

__all__ = ["reconcile_with_jsonld"]

_TAG_LIKE = re.compile(r"<(?:p|br|div|span|a|em|strong|b|i|h\d)\b|&lt;p&gt;", re.IGNORECASE)
_ELLIPSIS = re.compile(r"(?:\.\.\.|…|\[\.\.\.\])\s*$")
_MIN_JSONLD_CHARS = 200
_AGREE = 0.9  # shared share of shingles for "the same text"
_MOSTLY = 0.6  # the DOM holds this share of articleBody: it found the story
_KEEP_PARAGRAPH = 0.5  # a DOM paragraph is kept when this share of it is in articleBody
_SUMMARY_SHARE = 0.5  # an articleBody this much shorter than the DOM text is a summary


def jsonld_paragraphs(article_body: str) -> list[str]:
    """Split ``articleBody`` into paragraphs (it may hold HTML or plain text lines)."""
    if _TAG_LIKE.search(article_body):
        if "&lt;" in article_body:
            article_body = html.unescape(article_body)
        text = html_to_text(article_body)
        return [part for part in text.split("\n\n") if part]
    lines = (clean_text(html.unescape(line)) for line in article_body.splitlines())
    return [line for line in lines if line]


def reconcile_with_jsonld(
    paragraphs: list[str], article_body: str | None, lead: int = 0
) -> tuple[list[str], str]:
    """Return the paragraphs to use and their source ("dom" or "jsonld").

    The first ``lead`` paragraphs are the standfirst, which ``articleBody`` usually leaves
    out: filtering keeps them.
    """
    if not article_body:
        return paragraphs, "dom"
    ld_paragraphs = jsonld_paragraphs(article_body)
    ld_text = " ".join(ld_paragraphs)
    if len(ld_text) < _MIN_JSONLD_CHARS:
        return paragraphs, "dom"
    ld_shingles = word_shingles(ld_text)
    dom_shingles = word_shingles(" ".join(paragraphs))
    if not dom_shingles:
        return ld_paragraphs, "jsonld"
    shared = len(ld_shingles & dom_shingles)
    ld_covered = shared / len(ld_shingles)
    dom_covered = shared / len(dom_shingles)
    if ld_covered >= _AGREE and dom_covered >= _AGREE:
        return paragraphs, "dom"
    dom_length = len(" ".join(paragraphs))
    if len(ld_text) < _SUMMARY_SHARE * dom_length:
        return paragraphs, "dom"  # a summary or teaser, not the body
    if ld_covered >= _AGREE:
        kept = [i for i, p in enumerate(paragraphs) if i < lead or _inside(p, ld_shingles)]
        if _truncated(paragraphs, kept, ld_text):
            return paragraphs, "dom"
        return [paragraphs[i] for i in kept], "jsonld"
    if ld_covered >= _MOSTLY:
        return paragraphs, "dom"  # the DOM found the story; the two differ in details
    if _ELLIPSIS.search(ld_text) and dom_length > len(ld_text):
        return paragraphs, "dom"
    return ld_paragraphs, "jsonld"


def _inside(paragraph: str, ld_shingles: set[tuple[str, ...]]) -> bool:
    own = word_shingles(paragraph)
    return bool(own) and len(own & ld_shingles) / len(own) >= _KEEP_PARAGRAPH


def _truncated(paragraphs: list[str], kept: list[int], ld_text: str) -> bool:
    """Tell whether articleBody stops early: long prose follows its last paragraph."""
    if _ELLIPSIS.search(ld_text):
        return True
    if not kept:
        return False
    after = paragraphs[kept[-1] + 1 :]
    prose = [p for p in after if len(p) >= 80]
    return len(prose) >= 2 and sum(map(len, prose)) > 0.5 * len(ld_text)
