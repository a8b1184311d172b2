"""httpcore's sockets on asyncio itself: the network backend every host's pool connects with.

httpcore talks to the network through a backend (``httpcore.AsyncNetworkBackend``, its
documented extension point). Its default on asyncio goes through anyio, which costs more
than the HTTP exchange itself at newsflow's rates: every read and write opens an anyio cancel
scope, and every time the pool looks for a free connection it asks each idle one whether the
server closed it, which anyio answers with a dictionary of attribute getters and a
``getpeername`` and ``poll`` system call per connection (issue #16's profile: a quarter of the
event loop's time). This backend is an ``asyncio.Protocol``: bytes are buffered as they
arrive, a read that finds bytes returns them without waiting, a timeout is one timer, and
"did the server close this idle connection?" is a flag the protocol already holds.

Errors are httpcore's (``ConnectError``, ``ReadTimeout``...) raised ``from`` the OS error,
so httpx and ``ingest.fetch.client._translate`` see exactly what they see with anyio.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Iterable
from typing import Any

import httpcore
from httpcore import AsyncNetworkBackend, AsyncNetworkStream

__all__ = ["AsyncioBackend"]

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)

#: Bytes buffered before the socket is no longer read, until the reader catches up.
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024


class _Protocol(asyncio.Protocol):
    """Buffers what arrives and wakes the one reader (or writer) that waits for it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None  # why the connection was lost, if it was
        self.lost = False
        self._reader: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._paused = False  # we stopped reading the socket (buffer full)

    # -- asyncio's calls ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # close the transport: HTTP/1.1 never half-closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.eof = True
        self.error = exc
        self._wake_reader()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    # -- the stream's calls -------------------------------------------------------------

    def take(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` buffered bytes (the caller checked there are some)."""
        if len(self.buffer) <= max_bytes:
            data = bytes(self.buffer)
            self.buffer.clear()
        else:
            data = bytes(self.buffer[:max_bytes])
            del self.buffer[:max_bytes]
        if self._paused and len(self.buffer) <= LOW_WATER and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def wait_readable(self, timeout: float | None) -> None:
        """Wait until bytes, end of stream or loss arrive; TimeoutError after ``timeout``."""
        waiter = asyncio.get_running_loop().create_future()
        self._reader = waiter
        try:
            await _within(waiter, timeout)
        finally:
            self._reader = None

    async def wait_drained(self, timeout: float | None) -> None:
        if self._drained is not None:
            await _within(asyncio.shield(self._drained), timeout)

    def readable(self) -> bool:
        """Whether a read would return at once: bytes, or the end of the connection."""
        return bool(self.buffer) or self.eof

    def _wake_reader(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)


async def _within(waiter: asyncio.Future[Any], timeout: float | None) -> None:
    """Await ``waiter``; TimeoutError if it is not done within ``timeout`` seconds."""
    if timeout is None:
        await waiter
        return
    timer = asyncio.get_running_loop().call_later(timeout, _expire, waiter)
    try:
        await waiter
    finally:
        timer.cancel()


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class _Stream(AsyncNetworkStream):
    """One connection (plain or TLS) over its protocol."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.readable():
            try:
                await protocol.wait_readable(timeout)
            except TimeoutError as exc:
                raise httpcore.ReadTimeout(exc) from exc
        if protocol.buffer:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise httpcore.ReadError(protocol.error) from protocol.error
        return b""  # the server closed the connection; httpcore knows what that means

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.lost or self._transport.is_closing():
            error = protocol.error or ConnectionResetError("the connection is closed")
            raise httpcore.WriteError(error) from error
        self._transport.write(buffer)
        try:
            await protocol.wait_drained(timeout)
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(exc) from exc
        if protocol.error is not None:
            raise httpcore.WriteError(protocol.error) from protocol.error

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport,
                    self._protocol,
                    ssl_context,
                    server_hostname=server_hostname,
                    ssl_handshake_timeout=timeout,
                )
        except TimeoutError as exc:
            self._transport.abort()
            raise httpcore.ConnectTimeout(exc) from exc
        except (OSError, ssl.SSLError, EOFError) as exc:
            self._transport.abort()
            raise httpcore.ConnectError(exc) from exc
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        # The protocol now hears from the TLS layer: flow control goes through it too.
        self._protocol.transport = transport
        return _Stream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Asked of idle connections only: readable there means the server closed it.
            return self._protocol.readable()
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


class AsyncioBackend(AsyncNetworkBackend):
    """Connect httpcore's pools with asyncio's own transports (see the module's docstring)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        local = (local_address, 0) if local_address else None
        opening = asyncio.get_running_loop().create_connection(
            _Protocol, host, port, local_addr=local
        )
        return await _connected(opening, timeout, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        opening = asyncio.get_running_loop().create_unix_connection(_Protocol, path)
        return await _connected(opening, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connected(
    opening: Awaitable[tuple[asyncio.BaseTransport, _Protocol]],
    timeout: float | None,
    options: Iterable[SocketOption] | None,
) -> _Stream:
    """Await a connection within ``timeout``; httpcore's errors for what went wrong."""
    try:
        async with asyncio.timeout(timeout):
            transport, protocol = await opening
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(exc) from exc
    except OSError as exc:
        raise httpcore.ConnectError(exc) from exc
    return _configured(transport, protocol, options)


def _configured(
    transport: asyncio.BaseTransport,
    protocol: _Protocol,
    options: Iterable[SocketOption] | None,
) -> _Stream:
    """The stream of a new connection, its socket options set (asyncio sets TCP_NODELAY)."""
    assert isinstance(transport, asyncio.Transport)
    sock: socket.socket | None = transport.get_extra_info("socket")
    for option in options or ():
        if sock is not None:
            sock.setsockopt(*option)
    return _Stream(transport, protocol)
