"""The client's address, behind the proxies the operator trusts and no others.

X-Forwarded-For is whatever the client wrote, with each proxy's view of its peer appended on
the right. Only the part written by proxies we trust can be believed, so the address is the
rightmost one that is not a trusted proxy; with no trusted proxy in front (REMOTE_ADDR is not
one of FACEPORTAL_TRUSTED_PROXIES) the header is ignored, since anyone could have sent it.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_address(request: HttpRequest) -> str:
    """The client's IP address as text ("" when even REMOTE_ADDR is missing or not an address)."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return ""
    networks = _networks(tuple(settings.FACEPORTAL_TRUSTED_PROXIES))
    client = peer
    if _trusted(peer, networks):
        hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # a trusted proxy never writes garbage: what follows is the client's own
            client = address
            if not _trusted(address, networks):
                break
    return str(client)
