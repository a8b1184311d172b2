"""ingest/feeds/schedule.py: when a feed is fetched next, and when it is parked
(tables of cases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.feeds.schedule import (
    MAX_INTERVAL,
    PARK_AFTER,
    after_failure,
    after_success,
    cache_max_age,
)

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
