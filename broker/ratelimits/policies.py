"""Which limit a call counts against, and under whose name."""

import ipaddress

from starlette.requests import Request

from broker.auth.tokens import AccessClaims
from broker.ratelimits.agencies import ClientLimits
from broker.ratelimits.limiter import Limit
from broker.runtime import Runtime

# The calls that publish events (a FHIR message, event or acknowledgement, counts as one);
# every other call by a client counts as a read.
PUBLISHING = {
    ("POST", "/v1/events"),
    ("POST", "/v1/events:batch"),
    ("POST", "/fhir/R4/$process-message"),
}


def client_address(request: Request) -> str:
    """What a caller's calls count as: its address (behind a trusted proxy, the one the proxy
    forwards: broker.api.proxies), and for IPv6 its /64, which one host holds whole."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def sign_in_limit(rt: Runtime) -> Limit:
    return Limit.of("sign-in", rt.settings.rate_limit.sign_in_per_address)


def token_limits(rt: Runtime) -> tuple[Limit, Limit]:
    """Per client id, and per address."""
    limits = rt.settings.rate_limit
    return (
        Limit.of("token-client", limits.token_per_client),
        Limit.of("token-address", limits.token_per_address),
    )


def call_limit(request: Request, limits: ClientLimits) -> Limit:
    publishing = (request.method, request.url.path) in PUBLISHING
    return limits.publish if publishing else limits.read


async def charge_publishing(rt: Runtime, claims: AccessClaims, extra: int) -> None:
    """Count a batch's further events against the publish limit (its call counted one), so
    that a batch is no way around an agency's limit; over it, nothing is written."""
    if extra <= 0:
        return
    limits = await rt.agency_limits.of(rt.db, claims.agency)
    await rt.limiter.charge(limits.publish, claims.client_id, cost=extra)
