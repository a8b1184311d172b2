"""A loopback server with one route per way a feed can go wrong (issue 4's fault catalogue).

The routes are :mod:`loopback` routes (raw asyncio streams, so a route can misbehave on
purpose). :class:`FaultServer` runs them on 127.0.0.1 in a thread of its own, with its own
event loop, so a server keeps its pace while the pipeline under test is busy parsing; beside
it, a second server on 127.0.0.2 plays the internal host an external DTD points at and must
never be asked for anything.

:data:`FAULTS` names every route; ``tests/ingest/test_faults.py`` holds what each must give.
Every document is generated here from a few lines of code, so nothing hostile is checked in.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import random
import threading
import time
import zlib
from collections.abc import Coroutine, Iterable
from concurrent.futures import Future
from html import escape
from types import TracebackType
from typing import Any

from loopback import LoopbackServer, Route, SeenRequest, redirect, reply, response_bytes

__all__ = [
    "FAULTS",
    "GOOD_ARTICLES",
    "HUGE_TITLE_ITEMS",
    "MANY_ITEMS",
    "FaultServer",
]

MiB = 1 << 20
RSS_TYPE = ("Content-Type", "application/rss+xml; charset=utf-8")
HTML_TYPE = ("Content-Type", "text/html; charset=utf-8")

MANY_ITEMS = 10_000
HUGE_TITLE_ITEMS = 6  # six 1 MB titles: a 6 MB feed, under the 10 MiB feed cap
GZIP_BOMB_BYTES = 64 * MiB  # decoded size; about 64 KB on the wire
DRIP_SECONDS = 1.0
# What each page of the good feed says: (path, title, first words of the body).
GOOD_ARTICLES = (
    ("/good/harbour.html", "Harbour reopens after storm", "The harbour reopened on Monday"),
    ("/good/library.html", "City library extends hours", "The central library will stay open"),
    ("/good/orchard.html", "Orchard harvest breaks record", "Growers picked more apples"),
)

# One route per fault: the path a feed URL ends in. Tests are tables over these names.
FAULTS = (
    "/status-500",
    "/status-404",
    "/status-410",
    "/429-seconds",
    "/429-date",
    "/drip",
    "/silent",
    "/redirect-loop",
    "/redirect-chain/0",
    "/too-big-declared",
    "/too-big-endless",
    "/gzip-bomb",
    "/truncated",
    "/empty",
    "/garbage",
    "/html-with-feed",
    "/html-without-feed",
    "/billion-laughs",
    "/quadratic-blowup",
    "/xxe",
    "/wrong-charset",
    "/impossible-dates",
    "/huge-titles",
    "/many-items",
    "/duplicate-guids",
    "/scripts",
    "/good/feed.xml",
)


# -- documents --------------------------------------------------------------------------------


def rss(items: Iterable[str], *, title: str = "Fault feed", prolog: str = "") -> bytes:
    """An RSS 2.0 document around ``items`` (already serialized)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'{prolog}<rss version="2.0"><channel><title>{title}</title>'
        "<link>http://outlet.test/</link>" + "".join(items) + "</channel></rss>"
    ).encode()


def item(
    *,
    title: str | None = None,
    guid: str | None = None,
    link: str | None = None,
    description: str | None = None,
    pub_date: str | None = None,
) -> str:
    """One <item>; values are inserted as given (callers escape or use CDATA)."""
    parts = [
        f"<title>{title}</title>" if title is not None else "",
        f'<guid isPermaLink="false">{guid}</guid>' if guid is not None else "",
        f"<link>{link}</link>" if link is not None else "",
        f"<description>{description}</description>" if description is not None else "",
        f"<pubDate>{pub_date}</pubDate>" if pub_date is not None else "",
    ]
    return "<item>" + "".join(parts) + "</item>"


def article_page(title: str, first_words: str) -> bytes:
    body = "".join(
        f"<p>{first_words}, paragraph {n} of the report goes on with plain facts for readers "
        f"who want the whole story and every detail of it.</p>"
        for n in range(1, 5)
    )
    return (
        f"<!doctype html><html lang='en'><head><title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{body}</article></body></html>"
    ).encode()


