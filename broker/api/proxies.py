"""Requests that come through a reverse proxy or load balancer IMB trusts.

From a trusted proxy's address only (IMB_TRUSTED_PROXIES, addresses or networks; loopback by
default), the caller's own address is read from `X-Forwarded-For` (the nearest address that is
not itself a trusted proxy) and the scheme from `X-Forwarded-Proto`. uvicorn's own handling of
these headers is turned off (`imb serve` passes `proxy_headers=False`) because it overwrites
the connection's peer: IMB keeps it as `scope["imb.peer"]`, and trusts a forwarded client
certificate (broker.auth.certificates) by that peer alone, never by a forwarded address.
"""

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    def __init__(self, app: ASGIApp, trusted: Iterable[str]) -> None:
        self.app = app
        self.trusted = networks(tuple(trusted))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            peer = scope.get("client")
            scope["imb.peer"] = peer
            if peer is not None and within(peer[0], self.trusted):
                _forwarded(scope, self.trusted)
        await self.app(scope, receive, send)


def _forwarded(scope: Scope, trusted: tuple[Network, ...]) -> None:
    headers = {name.lower(): value.decode("latin-1") for name, value in scope["headers"]}
    forwarded_for = headers.get(b"x-forwarded-for", "")
    chain = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(chain):
        if not within(hop, trusted):
            scope["client"] = (hop, 0)
            break
    proto = headers.get(b"x-forwarded-proto", "").strip().lower()
    if proto in {"http", "https"}:
        scope["scheme"] = proto


@lru_cache(maxsize=16)
def networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def within(host: str, trusted: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in trusted)
