"""From a WARC file's pages to records the store takes, and what a file's progress is.

A page kept by the scan (``warc_scan``) is extracted like any fetched page
(:class:`ingest.prepare.PageWorkers`, with the capture time as "now"), and stored only when its
publication time, else its capture time, falls in the backfill's days. Its record is attributed
to the feed whose site it belongs to (none with ``--all-sites`` for a site with no feed).

A file's progress (:class:`WarcProgress`) is what the store remembers between runs: counts,
status and the offset of the first record not yet stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ingest.backfill.days import DayRange
from ingest.backfill.warc_scan import WarcPage
from ingest.errors import ExtractError
from ingest.model import ArticleRecord
from ingest.prepare import PageWorkers
from ingest.urls import canonicalize_url

__all__ = ["PageRecords", "WarcCounts", "WarcFileStatus", "WarcProgress", "page_records"]

log = logging.getLogger(__name__)


class WarcFileStatus(StrEnum):
    """Where a WARC file stands (``warc_files.status``)."""

    RUNNING = "running"  # started, not finished: a later run resumes it at its offset
    DONE = "done"  # read to its end and its pages stored: a later run skips it
    FAILED = "failed"  # stopped by an error: a later run tries it again from its offset


@dataclass(frozen=True, slots=True)
class WarcCounts:
    """What became of one file's records (or of a part of them)."""

    records: int = 0  # response records read
    kept: int = 0  # HTML pages of a wanted site
    stored: int = 0  # of those, new or changed articles saved
    duplicates: int = 0  # stored already, or another copy within the batch
    out_of_range: int = 0  # published (else captured) outside the days
    failed_pages: int = 0  # no article could be extracted, or no page to keep after all

    def __add__(self, other: WarcCounts) -> WarcCounts:
        return WarcCounts(
            self.records + other.records,
            self.kept + other.kept,
            self.stored + other.stored,
            self.duplicates + other.duplicates,
            self.out_of_range + other.out_of_range,
            self.failed_pages + other.failed_pages,
        )


@dataclass(frozen=True, slots=True)
class WarcProgress:
    """How far a backfill got through one file."""

    status: WarcFileStatus = WarcFileStatus.RUNNING
    counts: WarcCounts = WarcCounts()
    bytes_read: int = 0
    resume_offset: int = 0  # where the first record not yet stored starts
    error: str | None = None


def selection_scope(sites: frozenset[str] | None, days: DayRange) -> str:
    """A short, stable name for what a file is read for: the sites (or all) and the days.

    The same file read again for other sites or days is another piece of work: its pages of
    those sites or days were not kept the first time.
    """
    site_part = "*" if sites is None else ",".join(sorted(sites))
    text = f"sites={site_part};days={days.label()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class PageRecords:
    """The records of a step's pages, by the feed they are stored under, and what was dropped."""

    by_feed: dict[str, list[ArticleRecord]] = field(default_factory=dict)
    out_of_range: int = 0
    failed: int = 0
    warnings: tuple[str, ...] = ()


async def page_records(
    pages: Sequence[WarcPage],
    *,
    days: DayRange,
    feed_of_site: Mapping[str, str],
    workers: PageWorkers,
) -> PageRecords:
    """Extract ``pages`` (in ``workers``) and keep those of ``days`` as records to store.

    ``feed_of_site`` names the feed a site's articles belong to; a site it does not name is
    stored under ``""`` (no feed).
    """
    outcomes = await asyncio.gather(*(_record(page, workers) for page in pages))
    by_feed: dict[str, list[ArticleRecord]] = {}
    out_of_range = failed = 0
    warnings = []
    for page, outcome in zip(pages, outcomes, strict=True):
        if isinstance(outcome, str):
            failed += 1
            warnings.append(f"{page.url}: {outcome}")
            continue
        when = outcome.article.published_at or page.captured_at
        if not days.start <= when < days.end:
            out_of_range += 1
            continue
        by_feed.setdefault(feed_of_site.get(page.site, ""), []).append(outcome)
    return PageRecords(by_feed, out_of_range, failed, tuple(warnings))


async def _record(page: WarcPage, workers: PageWorkers) -> ArticleRecord | str:
    """The page's record, or why there is none."""
    try:
        link_url = canonicalize_url(page.url)
        prepared = await workers.prepare(
            page.body, page.url, content_type=page.content_type, now=page.captured_at
        )
    except ValueError as exc:
        return f"not a usable URL: {exc}"
    except ExtractError as exc:
        return str(exc)
    return ArticleRecord(
        article=prepared.article,
        link_url=link_url,
        guid=None,
        entry_hash="",  # no feed entry: a later feed ingest compares its own entry's hash
        content_hash=prepared.content_hash,
        fetched_at=page.captured_at,
        raw=prepared.raw,
        fingerprint=prepared.fingerprint,
    )
