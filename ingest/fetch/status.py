"""What a final HTTP status means: success, come back later, or give up (miniflux's table).

After miniflux ``fetcher/response_handler.go``: 429 (and 503 with Retry-After) asks us to come
back later, other 5xx and 408 are worth retrying, other 4xx are not.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

from ingest.errors import FetchError, PermanentFetchError, RateLimitedError, TransientFetchError

_MAX_RETRY_AFTER = 24 * 60 * 60.0  # miniflux caps its rescheduling at 24 h


def classify_status(
    status: int, *, retry_after: str | None = None, now: datetime | None = None
) -> FetchError | None:
    """Return the error a final HTTP status means, or None for 2xx and 304.

    After miniflux ``fetcher/response_handler.go``: 429 (and 503 with Retry-After) asks us
    to come back later, other 5xx and 408 are worth retrying, other 4xx are not.
    """
    if 200 <= status < 300 or status == 304:
        return None
    if status == 429 or (status == 503 and retry_after is not None):
        seconds = _parse_retry_after(retry_after, now or datetime.now(UTC))
        when = "" if seconds is None else f", retry after {seconds:g} s"
        reason = "rate limited" if status == 429 else "service unavailable"
        return RateLimitedError(f"{reason} ({status}){when}", status=status, retry_after=seconds)
    if status == 408:
        return TransientFetchError("server timed out waiting for the request (408)", status=status)
    if 500 <= status < 600:
        return TransientFetchError(f"server error {status}", status=status)
    if status in (401, 403):
        return PermanentFetchError(f"access denied ({status})", status=status)
    if status == 404:
        return PermanentFetchError("not found (404)", status=status)
    if status == 410:
        return PermanentFetchError("gone (410)", status=status)
    if 400 <= status < 500:
        return PermanentFetchError(f"client error {status}", status=status)
    if 300 <= status < 400:
        return PermanentFetchError(f"redirect ({status}) without a Location header", status=status)
    return PermanentFetchError(f"unexpected status {status}", status=status)


def _parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Read Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), capped at 24 h."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), _MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no zone info (RFC 5322)
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), _MAX_RETRY_AFTER)
