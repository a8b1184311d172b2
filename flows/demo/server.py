"""Serve a directory of static pages and feeds on loopback, the way a small news site would.

Plain stdlib on purpose: the demo and the end-to-end tests need a real HTTP server with
real caching headers, nothing more. What it does, per request:

* maps the URL path (query string ignored) to a file under the root, never outside it;
  a directory serves its ``index.html``;
* sends a content type chosen from the extension (feeds get their registered types), and
  plain ``text/html`` with no charset for pages listed as *legacy*, so that a client has to
  read the charset from the page itself;
* replaces ``{base}`` in served text files by the server's own ``http://127.0.0.1:PORT``,
  so feeds and pages can carry absolute links (legacy pages are served byte for byte);
* sends a strong ``ETag`` (hash of the served bytes) and ``Last-Modified`` (file mtime), and
  answers ``304 Not Modified`` to ``If-None-Match`` / ``If-Modified-Since`` (RFC 9110 §13.1);
* records every request as ``(method, path, headers)`` for tests to inspect.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mimetypes
import socket
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

DEMO_SITE_DIR = Path(__file__).parent / "site"
# The feeds of the demo site and their outlet, in the order expected.json assumes.
DEMO_FEEDS = {
    "/courier/rss.xml": "The Loopback Courier",
    "/courier/atom.xml": "The Loopback Courier",
    "/bote/feed.json": "Der Lokalbote",
}
DEMO_FEED_PATHS = tuple(DEMO_FEEDS)
# Pages that declare their charset only in a <meta> tag: served as bare "text/html".
DEMO_LEGACY_PATHS = frozenset({"/courier/ar/2021/09/16/community-garden.html"})
BASE_PLACEHOLDER = "{base}"

_TEXT_SUFFIXES = frozenset({".html", ".htm", ".xml", ".json", ".txt"})


class RecordedRequest(NamedTuple):
    """One request as the server saw it; header names are lower-cased."""

    method: str
    path: str  # as requested, query string included
    headers: dict[str, str]


class _Response(NamedTuple):
    status: HTTPStatus
    headers: dict[str, str]
    body: bytes


class SiteServer:
    """Serve ``root`` on ``127.0.0.1`` (a free port) while the context is open."""

    def __init__(
        self,
        root: Path,
        *,
        legacy_paths: Iterable[str] = (),
        feeds: Mapping[str, str | None] | None = None,
    ) -> None:
        self.root = root.resolve()
        self.legacy_paths = frozenset(legacy_paths)
        self.feeds = dict(feeds or {})  # site path -> display name (or None), for feeds_toml()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SiteServer:
        if self._httpd is not None:
            raise RuntimeError("SiteServer is already running")
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler, site=self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"site-server-{self._httpd.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()  # stop accepting
        self._httpd.close_connections()  # end idle keep-alive connections now, not at timeout
        self._httpd.server_close()  # joins the request threads
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self._httpd is None:
            raise RuntimeError("SiteServer is not running: use it as a context manager")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        """Return the absolute URL of a site path such as ``/courier/rss.xml``."""
        return self.base_url + path

    def feeds_toml(self) -> str:
        """Return a feeds.toml listing this site's feeds with their absolute URLs."""
        tables = [f"# Feeds of the site served at {self.base_url}"]
        for path, name in self.feeds.items():
            # A JSON string is a valid TOML basic string.
            table = f"\n[[feeds]]\nurl = {json.dumps(self.url(path))}\n"
            if name:
                table += f"name = {json.dumps(name, ensure_ascii=False)}\n"
            tables.append(table)
        return "\n".join(tables)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Return a snapshot of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the requests recorded so far (e.g. between two ingest runs)."""
        with self._lock:
            self._requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _respond(self, raw_path: str, headers: dict[str, str]) -> _Response:
        """Build the response to a GET or HEAD; the body is dropped for HEAD by the caller."""
        file = self._lookup(raw_path)
        if file is None:
            return _Response(HTTPStatus.NOT_FOUND, {}, b"")
        url_path = "/" + file.relative_to(self.root).as_posix()
        legacy = url_path in self.legacy_paths
        body = file.read_bytes()
        if not legacy and file.suffix in _TEXT_SUFFIXES:
            body = body.replace(BASE_PLACEHOLDER.encode(), self.base_url.encode())
        mtime = int(file.stat().st_mtime)
        validators = {
            "ETag": '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            "Last-Modified": formatdate(mtime, usegmt=True),
        }
        if _is_fresh(headers, validators["ETag"], mtime):
            return _Response(HTTPStatus.NOT_MODIFIED, validators, b"")
        response_headers = {
            "Content-Type": _content_type(file, legacy=legacy),
            "Content-Length": str(len(body)),
            **validators,
        }
        return _Response(HTTPStatus.OK, response_headers, body)

    def _lookup(self, raw_path: str) -> Path | None:
        """Map a request path to a file under the root, or None (which becomes a 404)."""
        parts = [part for part in unquote(urlsplit(raw_path).path).split("/") if part]
        if any(part in ("..", ".") or "\\" in part or "\x00" in part for part in parts):
            return None
        candidate = self.root.joinpath(*parts).resolve()
        if candidate.is_dir():
            candidate = candidate / "index.html"
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate


def serve_demo_site() -> SiteServer:
    """Return a (not yet started) server for the bundled demo site; enter it to serve."""
    return SiteServer(DEMO_SITE_DIR, legacy_paths=DEMO_LEGACY_PATHS, feeds=DEMO_FEEDS)


def load_expected(base_url: str) -> dict[str, Any]:
    """Return the demo site's expected.json with ``{base}`` replaced by ``base_url``."""
    text = (DEMO_SITE_DIR / "expected.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text.replace(BASE_PLACEHOLDER, base_url))
    return loaded


def _content_type(file: Path, *, legacy: bool) -> str:
    suffix = file.suffix.lower()
    if suffix in (".html", ".htm"):
        return "text/html" if legacy else "text/html; charset=utf-8"
    if suffix == ".xml":
        return "application/atom+xml" if "atom" in file.name else "application/rss+xml"
    if suffix == ".json":
        return "application/feed+json"
    guessed, _ = mimetypes.guess_type(file.name)
    return guessed or "application/octet-stream"


def _is_fresh(headers: dict[str, str], etag: str, mtime: int) -> bool:
    """Tell whether the client's copy is current (RFC 9110 §13.1.2 and §13.1.3)."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        # If-None-Match uses the weak comparison and, when present, overrides If-Modified-Since.
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False  # an unparseable date is ignored, as the RFC requires
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return mtime <= since.timestamp()


class _HTTPServer(ThreadingHTTPServer):
    """A threading server that can end its open connections, so shutdown is prompt and clean."""

    daemon_threads = False  # server_close() joins them; close_connections() makes that quick

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        site: SiteServer,
    ) -> None:
        self.site = site
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            with contextlib.suppress(OSError):  # already closed by the peer
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "newsflow-demo/1"
    timeout = 10  # seconds a keep-alive connection may sit idle before its thread gives up

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        assert isinstance(self.server, _HTTPServer)
        site = self.server.site
        headers = {name.lower(): value for name, value in self.headers.items()}
        site._record(RecordedRequest(self.command, self.path, headers))
        response = site._respond(self.path, headers)
        if response.status == HTTPStatus.NOT_FOUND:
            self.send_error(HTTPStatus.NOT_FOUND, f"No such page: {urlsplit(self.path).path}")
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)
