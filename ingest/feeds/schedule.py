"""When to fetch a feed next, and when to stop trying (miniflux ``ScheduleNextCheck``).

Success: the base interval, stretched to the feed's own ``<ttl>`` or ``Cache-Control: max-age``
when those ask for longer, never beyond a day. Failure: ``base * 2**failures`` capped at a day,
or the server's ``Retry-After`` when it asks for more. A feed is parked (not polled until
``newsflow feeds reset``) after ``PARK_AFTER`` failures in a row or at once when it is gone (410).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_INTERVAL = timedelta(days=1)
PARK_AFTER = 10

_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-)?max-age\s*=\s*\"?(\d{1,10})", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Schedule:
    next_fetch_at: datetime
    parked: bool = False


def cache_max_age(cache_control: str | None) -> timedelta | None:
    """The ``max-age`` of a Cache-Control header, or None."""
    if not cache_control or "no-store" in cache_control.lower():
        return None
    match = _MAX_AGE.search(cache_control)
    return timedelta(seconds=int(match.group(1))) if match else None


def after_success(
    now: datetime,
    *,
    base: timedelta,
    ttl_minutes: int | None = None,
    cache_control: str | None = None,
) -> Schedule:
    """Next check after a good fetch: the longest of what we and the server ask, capped."""
    wait = base
    if ttl_minutes and ttl_minutes > 0:
        wait = max(wait, timedelta(minutes=ttl_minutes))
    max_age = cache_max_age(cache_control)
    if max_age is not None:
        wait = max(wait, max_age)
    return Schedule(now + min(wait, MAX_INTERVAL))


def after_failure(
    now: datetime,
    *,
    base: timedelta,
    failures: int,
    retry_after: float | None = None,
    gone: bool = False,
) -> Schedule:
    """Next check after ``failures`` failures in a row (this one included)."""
    wait = min(base * (2 ** min(max(failures - 1, 0), 20)), MAX_INTERVAL)
    if retry_after is not None:
        wait = max(wait, min(timedelta(seconds=retry_after), MAX_INTERVAL))
    return Schedule(now + wait, parked=gone or failures >= PARK_AFTER)
