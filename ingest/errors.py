"""The exceptions newsflow raises, translated from lower layers at the boundary.

    IngestError
    ├── ConfigError                 bad feeds file, bad setting, bad CLI argument
    ├── FetchError                  anything that stopped us getting the bytes
    │   ├── BlockedAddressError     SSRF guard refused the destination (no connection made)
    │   ├── TransientFetchError     worth retrying later: timeouts, 5xx, 429, connection resets
    │   │   └── RateLimitedError    429/503 with a Retry-After the scheduler must honour
    │   │       └── HostPausedError not requested: the host asked for a pause (also Deferred)
    │   ├── PermanentFetchError     retrying will not help: 4xx, too large, bad encoding, loops
    │   │   └── WallError           a bot or consent wall answered instead of the page
    │   ├── DisallowedError         robots.txt disallows the URL: not requested, not a failure
    │   └── DeferredError           not requested in this run (crawl delay, robots.txt down)
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


class WallError(PermanentFetchError):
    """A bot challenge or consent interstitial answered instead of the page (never an article).

    ``wall`` names what blocked it ("Cloudflare challenge", "consent wall"); the message is
    "blocked by <wall>" (:meth:`of`). The message is the only positional argument, so the
    error survives pickling out of an extractor process.
    """

    def __init__(
        self, message: str, *, wall: str = "", url: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, url=url, status=status)
        self.wall = wall

    @classmethod
    def of(cls, wall: str, *, detail: str = "", status: int | None = None) -> WallError:
        return cls(f"blocked by {wall}{detail}", wall=wall, status=status)


class DisallowedError(FetchError):
    """robots.txt disallows the URL for newsflow: it was not requested, and that is no failure."""


class DeferredError(FetchError):
    """The URL was not requested in this run and is left for the next one: its host's crawl
    delay could not reach it within the run's budget, or its robots.txt could not be read."""


class HostPausedError(RateLimitedError, DeferredError):
    """Not requested: the host asked for a pause (429/503 with Retry-After) that still runs.

    ``retry_after`` is what is left of the pause, in seconds.
    """


class ParseError(IngestError):
    """The bytes are not a feed (or sitemap) we can read."""


class ExtractError(IngestError):
    """The page yields no article."""
