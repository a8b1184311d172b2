"""A scripted HTTP/1.1 server on a loopback address, for wire-level tests.

Raw asyncio streams rather than http.server, so a route can misbehave on purpose: drip bytes,
lie about Content-Length, break chunked encoding, or accept and never answer. It runs on the
test's own event loop, so no threads and no sleeps are needed to line things up.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType


@dataclass(frozen=True)
class SeenRequest:
    """What the server received: request line and lower-cased headers."""

    method: str
    target: str
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]


Route = Callable[[SeenRequest, asyncio.StreamWriter], Awaitable[None]]


def response_bytes(
    status: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
) -> bytes:
    """Serialize a response head (and body) exactly as given: nothing is added."""
    head = [f"HTTP/1.1 {status} Status"]
    head += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def reply(
    status: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b"", *, length: bool = True
) -> Route:
    """A route answering with a fixed response (with a correct Content-Length by default)."""
    all_headers = [*headers, *([("Content-Length", str(len(body)))] if length else [])]
    data = response_bytes(status, all_headers, body)

    async def route(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()

    return route


def redirect(location: str, status: int = 302) -> Route:
    """A route answering with a redirect to ``location``."""
    return reply(status, [("Location", location)])


class LoopbackServer:
    """Serve ``routes`` (path -> Route) on ``host``:<free port>, recording what it sees."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        tls: ssl.SSLContext | None = None,
        keep_alive: bool = False,
    ) -> None:
        self.host = host
        self.tls = tls
        self.keep_alive = keep_alive  # serve further requests on a connection, as HTTP/1.1 does
        self.port = 0
        self.routes: dict[str, Route] = {}
        self.requests: list[SeenRequest] = []
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    async def __aenter__(self) -> LoopbackServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        try:
            while (request := await _read_head(reader)) is not None:
                self.requests.append(request)
                route = self.routes.get(request.path, reply(404, body=b"no route"))
                await route(request, writer)
                if not self.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # the client hung up, which is often the point of the test
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _read_head(reader: asyncio.StreamReader) -> SeenRequest | None:
    """Read a request line and headers (GET only, so there is no body)."""
    line = await reader.readline()
    if not line:
        return None
    method, target, _version = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return SeenRequest(method, target, headers)
