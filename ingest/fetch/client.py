"""Fetch one URL safely: the only place newsflow talks HTTP.

httpx does the wire work; this module adds what httpx lacks (RELIABILITY.md §5): a total
deadline, a cap on *decoded* bytes, our own redirect loop, and an SSRF guard that vets every
hop and pins the connection to the address it vetted. Every httpx exception is translated here
into the tree of ``ingest/errors.py``.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from types import TracebackType

import httpx

from ingest.errors import (
    BlockedAddressError,
    FetchError,
    PermanentFetchError,
    RateLimitedError,
    TransientFetchError,
)
from ingest.model import FetchResult, Validators

__all__ = ["Fetcher", "HttpConfig", "Resolver", "classify_status"]

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_RETRY_AFTER = 24 * 60 * 60.0  # miniflux caps its rescheduling at 24 h
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598; not is_private in Python 3.11
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the low 32 bits are an IPv4 target
_PRIVATE = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")
)


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


class Fetcher:
    """Fetch URLs through one shared, guarded httpx client.

    ``resolver`` and ``transport`` are for tests: the SSRF guard wraps whatever transport is
    given, and pins each request to an address the resolver returned.
    """

    def __init__(
        self,
        config: HttpConfig,
        *,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._client = _build_client(config, resolver or _system_resolver, transport)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._overall: asyncio.Semaphore | None = None
        self._hosts: dict[str, asyncio.Semaphore] = {}

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
        """Close the client and its connections."""
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        validators: Validators | None = None,
        accept: str = "*/*",
    ) -> FetchResult:
        """Fetch ``url``, following redirects, and return the decoded body (or a 304)."""
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, not {max_bytes}")
        headers = _request_headers(accept, validators)
        current = _checked_url(url)
        total = self._config.total_timeout
        loop = asyncio.get_running_loop()
        started: float | None = None
        try:
            # The deadline starts once the first slot is ours: time spent queueing behind
            # other fetches to the same host is not this server's fault.
            async with asyncio.timeout(None) as deadline:
                for _hop in range(self._config.max_redirects + 1):
                    async with self._slot(current.raw_host.decode("ascii")):
                        if started is None:
                            started = loop.time()
                            deadline.reschedule(started + total)
                        outcome = await self._exchange(current, headers, max_bytes)
                    if isinstance(outcome, httpx.URL):
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
        self, url: httpx.URL, headers: dict[str, str], max_bytes: int
    ) -> httpx.URL | tuple[int, dict[str, str], bytes]:
        """Send one request; return the redirect target or (status, headers, body)."""
        reading_body = False
        try:
            request = self._client.build_request("GET", url, headers=headers)
            response = await self._client.send(request, stream=True)
            try:
                status = response.status_code
                location = response.headers.get("location")
                if status in _REDIRECT_STATUSES and location:
                    return _redirect_target(url, location)
                error = classify_status(status, retry_after=response.headers.get("retry-after"))
                if error is not None:
                    raise error
                response_headers = dict(response.headers.items())  # items() lower-cases names
                if status == 304:
                    return status, response_headers, b""
                reading_body = True
                return status, response_headers, await _read_body(response, max_bytes)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise _translate(exc, url, self._config, reading_body=reading_body) from exc


def classify_status(
    status: int, *, retry_after: str | None = None, now: datetime | None = None
) -> FetchError | None:
    """Return the error a final HTTP status means, or None for 2xx and 304.

    After miniflux ``fetcher/response_handler.go``: 429 (and 503 with Retry-After) asks us
    to come back later, other 5xx and 408 are worth retrying, other 4xx are not.
    """
    if 200 <= status < 300 or status == 304:
        return None
    if status == 429 or (status == 503 and retry_after is not None):
        seconds = _parse_retry_after(retry_after, now or datetime.now(UTC))
        when = "" if seconds is None else f", retry after {seconds:g} s"
        reason = "rate limited" if status == 429 else "service unavailable"
        return RateLimitedError(f"{reason} ({status}){when}", status=status, retry_after=seconds)
    if status == 408:
        return TransientFetchError("server timed out waiting for the request (408)", status=status)
    if 500 <= status < 600:
        return TransientFetchError(f"server error {status}", status=status)
    if status in (401, 403):
        return PermanentFetchError(f"access denied ({status})", status=status)
    if status == 404:
        return PermanentFetchError("not found (404)", status=status)
    if status == 410:
        return PermanentFetchError("gone (410)", status=status)
    if 400 <= status < 500:
        return PermanentFetchError(f"client error {status}", status=status)
    if 300 <= status < 400:
        return PermanentFetchError(f"redirect ({status}) without a Location header", status=status)
    return PermanentFetchError(f"unexpected status {status}", status=status)


def _parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Read Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), capped at 24 h."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), _MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no zone info (RFC 5322)
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), _MAX_RETRY_AFTER)


def _build_client(
    config: HttpConfig, resolver: Resolver, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    """Build the one client every fetch goes through."""
    pools = _HostPools(config) if transport is None else _HostPools(config, shared=transport)
    return httpx.AsyncClient(
        transport=_GuardTransport(pools, resolver, config.allow_private_networks),
        timeout=httpx.Timeout(
            connect=config.connect_timeout,
            read=config.read_timeout,
            write=config.read_timeout,
            pool=config.total_timeout,
        ),
        headers={
            "User-Agent": config.user_agent,
            "Accept-Encoding": "gzip, deflate",  # the only codings _BodyDecoder can cap
        },
        follow_redirects=False,  # our loop vets scheme and counts hops
        trust_env=False,  # an environment proxy would bypass the SSRF guard
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


async def _read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """Stream the raw body and decode it, stopping once it exceeds ``max_bytes``."""
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise PermanentFetchError(
            f"response larger than {_human_size(max_bytes)} "
            f"(Content-Length {_human_size(int(declared))})"
        )
    decoder = _BodyDecoder(response.headers.get("content-encoding"))
    body = bytearray()
    async for chunk in _raw_chunks(response):
        body += decoder.decode(chunk, max_bytes - len(body) + 1)
        if len(body) > max_bytes:
            raise PermanentFetchError(f"response larger than {_human_size(max_bytes)}")
    decoder.finish()
    return bytes(body)


def _raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """Iterate the body as it came off the wire, before any Content-Encoding is undone."""
    if response.is_stream_consumed and isinstance(response.stream, httpx.AsyncByteStream):
        # An injected transport (httpx.MockTransport) may answer with a response built from
        # bytes, which httpx marks as already read; its stream still yields the raw bytes.
        return aiter(response.stream)
    return response.aiter_raw()


class _BodyDecoder:
    """Undo one gzip/deflate Content-Encoding without ever producing more than asked.

    httpx decodes each raw chunk with no limit (a 510 KB bomb gave one 33.7 MB chunk,
    RELIABILITY.md §5); ``decompress(data, max_length)`` bounds the output instead.
    """

    def __init__(self, content_encoding: str | None) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        self._raw_deflate_fallback = codings == ["deflate"]
        self._fed = False
        self._zlib: zlib._Decompress | None = None
        if codings in (["gzip"], ["x-gzip"]):
            self._zlib = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header
        elif codings == ["deflate"]:
            self._zlib = zlib.decompressobj()
        elif codings:
            raise PermanentFetchError(f"unsupported Content-Encoding {content_encoding!r}")

    def decode(self, chunk: bytes, limit: int) -> bytes:
        """Decode ``chunk``, returning at most ``limit`` bytes (``limit`` >= 1)."""
        if self._zlib is None or not chunk:
            return chunk
        if self._zlib.eof:
            return b""  # bytes after the end of the stream are ignored, as browsers do
        try:
            out = self._zlib.decompress(chunk, limit)
        except zlib.error as exc:
            if not (self._raw_deflate_fallback and not self._fed):
                raise PermanentFetchError(f"could not decode the compressed body: {exc}") from exc
            # "deflate" is often sent without its zlib header (RFC 9110 §8.4.1.2 notes this).
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            self._fed = True
            return self.decode(chunk, limit)
        self._fed = True
        while self._zlib.unconsumed_tail and len(out) < limit:
            out += self._zlib.decompress(self._zlib.unconsumed_tail, limit - len(out))
        return out

    def finish(self) -> None:
        """Refuse a compressed stream that stopped before its end marker."""
        if self._zlib is not None and self._fed and not self._zlib.eof:
            raise TransientFetchError(
                "connection closed before the body was complete (compressed stream cut short)"
            )


class _HostPools:
    """Keep-alive connection pools, one per host name, never shared between two names.

    Once a request is pinned to its vetted address, httpcore pools connections by IP; a TLS
    connection verified for one name must never carry a request for another name served from
    the same IP, so every name gets a pool of its own. Reusing connections saves a TCP (and TLS)
    handshake per page, the way browsers and miniflux do. Idle pools beyond ``MAX_POOLS`` are
    closed, least recently used first; a pool with a request in flight is never closed.
    ``shared`` (tests) is one transport used for every host, as given.
    """

    MAX_POOLS = 256

    def __init__(self, config: HttpConfig, shared: httpx.AsyncBaseTransport | None = None) -> None:
        self._config = config
        self._shared = shared
        self._pools: dict[str, httpx.AsyncBaseTransport] = {}  # least recently used first
        self._busy: dict[str, int] = {}

    def acquire(self, host: str) -> httpx.AsyncBaseTransport:
        """The transport for ``host``, busy until :meth:`release` (after the body is read)."""
        if self._shared is not None:
            return self._shared
        pool = self._pools.pop(host, None) or httpx.AsyncHTTPTransport(
            limits=httpx.Limits(
                max_connections=self._config.per_host,
                max_keepalive_connections=self._config.per_host,
            ),
            retries=0,
        )
        self._pools[host] = pool  # now the most recently used
        self._busy[host] = self._busy.get(host, 0) + 1
        return pool

    async def release(self, host: str) -> None:
        if self._shared is not None:
            return
        self._busy[host] -= 1
        if not self._busy[host]:
            del self._busy[host]
        await self._close_idle_beyond_limit()

    async def _close_idle_beyond_limit(self) -> None:
        if len(self._pools) <= self.MAX_POOLS:
            return  # the usual case: no scan on every response
        idle = [h for h in self._pools if h not in self._busy]
        for host in idle[: max(0, len(self._pools) - self.MAX_POOLS)]:
            await self._pools.pop(host).aclose()

    async def aclose(self) -> None:
        for transport in [*self._pools.values(), *([self._shared] if self._shared else [])]:
            await transport.aclose()
        self._pools.clear()


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that gives its host's pool back when it is closed."""

    def __init__(
        self, stream: httpx.AsyncByteStream, release: Callable[[], Awaitable[None]]
    ) -> None:
        self._stream = stream
        self._release: Callable[[], Awaitable[None]] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        release, self._release = self._release, None
        try:
            await self._stream.aclose()
        finally:
            if release is not None:
                await release()


