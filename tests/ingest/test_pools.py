"""ingest/fetch/pools.py: per-host pools stay within their cap under concurrent releases.

Issue #17: past 256 hosts, two releases closing idle pools at once picked the same pool and the
second one's ``pop`` raised ``KeyError`` after the first one's ``await``. These tests close
pools with a transport whose ``aclose`` really yields to the event loop, as a pool with open
connections does, so the interleaving that broke happens every time.
"""

from __future__ import annotations

import asyncio
import ssl

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.fetch.pools import HostPools


class YieldingTransport(httpx.AsyncBaseTransport):
    """A pool stand-in that records when it is closed and yields while closing."""

    def __init__(self, log: list[YieldingTransport]) -> None:
        self.closed = False
        log.append(self)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError("not used")

    async def aclose(self) -> None:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        self.closed = True


def make_pools(max_pools: int) -> tuple[HostPools, list[YieldingTransport]]:
    made: list[YieldingTransport] = []
    return HostPools(2, max_pools=max_pools, new_pool=lambda: YieldingTransport(made)), made


async def fetch_like(pools: HostPools, host: str) -> None:
    """Acquire a host's pool, let others run, check it is still open, release it."""
    pool = pools.acquire(host)
    await asyncio.sleep(0)
    assert isinstance(pool, YieldingTransport) and not pool.closed, f"{host}'s pool was closed"
    await pools.release(host)


def test_more_hosts_than_the_cap_released_at_once() -> None:
    async def run() -> list[YieldingTransport]:
        pools, made = make_pools(max_pools=8)
        await asyncio.gather(*(fetch_like(pools, f"127.0.0.{n}") for n in range(1, 300)))
        return made

    made = asyncio.run(run())
    assert len(made) == 299
    open_pools = [p for p in made if not p.closed]
    assert len(open_pools) == 8  # every idle pool beyond the cap was closed, exactly once


@settings(max_examples=60, deadline=None)
@given(
    hosts=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=120),
    max_pools=st.integers(min_value=1, max_value=6),
    waves=st.integers(min_value=1, max_value=4),
)
def test_concurrent_fetches_never_lose_or_close_a_busy_pool(
    hosts: list[int], max_pools: int, waves: int
) -> None:
    async def run() -> list[YieldingTransport]:
        pools, made = make_pools(max_pools)
        size = max(1, len(hosts) // waves)
        for start in range(0, len(hosts), size):
            wave = hosts[start : start + size]
            await asyncio.gather(*(fetch_like(pools, f"h{h}.test") for h in wave))
        return made

    made = asyncio.run(run())
    assert sum(not p.closed for p in made) <= max_pools


def test_every_host_pool_verifies_with_one_shared_tls_context() -> None:
    """Loading the CA bundle for each new host cost ~45 ms of the event loop (issue #17)."""
    pools = HostPools(2)
    hosts = ("a.example", "b.example", "c.example")
    transports = [pools.acquire(host) for host in hosts]
    try:
        shared = pools.tls_context()
        # httpcore keeps the context it connects with on the connection pool.
        assert all(t._pool._ssl_context is shared for t in transports)  # type: ignore[attr-defined]
        # Sharing the bundle does not share trust: each connection checks its own host name.
        assert shared.check_hostname and shared.verify_mode == ssl.CERT_REQUIRED
    finally:
        asyncio.run(pools.aclose())
