"""Parse the dates that feeds carry into aware UTC datetimes, or None.

Feeds write dates in every format there is: RFC 822 with named zones ("EST", "KST"),
ISO 8601 with or without a zone, "GMT+9", "Wednesday, 15 September, 2021 - 23:51". A date we
cannot read, or one outside the plausible window, is not an error: the entry keeps its raw
string and gets no date. ``parse_date`` therefore never raises.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from dateutil import parser as dateutil_parser
from dateutil import tz as dateutil_tz

__all__ = ["EARLIEST", "MAX_DATE_CHARS", "ZONE_NAMES", "parse_date", "to_utc"]

# Nothing we ingest was published before the web had news sites: an earlier date is a
# placeholder (feedparser returns 0001-01-01 as it is written) or a misreading.
EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
# Feeds may run a little ahead of our clock (time zones, skew); more than a day is a bad date.
FUTURE_SLACK = timedelta(days=1)
# A longer string is not a date; the cap also bounds dateutil's work.
MAX_DATE_CHARS = 200

# Named zones seen in feeds, in hours east of UTC. Ambiguous names take the news-site meaning
# (IST is India, BST is British Summer Time, CST is US Central).
_ZONE_HOURS: dict[str, float] = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0,
    "BST": 1, "CET": 1, "MET": 1, "WEST": 1, "WAT": 1, "MEZ": 1,
    "CEST": 2, "MEST": 2, "EET": 2, "SAST": 2, "CAT": 2, "MESZ": 2, "OEZ": 2,
    "EEST": 3, "MSK": 3, "EAT": 3, "AST": 3, "OESZ": 3, "TRT": 3,
    "IRST": 3.5, "GST": 4, "PKT": 5, "IST": 5.5, "NPT": 5.75,
    "ICT": 7, "WIB": 7, "WITA": 8, "WIT": 9,
    "HKT": 8, "SGT": 8, "PHT": 8, "AWST": 8, "MYT": 8,
    "JST": 9, "KST": 9,
    "ACST": 9.5, "AEST": 10, "ACDT": 10.5, "AEDT": 11, "NZST": 12, "NZDT": 13,
    "NST": -3.5, "NDT": -2.5, "ADT": -3, "BRT": -3, "ART": -3,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
    "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10,
}  # fmt: skip
# The zone abbreviations this module reads, for callers finding zones in text.
ZONE_NAMES = frozenset(_ZONE_HOURS)

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}

_SPACES = re.compile(r"\s+")
_COMMA_GLUED = re.compile(r",(?=\S)")  # "Thu,28 Jul" (Korea Times)
_DASH_BETWEEN = re.compile(r"\s+-\s+(?=\d)")  # "2021 - 23:51"
# Milliseconds set off by a colon ("22:06:08:684Z", seen in JSON-LD): a decimal point meant.
_COLON_FRACTION = re.compile(r"(T?\d{2}:\d{2}:\d{2}):(\d{1,6})(?=Z|[+-]\d|\s|$)")
_TRAILING_COMMENT = re.compile(r"\s*\([^()]*\)\s*$")  # "+0000 (UTC)"
# "GMT+9", "UTC+05:30", "GMT-0330": the offset as written, east positive. dateutil reads
# "GMT+3" with POSIX sign (three hours *west*), which is not what feeds mean.
_GMT_OFFSET = re.compile(r"\b(?:GMT|UTC|UT)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\b", re.IGNORECASE)
_DOTTED_DAY_FIRST = re.compile(r"\b\d{1,2}\.\d{1,2}\.\d{4}\b")  # "15.09.2021" is European

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?")
_RFC822 = re.compile(
    r"(?:[A-Za-z]{2,9}\.?,?\s*)?"  # optional weekday
    r"(?P<day>\d{1,2})\s+(?P<month>[A-Za-z]{3,9})\.?,?\s+(?P<year>\d{4}),?\s+"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{1,2})(?::(?P<second>\d{1,2}))?"
    r"(?:\s*(?P<zone>[+-]\d{2}:?\d{2}|[A-Za-z]{1,5}))?"
)


def parse_date(
    value: str | None, *, now: datetime, default_tz: tzinfo | None = None
) -> datetime | None:
    """Return ``value`` as an aware UTC datetime, or None when it is not a plausible date.

    Naive times are read in ``default_tz`` (UTC when None). A result before 1995-01-01 or more
    than a day after ``now`` is None. Never raises: feed dates are untrusted text.
    """
    if not isinstance(value, str):
        return None
    text = _normalize(value)
    if not text or len(text) > MAX_DATE_CHARS:
        return None
    try:
        parsed = _parse_iso(text) or _parse_rfc822(text) or _parse_loosely(text)
        if parsed is None:
            return None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            parsed = parsed.replace(tzinfo=default_tz or UTC)
        result = parsed.astimezone(UTC)
        latest = to_utc(now) + FUTURE_SLACK
    except (ValueError, OverflowError):  # out-of-range fields, or a zone pushing past year 9999
        return None
    if not EARLIEST <= result <= latest:
        return None
    return result


def to_utc(dt: datetime) -> datetime:
    """Return ``dt`` in UTC; a naive ``dt`` is taken to be UTC already."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _normalize(value: str) -> str:
    text = _SPACES.sub(" ", value[: MAX_DATE_CHARS * 4]).strip()
    text = _TRAILING_COMMENT.sub("", text)
    text = _COMMA_GLUED.sub(", ", text)
    text = _DASH_BETWEEN.sub(" ", text)
    text = _COLON_FRACTION.sub(r"\1.\2", text)
    return _GMT_OFFSET.sub(_offset_from_gmt, text)


