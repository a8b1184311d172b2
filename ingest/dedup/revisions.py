"""How a revised article differs from its previous version, in words a person reads.

Kept with every revision (``article_revisions.diff_summary``): "+2 paragraphs, 1 paragraph
edited, title changed", counted by paragraph with :mod:`difflib`.
"""

from __future__ import annotations

import difflib
import re

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def describe_changes(
    old_title: str | None, old_text: str, new_title: str | None, new_text: str
) -> str:
    """Summarize how a text changed, by paragraph: "+2 paragraphs, -1 paragraph, title changed"."""
    added = removed = edited = 0
    matcher = difflib.SequenceMatcher(
        a=_paragraphs(old_text), b=_paragraphs(new_text), autojunk=False
    )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "insert":
            added += j2 - j1
        elif op == "delete":
            removed += i2 - i1
        elif op == "replace":
            edited += min(i2 - i1, j2 - j1)
            added += max(0, (j2 - j1) - (i2 - i1))
            removed += max(0, (i2 - i1) - (j2 - j1))
    parts = []
    if added:
        parts.append("+" + _count(added, "paragraph"))
    if removed:
        parts.append("-" + _count(removed, "paragraph"))
    if edited:
        parts.append(_count(edited, "paragraph") + " edited")
    if (old_title or "") != (new_title or ""):
        parts.append("title changed")
    return ", ".join(parts) or "whitespace or formatting only"
