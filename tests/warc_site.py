"""WARC files built for tests (with warcio, another implementation than the reader's) and a
loopback server that serves them laid out like Common Crawl's ``crawl-data/CC-NEWS/...``.

The server answers byte ranges (as Common Crawl's does), records every request, and can be
told to stop sending one file after a given number of bytes until released, so a test can
kill a run while it is inside that file.
"""

from __future__ import annotations

import gzip
import io
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


@dataclass(frozen=True)
class Page:
    """One captured page: where, when published (None: undated) and captured."""

    url: str
    published: datetime | None
    captured: datetime
    status: int = 200
    content_type: str = "text/html; charset=utf-8"

    @property
    def title(self) -> str:
        return "Story " + self.url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".html")


def article_html(page: Page) -> bytes:
    """A small news page whose text is its own (so no two pages are near-duplicates)."""
    stamp = (
        f'<meta property="article:published_time" content="{page.published.isoformat()}">'
        if page.published
        else ""
    )
    words = page.url.replace("/", " ").replace(".", " ").replace("-", " ")
    paragraphs = "".join(
        f"<p>Paragraph {n} of the report at {words}: the council met on the harbour "
        f"front to talk about item {n}, and residents of the {words} district spoke.</p>"
        for n in range(6)
    )
    return (
        f"<!doctype html><html lang='en'><head><title>{page.title}</title>{stamp}</head>"
        f"<body><article><h1>{page.title}</h1>{paragraphs}</article></body></html>"
    ).encode()


def _write(writer: WARCWriter, record: Any) -> None:
    """Write a record and close the buffer warcio may have spooled its payload into."""
    writer.write_record(record)
    stream = getattr(record, "raw_stream", None)
    if stream is not None:
        stream.close()


def write_warc(path: Path, pages: Sequence[Page], *, gzipped: bool = True) -> list[int]:
    """Write a warcinfo record, then a request and a response per page; the offsets of the
    response records."""
    offsets = []
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=gzipped)
        _write(writer, writer.create_warcinfo_record(path.name, {"software": "newsflow tests"}))
        for page in pages:
            when = page.captured.strftime("%Y-%m-%dT%H:%M:%SZ")
            request = StatusAndHeaders(
                f"GET {page.url} HTTP/1.1", [("Host", "x")], is_http_request=True
            )
            _write(
                writer,
                writer.create_warc_record(
                    page.url, "request", http_headers=request, warc_headers_dict={"WARC-Date": when}
                ),
            )
            body = article_html(page) if page.status == 200 else b""
            headers = [("Content-Type", page.content_type), ("Content-Length", str(len(body)))]
            offsets.append(out.tell())
            _write(
                writer,
                writer.create_warc_record(
                    page.url,
                    "response",
                    payload=io.BytesIO(body),
                    http_headers=StatusAndHeaders(f"{page.status} X", headers, protocol="HTTP/1.1"),
                    warc_headers_dict={"WARC-Date": when},
                ),
            )
    return offsets


def ccnews_name(captured: datetime, serial: int) -> str:
    return f"CC-NEWS-{captured:%Y%m%d%H%M%S}-{serial:05d}.warc.gz"


def write_month(root: Path, year: int, month: int, files: dict[str, Sequence[Page]]) -> list[str]:
    """Write a month's WARC files and its ``warc.paths.gz``; the listed paths."""
    folder = root / "crawl-data" / "CC-NEWS" / f"{year:04d}" / f"{month:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, pages in files.items():
        write_warc(folder / name, pages)
        paths.append(f"crawl-data/CC-NEWS/{year:04d}/{month:02d}/{name}")
    listing = "".join(f"{p}\n" for p in paths).encode()
    (folder / "warc.paths.gz").write_bytes(gzip.compress(listing))
    return paths


class Seen(NamedTuple):
    path: str
    range: str | None


class WarcServer:
    """Serve ``root`` on 127.0.0.1 with byte ranges; ``hold(path, after)`` pauses one file."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._hold: tuple[str, int] | None = None
        self.released = threading.Event()
        self.holding = threading.Event()  # set once a held file has sent its bytes
        self._httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> WarcServer:
        server = self

        class Handler(_Handler):
            site = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    @property
    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def hold(self, path: str, after: int) -> None:
        """Send only the first ``after`` bytes of ``path`` (from byte 0) until released."""
        self._hold = (path, after)

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self._seen.append(seen)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    site: WarcServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        asked = self.headers.get("Range")
        self.site._record(Seen(path, asked))
        file = (self.site.root / path.lstrip("/")).resolve()
        if not file.is_relative_to(self.site.root) or not file.is_file():
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        data = file.read_bytes()
        start = 0
        if asked and asked.startswith("bytes=") and asked.endswith("-"):
            start = int(asked[6:-1])
            self.send_response(HTTPStatus.PARTIAL_CONTENT)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        hold = self.site._hold
        if hold is not None and hold[0] == path and start == 0:
            self.wfile.write(data[: hold[1]])
            self.wfile.flush()
            self.site.holding.set()
            self.site.released.wait(timeout=120)
            return  # the connection closes short of Content-Length
        self.wfile.write(data[start:])

    def log_message(self, format: str, *args: Any) -> None:
        pass


def day(d: int, hour: int = 12) -> datetime:
    return datetime(2021, 9, d, hour, tzinfo=UTC)


def pages_of(site: str, published: Iterable[datetime | None], captured: datetime) -> list[Page]:
    return [
        Page(f"https://{site}/news/{n}-{captured:%d%H}.html", when, captured)
        for n, when in enumerate(published)
    ]
