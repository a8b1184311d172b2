"""ingest/feeds/schedule.py: when a feed is fetched next, when it is parked, and what adaptive
polling learns from each read (tables of cases)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.feeds.schedule import (
    MAX_INTERVAL,
    PARK_AFTER,
    Polling,
    after_failure,
    after_success,
    backoff_base,
    cache_max_age,
    learn,
)
from ingest.model import Cadence, PollCounts

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
BASE = timedelta(minutes=15)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="empty"),
        pytest.param("max-age=300", 300 * SECOND, id="max-age"),
        pytest.param("public, max-age=600", 600 * SECOND, id="after-another-directive"),
        pytest.param("private,max-age=90", 90 * SECOND, id="no-space-after-comma"),
        pytest.param("MAX-AGE=60", 60 * SECOND, id="upper-case"),
        pytest.param("max-age = 45", 45 * SECOND, id="spaces-around-equals"),
        pytest.param('max-age="120"', 120 * SECOND, id="quoted"),
        pytest.param("max-age=0", timedelta(0), id="zero"),
        # s-maxage is for shared caches (RFC 9111 §5.2.2.10); a feed reader is a private one.
        pytest.param("s-maxage=60, max-age=600", 600 * SECOND, id="s-maxage-ignored"),
        pytest.param("s-maxage=60", None, id="only-s-maxage"),
        pytest.param("no-store, max-age=600", None, id="no-store-wins"),
        pytest.param("max-age=soon", None, id="not-a-number"),
        pytest.param("xmax-age=60", None, id="other-directive-suffix"),
        pytest.param("no-cache", None, id="no-cache"),
    ],
)
def test_cache_max_age(header: str | None, expected: timedelta | None) -> None:
    assert cache_max_age(header) == expected


@pytest.mark.parametrize(
    ("ttl_minutes", "cache_control", "wait"),
    [
        pytest.param(None, None, BASE, id="base-interval"),
        pytest.param(60, None, 60 * MINUTE, id="ttl-longer-than-base"),
        pytest.param(5, None, BASE, id="ttl-shorter-than-base"),
        pytest.param(0, None, BASE, id="ttl-zero"),
        pytest.param(-30, None, BASE, id="ttl-negative"),
        pytest.param(3000, None, MAX_INTERVAL, id="ttl-capped-at-a-day"),
        pytest.param(None, "max-age=7200", 2 * 60 * MINUTE, id="max-age-longer"),
        pytest.param(None, "max-age=60", BASE, id="max-age-shorter"),
        pytest.param(None, "max-age=9999999999", MAX_INTERVAL, id="max-age-capped"),
        pytest.param(120, "max-age=3600", 120 * MINUTE, id="ttl-and-max-age-longest-wins"),
        pytest.param(30, "max-age=3600", 60 * MINUTE, id="max-age-and-ttl-longest-wins"),
        pytest.param(None, "no-store, max-age=7200", BASE, id="no-store"),
    ],
)
def test_after_success(ttl_minutes: int | None, cache_control: str | None, wait: timedelta) -> None:
    plan = after_success(NOW, base=BASE, ttl_minutes=ttl_minutes, cache_control=cache_control)
    assert plan.next_fetch_at == NOW + wait
    assert not plan.parked


@pytest.mark.parametrize(
    ("base", "failures", "retry_after", "gone", "wait", "parked"),
    [
        pytest.param(BASE, 1, None, False, BASE, False, id="first-failure"),
        pytest.param(BASE, 2, None, False, 2 * BASE, False, id="second-doubles"),
        pytest.param(BASE, 3, None, False, 4 * BASE, False, id="third-doubles-again"),
        pytest.param(BASE, 7, None, False, 64 * BASE, False, id="seventh-16-hours"),
        pytest.param(BASE, 8, None, False, MAX_INTERVAL, False, id="eighth-capped-at-a-day"),
        pytest.param(BASE, 0, None, False, BASE, False, id="zero-failures-is-base"),
        pytest.param(BASE, 1000, None, False, MAX_INTERVAL, True, id="huge-count-no-overflow"),
        pytest.param(BASE, PARK_AFTER - 1, None, False, MAX_INTERVAL, False, id="ninth-not-parked"),
        pytest.param(BASE, PARK_AFTER, None, False, MAX_INTERVAL, True, id="tenth-parks"),
        pytest.param(BASE, PARK_AFTER + 1, None, False, MAX_INTERVAL, True, id="stays-parked"),
        pytest.param(BASE, 1, None, True, BASE, True, id="gone-parks-at-once"),
        pytest.param(MINUTE, 1, 120.0, False, 120 * SECOND, False, id="retry-after-longer"),
        pytest.param(BASE, 3, 60.0, False, 4 * BASE, False, id="retry-after-shorter"),
        pytest.param(BASE, 1, 10 * 86400.0, False, MAX_INTERVAL, False, id="retry-after-capped"),
        pytest.param(BASE, 1, 0.0, False, BASE, False, id="retry-after-zero"),
        pytest.param(MINUTE, 1, 0.5, False, MINUTE, False, id="retry-after-fraction"),
    ],
)
def test_after_failure(
    base: timedelta,
    failures: int,
    retry_after: float | None,
    gone: bool,
    wait: timedelta,
    parked: bool,
) -> None:
    plan = after_failure(NOW, base=base, failures=failures, retry_after=retry_after, gone=gone)
    assert plan.next_fetch_at == NOW + wait
    assert plan.parked is parked


def test_backoff_sequence_reaches_the_cap_and_stays() -> None:
    waits = [after_failure(NOW, base=BASE, failures=n).next_fetch_at - NOW for n in range(1, 13)]
    assert [int(w / MINUTE) for w in waits] == [
        15, 30, 60, 120, 240, 480, 960, 1440, 1440, 1440, 1440, 1440,
    ]  # fmt: skip
    assert waits == sorted(waits)


# -- adaptive polling: learn() -----------------------------------------------------------------

POLLING = Polling()  # base 15 min, min 5 min, max 60 min, mean over a day, peak over a week
HOUR = 60 * MINUTE


def cadence(mean: float, peak: float, listed: int, interval: timedelta = BASE) -> Cadence:
    """What was learned before, at NOW."""
    return Cadence(interval, mean, peak, listed, NOW)


def read(
    entries: int = 0, new: int = 0, dated: int = 0, span: timedelta | None = None
) -> PollCounts:
    return PollCounts(entries, new, dated, span)


@pytest.mark.parametrize(
    ("counts", "wait", "rate"),
    [
        # Dates 50 min apart across 10 entries: 259 a day; half the list turns over in 28 min,
        # and one entry per read would be 5.6 min, but the base is the floor for that alone.
        pytest.param(read(10, 10, 10, 50 * MINUTE), BASE, 9 / (50 / 1440), id="dates-spread"),
        # 4 entries within 3 minutes: capped at one per min_interval (288 a day); half the
        # list (2 entries) turns over in 10 min, which is sooner than the base.
        pytest.param(read(4, 4, 4, 3 * MINUTE), 10 * MINUTE, 288.0, id="short-fast-list"),
        pytest.param(read(10, 10, 10, 9 * 24 * HOUR), HOUR, 1.0, id="dates-a-day-apart-max"),
        pytest.param(read(10, 10, 0), BASE, 96.0, id="no-dates-one-per-base"),
        pytest.param(read(10, 10, 1), BASE, 96.0, id="one-date-is-no-spread"),
        pytest.param(read(10, 10, 10, timedelta(0)), BASE, 96.0, id="all-dates-equal"),
        pytest.param(read(), BASE, 96.0, id="empty-feed"),
    ],
)
def test_first_read_guesses_from_the_dates(
    counts: PollCounts, wait: timedelta, rate: float
) -> None:
    learned = learn(None, counts, NOW, POLLING)
    assert learned.interval == pytest.approx(wait, abs=SECOND)
    assert learned.entries_per_day == pytest.approx(rate)
    assert learned.peak_per_day == pytest.approx(rate)
    assert (learned.listed, learned.learned_at) == (counts.entries, NOW)


@pytest.mark.parametrize(
    ("before", "elapsed", "counts", "wait"),
    [
        # Nothing new 15 min after: the mean falls by 1 - e^(-15 min / 1 day), so the wait
        # grows a little past the base; the feed is read less and less often.
        pytest.param(
            cadence(96, 96, 10), BASE, read(), 15.157 * MINUTE, id="nothing-new-lengthens"
        ),
        pytest.param(cadence(2, 2, 10, HOUR), HOUR, read(), HOUR, id="quiet-feed-at-max"),
        # 12 of 20 new after an hour: fewer than half seen, so back to the base at once.
        pytest.param(cadence(10, 10, 20, HOUR), HOUR, read(20, 12), BASE, id="mostly-new-to-base"),
        # 10 of 20 new: half seen is enough; the peak (9 an hour) lets half the list wait 67 min.
        pytest.param(cadence(10, 10, 20, HOUR), HOUR, read(20, 10), HOUR, id="half-seen-no-reset"),
        # One a minute, 10 listed: half the list turns over in 5 min: read at min_interval.
        pytest.param(
            cadence(1440, 1440, 10, 5 * MINUTE),
            5 * MINUTE,
            read(10, 5),
            5 * MINUTE,
            id="fast-short-list-min",
        ),
        # One a minute, 50 listed: 25 entries take 25 min; the base is read often enough.
        pytest.param(cadence(1440, 1440, 50), BASE, read(50, 15), BASE, id="fast-long-list-base"),
        # A 304 lists what the last document did: 20 entries at a peak of 1440 a day, 10 min.
        pytest.param(
            cadence(100, 1440, 20), 10 * MINUTE, read(), 10.01 * MINUTE, id="304-keeps-list"
        ),
        # A day after a burst of one entry every 2 min, the peak is 720 * e^(-1/7): 23 min.
        pytest.param(
            cadence(20, 720, 20), 24 * HOUR, read(), 23.07 * MINUTE, id="burst-remembered"
        ),
        # A manual run 10 s after: the 2 new entries count over min_interval, not 10 s
        # (over 10 s, 1 entry would be a peak of 8,640 a day and pin the feed at 5 min).
        pytest.param(
            cadence(24, 24, 10, HOUR),
            10 * SECOND,
            read(10, 2),
            25 * MINUTE,
            id="rerun-seconds-later",
        ),
    ],
)
def test_learned_interval(
    before: Cadence, elapsed: timedelta, counts: PollCounts, wait: timedelta
) -> None:
    learned = learn(before, counts, NOW + elapsed, POLLING)
    assert learned.interval == pytest.approx(wait, abs=SECOND)
    assert learned.learned_at == NOW + elapsed


@pytest.mark.parametrize(
    "elapsed",
    [pytest.param(timedelta(0), id="same-instant"), pytest.param(-MINUTE, id="clock-back")],
)
def test_no_time_passed_learns_nothing(elapsed: timedelta) -> None:
    before = cadence(24, 100, 10)
    assert learn(before, read(10, 10), NOW + elapsed, POLLING) is before


def test_rates_follow_the_reads() -> None:
    """The mean moves by 1 - e^(-elapsed / memory) toward what the read saw; the peak keeps
    the faster of what it saw (less one entry) and its decayed self; the list is the read's."""
    before = cadence(mean=24, peak=30, listed=10)
    learned = learn(before, read(12, 6), NOW + HOUR, POLLING)
    weight = 1 - math.exp(-1 / 24)
    assert learned.entries_per_day == pytest.approx(24 + weight * (6 * 24 - 24))
    assert learned.peak_per_day == pytest.approx(5 * 24)
    assert learned.listed == 12
    quiet = learn(before, read(12, 0), NOW + HOUR, POLLING)
    assert quiet.peak_per_day == pytest.approx(30 * math.exp(-1 / (24 * 7)))


