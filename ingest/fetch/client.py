"""Fetch one URL safely: the only place newsflow talks HTTP.

httpx does the wire work; this module adds what httpx lacks: a total deadline (httpx's
timeouts are per operation, connect, read, write and pool, as its "Timeouts" page says), a cap
on *decoded* bytes, our own redirect loop, and an SSRF guard that vets every hop and pins the
connection to the address it vetted. Every httpx exception is translated here
into the tree of ``ingest/errors.py``.

Politeness (issue #14, ``ingest/fetch/polite.py``) is consulted before every hop: a paused host
is not asked, a crawled URL (``robots=True``) is checked against its origin's robots.txt and
waits for its host's crawl delay. A 429 (or 503 with Retry-After) pauses its host for every
feed. A bot challenge or a consent interstitial (``ingest/fetch/walls.py``) raises
:class:`~ingest.errors.WallError` instead of returning a page, and a redirect to a consent host
is not followed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType

import httpx

from ingest.errors import (
    BlockedAddressError,
    FetchError,
    HostPausedError,
    PermanentFetchError,
    RateLimitedError,
    TransientFetchError,
    WallError,
)
from ingest.fetch.body import raw_chunks, read_body
from ingest.fetch.guard import GuardTransport, Resolver, system_resolver
from ingest.fetch.polite import (
    Politeness,
    PolitenessConfig,
    PolitenessStore,
    host_key,
    origin_of,
)
from ingest.fetch.pools import HostPools
from ingest.fetch.robots import MAX_ROBOTS_BYTES, RobotsFile, RobotsRules, robots_text
from ingest.fetch.status import classify_status
from ingest.fetch.walls import CONSENT_WALL, HEAD_BYTES, bot_wall, consent_redirect, header_wall
from ingest.model import FetchResult, Validators

__all__ = ["Fetcher", "HttpConfig", "Resolver", "StreamedBody", "classify_status"]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """How to fetch: identity, timeouts, limits and whether private networks are reachable."""

    user_agent: str
    connect_timeout: float = 10.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0  # whole exchange incl. body; a drip-feeding server can't exceed it
    max_redirects: int = 5
    per_host: int = 2  # concurrent requests per host
    max_connections: int = 16  # concurrent requests overall
    allow_private_networks: bool = False
    politeness: PolitenessConfig = field(default_factory=PolitenessConfig)  # robots, delays
    # Hosts the operator named in configuration (an archive mirror, NEWSFLOW_CCNEWS_URL): they
    # may be on a private network. Any other host, a redirect target included, is vetted.
    trusted_hosts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamedBody:
    """A response body read as it arrives (:meth:`Fetcher.stream`)."""

    url: str  # final URL after redirects
    start: int  # the byte of the resource the chunks begin at: the offset asked, or 0
    length: int | None  # bytes the chunks will bring, when the server said
    chunks: AsyncIterator[bytes]  # raw bytes, as sent (no Content-Encoding undone)


class Fetcher:
    """Fetch URLs through one shared, guarded httpx client.

    ``store`` keeps robots.txt files and host pauses between runs (``storage.politeness``);
    without one they last as long as this fetcher. ``resolver`` and ``transport`` are for
    tests: the SSRF guard wraps whatever transport is given, and pins each request to an
    address the resolver returned. ``politeness`` (tests) replaces the politeness state.
    """

    def __init__(
        self,
        config: HttpConfig,
        *,
        store: PolitenessStore | None = None,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        politeness: Politeness | None = None,
    ) -> None:
        self._config = config
        self._wire = _build_wire(config, resolver or system_resolver, transport)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._overall: asyncio.Semaphore | None = None
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self.politeness = politeness or Politeness(config.politeness, store)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Save what politeness has not saved yet; close the client and its connections."""
        try:
            await self.politeness.flush()
        finally:
            await self._wire.transport.aclose()

    async def fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        validators: Validators | None = None,
        accept: str = "*/*",
        robots: bool = False,
        truncate: bool = False,
        wall_marks: bool = True,
    ) -> FetchResult:
        """Fetch ``url``, following redirects, and return the decoded body (or a 304).

        ``robots``: the URL is crawled, not subscribed to: every hop must be allowed by its
        origin's robots.txt (else DisallowedError, never requested) and waits for the host's
        crawl delay (DeferredError when that falls beyond the run's budget). Every request
        honours host pauses (HostPausedError) and ``NEWSFLOW_HOST_DELAY``. ``truncate``:
        return the first ``max_bytes`` of a longer body instead of refusing it.
        ``wall_marks``: look for a bot challenge's marks in the body of a successful HTML
        answer too (refusals and headers are always looked at). Pages pass False: their
        preparation looks at the pages that turn out not to be articles
        (``ingest.prepare``), which spares the event loop a scan of every page.
        """
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, not {max_bytes}")
        headers = _request_headers(accept, validators)
        current = _checked_url(url)
        total = self._config.total_timeout
        loop = asyncio.get_running_loop()
        started: float | None = None
        try:
            # The deadline starts once the first slot is ours: time spent queueing behind
            # other fetches to the same host is not this server's fault, nor is a wait for
            # the host's crawl delay.
            async with asyncio.timeout(None) as deadline:
                for _hop in range(self._config.max_redirects + 1):
                    waited = await self.politeness.before(
                        current, robots=robots, fetch_robots=self._fetch_robots
                    )
                    if started is not None and waited > 0:
                        deadline.reschedule((deadline.when() or loop.time()) + waited)
                    async with self._slot(current.raw_host.decode("ascii")):
                        if started is None:
                            started = loop.time()
                            deadline.reschedule(started + total)
                        outcome = await self._polite_exchange(
                            current, headers, max_bytes, truncate, wall_marks
                        )
                    if isinstance(outcome, httpx.URL):
                        consent = consent_redirect(str(outcome))
                        if consent is not None:
                            raise WallError.of(CONSENT_WALL, detail=f" (redirect to {consent})")
                        current = _checked_url(str(outcome))
                        continue
                    status, response_headers, body = outcome
                    return FetchResult(
                        str(current), status, body, response_headers, loop.time() - started
                    )
                raise PermanentFetchError(
                    f"too many redirects (more than {self._config.max_redirects})"
                )
        except TimeoutError as exc:
            if not deadline.expired():
                raise
            raise TransientFetchError(f"timed out after {total:g} s", url=url) from exc
        except FetchError as exc:
            exc.url = exc.url or str(current)
            raise

    async def robots_rules(self, url: str) -> RobotsRules:
        """The robots.txt rules of ``url``'s origin (fetched at most once a day, see polite)."""
        return await self.politeness.rules(origin_of(_checked_url(url)), self._fetch_robots)

    async def _fetch_robots(self, origin: str) -> RobotsFile | RobotsRules:
        """Fetch ``origin``'s robots.txt: the file to cache, or the rules of an unreachable one.

        An origin the SSRF guard refuses raises BlockedAddressError: its pages are refused
        for the same reason, not put off.
        """
        now = datetime.now(UTC)
        try:
            result = await self.fetch(
                f"{origin}/robots.txt",
                max_bytes=MAX_ROBOTS_BYTES + 1,
                accept="text/plain",
                truncate=True,
            )
        except BlockedAddressError:
            raise
        except TransientFetchError as exc:  # 5xx, 429, no answer
            return RobotsRules.unreachable(str(exc))
        except FetchError as exc:  # 4xx, redirect loops, undecodable: "unavailable"
            return RobotsFile(origin, exc.status or 404, "", now)
        body = robots_text(result.body) if 200 <= result.status < 300 else ""
        return RobotsFile(origin, result.status, body, now)

    async def _polite_exchange(
        self,
        url: httpx.URL,
        headers: dict[str, str],
        max_bytes: int,
        truncate: bool,
        wall_marks: bool = True,
    ) -> httpx.URL | tuple[int, dict[str, str], bytes]:
        """One exchange, after a last look at the host's pause; a 429/503 pauses the host."""
        self.politeness.check_pause(host_key(url))
        try:
            return await self._exchange(url, headers, max_bytes, truncate, wall_marks)
        except HostPausedError:
            raise
        except RateLimitedError as exc:
            await self.politeness.pause(url, exc.retry_after, f"{exc} from {url}")
            raise

    @asynccontextmanager
    async def stream(self, url: str, *, offset: int = 0) -> AsyncIterator[StreamedBody]:
        """Open ``url`` to read its bytes as they arrive, from ``offset`` when the server can.

        For resources too large to hold (a WARC file): no size cap and no total deadline,
        but the same SSRF guard on every hop, redirect limit and status handling as
        :meth:`fetch`, and the connect and read timeouts on every chunk. ``offset`` is asked
        with a Range request; a server that ignores it answers from byte 0 (``start`` says
        which). Bytes are asked unencoded; a Content-Encoding in the answer is refused.
        """
        if offset < 0:
            raise ValueError(f"offset must be >= 0, not {offset}")
        headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        current = _checked_url(url)
        try:
            for _hop in range(self._config.max_redirects + 1):
                async with self._slot(current.raw_host.decode("ascii")):
                    response = await self._wire.send(current, headers)
                    try:
                        target = _stream_redirect(current, response)
                        if target is None:
                            body = _streamed(current, response, offset)
                            yield body
                            return
                    finally:
                        await response.aclose()
                current = _checked_url(str(target))
        except httpx.HTTPError as exc:
            raise _translate(exc, current, self._config, reading_body=True) from exc
        except FetchError as exc:
            exc.url = exc.url or str(current)
            raise
        raise PermanentFetchError(
            f"too many redirects (more than {self._config.max_redirects})", url=url
        )

    @asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """Hold one per-host and one overall concurrency slot."""
        loop = asyncio.get_running_loop()
        if self._overall is None or self._loop is not loop:
            # Semaphores bind to the loop that first waits on them: make them on the running one.
            self._loop = loop
            self._overall = asyncio.Semaphore(self._config.max_connections)
            self._hosts = {}
        per_host = self._hosts.setdefault(host, asyncio.Semaphore(self._config.per_host))
        # Per-host first, so a fetch queued behind a busy host holds no overall slot.
        async with per_host, self._overall:
            yield

    async def _exchange(
        self,
        url: httpx.URL,
        headers: dict[str, str],
        max_bytes: int,
        truncate: bool = False,
        wall_marks: bool = True,
    ) -> httpx.URL | tuple[int, dict[str, str], bytes]:
        """Send one request; return the redirect target or (status, headers, body)."""
        reading_body = False
        try:
            response = await self._wire.send(url, headers)
            try:
                status = response.status_code
                location = response.headers.get("location")
                if status in _REDIRECT_STATUSES and location:
                    return _redirect_target(url, location)
                response_headers = dict(response.headers.items())  # items() lower-cases names
                error = classify_status(status, retry_after=response.headers.get("retry-after"))
                if error is not None:
                    if status in _WALL_STATUSES:
                        head = await _body_head(response)
                        wall = bot_wall(status, response_headers, head)
                        if wall is not None:
                            raise WallError.of(wall, status=status, detail=f" ({status})")
                    raise error
                if status == 304:
                    return status, response_headers, b""
                reading_body = True
                body = await read_body(response, max_bytes, truncate=truncate)
                if _is_html(response_headers, body):
                    wall = (
                        bot_wall(status, response_headers, body[:HEAD_BYTES])
                        if wall_marks
                        else header_wall(response_headers)
                    )
                    if wall is not None:
                        raise WallError.of(wall, status=status)
                return status, response_headers, body
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise _translate(exc, url, self._config, reading_body=reading_body) from exc