def hostile_page() -> bytes:
    """A page whose markup tries every way of running code in a reader's browser."""
    return (
        b"<!doctype html><html><head><title>Hostile <script>alert(1)</script> page</title>"
        b"<script>document.write('<p>injected</p>')</script><style>p{color:red}</style></head>"
        b"<body onload='alert(2)'><article><h1 onmouseover='alert(3)'>Hostile page</h1>"
        b"<p onclick='alert(4)'>This page hides scripts in every corner of its markup, "
        b"yet the words a reader sees are harmless and worth keeping in the store.</p>"
        b"<p>A <a href='javascript:alert(5)'>link that runs code</a> and an image "
        b"<img src=x onerror='alert(6)'> sit inside this second paragraph of plain text.</p>"
        b"<p>The third paragraph closes the article with an iframe "
        b"<iframe src='javascript:alert(7)'></iframe> and an svg "
        b"<svg onload='alert(8)'><script>alert(9)</script></svg> that must vanish.</p>"
        b"</article></body></html>"
    )


def billion_laughs() -> bytes:
    names = ["lol", *(f"lol{n}" for n in range(1, 10))]
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY {name} "{f"&{inner};" * 10}">' for inner, name in itertools.pairwise(names)
    ]
    return rss(
        [item(title="Laughs &lol9;", guid="laughs-1", description="Ten levels of laughter.")],
        prolog="<!DOCTYPE rss [" + "".join(entities) + "]>\n",
    )


def quadratic_blowup() -> bytes:
    prolog = f'<!DOCTYPE rss [<!ENTITY a "{"a" * 50_000}">]>\n'
    return rss(
        [item(title="Blowup " + "&a;" * 10_000, guid="blowup-1", description="One entity.")],
        prolog=prolog,
    )


def xxe(internal_port: int) -> bytes:
    prolog = (
        "<!DOCTYPE rss [\n"
        '  <!ENTITY xxe SYSTEM "file:///etc/hostname">\n'
        f'  <!ENTITY % remote SYSTEM "http://127.0.0.2:{internal_port}/x.dtd">\n'
        "  %remote;\n]>\n"
    )
    return rss(
        [item(title="Host &xxe;", guid="xxe-1", description="Read &xxe; and &exfil; here.")],
        prolog=prolog,
    )


def wrong_charset() -> bytes:
    """cp1252 bytes in a document that says, twice, that it is UTF-8."""
    title = "café “quoted”"
    return rss(
        [item(title=title, guid="charset-1", description=f"{title}, said the menu.")],
        title=title,
    ).replace(title.encode(), title.encode("cp1252"))


IMPOSSIBLE_DATES = (
    "Sat, 01 Jan 0000 00:00:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "yesterday-ish",
    "Mon, 30 Feb 2026 10:00:00 GMT",
)


def impossible_dates() -> bytes:
    return rss(
        item(
            title=f"Dated {n}",
            guid=f"date-{n}",
            description=f"This entry claims to be from {escape(raw)}.",
            pub_date=escape(raw),
        )
        for n, raw in enumerate(IMPOSSIBLE_DATES)
    )


def huge_titles() -> bytes:
    # Multibyte characters of every UTF-8 width, so a byte-wise cut would split one.
    unit = "aé€𝄞" * 100_000  # 4 characters, 10 bytes: 1 MB
    return rss(
        item(title=f"{n} {unit}", guid=f"huge-{n}", description=f"Huge title {n}.")
        for n in range(HUGE_TITLE_ITEMS)
    )


def many_items() -> bytes:
    return rss(
        item(
            title=f"Item {n}",
            guid=f"urn:many:{n}",
            description=f"&lt;p&gt;Archive entry {n} of the long feed.&lt;/p&gt;",
        )
        for n in range(MANY_ITEMS)
    )


def duplicate_guids() -> bytes:
    return rss(
        [
            item(title="First telling", guid="same", description="The first version of events."),
            item(title="Second telling", guid="same", description="Another version entirely."),
        ]
    )


