"""Choose the publication time among a page's date candidates, and give a zone to one
that lacks it.

Order: the publisher's structured dates (JSON-LD, ``article:published_time``, named meta
tags), then the date line the reader sees, then a bare ``<meta name="date">`` (as often the
day of the last edit), then the feed entry, then a day in the URL, and last the page's
modification dates (a page that shows only "Updated 13 June 2019" was at least published by
then). Three corrections to that order:

* a bare meta date naming the same day as the date line goes before the line: it usually
  carries the zone the line lacks;
* when the structured dates disagree by more than a day (JSON-LD says the 3rd, OpenGraph
  the 6th), the one naming the day the reader sees on the page goes first;
* a bare day ("2021-09-15") goes after a later candidate naming the same day with a time.

The first candidate that parses wins; a slashed date that reads both ways ("10/05/2022")
takes the reading nearest the page's other dates.

A visible date line rarely names its zone ("15.09.2021, 14:30 Uhr"): its wall-clock time
takes the UTC offset of the page's other dates (a ``dateModified`` in ``+02:00``), the one
nearest in time; failing that, the zone of the site's country (``zones``); failing that, it
is read as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from ingest.extract.candidates import Candidate
from ingest.extract.dates.parse import parse_date

__all__ = ["first_date", "order_published"]

# Meta keys that name a date without saying which one.
VAGUE_KEYS = frozenset(("date", "dc.date", "dcterms.date"))
_PROBE = timezone(timedelta(hours=5))  # any offset but UTC tells a naive time apart
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
# Structured dates this close name the same publication, seen from different zones.
_SAME_STORY = timedelta(days=1)
# "10/05/2022": day and month in an order the string cannot tell.
_SLASHED = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\b")


def order_published(
    page: list[Candidate[str]],
    dom: list[Candidate[str]],
    rest: list[Candidate[str]],
    updated: list[Candidate[str]] | None = None,
) -> list[Candidate[str]]:
    """Order publication date candidates, best first (see the module docstring)."""
    strong = [c for c in page if c.origin not in VAGUE_KEYS]
    vague = [c for c in page if c.origin in VAGUE_KEYS]
    if dom:
        strong = _seen_first(strong, dom[0].value)
    if vague and dom and _same_day(vague[0].value, dom[0].value):
        ordered = strong + vague + dom + rest
    else:
        ordered = strong + dom + vague + rest
    return _timed_first(ordered) + list(updated or [])


def _seen_first(strong: list[Candidate[str]], shown: str) -> list[Candidate[str]]:
    """When the structured dates disagree by more than a day (a stale JSON-LD date beside a
    fresh OpenGraph one), put first the one naming the day the page shows."""
    if len(strong) < 2:
        return strong
    instants = [parse_date(c.value, now=_FAR_FUTURE) for c in strong]
    first = instants[0]
    if first is None or all(t is None or abs(t - first) <= _SAME_STORY for t in instants):
        return strong
    shown_day = _day(shown)
    for candidate, instant in zip(strong, instants, strict=True):
        far = instant is not None and abs(instant - first) > _SAME_STORY
        if far and _day(candidate.value) == shown_day:
            return [candidate] + [c for c in strong if c is not candidate]
    return strong


def _timed_first(ordered: list[Candidate[str]]) -> list[Candidate[str]]:
    """When the best candidate is a bare day, put first a later one naming the same day with
    a time of day: ``<meta name="date" content="2021-09-15">`` and "15.09.2021, 23:51 Uhr"."""
    for index, candidate in enumerate(ordered):
        day = _day(candidate.value)
        if day is None:
            continue
        if _has_clock(candidate.value):
            return ordered
        for later in ordered[index + 1 :]:
            if _has_clock(later.value) and _day(later.value) == day:
                return [later] + [c for c in ordered if c is not later]
        return ordered
    return ordered


def first_date(
    candidates: list[Candidate[str]],
    now: datetime,
    hints: list[Candidate[str]] | None = None,
    local: tzinfo | None = None,
) -> Candidate[datetime] | None:
    """Return the first candidate that parses as a plausible date, in UTC (raw kept). A
    time without a zone takes the offset of the nearest zoned date among ``hints``, else
    the ``local`` zone (the site's country), else UTC."""
    for candidate in candidates:
        value = _read_slashed(candidate.value, candidates + (hints or []))
        parsed = parse_date(value, now=now)
        if parsed is None:
            continue
        if _has_clock(value) and _is_naive(value, now):
            zone = _nearest_offset(parsed, hints or []) or local
            if zone is not None:
                parsed = parse_date(value, now=now, default_tz=zone) or parsed
        raw = candidate.raw or candidate.value
        return Candidate(parsed, candidate.source, candidate.origin, raw)
    return None


def _read_slashed(value: str, others: list[Candidate[str]]) -> str:
    """Return ``value`` with day and month written unambiguously when it reads both ways,
    choosing the reading nearest the page's other dates; unchanged when nothing decides."""
    found = _SLASHED.match(value)
    if found is None:
        return value
    first, second, year = (int(part) for part in found.groups())
    if first == second or first > 12 or second > 12:
        return value  # one reading only: the parser finds it
    rest = value[found.end() :]
    month_first = f"{year:04d}-{first:02d}-{second:02d}"
    day_first = f"{year:04d}-{second:02d}-{first:02d}"
    known = [
        day
        for c in others
        if c.value != value and not _SLASHED.match(c.value) and (day := _day(c.value))
    ]
    if not known:
        return value

    def distance(iso_day: str) -> int:
        wanted = date.fromisoformat(iso_day)
        return min(abs((wanted - day).days) for day in known)

    best = min((month_first, day_first), key=distance)
    return best + (" " + rest.strip() if rest.strip() else "")


def _has_clock(value: str) -> bool:
    """A bare day ("2021-09-15") is a day wherever the reader is: no offset applies."""
    return ":" in value


def _is_naive(value: str, now: datetime) -> bool:
    as_utc = parse_date(value, now=now)
    shifted = parse_date(value, now=now, default_tz=_PROBE)
    return as_utc is not None and shifted is not None and as_utc != shifted


def _zoned(value: str) -> datetime | None:
    """Return an ISO 8601 value with its own offset, or None when it has none."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def _nearest_offset(naive_as_utc: datetime, hints: list[Candidate[str]]) -> tzinfo | None:
    best: tuple[timedelta, tzinfo] | None = None
    for hint in hints:
        zoned = _zoned(hint.value)
        if zoned is None or zoned.tzinfo is None:
            continue
        distance = abs(zoned.replace(tzinfo=UTC) - naive_as_utc.replace(tzinfo=UTC))
        if best is None or distance < best[0]:
            best = (distance, zoned.tzinfo)
    return best[1] if best is not None else None


def _day(value: str) -> date | None:
    """Return the calendar day a date names in its own zone ("2021-09-15T23:30-04:00" is
    the 15th), or as written when it has no zone."""
    zoned = _zoned(value)
    if zoned is not None:
        return zoned.date()
    parsed = parse_date(value, now=_FAR_FUTURE)
    return parsed.date() if parsed is not None else None


def _same_day(vague: str, line: str) -> bool:
    """Tell whether a meta date and a date line name the same calendar day, each read in
    its own zone."""
    day = _day(vague)
    shown = parse_date(line, now=_FAR_FUTURE)
    return day is not None and shown is not None and day == shown.date()