@pytest.mark.parametrize(
    ("low", "high"),
    [
        pytest.param(10 * MINUTE, 5 * MINUTE, id="min-above-max"),
        pytest.param(timedelta(0), HOUR, id="zero-min"),
        pytest.param(5 * MINUTE, MAX_INTERVAL + SECOND, id="max-beyond-a-day"),
    ],
)
def test_polling_bounds_are_checked(low: timedelta, high: timedelta) -> None:
    with pytest.raises(ValueError, match="min_interval"):
        Polling(min_interval=low, max_interval=high)


@pytest.mark.parametrize(
    ("learned", "base"),
    [
        pytest.param(None, BASE, id="nothing-learned"),
        pytest.param(cadence(1, 1, 10, HOUR), HOUR, id="learned-longer"),
        pytest.param(cadence(1440, 1440, 10, 5 * MINUTE), BASE, id="learned-shorter-than-base"),
    ],
)
def test_failures_back_off_from_the_longer_interval(
    learned: Cadence | None, base: timedelta
) -> None:
    assert backoff_base(POLLING, learned) == base


@settings(max_examples=300, deadline=None)
@given(
    mean=st.floats(0, 1e7),
    peak=st.floats(0, 1e7),
    listed=st.integers(0, 10_000),
    entries=st.integers(0, 10_000),
    new_share=st.floats(0, 1),
    elapsed_s=st.integers(1, 400 * 86400),
    low=st.integers(1, 1440),
    span=st.integers(1, 86400 * 400),
)
def test_learned_interval_is_always_within_the_bounds(
    mean: float,
    peak: float,
    listed: int,
    entries: int,
    new_share: float,
    elapsed_s: int,
    low: int,
    span: int,
) -> None:
    polling = Polling(min_interval=timedelta(minutes=low), max_interval=timedelta(minutes=1440))
    counts = read(entries, round(entries * new_share), entries, timedelta(seconds=span))
    for before in (None, Cadence(BASE, mean, peak, listed, NOW)):
        learned = learn(before, counts, NOW + timedelta(seconds=elapsed_s), polling)
        assert polling.min_interval <= learned.interval <= polling.max_interval
        assert learned.entries_per_day >= 0 and learned.peak_per_day >= 0