SCRIPT_ITEMS = (
    item(
        title="<![CDATA[<script>alert(1)</script>Breaking <img src=x onerror=alert(2)> news]]>",
        guid="script-1",
        description='<![CDATA[<p onclick="alert(3)">Click <a href="javascript:alert(4)">'
        "here</a></p><style>p{}</style><script>alert(5)</script>]]>",
    ),
    item(
        title="&lt;script&gt;alert(6)&lt;/script&gt;Escaped &lt;b onmouseover=alert(7)&gt;title",
        guid="script-2",
        description="&lt;iframe src=&quot;javascript:alert(8)&quot;&gt;&lt;/iframe&gt;"
        "&lt;svg onload=alert(9)&gt;&lt;/svg&gt;Plain words after the svg.",
    ),
    item(
        title="Mixed-case scheme",
        guid="script-3",
        description="<![CDATA[<a href=JaVaScRiPt:alert(10)>x</a> <object data=x onerror=alert(11)>"
        "</object><noscript><script>alert(12)</script></noscript> tail text]]>",
    ),
    item(
        title="A link that is code",
        guid="script-4",
        link="javascript:alert(14)",
        description="The link and the image of this entry are code.",
    ).replace("</item>", '<enclosure url="javascript:alert(15)" type="image/png"/></item>'),
)


def scripts_feed(base: str) -> bytes:
    return rss(
        [
            *SCRIPT_ITEMS,
            item(title="Hostile page <script>alert(13)</script>", link=f"{base}/hostile.html"),
        ]
    )


def good_feed(base: str) -> bytes:
    return rss(
        (
            item(
                title=escape(title), link=f"{base}{path}", pub_date="Tue, 05 May 2026 08:00:00 GMT"
            )
            for path, title, _ in GOOD_ARTICLES
        ),
        title="Good outlet",
    )


def discovered_feed() -> bytes:
    return rss(
        [
            item(title="Found by autodiscovery", guid="found-1", description="Advertised feed."),
            item(title="Also found", guid="found-2", description="Second advertised entry."),
        ],
        title="Advertised feed",
    )


def html_page(*, with_feed: bool) -> bytes:
    link = (
        '<link rel="alternate" type="application/rss+xml" title="News" href="/discovered/feed.xml">'
        if with_feed
        else '<link rel="stylesheet" href="/site.css">'
    )
    return (
        f"<!doctype html><html><head><title>Outlet</title>{link}</head>"
        "<body><h1>Welcome to the outlet</h1><p>Read our news.</p></body></html>"
    ).encode()


