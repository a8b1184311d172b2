"""The exceptions newsflow raises, translated from lower layers at the boundary.

    IngestError
    ├── ConfigError                 bad feeds file, bad setting, bad CLI argument
    ├── FetchError                  anything that stopped us getting the bytes
    │   ├── BlockedAddressError     SSRF guard refused the destination (no connection made)
    │   ├── TransientFetchError     worth retrying later: timeouts, 5xx, 429, connection resets
    │   │   └── RateLimitedError    429/503 with a Retry-After the scheduler must honour
    │   └── PermanentFetchError     retrying will not help: 4xx, too large, bad encoding, loops
    ├── ParseError                  the bytes are not a feed we can read
    └── ExtractError                the page yields no article

Every error carries a message a person understands ("timed out after 30 s",
"refused: 127.0.0.1 is a loopback address"); callers store ``str(exc)`` as the feed's last error.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base class of every error newsflow raises on purpose."""


class ConfigError(IngestError):
    """Configuration (feeds file, settings, CLI argument) is invalid."""


class FetchError(IngestError):
    """The resource could not be fetched."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class BlockedAddressError(FetchError):
    """The SSRF guard refused the destination before any connection was attempted."""


class TransientFetchError(FetchError):
    """A failure that may go away by itself: retry later."""


class RateLimitedError(TransientFetchError):
    """The server asked us to come back later (429/503 with Retry-After)."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url, status=status)
        self.retry_after = retry_after


class PermanentFetchError(FetchError):
    """A failure that retrying will not fix (404, 410, too large, redirect loop...)."""


class ParseError(IngestError):
    """The bytes are not a feed (or sitemap) we can read."""


class ExtractError(IngestError):
    """The page yields no article."""
