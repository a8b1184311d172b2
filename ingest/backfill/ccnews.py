"""Common Crawl's CC-NEWS: which WARC files of the archive may hold a range's pages.

CC-NEWS publishes one listing per month, ``crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz``: a
gzipped text file naming that month's WARC files, one path a line, relative to the archive's
root (``NEWSFLOW_CCNEWS_URL``). Each file is named after the moment its capture started,
``CC-NEWS-20210914093021-00042.warc.gz``, and pages are captured some time after they are
published: a page of 14 September may be in a file captured on the 16th. So a range
``since..until`` reads the files captured from ``since`` to ``until`` plus ``lag_days``;
the pages' own dates then decide which are stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urljoin

from ingest.backfill.days import DayRange
from ingest.backfill.warc_sources import WarcFile, parse_listing
from ingest.errors import PermanentFetchError
from ingest.fetch.client import Fetcher

__all__ = ["CCNEWS_PREFIX", "capture_time", "ccnews_files", "listing_path", "select_files"]

log = logging.getLogger(__name__)

CCNEWS_PREFIX = "crawl-data/CC-NEWS"
_NAME = re.compile(r"CC-NEWS-(\d{14})-\d+\.warc(?:\.gz)?")
#: A listing is a few hundred KiB; refuse anything far larger.
MAX_LISTING_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)


def listing_path(month: Month) -> str:
    """``crawl-data/CC-NEWS/2021/09/warc.paths.gz``: where a month's files are listed."""
    return f"{CCNEWS_PREFIX}/{month.year:04d}/{month.month:02d}/warc.paths.gz"


def capture_window(days: DayRange, lag_days: int) -> tuple[datetime, datetime]:
    """The capture times whose files may hold pages of ``days``: [start, end)."""
    return days.start, days.end + timedelta(days=lag_days)


def months_between(start: datetime, end: datetime) -> list[Month]:
    """The calendar months that [start, end) touches, oldest first."""
    month = Month(start.year, start.month)
    last = end - timedelta(microseconds=1)
    months = []
    while (month.year, month.month) <= (last.year, last.month):
        months.append(month)
        month = month.next()
    return months


def capture_time(path: str) -> datetime | None:
    """The capture start a CC-NEWS file's name gives (UTC), or None for another name."""
    found = _NAME.search(path.rsplit("/", 1)[-1])
    if found is None:
        return None
    try:
        return datetime.strptime(found.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def select_files(
    paths: Iterable[str], *, base_url: str, start: datetime, end: datetime
) -> list[WarcFile]:
    """The listed files captured in [start, end), oldest first; other names are skipped."""
    chosen = []
    for path in paths:
        when = capture_time(path)
        if when is None:
            log.warning("skipped %r: not a CC-NEWS WARC file name", path[:200])
            continue
        if start <= when < end:
            chosen.append(WarcFile(url=urljoin(base_url, path), key=path, captured_at=when))
    return sorted(chosen, key=lambda f: (f.captured_at or start, f.key))


async def ccnews_files(
    days: DayRange,
    *,
    base_url: str,
    lag_days: int,
    fetcher: Fetcher,
    today: date,
    max_bytes: int = MAX_LISTING_BYTES,
) -> list[WarcFile]:
    """The CC-NEWS files that may hold pages published in ``days``, oldest capture first.

    Reads the listing of every month the capture window touches. A month that only the lag
    reaches and whose listing is not published yet (404) adds no file; a missing listing for a
    month of the range itself is an error (CC-NEWS starts in August 2016).
    """
    start, end = capture_window(days, lag_days)
    files: list[WarcFile] = []
    for month in months_between(start, end):
        if month.first_day() > today:
            break  # not captured yet
        url = urljoin(_root(base_url), listing_path(month))
        try:
            listing = await fetcher.fetch(url, max_bytes=max_bytes, accept="*/*")
        except PermanentFetchError as exc:
            lag_only = month.first_day() > days.last
            if exc.status == 404 and lag_only:
                log.info("no CC-NEWS listing for %s yet: %s", listing_path(month), exc)
                continue
            raise PermanentFetchError(
                f"cannot read the CC-NEWS listing {url}: {exc}", url=url, status=exc.status
            ) from exc
        paths = parse_listing(listing.body, url=url)
        files += select_files(paths, base_url=_root(base_url), start=start, end=end)
    return files


def _root(base_url: str) -> str:
    return base_url if base_url.endswith("/") else base_url + "/"
