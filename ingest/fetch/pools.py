"""Keep-alive connection pools, one per host name, closed least recently used first."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import httpcore
import httpx

from ingest.fetch.sockets import AsyncioBackend


class HostPools:
    """Keep-alive connection pools, one per host name, never shared between two names.

    Once a request is pinned to its vetted address, httpcore pools connections by IP; a TLS
    connection verified for one name must never carry a request for another name served from
    the same IP, so every name gets a pool of its own. Reusing connections saves a TCP (and TLS)
    handshake per page, the way browsers and miniflux do. Idle pools beyond ``MAX_POOLS`` are
    closed, least recently used first; a pool with a request in flight is never closed.
    ``shared`` (tests) is one transport used for every host, as given; ``new_pool`` (tests)
    makes each host's pool.
    """

    MAX_POOLS = 256

    def __init__(
        self,
        per_host: int,
        *,
        shared: httpx.AsyncBaseTransport | None = None,
        max_pools: int | None = None,
        new_pool: Callable[[], httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self._per_host = per_host
        self._new_pool = new_pool or self._keep_alive_pool
        self._shared = shared
        self._max_pools = self.MAX_POOLS if max_pools is None else max_pools
        self._pools: dict[str, httpx.AsyncBaseTransport] = {}  # least recently used first
        self._busy: dict[str, int] = {}
        self._tls: ssl.SSLContext | None = None

    def acquire(self, host: str) -> httpx.AsyncBaseTransport:
        """The transport for ``host``, busy until :meth:`release` (after the body is read)."""
        if self._shared is not None:
            return self._shared
        pool = self._pools.pop(host, None) or self._new_pool()
        self._pools[host] = pool  # now the most recently used
        self._busy[host] = self._busy.get(host, 0) + 1
        return pool

    def _keep_alive_pool(self) -> httpx.AsyncBaseTransport:
        return pooled_transport(self._per_host, self.tls_context())

    def tls_context(self) -> ssl.SSLContext:
        """The one TLS context every pool verifies certificates with, made on first use.

        Each connection still checks its own host name against the certificate; what is
        shared is the loaded CA bundle. A context of its own per pool cost about 45 ms of the
        event loop's CPU for each new host (loading the bundle): 90 s of a run over 2,000
        outlets.
        """
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    async def release(self, host: str) -> None:
        if self._shared is not None:
            return
        self._busy[host] -= 1
        if not self._busy[host]:
            del self._busy[host]
        await self._close_idle_beyond_limit()

    async def _close_idle_beyond_limit(self) -> None:
        if len(self._pools) <= self._max_pools:
            return  # the usual case: no scan on every response
        # Choose and unlink the victims before the first await: while one pool closes, other
        # releases run, and they must neither pick the same pool nor find a pool gone that
        # they picked (the KeyError of issue #17), nor close a pool another fetch just took.
        excess = len(self._pools) - self._max_pools
        victims = [h for h in self._pools if h not in self._busy][:excess]
        closing = [self._pools.pop(host) for host in victims]
        for pool in closing:
            await pool.aclose()

    async def aclose(self) -> None:
        for transport in [*self._pools.values(), *([self._shared] if self._shared else [])]:
            await transport.aclose()
        self._pools.clear()


class ReleasingStream(httpx.AsyncByteStream):
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


def pooled_transport(connections: int, tls: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """httpx's transport over a keep-alive pool of ``connections`` on asyncio's own sockets.

    httpx builds its pool with httpcore's default network backend (anyio) and offers no
    argument to choose another, so the pool is replaced with an identical one that connects
    through :class:`~ingest.fetch.sockets.AsyncioBackend`.
    """
    transport = httpx.AsyncHTTPTransport(retries=0, verify=tls)
    if not isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
        raise RuntimeError("httpx.AsyncHTTPTransport no longer keeps its pool in _pool")
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=tls,
        max_connections=connections,
        max_keepalive_connections=connections,
        keepalive_expiry=httpx.Limits(max_connections=connections).keepalive_expiry,
        retries=0,
        network_backend=AsyncioBackend(),
    )
    return transport
