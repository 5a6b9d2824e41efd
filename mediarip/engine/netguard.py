"""The SSRF guard: downloads may not reach private, loopback or otherwise internal addresses.

Checking the URL a person typed is not enough: the host may resolve to 127.0.0.1, the page may
name media on 10.0.0.5, and a public server may redirect there. The only place that sees every
one of those is name resolution, just before a connection is made. So every yt-dlp worker
thread runs under :func:`guarded`, and a process-wide wrapper around ``socket.getaddrinfo``
refuses private results *in guarded threads only* (the server's own sockets, and the tests'
clients, are untouched). Whichever HTTP stack yt-dlp picks (urllib, requests), every hop and
every redirect resolves its host through ``getaddrinfo``; this also defeats DNS rebinding,
because the addresses checked are the ones then connected to.

:func:`check_url` is the fast first look at the URL itself, used before a job is created; it
only judges IP literals and ``localhost`` (no DNS on the request path).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import attrs

__all__ = [
    "BlockedAddressError",
    "GuardState",
    "NetworkPolicy",
    "check_url",
    "guarded",
    "is_forbidden_address",
]


class BlockedAddressError(OSError):
    """A guarded thread tried to reach an address it may not."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, a private or reserved address")
        self.host = host
        self.address = address


def is_forbidden_address(address: str) -> bool:
    """True for loopback, private, link-local, multicast, reserved and unspecified addresses,
    also in their IPv4-mapped and 6to4/Teredo-embedded forms."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and is_forbidden_address(str(embedded)):
            return True
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


@attrs.frozen
class NetworkPolicy:
    """Which addresses downloads may reach: public ones always; private ones when
    ``allow_private`` is set, or when they fall in ``allowlist``."""

    allow_private: bool = False
    allowlist: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    def forbids(self, address: str) -> bool:
        if self.allow_private or not is_forbidden_address(address):
            return False
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return True
        return not any(ip in network for network in self.allowlist)


def _literal_host(host: str) -> str | None:
    """The address an IP literal stands for, in any form ``inet_aton`` accepts (decimal
    ``2130706433``, octal, short ``127.1``), or None for a name."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except (OSError, ValueError):  # not an address (ValueError: an embedded NUL)
        return None


def check_url(url: str, policy: NetworkPolicy = NetworkPolicy()) -> str | None:
    """A reason to refuse ``url`` at once, or None. Does no DNS."""
    if policy.allow_private:
        return None
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return "the URL is not a valid address"
    if not host:
        return "the URL has no host"
    if host == "localhost" or host.endswith(".localhost"):
        return None if not policy.forbids("127.0.0.1") else f"{host} is this server itself"
    literal = _literal_host(host)
    if literal is not None and policy.forbids(literal):
        return f"{host} is a private or reserved address"
    return None


class GuardState:
    """A guarded thread's policy, and what it refused (for the error message)."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self.policy = policy
        self.blocked: BlockedAddressError | None = None


_local = threading.local()
_real_getaddrinfo = socket.getaddrinfo


def _guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    results = _real_getaddrinfo(host, port, *args, **kwargs)
    state: GuardState | None = getattr(_local, "state", None)
    if state is None:
        return results
    for *_, sockaddr in results:
        if state.policy.forbids(str(sockaddr[0])):
            error = BlockedAddressError(str(host), str(sockaddr[0]))
            state.blocked = error
            raise error
    return results


def _install() -> None:
    if socket.getaddrinfo is not _guarded_getaddrinfo:
        socket.getaddrinfo = _guarded_getaddrinfo


@contextlib.contextmanager
def guarded(policy: NetworkPolicy) -> Iterator[GuardState]:
    """Hold this thread to ``policy`` while inside."""
    state = GuardState(policy)
    if policy.allow_private:
        yield state
        return
    _install()
    previous = getattr(_local, "state", None)
    _local.state = state
    try:
        yield state
    finally:
        _local.state = previous