class _GuardTransport(httpx.AsyncBaseTransport):
    """Vet every request's destination, then pin the connection to the vetted address.

    Resolving once and connecting to that very IP closes the DNS-rebinding gap; running in
    the transport means every redirect hop is vetted (miniflux fe2bfb27 does it at dial time).
    """

    def __init__(self, pools: _HostPools, resolver: Resolver, allow_private: bool) -> None:
        self._pools = pools
        self._resolver = resolver
        self._allow_private = allow_private

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.raw_host.decode("ascii")
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        addresses = await self._addresses(host, port)
        if not self._allow_private:
            for address in addresses:
                _refuse_non_public(host, address)
        inner = self._pools.acquire(host)
        try:
            response = await inner.handle_async_request(_pinned(request, host, addresses[0]))
        except BaseException:
            await self._pools.release(host)
            raise
        body = response.stream
        assert isinstance(body, httpx.AsyncByteStream)  # an async transport's always is
        response.stream = _ReleasingStream(body, partial(self._pools.release, host))
        return response

    async def aclose(self) -> None:
        await self._pools.aclose()

    async def _addresses(self, host: str, port: int) -> list[IPAddress]:
        """Return the addresses ``host`` stands for: itself if numeric, else the resolver's."""
        literal = _numeric_address(host)
        if literal is not None:
            return [literal]
        try:
            found = await self._resolver(host, port)
        except OSError as exc:
            raise TransientFetchError(f"could not resolve {host}: {exc.strerror or exc}") from exc
        if not found:
            raise TransientFetchError(f"could not resolve {host}: no addresses")
        return [ipaddress.ip_address(address) for address in found]