#: Refusals whose body is read (its first HEAD_BYTES) to tell a bot wall from a plain error.
_WALL_STATUSES = frozenset({401, 403, 405, 406, 429, 503})


async def _body_head(response: httpx.Response) -> bytes:
    """The first HEAD_BYTES of an error response's body; nothing when it cannot be read."""
    try:
        return await read_body(response, HEAD_BYTES, truncate=True)
    except FetchError:
        return b""


def _is_html(headers: dict[str, str], body: bytes) -> bool:
    """An HTML answer (by its type, or by its first bytes when it names none)."""
    kind = headers.get("content-type", "").lower()
    if "html" in kind:
        return True
    if kind:
        return False
    return body[:512].lstrip().lower().startswith((b"<!doctype html", b"<html"))


def _stream_redirect(url: httpx.URL, response: httpx.Response) -> httpx.URL | None:
    """The redirect target of a streamed response, or None when it is the answer."""
    location = response.headers.get("location")
    if response.status_code in _REDIRECT_STATUSES and location:
        return _redirect_target(url, location)
    return None


def _streamed(url: httpx.URL, response: httpx.Response, offset: int) -> StreamedBody:
    """Check a streamed answer (200, or 206 from ``offset``) and wrap its raw chunks."""
    status = response.status_code
    error = classify_status(status, retry_after=response.headers.get("retry-after"))
    if error is not None:
        raise error
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise PermanentFetchError(f"the server encoded the file ({encoding}) though asked not to")
    start = 0
    if status == 206:
        content_range = response.headers.get("content-range", "")
        first = content_range.removeprefix("bytes ").partition("-")[0]
        if not first.isdigit() or int(first) != offset:
            raise PermanentFetchError(f"asked for bytes from {offset}, got {content_range!r}")
        start = offset
    elif status != 200:
        raise PermanentFetchError(f"unexpected status {status} for a file")
    declared = response.headers.get("content-length", "").strip()
    return StreamedBody(
        str(url), start, int(declared) if declared.isdigit() else None, raw_chunks(response)
    )


