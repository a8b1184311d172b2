"""Extraction health: is a feed still giving dated, credited, full articles?

A site redesign rarely breaks fetching; it quietly breaks extraction. Each run counts, per feed,
how many extracted articles had a date, an author and a body over 100 words. When a share falls
sharply against the feed's recent runs, the run says so.
"""

from __future__ import annotations

from dataclasses import dataclass

#: A share must fall by at least this much (absolute) to be a drop.
DROP = 0.3
#: Too few articles say nothing: compare only with this many now and before.
MIN_NOW, MIN_BEFORE = 5, 10
FIELDS = ("with_date", "with_author", "long_body")
LABELS = {"with_date": "a date", "with_author": "an author", "long_body": "a body over 100 words"}


@dataclass(frozen=True, slots=True)
class HealthCounts:
    extracted: int = 0
    with_date: int = 0
    with_author: int = 0
    long_body: int = 0

    def share(self, name: str) -> float:
        return getattr(self, name) / self.extracted if self.extracted else 0.0

    def __add__(self, other: HealthCounts) -> HealthCounts:
        return HealthCounts(
            self.extracted + other.extracted,
            self.with_date + other.with_date,
            self.with_author + other.with_author,
            self.long_body + other.long_body,
        )


def health_drops(now: HealthCounts, before: HealthCounts) -> list[str]:
    """Sentences describing each share that fell sharply; empty when all is well."""
    if now.extracted < MIN_NOW or before.extracted < MIN_BEFORE:
        return []
    drops = []
    for name in FIELDS:
        was, is_ = before.share(name), now.share(name)
        if was - is_ >= DROP:
            drops.append(
                f"articles with {LABELS[name]} fell from {was:.0%} to {is_:.0%} "
                f"({getattr(now, name)} of {now.extracted}): has the site changed its pages?"
            )
    return drops
