"""ingest/fetch/client.py: status classification, wire behaviour against
loopback servers, SSRF guard.

Wire tests run a scripted server on 127.0.0.1 (tests/ingest/loopback.py) with
``allow_private_networks=True``. SSRF tests keep the guard on and inject a resolver and an inner
transport that fail the test if they are asked for anything they should never see, so no test
can ever reach a private or metadata address.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import socket
import ssl
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from loopback import LoopbackServer, SeenRequest, redirect, reply, response_bytes

from ingest.errors import (
    BlockedAddressError,
    FetchError,
    PermanentFetchError,
    RateLimitedError,
    TransientFetchError,
)
from ingest.fetch.client import Fetcher, HttpConfig, Resolver, classify_status
from ingest.fetch.pools import HostPools
from ingest.model import FetchResult, Validators

pytestmark = pytest.mark.anyio

KiB = 1 << 10
MiB = 1 << 20
PUBLIC_IP = "93.184.216.34"
USER_AGENT = "newsflow-test/1.0 (+https://example.invalid/bot)"


def make_config(**changes: Any) -> HttpConfig:
    base = HttpConfig(
        user_agent=USER_AGENT,
        connect_timeout=2.0,
        read_timeout=2.0,
        total_timeout=5.0,
        allow_private_networks=True,
    )
    return dataclasses.replace(base, **changes)


async def fetch(
    url: str,
    *,
    max_bytes: int = MiB,
    validators: Validators | None = None,
    accept: str = "*/*",
    resolver: Resolver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **config_changes: Any,
) -> FetchResult:
    async with Fetcher(
        make_config(**config_changes), resolver=resolver, transport=transport
    ) as fetcher:
        return await fetcher.fetch(url, max_bytes=max_bytes, validators=validators, accept=accept)


@pytest.fixture
async def server() -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer("127.0.0.1") as started:
        yield started


@pytest.fixture
async def internal_server() -> AsyncIterator[LoopbackServer]:
    """Plays the "internal" target an attacker wants to reach; must never see a connection."""
    async with LoopbackServer("127.0.0.2") as started:
        started.routes["/secret"] = reply(200, body=b"the secret")
        yield started


# -- status classification (pure) -------------------------------------------------------------

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "retry_after", "expected_type", "message", "seconds"),
    [
        pytest.param(200, None, None, None, None, id="200-ok"),
        pytest.param(204, None, None, None, None, id="204-ok"),
        pytest.param(304, None, None, None, None, id="304-not-modified"),
        pytest.param(
            429,
            "120",
            RateLimitedError,
            "rate limited (429), retry after 120 s",
            120.0,
            id="429-seconds",
        ),
        pytest.param(
            429,
            " 60 ",
            RateLimitedError,
            "rate limited (429), retry after 60 s",
            60.0,
            id="429-seconds-padded",
        ),
        pytest.param(429, None, RateLimitedError, "rate limited (429)", None, id="429-no-header"),
        pytest.param(
            429,
            "Fri, 01 May 2026 12:02:00 GMT",
            RateLimitedError,
            "rate limited (429), retry after 120 s",
            120.0,
            id="429-http-date",
        ),
        pytest.param(
            429,
            "Fri, 01 May 2026 11:00:00 GMT",
            RateLimitedError,
            "rate limited (429), retry after 0 s",
            0.0,
            id="429-date-in-past",
        ),
        pytest.param(
            429,
            "Sun, 03 May 2026 12:00:00 GMT",
            RateLimitedError,
            "rate limited (429), retry after 86400 s",
            86400.0,
            id="429-date-capped",
        ),
        pytest.param(
            429,
            "999999",
            RateLimitedError,
            "rate limited (429), retry after 86400 s",
            86400.0,
            id="429-seconds-capped",
        ),
        pytest.param(429, "soon", RateLimitedError, "rate limited (429)", None, id="429-garbage"),
        pytest.param(429, "-5", RateLimitedError, "rate limited (429)", None, id="429-negative"),
        pytest.param(
            503,
            "30",
            RateLimitedError,
            "service unavailable (503), retry after 30 s",
            30.0,
            id="503-retry-after",
        ),
        pytest.param(503, None, TransientFetchError, "server error 503", None, id="503-plain"),
        pytest.param(500, None, TransientFetchError, "server error 500", None, id="500"),
        pytest.param(502, None, TransientFetchError, "server error 502", None, id="502"),
        pytest.param(504, None, TransientFetchError, "server error 504", None, id="504"),
        pytest.param(599, None, TransientFetchError, "server error 599", None, id="599"),
        pytest.param(
            408,
            None,
            TransientFetchError,
            "server timed out waiting for the request (408)",
            None,
            id="408",
        ),
        pytest.param(401, None, PermanentFetchError, "access denied (401)", None, id="401"),
        pytest.param(403, None, PermanentFetchError, "access denied (403)", None, id="403"),
        pytest.param(404, None, PermanentFetchError, "not found (404)", None, id="404"),
        pytest.param(410, None, PermanentFetchError, "gone (410)", None, id="410"),
        pytest.param(400, None, PermanentFetchError, "client error 400", None, id="400"),
        pytest.param(418, None, PermanentFetchError, "client error 418", None, id="418"),
        pytest.param(
            300,
            None,
            PermanentFetchError,
            "redirect (300) without a Location header",
            None,
            id="300",
        ),
        pytest.param(
            302,
            None,
            PermanentFetchError,
            "redirect (302) without a Location header",
            None,
            id="302-no-location",
        ),
    ],
)
def test_classify_status(
    status: int,
    retry_after: str | None,
    expected_type: type[FetchError] | None,
    message: str | None,
    seconds: float | None,
) -> None:
    error = classify_status(status, retry_after=retry_after, now=NOW)
    if expected_type is None:
        assert error is None
        return
    assert type(error) is expected_type
    assert str(error) == message
    assert error.status == status
    if isinstance(error, RateLimitedError):
        assert error.retry_after == seconds


# -- the happy path and conditional GET -------------------------------------------------------


async def test_ok_returns_body_and_lower_cased_headers(server: LoopbackServer) -> None:
    server.routes["/feed"] = reply(
        200,
        [("Content-Type", "application/rss+xml"), ("ETag", '"v1"'), ("X-Mixed-Case", "yes")],
        b"<rss/>",
    )
    result = await fetch(server.url("/feed"), accept="application/rss+xml")

    assert (result.status, result.body, result.url) == (200, b"<rss/>", server.url("/feed"))
    assert result.content_type == "application/rss+xml"
    assert result.headers["x-mixed-case"] == "yes"
    assert all(name == name.lower() for name in result.headers)
    assert result.validators == Validators(etag='"v1"', last_modified=None)
    [seen] = server.requests
    assert seen.headers["user-agent"] == USER_AGENT
    assert seen.headers["accept"] == "application/rss+xml"
    assert seen.headers["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in seen.headers
    assert "if-modified-since" not in seen.headers


async def test_empty_200_body_is_returned_as_is(server: LoopbackServer) -> None:
    server.routes["/empty"] = reply(200, [("Content-Type", "text/xml")], b"")
    result = await fetch(server.url("/empty"))
    assert (result.status, result.body) == (200, b"")


LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.mark.parametrize(
    ("validators", "expected"),
    [
        pytest.param(Validators(etag='"abc"'), {"if-none-match": '"abc"'}, id="etag"),
        pytest.param(
            Validators(last_modified=LAST_MODIFIED),
            {"if-modified-since": LAST_MODIFIED},
            id="last-modified",
        ),
        pytest.param(
            Validators(etag='W/"abc"', last_modified=LAST_MODIFIED),
            {"if-none-match": 'W/"abc"', "if-modified-since": LAST_MODIFIED},
            id="both",
        ),
    ],
)
async def test_conditional_get_sends_validators_and_returns_304(
    server: LoopbackServer, validators: Validators, expected: dict[str, str]
) -> None:
    server.routes["/feed"] = reply(304, [("ETag", '"abc"')], length=False)
    result = await fetch(server.url("/feed"), validators=validators)

    assert result.not_modified
    assert (result.status, result.body) == (304, b"")
    [seen] = server.requests
    sent = {k: v for k, v in seen.headers.items() if k.startswith("if-")}
    assert sent == expected


# -- redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    ("location", "final_target"),
    [
        pytest.param("final?x=1", "/dir/final?x=1", id="relative"),
        pytest.param("../other", "/other", id="dot-dot"),
        pytest.param("/other", "/other", id="path-absolute"),
        pytest.param("ABSOLUTE/other", "/other", id="absolute-url"),
    ],
)
async def test_redirect_is_followed_to_the_final_url(
    server: LoopbackServer, status: int, location: str, final_target: str
) -> None:
    location = location.replace("ABSOLUTE", server.url("").rstrip("/"))
    server.routes["/dir/start"] = redirect(location, status)
    server.routes[final_target.partition("?")[0]] = reply(200, body=b"arrived")

    result = await fetch(server.url("/dir/start"))

    assert (result.body, result.url) == (b"arrived", server.url(final_target))
    assert [r.target for r in server.requests] == ["/dir/start", final_target]


@pytest.mark.parametrize(
    ("hops", "succeeds"),
    [pytest.param(5, True, id="5-hops-allowed"), pytest.param(6, False, id="6-hops-refused")],
)
async def test_redirect_chain_is_limited(server: LoopbackServer, hops: int, succeeds: bool) -> None:
    for n in range(1, hops + 1):
        server.routes[f"/r/{n}"] = redirect(f"/r/{n - 1}")
    server.routes["/r/0"] = reply(200, body=b"end")

    if succeeds:
        result = await fetch(server.url(f"/r/{hops}"))
        assert result.url == server.url("/r/0")
    else:
        with pytest.raises(PermanentFetchError, match=r"^too many redirects \(more than 5\)$"):
            await fetch(server.url(f"/r/{hops}"))
    assert len(server.requests) == 6  # the refused chain never asks for /r/0


async def test_redirect_loop_is_refused(server: LoopbackServer) -> None:
    server.routes["/a"] = redirect("/b")
    server.routes["/b"] = redirect("/a")

    with pytest.raises(PermanentFetchError, match="too many redirects") as caught:
        await fetch(server.url("/a"))

    assert server.paths() == ["/a", "/b"] * 3
    assert caught.value.url is not None


@pytest.mark.parametrize(
    "location",
    [
        pytest.param("ftp://127.0.0.1/feed.xml", id="ftp"),
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("gopher://127.0.0.1:70/", id="gopher"),
    ],
)
async def test_redirect_to_other_scheme_is_refused(server: LoopbackServer, location: str) -> None:
    server.routes["/feed"] = redirect(location)
    with pytest.raises(PermanentFetchError, match="unsupported URL scheme"):
        await fetch(server.url("/feed"))
    assert server.paths() == ["/feed"]


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("ftp://127.0.0.1/feed.xml", id="ftp"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("/just/a/path", id="relative"),
        pytest.param("http://0177.0.0.01/", id="invalid-ipv4"),
    ],
)
async def test_unfetchable_urls_are_refused(url: str) -> None:
    with pytest.raises(PermanentFetchError) as caught:
        await fetch(url, transport=forbidden_transport())
    assert caught.value.url == url


# -- status codes over the wire ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "expected_type", "message"),
    [
        pytest.param(404, [], PermanentFetchError, "not found (404)", id="404"),
        pytest.param(410, [], PermanentFetchError, "gone (410)", id="410"),
        pytest.param(403, [], PermanentFetchError, "access denied (403)", id="403"),
        pytest.param(500, [], TransientFetchError, "server error 500", id="500"),
        pytest.param(
            429,
            [("Retry-After", "120")],
            RateLimitedError,
            "rate limited (429), retry after 120 s",
            id="429-seconds",
        ),
    ],
)
async def test_error_statuses_are_classified(
    server: LoopbackServer,
    status: int,
    headers: list[tuple[str, str]],
    expected_type: type[FetchError],
    message: str,
) -> None:
    server.routes["/feed"] = reply(status, headers, b"<html>error page</html>")
    with pytest.raises(FetchError) as caught:
        await fetch(server.url("/feed"))
    assert type(caught.value) is expected_type
    assert (str(caught.value), caught.value.status) == (message, status)
    assert caught.value.url == server.url("/feed")
    assert len(server.requests) == 1


async def test_429_with_http_date_retry_after(server: LoopbackServer) -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)
    server.routes["/feed"] = reply(
        429, [("Retry-After", email.utils.format_datetime(later, usegmt=True))]
    )
    with pytest.raises(RateLimitedError) as caught:
        await fetch(server.url("/feed"))
    assert caught.value.retry_after is not None
    assert 100 <= caught.value.retry_after <= 120


# -- body size, encodings, truncation ---------------------------------------------------------


async def test_content_length_over_cap_is_rejected_before_reading(server: LoopbackServer) -> None:
    async def announce_a_gigabyte(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(response_bytes(200, [("Content-Length", str(10**9))]))
        await writer.drain()
        await asyncio.Event().wait()  # never send the body: reading it would time out

    server.routes["/big"] = announce_a_gigabyte
    with pytest.raises(PermanentFetchError) as caught:
        await fetch(server.url("/big"), read_timeout=5.0, total_timeout=5.0)
    assert str(caught.value) == "response larger than 1 MiB (Content-Length 954 MiB)"


def endless(chunked: bool) -> Any:
    chunk = b"x" * (64 * KiB)
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
    head = [("Transfer-Encoding", "chunked")] if chunked else []

    async def route(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(response_bytes(200, head))
        while True:
            writer.write(framed)
            await writer.drain()

    return route


@pytest.mark.parametrize("chunked", [False, True], ids=["until-close", "chunked"])
async def test_endless_body_stops_at_cap(server: LoopbackServer, chunked: bool) -> None:
    server.routes["/endless"] = endless(chunked)
    with pytest.raises(PermanentFetchError, match=r"^response larger than 1 MiB$"):
        await fetch(server.url("/endless"))


def compress(data: bytes, coding: str) -> bytes:
    wbits = {"gzip": 31, "zlib": 15, "raw": -15}[coding]
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


@pytest.fixture(scope="module")
def zeros_gzip() -> bytes:
    """50 MiB of zeros, gzipped to about 50 KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    return b"".join(compressor.compress(zeros) for _ in range(50)) + compressor.flush()


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_compression_bomb_stops_at_cap_with_bounded_memory(
    server: LoopbackServer, zeros_gzip: bytes, coding: str
) -> None:
    # Re-wrap the same deflate stream: gzip = 10-byte header + deflate + 8-byte trailer.
    body = zeros_gzip if coding == "gzip" else zeros_gzip[10:-8]
    head = [("Content-Encoding", coding), ("Content-Length", str(len(body)))]
    server.routes["/bomb"] = reply(200, head, body, length=False)

    tracemalloc.start()
    try:
        with pytest.raises(PermanentFetchError, match=r"^response larger than 1 MiB$"):
            await fetch(server.url("/bomb"))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB  # decoding all of it would take 50 MiB


