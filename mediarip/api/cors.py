"""Cross-origin calls from the origins the admin names (``server.cors_origins``).

A browser extension (``chrome-extension://<id>``, ``moz-extension://<uuid>``) or another
dashboard may call the API from its own origin with the API key. The browser asks first (a
preflight ``OPTIONS`` with ``Access-Control-Request-Method``): a named origin is answered with
what it may send (the key's headers, JSON); any other is refused, so its real request is never
sent. Answers to a named origin carry ``Access-Control-Allow-Origin`` with that origin, never
``*`` and never ``Access-Control-Allow-Credentials``: a cross-origin caller proves itself with
the key, not with a browser's cookies.

Cookies are never accepted cross-origin: a request whose ``Origin`` is not this server's own
has its ``Cookie`` header dropped before anything reads it (sessions, the admin login, the CSRF
token), and gets no cookie back. Changing anything still needs the API key (:mod:`.guard`),
from a named origin or not; reading without it sees what a cookie-less client sees.

Top-level navigations (a bookmarklet, the share target opening ``/share``) send no ``Origin``
on ``GET`` and keep their cookies, as same-site links do.
"""

from __future__ import annotations

from quart import Response, g, request

from .context import services
from .errors import CrossSite
from .guard import own_origin

__all__ = ["ALLOWED_HEADERS", "before_request", "decorate"]

ALLOWED_HEADERS = "Authorization, X-API-Key, Content-Type, Last-Event-ID"
ALLOWED_METHODS = "GET, POST, PATCH, DELETE"
EXPOSED_HEADERS = "Retry-After, WWW-Authenticate"
MAX_AGE = "600"


def _foreign_origin() -> str | None:
    origin = request.headers.get("Origin")
    if origin is None or origin.rstrip("/") == own_origin():
        return None
    return origin.rstrip("/")


def _allowed(origin: str) -> bool:
    return origin in services().settings.server.cors_origins


async def before_request() -> Response | None:
    """Drop a foreign origin's cookies; answer preflights (first of the ``before_request``s)."""
    origin = _foreign_origin()
    if origin is None:
        return None
    g.cross_origin = origin
    if "Cookie" in request.headers:
        del request.headers["Cookie"]
    is_preflight = (
        request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
    )
    if not is_preflight:
        return None
    if not (request.path.startswith("/api/") and _allowed(origin)):
        raise CrossSite(
            f"{origin} may not call this server (server.cors_origins).", {"Connection": "close"}
        )
    return Response(
        b"",
        status=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": MAX_AGE,
            "Vary": "Origin",
        },
    )


def decorate(response: Response) -> None:
    """``after_request``: let a named origin read the answer; never a cookie cross-origin."""
    origin: str | None = g.get("cross_origin")
    if origin is None:
        return
    response.headers.remove("Set-Cookie")
    response.vary.add("Origin")
    if _allowed(origin) and request.path.startswith("/api/"):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