@dataclass(frozen=True, slots=True)
class _Wire:
    """How a request goes out: straight to the guarded transport, with newsflow's headers.

    Not through an ``httpx.AsyncClient``: newsflow follows redirects itself (to vet and count
    every hop), sends no credentials and keeps no cookies, so the client's layers only cost
    time, a tenth of the event loop's at 2,000 outlets (py-spy). Keeping no cookies is a
    choice of its own: a crawler's requests each stand alone, as Common Crawl's do, and a
    run-wide jar grew with every host that set one and was scanned whole on every request.
    """

    transport: httpx.AsyncBaseTransport
    headers: dict[str, str]  # sent with every request unless the request names its own
    timeout: dict[str, float | None]

    async def send(self, url: httpx.URL, headers: dict[str, str]) -> httpx.Response:
        """Send a GET for ``url``; the response's body is left to be streamed."""
        request = httpx.Request(
            "GET", url, headers=self.headers | headers, extensions={"timeout": self.timeout}
        )
        response = await self.transport.handle_async_request(request)
        response.request = request
        return response


def _build_wire(
    config: HttpConfig, resolver: Resolver, transport: httpx.AsyncBaseTransport | None
) -> _Wire:
    """Build the one guarded transport every fetch goes through."""
    pools = HostPools(config.per_host, shared=transport)
    timeout = httpx.Timeout(
        connect=config.connect_timeout,
        read=config.read_timeout,
        write=config.read_timeout,
        pool=config.total_timeout,
    )
    return _Wire(
        # No proxy is ever read from the environment: it would bypass the SSRF guard.
        GuardTransport(
            pools, resolver, config.allow_private_networks, trusted=config.trusted_hosts
        ),
        {
            "User-Agent": config.user_agent,
            "Accept-Encoding": "gzip, deflate",  # the only codings read_body can cap
        },
        timeout.as_dict(),
    )