TEXT = "<rss><title>café “quoted”</title></rss>".encode() * 200


@pytest.mark.parametrize(
    ("content_encoding", "body"),
    [
        pytest.param("gzip", compress(TEXT, "gzip"), id="gzip"),
        pytest.param("x-gzip", compress(TEXT, "gzip"), id="x-gzip"),
        pytest.param("GZIP", compress(TEXT, "gzip"), id="gzip-upper-case"),
        pytest.param("deflate", compress(TEXT, "zlib"), id="deflate-zlib"),
        pytest.param("deflate", compress(TEXT, "raw"), id="deflate-raw"),
        pytest.param("identity", TEXT, id="identity"),
        pytest.param(None, TEXT, id="none"),
        pytest.param("gzip", compress(TEXT, "gzip") + b"trailing junk", id="gzip-trailing-junk"),
    ],
)
async def test_body_is_decoded(
    server: LoopbackServer, content_encoding: str | None, body: bytes
) -> None:
    head = [("Content-Encoding", content_encoding)] if content_encoding else []
    server.routes["/feed"] = reply(200, head, body)
    result = await fetch(server.url("/feed"))
    assert result.body == TEXT


@pytest.mark.parametrize("content_encoding", ["br", "zstd", "compress", "gzip, br"])
async def test_unsupported_content_encoding_is_rejected(
    server: LoopbackServer, content_encoding: str
) -> None:
    server.routes["/feed"] = reply(200, [("Content-Encoding", content_encoding)], b"\x1b\x00junk")
    with pytest.raises(PermanentFetchError, match="unsupported Content-Encoding"):
        await fetch(server.url("/feed"))