def gzip_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MiB)
    return b"".join(packer.compress(zeros) for _ in range(GZIP_BOMB_BYTES // MiB)) + packer.flush()


def garbage() -> bytes:
    data = random.Random(4).randbytes(64 * 1024)
    return b"\x89" + data  # never mistaken for "{" (JSON) or "<" (XML)


# -- misbehaving routes -----------------------------------------------------------------------


def retry_after_date(seconds: int) -> Route:
    """429 with Retry-After as an HTTP-date ``seconds`` after the request arrives."""

    async def route(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
        when = email.utils.formatdate(time.time() + seconds, usegmt=True)
        writer.write(response_bytes(429, [("Retry-After", when), ("Content-Length", "0")]))
        await writer.drain()

    return route


async def drip(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
    """Send the head at once, then one byte of the body per second."""
    writer.write(response_bytes(200, [RSS_TYPE, ("Content-Length", "1000")]))
    await writer.drain()
    for byte in rss([item(title="Slow", guid="slow")])[:1000]:
        await asyncio.sleep(DRIP_SECONDS)
        writer.write(bytes([byte]))
        await writer.drain()


async def silent(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
    """Accept the request and never answer (until the client gives up)."""
    await asyncio.Event().wait()


async def endless(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
    """A body with no Content-Length that never ends."""
    writer.write(response_bytes(200, [RSS_TYPE]))
    chunk = b"<item><title>more</title></item>" * 2048
    while True:
        writer.write(chunk)
        await writer.drain()


def truncated(body: bytes) -> Route:
    """Declare all of ``body``, send half of it, hang up."""
    raw = response_bytes(
        200, [RSS_TYPE, ("Content-Length", str(len(body)))], body[: len(body) // 2]
    )

    async def route(request: SeenRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()

    return route


def routes(base: str, internal_port: int) -> dict[str, Route]:
    """Every fault route, for a server reachable at ``base`` (scheme, host and port)."""
    table: dict[str, Route] = {
        "/status-500": reply(500, body=b"internal error"),
        "/status-404": reply(404, body=b"no such feed"),
        "/status-410": reply(410, body=b"this feed is gone for good"),
        "/429-seconds": reply(429, [("Retry-After", "120")]),
        "/429-date": retry_after_date(300),
        "/drip": drip,
        "/silent": silent,
        "/redirect-loop": redirect("/redirect-loop/back"),
        "/redirect-loop/back": redirect("/redirect-loop"),
        "/too-big-declared": reply(200, [RSS_TYPE, ("Content-Length", str(1 << 30))], length=False),
        "/too-big-endless": endless,
        "/gzip-bomb": reply(200, [RSS_TYPE, ("Content-Encoding", "gzip")], gzip_bomb()),
        "/truncated": truncated(good_feed(base)),
        "/empty": reply(200, [RSS_TYPE]),
        "/garbage": reply(200, [("Content-Type", "application/octet-stream")], garbage()),
        "/html-with-feed": reply(200, [HTML_TYPE], html_page(with_feed=True)),
        "/discovered/feed.xml": reply(200, [RSS_TYPE], discovered_feed()),
        "/html-without-feed": reply(200, [HTML_TYPE], html_page(with_feed=False)),
        "/billion-laughs": reply(200, [RSS_TYPE], billion_laughs()),
        "/quadratic-blowup": reply(200, [RSS_TYPE], quadratic_blowup()),
        "/xxe": reply(200, [RSS_TYPE], xxe(internal_port)),
        "/wrong-charset": reply(200, [RSS_TYPE], wrong_charset()),
        "/impossible-dates": reply(200, [RSS_TYPE], impossible_dates()),
        "/huge-titles": reply(200, [RSS_TYPE], huge_titles()),
        "/many-items": reply(200, [RSS_TYPE], many_items()),
        "/duplicate-guids": reply(200, [RSS_TYPE], duplicate_guids()),
        "/scripts": reply(200, [RSS_TYPE], scripts_feed(base)),
        "/hostile.html": reply(200, [HTML_TYPE], hostile_page()),
        "/good/feed.xml": reply(200, [RSS_TYPE], good_feed(base)),
    }
    for hop in range(8):  # /redirect-chain/0 -> ... -> /redirect-chain/8, which is a feed
        table[f"/redirect-chain/{hop}"] = redirect(f"/redirect-chain/{hop + 1}")
    table["/redirect-chain/8"] = reply(200, [RSS_TYPE], discovered_feed())
    for path, title, first_words in GOOD_ARTICLES:
        table[path] = reply(200, [HTML_TYPE], article_page(title, first_words))
    return table


# -- the server -------------------------------------------------------------------------------


class FaultServer:
    """Serve every fault route on 127.0.0.1 (and the internal host on 127.0.0.2) in a thread."""

    def __init__(self) -> None:
        self.server = LoopbackServer("127.0.0.1")
        self.internal = LoopbackServer("127.0.0.2")
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(_ignore_cancelled_handlers)
        self._thread = threading.Thread(target=self._loop.run_forever, name="faultserver")

    def url(self, path: str) -> str:
        return self.server.url(path)

    def served(self, prefix: str) -> list[str]:
        """Paths requested so far that start with ``prefix``."""
        return [path for path in self.server.paths() if path.startswith(prefix)]

    def __enter__(self) -> FaultServer:
        self._thread.start()
        self._call(self.internal.__aenter__())
        self.internal.routes["/x.dtd"] = reply(200, body=b'<!ENTITY exfil "leaked">')
        self._call(self.server.__aenter__())
        self.server.routes.update(routes(self.server.url("").rstrip("/"), self.internal.port))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._call(self.server.__aexit__(None, None, None))
            self._call(self.internal.__aexit__(None, None, None))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout=30)


def _ignore_cancelled_handlers(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Stay quiet about the never-answering routes that closing the server cancels.

    Python 3.11's asyncio.streams asks a cancelled connection handler for its exception and
    reports the CancelledError that raises (fixed in 3.12); anything else is still reported.
    """
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)
