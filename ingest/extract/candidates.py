"""Candidate values for an article field, each with the source it came from.

Every field keeps its ordered list of candidates (best first) so that a caller explaining an
extraction can show what was chosen and what was passed over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["SOURCES", "Candidate"]

T = TypeVar("T")

# The values ``Article.sources`` may hold.
SOURCES = frozenset(("jsonld", "og", "twitter", "meta", "time", "dom", "feed", "url", "detected"))


@dataclass(frozen=True, slots=True)
class Candidate(Generic[T]):
    """One possible value for a field: the value, its source family and the exact origin."""

    value: T
    source: str  # one of SOURCES
    origin: str = ""  # e.g. "og:title", "headline", "<time datetime>"
    raw: str | None = None  # the text as the page showed it, when ``value`` was normalized