@pytest.mark.parametrize(
    ("body", "expected_type", "message"),
    [
        pytest.param(b"this is not gzip", PermanentFetchError, "could not decode", id="not-gzip"),
        pytest.param(
            compress(TEXT, "gzip")[:-30],
            TransientFetchError,
            "compressed stream cut short",
            id="gzip-cut-short",
        ),
    ],
)
async def test_broken_gzip_is_an_error(
    server: LoopbackServer, body: bytes, expected_type: type[FetchError], message: str
) -> None:
    server.routes["/feed"] = reply(200, [("Content-Encoding", "gzip")], body)
    with pytest.raises(FetchError, match=message) as caught:
        await fetch(server.url("/feed"))
    assert type(caught.value) is expected_type


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(response_bytes(200, [("Content-Length", "100")], b"x" * 50), id="short"),
        pytest.param(
            response_bytes(200, [("Transfer-Encoding", "chunked")], b"5\r\nhello\r\n"),
            id="chunked-unterminated",
        ),
    ],
)
async def test_truncated_body_is_transient(server: LoopbackServer, raw: bytes) -> None:
    async def send_and_hang_up(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()

    server.routes["/feed"] = send_and_hang_up
    with pytest.raises(
        TransientFetchError, match=r"^connection closed before the body was complete$"
    ):
        await fetch(server.url("/feed"))


# -- time limits and connection failures ------------------------------------------------------


async def test_drip_feeding_server_hits_the_total_deadline(server: LoopbackServer) -> None:
    async def drip(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
        # 20 bytes take 4 s: a read-inactivity timer alone would let this fetch finish.
        writer.write(response_bytes(200, [("Content-Length", "20")]))
        for _ in range(20):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.2)  # each byte resets a read-inactivity timer

    server.routes["/drip"] = drip
    started = time.monotonic()
    with pytest.raises(TransientFetchError, match=r"^timed out after 1 s$"):
        await fetch(server.url("/drip"), read_timeout=5.0, total_timeout=1.0)
    assert time.monotonic() - started < 2.5


async def test_silent_server_hits_the_read_timeout(server: LoopbackServer) -> None:
    async def never_answer(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()

    server.routes["/silent"] = never_answer
    with pytest.raises(TransientFetchError, match=r"^timed out after 0\.3 s \(read\)$"):
        await fetch(server.url("/silent"), read_timeout=0.3)


async def test_server_closing_without_answer_is_transient(server: LoopbackServer) -> None:
    async def hang_up(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
        return None

    server.routes["/feed"] = hang_up
    with pytest.raises(TransientFetchError, match="broke off the response"):
        await fetch(server.url("/feed"))


async def test_connection_refused_is_transient() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientFetchError, match=f"^connection refused by 127.0.0.1:{port}$"):
        await fetch(f"http://127.0.0.1:{port}/feed")


async def test_unresolvable_name_is_transient() -> None:
    async def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(TransientFetchError, match=r"^could not resolve nowhere\.test: Name or"):
        await fetch("http://nowhere.test/", resolver=nxdomain, transport=forbidden_transport())


def raising(make_error: Any) -> httpx.MockTransport:
    """A transport whose every request fails the way ``make_error()`` says."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise make_error()

    return httpx.MockTransport(handler)


def caused_by(error: type[httpx.HTTPError], cause: OSError) -> Any:
    def make() -> httpx.HTTPError:
        try:
            raise cause
        except OSError as exc:
            try:
                raise error(str(exc)) from exc
            except httpx.HTTPError as wrapped:
                return wrapped

    return make


@pytest.mark.parametrize(
    ("make_error", "message"),
    [
        pytest.param(
            lambda: httpx.ConnectTimeout("t"), "timed out after 2 s (connect)", id="connect"
        ),
        pytest.param(lambda: httpx.ReadTimeout("t"), "timed out after 3 s (read)", id="read"),
        pytest.param(lambda: httpx.WriteTimeout("t"), "timed out after 3 s (write)", id="write"),
        pytest.param(
            caused_by(httpx.ConnectError, ConnectionRefusedError(111, "Connection refused")),
            "connection refused by public.test:8080",
            id="refused",
        ),
        pytest.param(
            caused_by(httpx.ReadError, ConnectionResetError(104, "Connection reset by peer")),
            "connection reset by public.test:8080",
            id="reset",
        ),
        pytest.param(
            lambda: httpx.ConnectError("Network is unreachable"),
            "could not connect to public.test:8080: Network is unreachable",
            id="unreachable",
        ),
    ],
)
async def test_httpx_errors_are_translated(make_error: Any, message: str) -> None:
    with pytest.raises(TransientFetchError) as caught:
        await fetch(
            "http://public.test:8080/feed",
            resolver=FakeResolver({"public.test": [PUBLIC_IP]}),
            transport=raising(make_error),
            allow_private_networks=False,
            connect_timeout=2.0,
            read_timeout=3.0,
        )
    assert str(caught.value) == message
    assert isinstance(caught.value.__cause__, httpx.HTTPError)


# -- concurrency ------------------------------------------------------------------------------


async def test_per_host_and_overall_limits_hold() -> None:
    active: Counter[str] = Counter()
    most: Counter[str] = Counter()

    async def handler(request: httpx.Request) -> httpx.Response:
        host = request.headers["host"]
        active[host] += 1
        active["*"] += 1
        most[host] = max(most[host], active[host])
        most["*"] = max(most["*"], active["*"])
        await asyncio.sleep(0.02)  # hold the slot so requests overlap
        active[host] -= 1
        active["*"] -= 1
        return httpx.Response(200, content=b"ok")

    resolver = FakeResolver({"a.test": [PUBLIC_IP], "b.test": ["93.184.216.35"]})
    config = make_config(per_host=2, max_connections=3, allow_private_networks=False)
    async with Fetcher(config, resolver=resolver, transport=httpx.MockTransport(handler)) as f:
        urls = [f"http://{host}/{n}" for host in ("a.test", "b.test") for n in range(6)]
        results = await asyncio.gather(*(f.fetch(url, max_bytes=KiB) for url in urls))

    assert [r.body for r in results] == [b"ok"] * 12
    assert (most["a.test"], most["b.test"], most["*"]) == (2, 2, 3)


# -- SSRF guard -------------------------------------------------------------------------------


class FakeResolver:
    """Answers from a table; fails the test for any name it was not told about."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.table:
            pytest.fail(f"unexpected DNS lookup of {host!r}")
        return self.table[host]


class ForbiddenTransport(httpx.AsyncBaseTransport):
    """An inner transport that must never be reached."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        pytest.fail(f"the guard let a request through to {request.url}")


def forbidden_transport() -> ForbiddenTransport:
    return ForbiddenTransport()


EVIL_DNS = {
    "evil.test": ["192.168.1.5"],
    "mixed.test": [PUBLIC_IP, "10.1.2.3"],
    "rebind.test": ["::ffff:169.254.169.254"],
}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1/", "refused: 127.0.0.1 is a loopback address"),
        ("http://127.1/", "refused: 127.1 is 127.0.0.1, a loopback address"),
        ("http://2130706434/", "refused: 2130706434 is 127.0.0.2, a loopback address"),
        ("http://0x7f.1/", "refused: 0x7f.1 is 127.0.0.1, a loopback address"),
        ("http://127.0.0.1./", "refused: 127.0.0.1. is 127.0.0.1, a loopback address"),
        (
            "http://[::ffff:127.0.0.2]/",
            "refused: ::ffff:127.0.0.2 is 127.0.0.2, a loopback address",
        ),
        ("http://[::1]:8080/", "refused: ::1 is a loopback address"),
        ("http://0.0.0.0/", "refused: 0.0.0.0 is a unspecified address"),
        ("http://[::]/", "refused: :: is a unspecified address"),
        ("http://169.254.169.254/latest/", "refused: 169.254.169.254 is a link-local address"),
        ("http://[fe80::1]/", "refused: fe80::1 is a link-local address"),
        ("http://10.0.0.1/", "refused: 10.0.0.1 is a private address"),
        ("http://172.16.5.4/", "refused: 172.16.5.4 is a private address"),
        ("http://192.168.0.1:8443/", "refused: 192.168.0.1 is a private address"),
        ("http://[fd00::1]/", "refused: fd00::1 is a private address"),
        ("http://100.64.0.1/", "refused: 100.64.0.1 is a CGNAT/shared address"),
        ("http://224.0.0.1/", "refused: 224.0.0.1 is a multicast address"),
        ("http://240.0.0.1/", "refused: 240.0.0.1 is a reserved address"),
        ("http://192.0.2.1/", "refused: 192.0.2.1 is a reserved address"),
        (
            "http://[64:ff9b::a9fe:a9fe]/",
            "refused: 64:ff9b::a9fe:a9fe is 169.254.169.254, a link-local address",
        ),
        ("https://evil.test/feed", "refused: evil.test resolves to 192.168.1.5, a private address"),
        ("http://mixed.test/", "refused: mixed.test resolves to 10.1.2.3, a private address"),
        (
            "http://rebind.test/",
            "refused: rebind.test resolves to 169.254.169.254, a link-local address",
        ),
    ],
    ids=lambda value: value.split("/")[2] if value.startswith("http") else None,
)
async def test_guard_refuses_non_public_destinations(url: str, message: str) -> None:
    resolver = FakeResolver(EVIL_DNS)
    inner = forbidden_transport()

    with pytest.raises(BlockedAddressError) as caught:
        await fetch(url, resolver=resolver, transport=inner, allow_private_networks=False)

    assert (str(caught.value), caught.value.url) == (message, url)
    assert inner.requests == []


async def test_guard_refuses_a_redirect_to_an_internal_address(
    internal_server: LoopbackServer,
) -> None:
    secret_url = internal_server.url("/secret")
    seen: list[httpx.URL] = []

    def public_host(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.host != PUBLIC_IP:
            pytest.fail(f"the guard let the redirect through to {request.url}")
        return httpx.Response(302, headers={"Location": secret_url})

    with pytest.raises(BlockedAddressError, match=r"^refused: 127\.0\.0\.2 is a loopback address$"):
        await fetch(
            "http://public.test/feed",
            resolver=FakeResolver({"public.test": [PUBLIC_IP]}),
            transport=httpx.MockTransport(public_host),
            allow_private_networks=False,
        )

    assert seen == [httpx.URL(f"http://{PUBLIC_IP}/feed")]
    assert internal_server.connections == 0


async def test_guard_on_the_real_transport_makes_no_connection(
    internal_server: LoopbackServer,
) -> None:
    with pytest.raises(BlockedAddressError, match=r"^refused: 127\.0\.0\.2 is a loopback address$"):
        await fetch(internal_server.url("/secret"), allow_private_networks=False)
    assert internal_server.connections == 0


@pytest.mark.parametrize(
    ("url", "host_header", "sni"),
    [
        pytest.param("http://public.test/feed", "public.test", None, id="http"),
        pytest.param("https://public.test/feed", "public.test", "public.test", id="https"),
        pytest.param(
            "https://Public.Test:8443/feed", "public.test:8443", "public.test", id="https-port"
        ),
    ],
)
async def test_pinned_request_keeps_the_host_name(
    url: str, host_header: str, sni: str | None
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"ok")

    resolver = FakeResolver({"public.test": [PUBLIC_IP, "2606:2800:220:1::1"]})
    result = await fetch(
        url,
        resolver=resolver,
        transport=httpx.MockTransport(handler),
        allow_private_networks=False,
    )

    [request] = seen
    assert request.url.host == PUBLIC_IP  # connect to the vetted address, no second lookup
    assert request.headers["host"] == host_header
    assert request.extensions.get("sni_hostname") == sni
    assert result.url == str(httpx.URL(url))
    assert len(resolver.calls) == 1


async def test_allowed_private_network_is_still_pinned_per_hop(server: LoopbackServer) -> None:
    # feeds.test exists only in the fake resolver, so reaching the server proves pinning.
    server.routes["/old"] = redirect("/new")
    server.routes["/new"] = reply(200, body=b"feed")
    resolver = FakeResolver({"feeds.test": ["127.0.0.1"]})

    result = await fetch(f"http://feeds.test:{server.port}/old", resolver=resolver)

    assert (result.body, result.url) == (b"feed", f"http://feeds.test:{server.port}/new")
    assert [r.headers["host"] for r in server.requests] == [f"feeds.test:{server.port}"] * 2
    assert resolver.calls == [("feeds.test", server.port)] * 2  # once per hop


def self_signed(name: str, directory: Any) -> tuple[str, str]:
    """Write a self-signed certificate for ``name`` and its key; return their paths."""
    pytest.importorskip("cryptography")  # pulled in by prefect; only these tests use it
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.mark.parametrize(
    ("certificate_name", "succeeds"),
    [
        pytest.param("feeds.test", True, id="matching-name"),
        pytest.param("other.test", False, id="wrong-name"),
    ],
)
async def test_pinned_tls_verifies_the_certificate_against_the_host_name(
    tmp_path: Any, certificate_name: str, succeeds: bool
) -> None:
    cert, key = self_signed(certificate_name, tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=cert)  # trusts only this certificate
    resolver = FakeResolver({"feeds.test": ["127.0.0.1"]})

    async with LoopbackServer("127.0.0.1", tls=server_tls) as server:
        server.routes["/feed"] = reply(200, body=b"over tls")
        url = f"https://feeds.test:{server.port}/feed"
        transport = httpx.AsyncHTTPTransport(verify=client_tls)
        if succeeds:
            result = await fetch(url, resolver=resolver, transport=transport)
            assert result.body == b"over tls"
            assert server.requests[0].headers["host"] == f"feeds.test:{server.port}"
        else:
            with pytest.raises(
                TransientFetchError,
                match=r"^TLS certificate of feeds\.test was rejected: Hostname mismatch",
            ):
                await fetch(url, resolver=resolver, transport=transport)
            assert server.requests == []


async def test_connections_are_kept_alive_per_host_name_and_never_shared_between_names() -> None:
    async with LoopbackServer("127.0.0.1", keep_alive=True) as server:
        server.routes["/page"] = reply(200, body=b"page")
        names = FakeResolver({"one.test": ["127.0.0.1"], "two.test": ["127.0.0.1"]})
        async with Fetcher(make_config(per_host=1), resolver=names) as fetcher:
            for _ in range(3):
                await fetcher.fetch(f"http://one.test:{server.port}/page", max_bytes=MiB)
            assert server.connections == 1  # one handshake for three pages
            for _ in range(2):
                await fetcher.fetch(f"http://two.test:{server.port}/page", max_bytes=MiB)
            assert server.connections == 2  # same IP, another name: a connection of its own
        hosts = [request.headers["host"] for request in server.requests]
        assert hosts == [f"one.test:{server.port}"] * 3 + [f"two.test:{server.port}"] * 2


async def test_idle_host_pools_beyond_the_limit_are_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(HostPools, "MAX_POOLS", 2)
    async with LoopbackServer("127.0.0.1", keep_alive=True) as server:
        server.routes["/page"] = reply(200, body=b"page")
        names = FakeResolver({f"h{n}.test": ["127.0.0.1"] for n in range(4)})
        async with Fetcher(make_config(), resolver=names) as fetcher:
            for n in (0, 1, 2, 3, 3, 0):
                await fetcher.fetch(f"http://h{n}.test:{server.port}/page", max_bytes=MiB)
        # h0's pool was closed when h2 and h3 came, so its second page needed a new connection;
        # h3's second page reused its connection.
        assert server.connections == 5
