"""A small news site on loopback with robots.txt, feeds and pages, logging every request.

For the politeness tests (issue #14): each request is logged with its path and the moment it
arrived, so a test can prove that a page was never asked for, that robots.txt was asked for
once, or that two requests came at least so many seconds apart. Runs on the test's event loop
(``loopback.LoopbackServer``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from types import TracebackType

from loopback import LoopbackServer, Route, SeenRequest, response_bytes

HTML = ("Content-Type", "text/html; charset=utf-8")
RSS = ("Content-Type", "application/rss+xml; charset=utf-8")
TEXT = ("Content-Type", "text/plain; charset=utf-8")


@dataclass(frozen=True)
class Logged:
    path: str
    at: float  # time.monotonic() when the request arrived
    user_agent: str


def article(title: str, *, extra_head: str = "") -> bytes:
    """An article page with a few paragraphs of plain news text."""
    paragraphs = "".join(
        f"<p>{escape(title)}: paragraph {n} tells the readers what happened in the harbour "
        "district this week, who said what at the council meeting, and what comes next.</p>"
        for n in range(1, 6)
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}"
        f"</title>{extra_head}</head><body><nav><a href='/'>Home</a></nav><article>"
        f"<h1>{escape(title)}</h1>{paragraphs}</article></body></html>"
    ).encode()


class PoliteSite:
    """Serve ``routes`` (path -> (status, headers, body)) on 127.0.0.1, logging requests."""

    def __init__(self) -> None:
        self.server = LoopbackServer("127.0.0.1", keep_alive=True)
        self.log: list[Logged] = []

    @property
    def base(self) -> str:
        return self.server.url("").rstrip("/")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def route(
        self,
        path: str,
        status: int = 200,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> None:
        self.server.routes[path] = self._logged(status, [*headers], body)

    def robots(self, text: str, status: int = 200) -> None:
        self.route("/robots.txt", status, [TEXT], text.encode())

    def page(self, path: str, title: str | None = None, **kwargs: str) -> None:
        self.route(path, 200, [HTML], article(title or path, **kwargs))

    def feed(self, path: str, pages: Iterable[str], *, etag: str | None = None) -> str:
        """An RSS feed at ``path`` linking to ``pages`` (paths); returns its URL."""
        items = "".join(
            f"<item><title>{escape(p)}</title><link>{self.base}{p}</link><guid>{p}</guid></item>"
            for p in pages
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Polite {path}</title><link>{self.base}/</link>{items}</channel></rss>"
        ).encode()
        self.route(path, 200, [RSS, *([("ETag", etag)] if etag else [])], body)
        return self.base + path

    def paths(self) -> list[str]:
        """Every path requested, in order (unrouted ones, answered 404, included)."""
        return self.server.paths()

    def times(self, paths: Iterable[str]) -> list[float]:
        wanted = set(paths)
        return [entry.at for entry in self.log if entry.path in wanted]

    def _logged(self, status: int, headers: list[tuple[str, str]], body: bytes) -> Route:
        data = response_bytes(status, [*headers, ("Content-Length", str(len(body)))], body)

        async def route(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
            agent = request.headers.get("user-agent", "")
            self.log.append(Logged(request.path, time.monotonic(), agent))
            writer.write(data)
            await writer.drain()

        return route

    async def __aenter__(self) -> PoliteSite:
        await self.server.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.server.__aexit__(exc_type, exc, tb)
