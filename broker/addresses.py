"""Network addresses: which ones never leave this machine, and what of a URL may be recorded."""

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) is this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_never_a_receiver(host: str) -> bool:
    """Addresses no agency's system answers on: link-local (where cloud metadata services
    listen), multicast, unspecified and reserved. Private ranges stay allowed: partner record
    systems often sit on private networks such as HSCN."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return (
        address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    )


def origin_of(url: str) -> str:
    """Scheme, host and port: what may be recorded of a URL, whose path or query often carries
    the receiver's access token."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
