"""One small news outlet on each of many loopback addresses, served from one thread.

Linux routes all of 127.0.0.0/8 to the loopback interface, so ``127.0.1.1``, ``127.0.1.2``...
are distinct hosts to a client (its own connection pool per host) without any setup. Each
address gets a listening socket of its own (never 0.0.0.0: nothing is reachable from outside
the machine). Every outlet serves ``/feed.xml`` listing one story, and the story: a page of
``big_site`` with a text of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from types import TracebackType

import big_site

FEED_PATH = "/feed.xml"
STORY_PATH = "/story.html"


def address(n: int) -> str:
    """The n-th outlet's address: 127.0.1.1 onwards, 250 to a /24, never 127.0.0.x."""
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


class ManyHosts:
    """Serve ``count`` outlets, one per loopback address; count the requests per host."""

    def __init__(self, count: int) -> None:
        self.hosts = [address(n) for n in range(count)]
        self._index = {host: n for n, host in enumerate(self.hosts)}
        self.ports: dict[str, int] = {}
        self.requests: Counter[tuple[str, str]] = Counter()  # (host, path) -> times
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True, name="many-hosts")

    def feed_url(self, host: str) -> str:
        return f"http://{host}:{self.ports[host]}{FEED_PATH}"

    def story_url(self, host: str) -> str:
        return f"http://{host}:{self.ports[host]}{STORY_PATH}"

    def __enter__(self) -> ManyHosts:
        self._thread.start()
        self._ready.wait(60)
        if self._error is not None or len(self.ports) != len(self.hosts):
            raise RuntimeError(f"could not listen on every address: {self._error}")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        servers = []
        try:
            for host in self.hosts:
                server = self._loop.run_until_complete(asyncio.start_server(self._handle, host, 0))
                servers.append(server)
                self.ports[host] = server.sockets[0].getsockname()[1]
        except OSError as exc:
            self._error = exc
        self._ready.set()
        if self._error is None:
            self._loop.run_forever()
        # Shut down in the loop's own thread, then close it: an event loop left for the
        # garbage collector warns in whichever test happens to run next.
        for server in servers:
            server.close()
        handlers = asyncio.all_tasks(self._loop)
        for task in handlers:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*handlers, return_exceptions=True))
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("sockname")[:2]
        try:
            with contextlib.suppress(ConnectionError, IndexError, ValueError):
                while line := await reader.readline():
                    path = line.decode("latin-1").split(" ")[1].split("?")[0]
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    with self._lock:
                        self.requests[(host, path)] += 1
                    writer.write(_response(host, port, path, self._index.get(host, 0)))
                    await writer.drain()
        finally:
            writer.close()


def _response(host: str, port: int, path: str, index: int) -> bytes:
    base = f"http://{host}:{port}"
    if path == FEED_PATH:
        kind = "application/rss+xml"
        body = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet {host}</title>'
            f"<link>{base}/</link><description>News of {host}</description>"
            f"<item><title>News from {host}</title><link>{base}{STORY_PATH}</link>"
            f"<guid>{base}{STORY_PATH}</guid></item></channel></rss>"
        )
    elif path == STORY_PATH:
        kind = "text/html; charset=utf-8"
        body = big_site.page(index, 0)
    else:
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    data = body.encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data