def _request_headers(accept: str, validators: Validators | None) -> dict[str, str]:
    """Build the per-request headers, including conditional-GET validators."""
    headers = {"Accept": accept}
    if validators is not None and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators is not None and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _checked_url(url: str) -> httpx.URL:
    """Parse ``url`` and refuse anything but absolute http(s)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise PermanentFetchError(f"invalid URL: {exc}", url=url) from exc
    if not parsed.scheme:
        raise PermanentFetchError("URL is not absolute (no scheme)", url=url)
    if parsed.scheme not in ("http", "https"):
        raise PermanentFetchError(f"unsupported URL scheme {parsed.scheme!r}", url=url)
    if not parsed.raw_host:
        raise PermanentFetchError("URL has no host", url=url)
    return parsed


def _redirect_target(url: httpx.URL, location: str) -> httpx.URL:
    """Resolve a Location header against the URL that sent it."""
    try:
        return url.join(location)
    except httpx.InvalidURL as exc:
        raise PermanentFetchError(f"redirect to an invalid URL: {exc}") from exc


def _translate(
    exc: httpx.HTTPError, url: httpx.URL, config: HttpConfig, *, reading_body: bool
) -> FetchError:
    """Turn an httpx exception into the newsflow error a person can act on."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    where = f"{host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    if isinstance(exc, httpx.ConnectTimeout):
        return TransientFetchError(f"timed out after {config.connect_timeout:g} s (connect)")
    if isinstance(exc, httpx.ReadTimeout):
        return TransientFetchError(f"timed out after {config.read_timeout:g} s (read)")
    if isinstance(exc, httpx.WriteTimeout):
        return TransientFetchError(f"timed out after {config.read_timeout:g} s (write)")
    if isinstance(exc, httpx.PoolTimeout):
        return TransientFetchError(f"timed out after {config.total_timeout:g} s (connection pool)")
    if isinstance(exc, httpx.ConnectError):
        if _cause(exc, ConnectionRefusedError):
            return TransientFetchError(f"connection refused by {where}")
        rejected = _cause(exc, ssl.SSLCertVerificationError)
        if isinstance(rejected, ssl.SSLCertVerificationError):
            return TransientFetchError(
                f"TLS certificate of {url.host} was rejected: {rejected.verify_message}"
            )
        return TransientFetchError(f"could not connect to {where}: {exc}")
    if isinstance(exc, httpx.RemoteProtocolError) and reading_body:
        return TransientFetchError("connection closed before the body was complete")
    if _cause(exc, ConnectionResetError):
        return TransientFetchError(f"connection reset by {where}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return TransientFetchError(f"{where} broke off the response: {exc}")
    if isinstance(exc, httpx.TransportError):
        return TransientFetchError(f"request to {where} failed: {exc}")
    return PermanentFetchError(f"request to {where} failed: {exc}")


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """Return the first exception of type ``kind`` in the chain of causes of ``exc``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