def _numeric_address(host: str) -> IPAddress | None:
    """Read ``host`` as an IP literal the way getaddrinfo would (``127.1``, ``0x7f.1``...)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # inet_aton accepts the legacy shorthand, hex and octal forms that resolvers honour.
        return ipaddress.IPv4Address(socket.inet_aton(host.removesuffix(".")))
    except OSError:
        return None


def _refuse_non_public(host: str, address: IPAddress) -> None:
    """Raise BlockedAddressError unless ``address`` is a public unicast address."""
    target = _unwrap(address)
    kind = _non_public_kind(target)
    if kind is None:
        return
    if str(target) == host:
        raise BlockedAddressError(f"refused: {target} is a {kind} address")
    if _numeric_address(host) is not None:
        raise BlockedAddressError(f"refused: {host} is {target}, a {kind} address")
    raise BlockedAddressError(f"refused: {host} resolves to {target}, a {kind} address")


def _unwrap(address: IPAddress) -> IPAddress:
    """Return the IPv4 address an IPv4-mapped or NAT64 IPv6 address reaches."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _non_public_kind(address: IPAddress) -> str | None:
    """Name the kind of non-public address this is, or None when it is public."""
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address in _SHARED:
        return "CGNAT/shared"
    if any(address in network for network in _PRIVATE):
        return "private"
    if address.is_reserved or address.is_private or not address.is_global:
        return "reserved"
    return None


def _pinned(request: httpx.Request, host: str, address: IPAddress) -> httpx.Request:
    """Copy ``request`` so it connects to ``address`` while still naming ``host``."""
    headers = request.headers.copy()
    if "host" not in headers:
        headers["Host"] = request.url.netloc.decode("ascii")
    extensions = dict(request.extensions)
    if request.url.scheme == "https":
        extensions["sni_hostname"] = host  # httpcore verifies the certificate against it
    return httpx.Request(
        request.method,
        request.url.copy_with(host=str(address)),
        headers=headers,
        stream=request.stream,
        extensions=extensions,
    )


async def _system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver, keeping its order and dropping repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


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


def _human_size(size: int) -> str:
    """Format a byte count the way people read it: ``5 MiB``, ``512 KiB``, ``800 bytes``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"
