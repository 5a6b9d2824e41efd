"""Who the client is: its address and whether it came over https, believing ``X-Forwarded-*``
only from ``server.trusted_proxies``; and so whether cookies get ``Secure``.

Plain functions of the request and the server settings, so that the guard, the sessions and
the admin side can all ask without depending on each other.
"""

from __future__ import annotations

import ipaddress

from quart import g, request

from ..config import ServerSettings

__all__ = ["client_ip", "cookies_secure", "is_https", "trusted"]


def trusted(address: str | None, server: ServerSettings) -> bool:
    """Whether ``address`` is one of the trusted reverse proxies."""
    if not address or not server.trusted_proxies:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in server.trusted_proxies)


def client_ip(server: ServerSettings) -> str:
    """The client's address: the peer's, or, behind a trusted proxy, the first address in
    ``X-Forwarded-For`` (from the right) that is not itself a trusted proxy."""
    cached: str | None = g.get("client_ip")
    if cached is not None:
        return cached
    address = request.remote_addr or ""
    if trusted(address, server):
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        for hop in reversed([h for h in hops if h]):
            address = hop
            if not trusted(hop, server):
                break
    g.client_ip = address
    return address


def is_https(server: ServerSettings) -> bool:
    """Whether the client reached us over https (directly, or through a trusted proxy)."""
    if request.scheme == "https":
        return True
    if trusted(request.remote_addr, server):
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return proto == "https"
    return False


def cookies_secure(server: ServerSettings) -> bool:
    """Whether cookies get ``Secure``: as configured, else when the client came over https."""
    return is_https(server) if server.secure_cookies is None else server.secure_cookies
