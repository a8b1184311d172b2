"""Feeds that fail the ways real ones do, served on loopback: for the monitoring tests and the
UI screenshots (docs/screenshots.py).

- ``/missing.xml``: 404 Not Found (permanent: not retried);
- ``/error.xml``: 500 Internal Server Error (transient: retried, then failed);
- ``/page.html``: 200 with an HTML page that has no feed and links to none;
- ``/gone.xml``: 410 Gone (the feed is parked at once).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATUS = {"/error.xml": 500, "/page.html": 200, "/gone.xml": 410}
PAGE = b"<!doctype html><html><body><h1>Welcome</h1><p>No feed here.</p></body></html>"
#: The broken feeds of a Partial run (404, 500, an HTML page) and of a run where all fail.
PARTIAL_PATHS = ("/missing.xml", "/error.xml", "/page.html")
ALL_FAIL_PATHS = ("/missing.xml", "/gone.xml")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        page = self.path == "/page.html"
        self.send_response(STATUS.get(self.path, 404))
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE) if page else 0))
        self.end_headers()
        if page:
            self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def broken_feeds() -> Iterator[str]:
    """Serve the broken feeds while the block runs; yield ``http://127.0.0.1:PORT``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def feeds_toml(urls: list[str]) -> str:
    """A feeds file listing these URLs."""
    return "".join(f'[[feeds]]\nurl = "{url}"\n\n' for url in urls)
