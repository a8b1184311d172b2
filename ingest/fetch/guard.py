"""The SSRF guard: vet every hop's destination address, then pin the connection to it.

Resolving once and connecting to that very IP closes the DNS-rebinding gap; running in the
transport means every redirect hop is vetted (miniflux fe2bfb27 does it at dial time).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from functools import lru_cache, partial

import httpx

from ingest.errors import BlockedAddressError, TransientFetchError
from ingest.fetch.pools import HostPools, ReleasingStream

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598; not is_private in Python 3.11


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the low 32 bits are an IPv4 target


_PRIVATE = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")
)


class GuardTransport(httpx.AsyncBaseTransport):
    """Vet every request's destination, then pin the connection to the vetted address.

    Resolving once and connecting to that very IP closes the DNS-rebinding gap; running in
    the transport means every redirect hop is vetted (miniflux fe2bfb27 does it at dial time).
    """

    def __init__(
        self,
        pools: HostPools,
        resolver: Resolver,
        allow_private: bool,
        *,
        trusted: tuple[str, ...] = (),
    ) -> None:
        self._pools = pools
        self._resolver = resolver
        self._allow_private = allow_private
        self._trusted = frozenset(host.lower() for host in trusted)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.raw_host.decode("ascii")
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        addresses = await self._addresses(host, port)
        if not self._allow_private and host.lower() not in self._trusted:
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
        response.stream = ReleasingStream(body, partial(self._pools.release, host))
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


@lru_cache(maxsize=4096)  # asked on every request, of a few thousand hosts at most
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


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver, keeping its order and dropping repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
