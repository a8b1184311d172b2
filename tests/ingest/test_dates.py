"""Tests for ingest.extract.dates.parse: the formats feeds use, the clamps, and "never raises"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.extract.dates.parse import EARLIEST, FUTURE_SLACK, parse_date, to_utc

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # RFC 822 / 1123, the RSS format, with every kind of zone
        pytest.param(
            "Mon, 15 Jan 2024 10:30:00 +0900", utc(2024, 1, 15, 1, 30), id="rfc822-numeric-zone"
        ),
        pytest.param("Mon, 15 Jan 2024 10:30:00 GMT", utc(2024, 1, 15, 10, 30), id="rfc822-gmt"),
        pytest.param(
            "2022-01-10T22:06:08:684Z",
            datetime(2022, 1, 10, 22, 6, 8, 684000, tzinfo=UTC),
            id="iso-milliseconds-after-a-colon",
        ),
        pytest.param("Mon, 15 Jan 2024 10:30:00 EST", utc(2024, 1, 15, 15, 30), id="rfc822-est"),
        pytest.param("Wed, 15 May 2024 10:30:00 PDT", utc(2024, 5, 15, 17, 30), id="rfc822-pdt"),
        pytest.param("Mon, 15 Jan 2024 10:30:00 KST", utc(2024, 1, 15, 1, 30), id="rfc822-kst"),
        pytest.param(
            "Mon, 15 Jan 2024 10:30:00 +0000 (UTC)", utc(2024, 1, 15, 10, 30), id="rfc822-comment"
        ),
        pytest.param(
            "15 Jan 2024 10:30 +01:00", utc(2024, 1, 15, 9, 30), id="rfc822-no-weekday-no-seconds"
        ),
        pytest.param(
            "Mon, 15 Jan 24 10:30:00 GMT", utc(2024, 1, 15, 10, 30), id="rfc822-two-digit-year"
        ),
        pytest.param("Mon, 15 Jan 2024 10:30:00", utc(2024, 1, 15, 10, 30), id="rfc822-no-zone"),
        # Korea Times: glued comma, one-digit time fields, "GMT+9" meaning nine hours east
        pytest.param("Thu,28 Jul 2022 4:35:5 GMT+9", utc(2022, 7, 27, 19, 35, 5), id="korea-times"),
        pytest.param("15 Sep 2021 23:51 GMT+1", utc(2021, 9, 15, 22, 51), id="gmt-plus-one"),
        pytest.param(
            "15 Sep 2021 23:51 UTC-05:30", utc(2021, 9, 16, 5, 21), id="utc-minus-half-hour"
        ),
        pytest.param("2024-01-15 10:30:00", utc(2024, 1, 15, 10, 30), id="korea-times-iso-like"),
        # ISO 8601
        pytest.param("2021-09-15T23:51:00Z", utc(2021, 9, 15, 23, 51), id="iso-z"),
        pytest.param("2021-09-15T23:51:00+02:00", utc(2021, 9, 15, 21, 51), id="iso-offset"),
        pytest.param(
            "2021-09-15T23:51:00.123456789Z",
            datetime(2021, 9, 15, 23, 51, 0, 123456, tzinfo=UTC),
            id="iso-nanoseconds",
        ),
        pytest.param(
            "2021-09-15T23:51:00.5-0700",
            datetime(2021, 9, 16, 6, 51, 0, 500000, tzinfo=UTC),
            id="iso-basic-offset",
        ),
        pytest.param("2021-09-15 23:51:00", utc(2021, 9, 15, 23, 51), id="iso-space-naive"),
        pytest.param("2021-09-15", utc(2021, 9, 15), id="iso-date-only"),
        pytest.param("20210915T235100Z", utc(2021, 9, 15, 23, 51), id="iso-basic"),
        # Prose formats
        pytest.param(
            "Wednesday, 15 September, 2021 - 23:51", utc(2021, 9, 15, 23, 51), id="drupal-style"
        ),
        pytest.param("September 15, 2021 at 11:51 PM", utc(2021, 9, 15, 23, 51), id="us-prose"),
        pytest.param("15th September 2021", utc(2021, 9, 15), id="ordinal"),
        pytest.param("15.09.2021 23:51", utc(2021, 9, 15, 23, 51), id="german-dotted"),
        pytest.param("01.02.2021", utc(2021, 2, 1), id="dotted-is-day-first"),
        pytest.param("2021/09/15 23:51", utc(2021, 9, 15, 23, 51), id="slashes"),
        pytest.param(
            "  Mon,  15 Jan 2024\n10:30:00 GMT ", utc(2024, 1, 15, 10, 30), id="messy-whitespace"
        ),
    ],
)
def test_parses(text: str, expected: datetime) -> None:
    result = parse_date(text, now=NOW)
    assert result == expected
    assert result is not None and result.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("yesterday", id="yesterday"),
        pytest.param("yesterday-ish", id="yesterday-ish"),
        pytest.param("2 hours ago", id="relative"),
        pytest.param("30 Feb 2021", id="30-february"),
        pytest.param("2021-02-30", id="30-february-iso"),
        pytest.param("0000-01-01", id="year-0"),
        pytest.param("0001-01-01T00:00:00Z", id="year-1"),
        pytest.param("Sun, 31 Dec 9999 23:59:59 GMT", id="year-9999"),
        pytest.param("9999-12-31T23:59:59-05:00", id="year-9999-past-max-in-utc"),
        pytest.param("1994-12-31T23:59:59Z", id="before-1995"),
        pytest.param("Fri, 01 Jan 1970 00:00:00 GMT", id="epoch"),
        pytest.param("2999-01-01", id="far-future"),
        pytest.param("2021", id="year-only"),
        pytest.param("Sep 2021", id="no-day"),
        pytest.param("15 September", id="no-year"),
        pytest.param("10:30", id="time-only"),
        pytest.param("1631749860", id="unix-timestamp"),
        pytest.param("2021-09-15T25:00:00Z", id="hour-25"),
        pytest.param("Mon, 15 Jan 2024 10:30:00 +9900", id="zone-out-of-range"),
        pytest.param("2021-09-15 " + "x" * 300, id="too-long"),
        pytest.param("1" * 10_000, id="huge-number"),
    ],
)
def test_rejects(text: str | None) -> None:
    assert parse_date(text, now=NOW) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2024-06-02T12:00:00Z", utc(2024, 6, 2, 12), id="exactly-now-plus-one-day"),
        pytest.param("2024-06-02T12:00:01Z", None, id="one-second-too-far"),
        pytest.param("1995-01-01T00:00:00Z", utc(1995, 1, 1), id="exactly-earliest"),
        pytest.param("1995-01-01T00:00:00+00:01", None, id="one-minute-too-early"),
    ],
)
def test_clamp_bounds(text: str, expected: datetime | None) -> None:
    assert parse_date(text, now=NOW) == expected


def test_naive_times_use_default_tz() -> None:
    seoul = ZoneInfo("Asia/Seoul")
    assert parse_date("2024-01-15 10:30:00", now=NOW, default_tz=seoul) == utc(2024, 1, 15, 1, 30)
    # An explicit zone wins over the default.
    assert parse_date("2024-01-15 10:30:00Z", now=NOW, default_tz=seoul) == utc(2024, 1, 15, 10, 30)


def test_naive_now_is_taken_as_utc() -> None:
    assert parse_date("2024-06-02T11:00:00Z", now=datetime(2024, 6, 1, 12)) is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(datetime(2024, 1, 1, 9), utc(2024, 1, 1, 9), id="naive-is-utc"),
        pytest.param(
            datetime(2024, 1, 1, 9, tzinfo=timezone(timedelta(hours=9))),
            utc(2024, 1, 1),
            id="offset",
        ),
        pytest.param(
            datetime(2024, 7, 1, 12, tzinfo=ZoneInfo("Europe/Paris")),
            utc(2024, 7, 1, 10),
            id="zoneinfo",
        ),
    ],
)
def test_to_utc(value: datetime, expected: datetime) -> None:
    result = to_utc(value)
    assert result == expected and result.tzinfo is UTC


# Fragments that steer generated text towards the interesting corners of the parsers.
DATE_PIECES = st.sampled_from(
    ["0", "1", "9", "12", "31", "1995", "2024", "9999", "0000", "-", "+", ":", ",", ".", "/", " ",
     "T", "Z", "GMT", "UTC+9", "EST", "KST", "Jan", "Feb", "Mon", "am", "pm", "th", "at",
     "+09:00", "-0500", "(", ")", "yesterday", "\x00", "é"]
)  # fmt: skip


def within_clamps(result: datetime | None, now: datetime) -> bool:
    return result is None or (result.tzinfo is UTC and EARLIEST <= result <= now + FUTURE_SLACK)


@given(
    text=st.one_of(st.text(max_size=300), st.lists(DATE_PIECES, max_size=25).map("".join)),
    now=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
@settings(max_examples=500, deadline=None)
def test_never_raises_and_stays_within_clamps(text: str, now: datetime) -> None:
    assert within_clamps(parse_date(text, now=now), now)


@given(
    moment=st.datetimes(min_value=datetime(1995, 1, 2), max_value=datetime(2024, 5, 31)),
    offset_minutes=st.integers(min_value=-12 * 60, max_value=14 * 60),
)
@settings(max_examples=300, deadline=None)
def test_round_trips_formatted_dates(moment: datetime, offset_minutes: int) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    aware = moment.replace(microsecond=0, tzinfo=zone)
    expected = aware.astimezone(UTC)
    for text in (aware.isoformat(), aware.strftime("%a, %d %b %Y %H:%M:%S %z")):
        assert parse_date(text, now=NOW) == expected, text
