"""Choose the publication time among a page's date candidates, and give a zone to one
that lacks it.

Order: the publisher's structured dates (JSON-LD, ``article:published_time``, named meta
tags), then the date line the reader sees, then a bare ``<meta name="date">`` (as often the
day of the last edit), then the feed entry, then a day in the URL. A bare meta date naming the
same day as the date line goes first after all: it usually carries the zone the line lacks.

A visible date line rarely names its zone ("15.09.2021, 14:30 Uhr"): its wall-clock time
takes the UTC offset of the page's other dates (a ``dateModified`` in ``+02:00``), the one
nearest in time; failing that, the zone of the site's country (``zones``); failing that, it
is read as UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from ingest.dates import parse_date
from ingest.extract.candidates import Candidate

__all__ = ["first_date", "order_published"]

# Meta keys that name a date without saying which one.
VAGUE_KEYS = frozenset(("date", "dc.date", "dcterms.date"))
_PROBE = timezone(timedelta(hours=5))  # any offset but UTC tells a naive time apart


def order_published(
    page: list[Candidate[str]],
    dom: list[Candidate[str]],
    rest: list[Candidate[str]],
) -> list[Candidate[str]]:
    """Order publication date candidates, best first (see the module docstring)."""
    strong = [c for c in page if c.origin not in VAGUE_KEYS]
    vague = [c for c in page if c.origin in VAGUE_KEYS]
    if vague and dom and _same_day(vague[0].value, dom[0].value):
        return strong + vague + dom + rest
    return strong + dom + vague + rest


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
        parsed = parse_date(candidate.value, now=now)
        if parsed is None:
            continue
        if _has_clock(candidate.value) and _is_naive(candidate.value, now):
            zone = _nearest_offset(parsed, hints or []) or local
            if zone is not None:
                parsed = parse_date(candidate.value, now=now, default_tz=zone) or parsed
        raw = candidate.raw or candidate.value
        return Candidate(parsed, candidate.source, candidate.origin, raw)
    return None


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


def _same_day(vague: str, line: str) -> bool:
    """Tell whether a meta date and a date line name the same calendar day, each read in
    its own zone."""
    zoned = _zoned(vague)
    far_future = datetime(9999, 1, 1, tzinfo=UTC)
    day: date | None = zoned.date() if zoned is not None else None
    if day is None:
        parsed = parse_date(vague, now=far_future)
        day = parsed.date() if parsed is not None else None
    shown = parse_date(line, now=far_future)
    return day is not None and shown is not None and day == shown.date()
