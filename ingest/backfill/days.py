"""Backfill planning: the range of days, and which day an item belongs to.

A backfill covers inclusive calendar days in UTC. ``--since 2021-09-14 --until 2021-09-16`` is
three days, the half-open interval [2021-09-14T00:00Z, 2021-09-17T00:00Z). ISO date-times are
accepted and mean the UTC day they fall on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ingest.backfill.sitemaps import SitemapUrl
from ingest.errors import ConfigError
from ingest.model import FeedEntry

#: The longest backfill accepted in one run (ten years of days).
MAX_DAYS = 3660
SOURCES = ("sitemap", "archive", "reprocess", "ccnews", "warc")


@dataclass(frozen=True, slots=True)
class DayRange:
    """Inclusive UTC calendar days."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The instant just after the last day (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=UTC)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def label(self) -> str:
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


def parse_day(value: str | date, *, name: str) -> date:
    """A date (``2021-09-14``) or an ISO date-time (its UTC day); anything else is refused."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(
            f"--{name} {text!r} is not a date: use YYYY-MM-DD or an ISO date-time"
        ) from exc
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def day_range(since: str | date, until: str | date, *, today: date) -> DayRange:
    """Validate a backfill range before any work starts."""
    first, last = parse_day(since, name="since"), parse_day(until, name="until")
    if first > last:
        raise ConfigError(f"the range is reversed: --since {first} is after --until {last}")
    if first > today:
        raise ConfigError(f"--since {first} is in the future (today is {today} UTC)")
    if first.year < 1995:
        raise ConfigError(f"--since {first} is before 1995: newsflow keeps no earlier dates")
    last = min(last, today)
    if (last - first).days + 1 > MAX_DAYS:
        raise ConfigError(f"the range spans more than {MAX_DAYS} days: split it into several runs")
    return DayRange(first, last)


def check_source(source: str) -> str:
    if source not in SOURCES:
        raise ConfigError(f"--source {source!r} is not one of {', '.join(SOURCES)}")
    return source


def entries_by_day(entries: Iterable[FeedEntry], days: DayRange) -> dict[date, list[FeedEntry]]:
    """Group dated entries by their UTC publication day, keeping only days in the range."""
    grouped: dict[date, list[FeedEntry]] = defaultdict(list)
    for entry in entries:
        if entry.published_at is None:
            continue
        day = entry.published_at.astimezone(UTC).date()
        if days.first <= day <= days.last:
            grouped[day].append(entry)
    return dict(grouped)


def sitemap_entries(items: Iterable[SitemapUrl], days: DayRange) -> dict[date, list[FeedEntry]]:
    """Sitemap URLs as feed entries, grouped by the day their sitemap dates them.

    The entry keeps only the news publication date as its own date; ``lastmod`` places the URL
    in a day but is a modification time, so the page's own date decides what is stored.
    """
    grouped: dict[date, list[FeedEntry]] = defaultdict(list)
    for item in items:
        when = item.published_at or item.lastmod
        if when is None:
            continue
        day = when.astimezone(UTC).date()
        if days.first <= day <= days.last:
            grouped[day].append(
                FeedEntry(
                    guid=None,
                    link=item.url,
                    title=item.title,
                    summary=None,
                    content=None,
                    published_at=item.published_at,
                    position=len(grouped[day]),
                )
            )
    return dict(grouped)
