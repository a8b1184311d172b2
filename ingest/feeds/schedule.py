"""When to fetch a feed next, and when to stop trying (miniflux ``ScheduleNextCheck``).

Success: the feed's learned interval (:func:`learn`), stretched to the feed's own ``<ttl>`` or
``Cache-Control: max-age`` when those ask for longer, never beyond a day. Failure:
``base * 2**failures`` capped at a day, where base is the longer of the configured base and the
learned interval, or the server's ``Retry-After`` when it asks for more. A feed is parked (not
polled until ``newsflow feeds reset``) after ``PARK_AFTER`` failures in a row or at once when it
is gone (410).

Adaptive polling. After every good read (a 304 is a read with nothing new) :func:`learn` updates
two rates of new entries, a mean that forgets over about a day and a peak that forgets over a
week, and waits the shortest of these, kept within ``min_interval`` and ``max_interval``:

* about one new entry per read, at the mean rate, but not sooner than the base interval for
  that alone (miniflux's ``entry_frequency`` scheduler divides a week by the entries of the
  last week);
* the time in which half the entries the feed lists would be new at its peak rate, so an entry
  is read before newer ones push it off the feed;
* the base interval, when fewer than half the entries of a read had been seen before (Media
  Cloud's rss-fetcher shortens a feed's period when too few of a poll's stories are ones it
  already had, and brings a long period back to its default at once).

So a quiet feed is read less and less often, down to ``max_interval``; a feed that publishes
faster than its list can hold is read more often than the base, down to ``min_interval``; and
a feed whose news comes in bursts keeps the pace of its bursts for days after. A first read
guesses the rate from the spread of the entries' dates (one entry per base interval without
dates). ``benchmarks/polling_sim.py`` measures the result against fixed polling.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.model import Cadence, PollCounts

MAX_INTERVAL = timedelta(days=1)
PARK_AFTER = 10
DAY = timedelta(days=1)
#: Wait at most the time in which this share of a document's entries would be new.
NEW_SHARE_PER_READ = 0.5
BASE_INTERVAL = timedelta(minutes=15)
#: The shortest learned interval: miniflux's default (SCHEDULER_ENTRY_FREQUENCY_MIN_INTERVAL).
MIN_INTERVAL = timedelta(minutes=5)
#: The longest learned interval: a quiet feed's news is still read within the hour, and a
#: burst on it is noticed before much of it scrolls off (benchmarks/polling_sim.py).
LONGEST_LEARNED = timedelta(hours=1)
#: How long the mean rate remembers (time constant): a day, so daily patterns average out.
MEAN_MEMORY = DAY
#: How long the peak rate remembers: a feed that burst is watched closely for a week.
PEAK_MEMORY = timedelta(days=7)

_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-)?max-age\s*=\s*\"?(\d{1,10})", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Schedule:
    next_fetch_at: datetime
    parked: bool = False


@dataclass(frozen=True, slots=True)
class Polling:
    """How often feeds are read: the settings adaptive polling works within."""

    base: timedelta = BASE_INTERVAL  # a new feed's first interval; the base of backoff
    min_interval: timedelta = MIN_INTERVAL
    max_interval: timedelta = LONGEST_LEARNED
    memory: timedelta = MEAN_MEMORY
    peak_memory: timedelta = PEAK_MEMORY

    def __post_init__(self) -> None:
        if not timedelta(0) < self.min_interval <= self.max_interval <= MAX_INTERVAL:
            raise ValueError(
                f"need 0 < min_interval <= max_interval <= {MAX_INTERVAL}, "
                f"not {self.min_interval} and {self.max_interval}"
            )
        if min(self.base, self.memory, self.peak_memory) <= timedelta(0):
            raise ValueError("the base interval and the memories must be positive")

    @property
    def fastest_rate(self) -> float:
        """Entries per day beyond which a faster rate changes no decision: one per min_interval."""
        return DAY / self.min_interval

    def clamp(self, wait: timedelta) -> timedelta:
        return min(max(wait, self.min_interval), self.max_interval)


def learn(previous: Cadence | None, read: PollCounts, now: datetime, polling: Polling) -> Cadence:
    """The feed's cadence after a good read at ``now`` that saw ``read`` (all zero for a 304).

    ``previous`` is what was learned before (None for a feed never read); the module docstring
    says how the interval is chosen.
    """
    if previous is None:
        rate = _first_rate(read, polling)
        wait = _interval(rate, rate, read.entries, None, polling)
        return Cadence(wait, rate, rate, read.entries, now)
    elapsed = now - previous.learned_at
    if elapsed <= timedelta(0):
        return previous  # the clock went back, or the same instant twice: nothing to learn
    # A read sooner than min_interval after the last (a manual run) says no more than one
    # min_interval later would: otherwise two runs a second apart would make a rate huge.
    days = max(elapsed, polling.min_interval) / DAY
    weight = 1 - math.exp(-(elapsed / polling.memory))
    mean = previous.entries_per_day + weight * (read.new / days - previous.entries_per_day)
    # Less one entry for the peak: one entry in a short wait is chance, not a rate.
    burst = max(read.new - 1, 0) / days
    peak = max(burst, previous.peak_per_day * math.exp(-(elapsed / polling.peak_memory)))
    listed = read.entries or previous.listed  # a 304 lists what the last document did
    return Cadence(_interval(mean, peak, listed, read, polling), mean, peak, listed, now)


def _first_rate(read: PollCounts, polling: Polling) -> float:
    """A first guess: the spread of the entries' dates (miniflux counts a new feed's entries
    the same way), else one entry per base interval; never beyond ``fastest_rate``."""
    if read.dated >= 2 and read.span is not None and read.span > timedelta(0):
        return min((read.dated - 1) / (read.span / DAY), polling.fastest_rate)
    return min(DAY / polling.base, polling.fastest_rate)


def _interval(
    mean: float, peak: float, listed: int, read: PollCounts | None, polling: Polling
) -> timedelta:
    """The shortest of the waits in the module docstring; ``read`` None on a first read."""
    base = polling.base / DAY
    waits = [max(1 / mean, base) if mean > 0 else math.inf]  # in days
    if listed and peak > 0:
        waits.append(listed * NEW_SHARE_PER_READ / peak)
    if read is not None and read.entries and read.seen < read.entries * NEW_SHARE_PER_READ:
        waits.append(base)
    days = min(max(min(waits), polling.min_interval / DAY), polling.max_interval / DAY)
    return polling.clamp(timedelta(days=days))


def backoff_base(polling: Polling, learned: Cadence | None) -> timedelta:
    """What failures back off from: never sooner than the feed would be read if it worked."""
    return max(polling.base, learned.interval) if learned is not None else polling.base


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
