"""robots.txt as RFC 9309 reads it: which group applies to newsflow, and what a fetch of it means.

The rules themselves are parsed by protego (Scrapy's parser, maintained); this module only
decides what protego is asked and what a robots.txt *answer* means:

* 2xx: the file's rules, for the group whose product token is ``newsflow`` (case-insensitive,
  the token exactly: a group ``news`` is not ours), else the ``*`` group, else none (all
  allowed). Groups naming the same token are merged, as RFC 9309 §2.2.1 asks.
* 4xx (including 401, 403, 404 and 410): "unavailable", everything is allowed (§2.3.1.3).
* 5xx, 429, or no answer at all: "unreachable", nothing is allowed (§2.3.1.4) until the
  next run; such an answer is never cached.
* At most :data:`MAX_ROBOTS_BYTES` (500 KiB) are read; a file cut there loses its last,
  partial line rather than reading a rule that was cut in half.

``Crawl-delay`` (seconds) and ``Request-rate`` (n requests per period) of the chosen group give
the minimum gap between two requests to the host (:meth:`RobotsRules.crawl_delay`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property

from protego import Protego

__all__ = [
    "MAX_ROBOTS_BYTES",
    "PRODUCT_TOKEN",
    "ROBOTS_TTL",
    "RobotsFile",
    "RobotsRules",
    "latest_per_origin",
    "robots_text",
]

#: The product token robots.txt groups are matched against (RFC 9309 §2.2.1).
PRODUCT_TOKEN = "newsflow"
#: How much of a robots.txt is read (RFC 9309 §2.5: at least 500 KiB must be parsed).
MAX_ROBOTS_BYTES = 500 * 1024
#: How long a fetched robots.txt is trusted (RFC 9309 §2.4: SHOULD NOT be used beyond 24 h).
ROBOTS_TTL = timedelta(hours=24)

_USER_AGENT_LINE = re.compile(r"^\s*user[- ]?agent\s*:?\s*([^#\s]+)", re.IGNORECASE | re.MULTILINE)


class Access(StrEnum):
    """What a robots.txt answer means for the host's URLs."""

    RULES = "rules"  # 2xx: the file's rules apply
    ALLOW_ALL = "allow_all"  # 4xx: unavailable, everything allowed
    DISALLOW_ALL = "disallow_all"  # 5xx / unreachable: nothing allowed (not cached)


@dataclass(frozen=True, slots=True)
class RobotsFile:
    """One origin's robots.txt as fetched: what is cached (24 h) between runs.

    ``status`` is the HTTP status of the final answer (after redirects); ``body`` the text of a
    2xx answer, empty otherwise.
    """

    origin: str  # scheme://host[:port]
    status: int
    body: str
    fetched_at: datetime

    @property
    def expires_at(self) -> datetime:
        return self.fetched_at + ROBOTS_TTL

    def fresh(self, now: datetime) -> bool:
        return self.fetched_at <= now < self.expires_at

    @property
    def access(self) -> Access:
        return Access.RULES if 200 <= self.status < 300 else Access.ALLOW_ALL


class RobotsRules:
    """The rules newsflow follows on one origin: allowed URLs, crawl delay, sitemaps."""

    def __init__(self, access: Access, body: str = "", *, reason: str = "") -> None:
        self.access = access
        self.body = body
        self.reason = reason  # why everything is allowed or disallowed, for messages

    @classmethod
    def of(cls, robots: RobotsFile) -> RobotsRules:
        """The rules a cached or freshly fetched robots.txt gives."""
        if robots.access is Access.RULES:
            return cls(Access.RULES, robots.body)
        return cls(Access.ALLOW_ALL, reason=f"robots.txt answered {robots.status}: all allowed")

    @classmethod
    def unreachable(cls, why: str) -> RobotsRules:
        """Nothing allowed: robots.txt answered 5xx or could not be fetched (not cached)."""
        return cls(Access.DISALLOW_ALL, reason=f"robots.txt unreachable ({why})")

    @classmethod
    def allow_all(cls, why: str = "") -> RobotsRules:
        return cls(Access.ALLOW_ALL, reason=why)

    @property
    def unreachable_now(self) -> bool:
        return self.access is Access.DISALLOW_ALL

    @cached_property
    def _parser(self) -> Protego:
        return Protego.parse(self.body)

    @cached_property
    def _agent(self) -> str:
        """What protego is asked with: our token when a group names it exactly, else ``*``.

        protego matches a group whose name merely *starts* our token (``news`` would apply to
        ``newsflow``); RFC 9309 wants the product token itself. Asking with ``*`` selects the
        ``*`` group alone, since no other group name is found inside ``*``.
        """
        named = {token.lower().rstrip("*") for token in _USER_AGENT_LINE.findall(self.body)}
        return PRODUCT_TOKEN if PRODUCT_TOKEN in named else "*"

    def allows(self, url: str) -> bool:
        """Whether newsflow may fetch ``url`` (an absolute URL of this origin)."""
        if self.access is Access.ALLOW_ALL:
            return True
        if self.access is Access.DISALLOW_ALL:
            return False
        return bool(self._parser.can_fetch(url, self._agent))

    def crawl_delay(self) -> float | None:
        """Seconds between two requests the chosen group asks for: ``Crawl-delay``, or
        ``Request-rate`` n/period as period / n; the longer of the two when both are given."""
        if self.access is not Access.RULES:
            return None
        delays = []
        delay = self._parser.crawl_delay(self._agent)
        if delay is not None:
            delays.append(float(delay))
        rate = self._parser.request_rate(self._agent)
        if rate is not None and rate.requests > 0:
            delays.append(rate.seconds / rate.requests)
        return max(delays) if delays else None

    def __repr__(self) -> str:
        return f"RobotsRules({self.access.value}, {len(self.body)} chars)"


def latest_per_origin(files: Iterable[RobotsFile]) -> list[RobotsFile]:
    """The latest fetch of each origin among ``files``: an earlier fetch never replaces it."""
    latest: dict[str, RobotsFile] = {}
    for robots in files:
        known = latest.get(robots.origin)
        if known is None or known.fetched_at <= robots.fetched_at:
            latest[robots.origin] = robots
    return list(latest.values())


def robots_text(body: bytes, *, limit: int = MAX_ROBOTS_BYTES) -> str:
    """Decode a robots.txt (UTF-8, RFC 9309 §2.3) read up to ``limit`` bytes.

    ``body`` may be one byte longer than ``limit``: that says the file went on, and its last,
    cut line is dropped.
    """
    if len(body) > limit:
        body = body[:limit]
        cut = body.rfind(b"\n")
        body = body[: cut + 1] if cut >= 0 else b""
    return body.decode("utf-8", errors="replace").removeprefix("\ufeff")
