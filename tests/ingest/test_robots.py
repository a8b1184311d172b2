"""ingest/fetch/robots.py: which robots.txt group is newsflow's, what answers mean, delays.

The rules themselves are protego's; these cases pin what newsflow asks it and how an answer
(2xx, 4xx, 5xx) and a long file are read (RFC 9309).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.fetch.robots import (
    MAX_ROBOTS_BYTES,
    PRODUCT_TOKEN,
    RobotsFile,
    RobotsRules,
    robots_text,
)

SITE = "https://news.example.com"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def rules(text: str) -> RobotsRules:
    return RobotsRules.of(RobotsFile(SITE, 200, text, NOW))


@pytest.mark.parametrize(
    ("text", "path", "allowed"),
    [
        pytest.param("User-agent: *\nDisallow: /private/\n", "/private/a.html", False, id="star"),
        pytest.param("User-agent: *\nDisallow: /private/\n", "/news/a.html", True, id="star-other"),
        pytest.param(
            "User-agent: *\nDisallow: /\n\nUser-agent: newsflow\nDisallow: /members/\n",
            "/news/a.html",
            True,
            id="own-group-wins-over-star",
        ),
        pytest.param(
            "User-agent: *\nDisallow: /\n\nUser-agent: NEWSFLOW\nDisallow: /members/\n",
            "/members/a.html",
            False,
            id="own-group-any-case",
        ),
        pytest.param(
            "User-agent: news\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\n",
            "/news/a.html",
            True,
            id="a-group-named-by-a-prefix-is-not-ours",
        ),
        pytest.param(
            "User-agent: googlebot\nUser-agent: newsflow\nDisallow: /shared/\n",
            "/shared/a.html",
            False,
            id="group-of-several-agents",
        ),
        pytest.param(
            "User-agent: newsflow\nDisallow: /a/\n\nUser-agent: newsflow\nDisallow: /b/\n",
            "/b/x.html",
            False,
            id="groups-of-one-token-merge",
        ),
        pytest.param(
            "User-agent: *\nDisallow: /news/\nAllow: /news/open/\n",
            "/news/open/a.html",
            True,
            id="longest-match-allow",
        ),
        pytest.param(
            "User-agent: *\nDisallow: /*.pdf$\n", "/files/a.pdf", False, id="wildcard-end"
        ),
        pytest.param(
            "User-agent: *\nDisallow: /*.pdf$\n", "/files/a.pdf?x=1", True, id="end-anchor"
        ),
        pytest.param("User-agent: *\nDisallow:\n", "/anything", True, id="empty-disallow"),
        pytest.param("User-agent: otherbot\nDisallow: /\n", "/a", True, id="no-group-for-us"),
        pytest.param("", "/a", True, id="empty-file"),
        pytest.param("<html><body>Not found</body></html>", "/a", True, id="html-soft-404"),
        pytest.param(
            "User-agent: *\nDisallow: /private # staff\n", "/private", False, id="comment"
        ),
    ],
)
def test_which_group_applies_and_what_it_allows(text: str, path: str, allowed: bool) -> None:
    assert rules(text).allows(SITE + path) is allowed


def test_the_product_token_is_newsflow() -> None:
    assert PRODUCT_TOKEN == "newsflow"


@pytest.mark.parametrize(
    ("text", "delay"),
    [
        pytest.param("User-agent: *\nCrawl-delay: 2\n", 2.0, id="crawl-delay"),
        pytest.param("User-agent: *\nCrawl-delay: 0.5\n", 0.5, id="fractional"),
        pytest.param("User-agent: *\nRequest-rate: 1/10s\n", 10.0, id="request-rate"),
        pytest.param("User-agent: *\nRequest-rate: 6/1m\n", 10.0, id="request-rate-minutes"),
        pytest.param(
            "User-agent: *\nCrawl-delay: 3\nRequest-rate: 1/5\n", 5.0, id="both-the-longer"
        ),
        pytest.param(
            "User-agent: *\nCrawl-delay: 9\n\nUser-agent: newsflow\nCrawl-delay: 1\n",
            1.0,
            id="own-group",
        ),
        pytest.param("User-agent: *\nCrawl-delay: soon\n", None, id="malformed"),
        pytest.param("User-agent: *\nDisallow: /x\n", None, id="none"),
    ],
)
def test_crawl_delay_and_request_rate(text: str, delay: float | None) -> None:
    assert rules(text).crawl_delay() == delay


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 451])
def test_a_4xx_robots_txt_allows_everything(status: int) -> None:
    unavailable = RobotsRules.of(RobotsFile(SITE, status, "", NOW))
    assert unavailable.allows(SITE + "/private/a.html")
    assert unavailable.crawl_delay() is None


def test_an_unreachable_robots_txt_allows_nothing() -> None:
    down = RobotsRules.unreachable("server error 503")
    assert down.unreachable_now
    assert not down.allows(SITE + "/")
    assert down.reason == "robots.txt unreachable (server error 503)"


def test_a_stored_robots_txt_is_fresh_for_24_hours() -> None:
    stored = RobotsFile(SITE, 200, "", NOW)
    assert stored.fresh(NOW + timedelta(hours=23, minutes=59))
    assert not stored.fresh(NOW + timedelta(hours=24))
    assert not stored.fresh(NOW - timedelta(minutes=1))  # a clock moved back: fetch again


def test_at_most_500_kib_are_read_and_a_cut_line_is_dropped() -> None:
    head = "User-agent: *\nDisallow: /a\n"
    filler = "# " + "x" * 100 + "\n"
    body = (head + filler * (MAX_ROBOTS_BYTES // len(filler) + 10)).encode()
    body += b"Disallow: /late\n"
    read = robots_text(body[: MAX_ROBOTS_BYTES + 1])  # the fetcher reads one byte more
    assert len(read.encode()) <= MAX_ROBOTS_BYTES
    assert read.endswith("\n") and "/late" not in read
    assert rules(read).allows(SITE + "/late") and not rules(read).allows(SITE + "/a")


def test_a_rule_cut_in_half_at_the_limit_is_not_read_as_a_shorter_rule() -> None:
    head = "User-agent: *\n"
    pad = "#" * (MAX_ROBOTS_BYTES - 15 - len(head) - 1) + "\n"
    body = (head + pad + "Disallow: /private-archive/\n").encode()
    assert body[:MAX_ROBOTS_BYTES].endswith(b"Disallow: /priv")  # the limit cuts the rule
    text = robots_text(body[: MAX_ROBOTS_BYTES + 1])
    assert "Disallow" not in text
    assert rules(text).allows(SITE + "/private.html")


def test_a_byte_order_mark_and_invalid_utf8_are_tolerated() -> None:
    text = robots_text(b"\xef\xbb\xbfUser-agent: *\nDisallow: /caf\xe9/\n")
    assert text.startswith("User-agent")
    assert not rules(text).allows(SITE + "/caf\ufffd/")
