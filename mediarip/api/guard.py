"""Who may change what: the checks every request passes before its handler runs.

Reads (GET, HEAD, OPTIONS) pass. A request that changes something must:

1. not be cross-site, unless it carries the right API key. Browsers say where a request comes
   from in ``Sec-Fetch-Site`` (and, for older ones, ``Origin``); a page on another site that
   posts to this server is refused, which together with the ``SameSite`` session cookie defeats
   cross-site request forgery. A forging page cannot know the key, so a request with it (a
   browser extension's, say) may come from anywhere.
2. when an API key is set, carry it (``Authorization: Bearer <key>`` or ``X-API-Key``) unless
   it comes from this server's own web app with its session. The web app proves that with a
   CSRF token: the ``mrip_csrf`` cookie holds an HMAC of the session id under the server's
   secret, and the app echoes it in ``X-CSRF-Token``. A client can set any header it likes, so
   a header alone (``X-Requested-With``, ``Sec-Fetch-Site``) proves nothing; a token bound to a
   session, signed with a secret the client cannot know, does. Clients with the key share one
   session, ``api``, so that they can find their jobs again.

An endpoint that creates jobs says so in its contract (``requires=(JOB_RATE,)``): its requests
must stay within the job-creation rate of their session (``downloads.max_jobs_per_minute``).

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from ``server.trusted_proxies``.

With accounts on (``auth.mode`` local or proxy, issue 14), :mod:`.identity` finds the user after
the key is recognised (a user's own key acts as that user), refuses requests without one, and a
user's browser must send its login's CSRF token with every change, key or no key.

Refusals close the connection: Hypercorn would otherwise wait for the unread body of the
refused request and the next request on that connection would hang (see STACK-NOTES).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import Any

from quart import Response, g, request

from . import client, identity
from .context import services, sessions, state
from .contract import Requirement
from .errors import (
    AmbiguousFraming,
    ApiKeyRequired,
    CrossSite,
    InvalidApiKey,
    LoginRequired,
    ProxyHeaderUntrusted,
    TooManyJobs,
)
from .sessions import API_SESSION

__all__ = [
    "API_SESSION",
    "CSRF_COOKIE",
    "JOB_RATE",
    "REFUSES_CHANGES",
    "REFUSES_READS",
    "check_request",
    "client_ip",
    "cookies_secure",
    "csrf_token",
    "is_https",
    "own_origin",
    "set_csrf_cookie",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_COOKIE = "mrip_csrf"
CSRF_HEADER = "X-CSRF-Token"
_CLOSE = {"Connection": "close"}
_WRONG_KEY_HEADERS = {
    **_CLOSE,
    "WWW-Authenticate": 'Bearer realm="media-rip", error="invalid_token"',
}


def client_ip() -> str:
    return client.client_ip(services().settings.server)


def is_https() -> bool:
    return client.is_https(services().settings.server)


def cookies_secure() -> bool:
    return client.cookies_secure(services().settings.server)


def _trusted(address: str | None) -> bool:
    return client.trusted(address, services().settings.server)


def csrf_token(session_id: str) -> str:
    auth = services().auth
    digest = hmac.new(auth.secret, session_id.encode(), hashlib.sha256).hexdigest()
    return digest[:40]


def own_origin() -> str:
    """This server's origin as the browser sees it (behind a trusted proxy, the proxy's)."""
    scheme = "https" if is_https() else "http"
    host = request.headers.get("X-Forwarded-Host") if _trusted(request.remote_addr) else None
    return f"{scheme}://{host or request.host}"


def _refuse_cross_site() -> None:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise CrossSite("Requests from other sites may not change anything here.", _CLOSE)
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null" and origin.rstrip("/") != own_origin():
        raise CrossSite(f"Requests from {origin} may not change anything here.", _CLOSE)
    if origin == "null":
        raise CrossSite("Requests from an opaque origin are refused.", _CLOSE)


def _presented_key() -> str | None:
    authorization = request.headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key") or None


async def _recognise_key_client() -> bool:
    """Whether the request carries the right API key: it then acts in the key clients' queue
    (or, a user's key, as that user). A wrong key is refused, never quietly read as no key."""
    presented = _presented_key()
    if presented is None:
        return False
    auth = services().auth
    if auth.api_key_required and auth.api_key_matches(presented):
        g.api_client = True
        return True
    if await identity.recognise_key(presented):
        g.api_client = True
        return True
    if auth.api_key_required or services().accounts.active:
        raise InvalidApiKey("The API key is wrong.", _WRONG_KEY_HEADERS)
    return False


def _csrf_subject(session_id: str) -> str:
    """What the request's CSRF token is made from: a user's login, else the session."""
    subject: str | None = g.get("csrf_subject")
    return subject or session_id


async def _require_key_or_app_session() -> None:
    auth = services().auth
    if not auth.api_key_required and not identity.uses_login():
        return
    token = request.headers.get(CSRF_HEADER, "")
    session_cookie_ok = identity.uses_login() or await sessions().has_valid_cookie()
    if session_cookie_ok:
        expected = csrf_token(_csrf_subject(await sessions().current()))
        if token and hmac.compare_digest(token.encode(), expected.encode()):
            return
    raise ApiKeyRequired(
        "This server needs an API key for changes: send it as 'Authorization: Bearer <key>' "
        "or 'X-API-Key: <key>'.",
        {**_CLOSE, "WWW-Authenticate": 'Bearer realm="media-rip"'},
    )


async def _read_body() -> None:
    """Read the whole (capped) body of any request that has one, before anything can answer
    it: Hypercorn wedges a kept-alive connection whose request was answered unread, and the
    client's next request on it would hang. Handlers then read the cached bytes."""
    if request.content_length or "Transfer-Encoding" in request.headers:
        await request.get_data(cache=True)


async def check_request() -> None:
    """``before_request``: the checks above, for requests that change something."""
    await _read_body()
    if "Content-Length" in request.headers and "Transfer-Encoding" in request.headers:
        # h11 follows Transfer-Encoding and ignores the length (RFC 9112 allows that), but a
        # proxy in front may have read it the other way: never keep such a connection.
        raise AmbiguousFraming(
            "The request has both Content-Length and Transfer-Encoding; send one of them.",
            _CLOSE,
        )
    key_client = await _recognise_key_client()
    await identity.identify()
    if request.method in SAFE_METHODS:
        return
    # The right key proves the sender means it, from wherever it comes (a browser extension's
    # fetch carries its own Origin): a forging page cannot know the key.
    if not key_client:
        _refuse_cross_site()
        await _require_key_or_app_session()


async def _within_job_rate() -> None:
    per_minute = services().settings.downloads.max_jobs_per_minute
    wait = state().job_rate.take(await sessions().current(), per_minute)
    if wait:
        raise TooManyJobs(
            f"Too many new jobs: at most {per_minute} a minute. Try again in {math.ceil(wait)} s.",
            {**_CLOSE, "Retry-After": str(math.ceil(wait))},
        )


#: For the contracts of endpoints that create jobs.
JOB_RATE = Requirement("job rate", _within_job_rate, (TooManyJobs,))
#: What :func:`check_request` can refuse, by kind of request (for the document).
REFUSES_READS: tuple[type[Exception], ...] = (
    InvalidApiKey,
    AmbiguousFraming,
    LoginRequired,
    ProxyHeaderUntrusted,
)
REFUSES_CHANGES: tuple[type[Exception], ...] = (
    ApiKeyRequired,
    InvalidApiKey,
    CrossSite,
    AmbiguousFraming,
    LoginRequired,
    ProxyHeaderUntrusted,
)


def set_csrf_cookie(response: Response) -> None:
    """``after_request``: give the web app the CSRF token of its session when it lacks it.

    Sessions with a cookie always get it, so that a page opened before an admin sets an API key
    keeps working after; ``open`` mode, which sets no cookies, only while a key is required."""
    session_id: Any = g.get("session_id")
    if not session_id or session_id == API_SESSION:
        return
    open_mode = sessions().mode == "open" and not identity.uses_login()
    if open_mode and not services().auth.api_key_required:
        return
    token = csrf_token(_csrf_subject(session_id))
    if request.cookies.get(CSRF_COOKIE) == token:
        return
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=int(services().settings.session.timeout_hours * 3600),
        httponly=False,  # the web app reads it to echo it in the X-CSRF-Token header
        samesite="Strict",
        secure=cookies_secure(),
        path="/",
    )