def _offset_from_gmt(match: re.Match[str]) -> str:
    sign, hours, minutes = match.group(1), match.group(2), match.group(3) or "00"
    return f" {sign}{int(hours):02d}{minutes}"


def _parse_iso(text: str) -> datetime | None:
    """Read ISO 8601 with the C parser: the common case, fast."""
    if not _ISO.fullmatch(text):
        return None
    return datetime.fromisoformat(text)


def _parse_rfc822(text: str) -> datetime | None:
    """Read the RSS date format (RFC 822/1123) without dateutil: most feeds use it."""
    match = _RFC822.fullmatch(text)
    if match is None:
        return None
    month = _MONTHS.get(match["month"][:3].lower())
    zone = _zone(match["zone"]) if match["zone"] else None
    if month is None or (match["zone"] and zone is None):
        return None  # let dateutil try the odder spellings
    return datetime(
        int(match["year"]),
        month,
        int(match["day"]),
        int(match["hour"]),
        int(match["minute"]),
        int(match["second"] or 0),
        tzinfo=zone,
    )


def _zone(token: str) -> tzinfo | None:
    if token[0] in "+-":
        digits = token[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        if minutes >= 24 * 60:
            return None
        return timezone(timedelta(minutes=-minutes if token[0] == "-" else minutes))
    hours = _ZONE_HOURS.get(token.upper())
    return None if hours is None else timezone(timedelta(hours=hours))


def _parse_loosely(text: str) -> datetime | None:
    """Read anything else with dateutil, refusing strings that lack a year, month or day.

    dateutil fills missing fields from its ``default``; parsing with two different defaults
    and comparing shows which fields the string really had.
    """
    day_first = _DOTTED_DAY_FIRST.search(text) is not None
    try:
        first = _dateutil(text, datetime(2000, 1, 1), day_first)
        second = _dateutil(text, datetime(2001, 2, 2), day_first)
    except (ValueError, OverflowError, TypeError, LookupError):
        # ParserError is a ValueError; the others come from odd tokens deep inside dateutil.
        return None
    if (first.year, first.month, first.day) != (second.year, second.month, second.day):
        return None
    return first


def _dateutil(text: str, default: datetime, day_first: bool) -> datetime:
    return dateutil_parser.parse(text, default=default, dayfirst=day_first, tzinfos=_tzinfos)


def _tzinfos(name: str | None, offset: int | None) -> tzinfo | None:
    """Resolve a zone for dateutil without consulting the machine's local zone."""
    if offset is not None:
        return dateutil_tz.tzoffset(name, offset)
    if name is None:
        return None
    hours = _ZONE_HOURS.get(name.upper())
    return None if hours is None else dateutil_tz.tzoffset(name, int(hours * 3600))
