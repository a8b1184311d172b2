"""ingest/fetch/sockets.py: httpcore's network backend on asyncio, against real loopback sockets.

Each test drives the backend with a raw asyncio server of its own, so the server can do what
the case needs (say nothing, hang up while a connection is idle, send megabytes at once, reset)
and the test sees what httpcore would see. The pool-level cases (keep-alive, TLS with a pinned
name, timeouts through ``Fetcher``) are in test_http.py, which runs on this backend too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpcore
import httpx
import pytest

from ingest.errors import TransientFetchError
from ingest.fetch.client import Fetcher
from ingest.fetch.pools import pooled_transport
from ingest.fetch.sockets import HIGH_WATER, AsyncioBackend
from tests.ingest.loopback import LoopbackServer, reply
from tests.ingest.test_http import FakeResolver, MiB, fetch, make_config, self_signed

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[int]:
    """Serve ``handler`` on 127.0.0.1; yield the port."""
    tasks: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Let the event loop run until ``condition`` holds; fail after ``seconds``."""
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0)


async def test_bytes_written_by_the_server_are_read_in_order() -> None:
    async def echo_upper(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.readexactly(5)).upper())
        await writer.drain()

    async with serving(echo_upper) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await stream.write(b"hello", timeout=5)
        got = b""
        while len(got) < 5:
            got += await stream.read(3, timeout=5)  # never more than asked
        assert got == b"HELLO"
        assert await stream.read(10, timeout=5) == b""  # the server closed: end of stream
        await stream.aclose()


async def test_an_idle_connection_the_server_closed_reads_as_readable() -> None:
    """httpcore asks idle connections whether they are readable: yes means "closed, drop it"."""
    hang_up = asyncio.Event()

    async def close_on_cue(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hang_up.wait()

    async with serving(close_on_cue) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert stream.get_extra_info("is_readable") is False  # open and quiet
        hang_up.set()
        await until(lambda: bool(stream.get_extra_info("is_readable")))
        assert await stream.read(10, timeout=5) == b""
        await stream.aclose()


async def test_a_silent_server_times_out_the_read() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()

    async with serving(silent) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(10, timeout=0.05)
        await stream.aclose()


async def test_megabytes_sent_at_once_arrive_whole_through_flow_control() -> None:
    """Unread bytes stop being read from the socket past HIGH_WATER, and resume once read."""
    payload = bytes(range(256)) * (32 * HIGH_WATER // 256)

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()

    async with serving(flood) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        protocol = stream._protocol  # type: ignore[attr-defined]
        for _ in range(2_000):  # the loop runs, nobody reads
            await asyncio.sleep(0)
        # asyncio reads at most 256 KiB a time: one read past the mark, then no more.
        assert HIGH_WATER < len(protocol.buffer) <= 2 * HIGH_WATER
        chunks = []
        while chunk := await stream.read(64 * 1024, timeout=5):
            chunks.append(chunk)
        assert b"".join(chunks) == payload
        await stream.aclose()


async def test_a_refused_connection_is_a_connect_error_caused_by_the_refusal() -> None:
    async with serving(lambda r, w: asyncio.sleep(0)) as port:
        pass  # the port is free again
    with pytest.raises(httpcore.ConnectError) as raised:
        await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)


async def test_writing_to_a_connection_the_server_reset_is_a_write_error() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.transport.abort()  # RST, not FIN

    async with serving(reset) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await until(lambda: bool(stream.get_extra_info("is_readable")))
        with pytest.raises((httpcore.WriteError, httpcore.ReadError)):
            # The first write may still be accepted by the kernel; the loss shows by the next.
            for _ in range(3):
                await stream.write(b"GET / HTTP/1.1\r\n\r\n", timeout=5)
                await stream.read(10, timeout=5)
        await stream.aclose()


async def test_the_stream_reports_both_addresses() -> None:
    async with serving(lambda r, w: asyncio.sleep(0)) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("ssl_object") is None
        await stream.aclose()


# --- through httpcore's pool, as newsflow's fetcher uses it -------------------------------------


async def test_keep_alive_survives_a_server_that_hangs_up_on_idle_connections() -> None:
    """A connection the server closed while idle is dropped, not reused (no 'disconnected')."""
    async with LoopbackServer("127.0.0.1") as server:  # one request per connection, then FIN
        server.routes["/page"] = reply(200, body=b"page")
        transport = pooled_transport(1, ssl.create_default_context())
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(3):
                response = await client.get(server.url("/page"))
                assert response.content == b"page"
                await until(lambda: server.connections == len(server.requests))
        assert server.connections == 3


@pytest.mark.parametrize(
    ("certificate_name", "succeeds"),
    [
        pytest.param("feeds.test", True, id="matching-name"),
        pytest.param("other.test", False, id="wrong-name"),
    ],
)
async def test_tls_over_the_backend_verifies_the_pinned_host_name(
    tmp_path: Path, certificate_name: str, succeeds: bool
) -> None:
    cert, key = self_signed(certificate_name, tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=cert)
    resolver = FakeResolver({"feeds.test": ["127.0.0.1"]})

    async with LoopbackServer("127.0.0.1", tls=server_tls, keep_alive=True) as server:
        server.routes["/feed"] = reply(200, body=b"over tls " * 10_000)
        url = f"https://feeds.test:{server.port}/feed"
        transport = pooled_transport(2, client_tls)
        if succeeds:
            async with Fetcher(make_config(), resolver=resolver, transport=transport) as fetcher:
                for _ in range(2):
                    result = await fetcher.fetch(url, max_bytes=MiB)
                    assert result.body == b"over tls " * 10_000
            assert server.connections == 1  # the TLS connection was kept alive
        else:
            with pytest.raises(TransientFetchError, match=r"TLS certificate of feeds\.test"):
                await fetch(url, resolver=resolver, transport=transport)
            assert server.requests == []
