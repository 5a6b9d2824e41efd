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

Refusals close the connection: Hypercorn would otherwise wait for the unread body of the
refused request and the next request on that connection would hang (see STACK-NOTES).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from typing import Any

from quart import Response, current_app, g, request

from .context import services, sessions
from .contract import Requirement
from .errors import ApiKeyRequired, CrossSite, InvalidApiKey, TooManyJobs

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
    "set_csrf_cookie",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_COOKIE = "mrip_csrf"
CSRF_HEADER = "X-CSRF-Token"
API_SESSION = "api"
_CLOSE = {"Connection": "close"}
_WRONG_KEY_HEADERS = {
    **_CLOSE,
    "WWW-Authenticate": 'Bearer realm="media-rip", error="invalid_token"',
}


def _trusted(address: str | None) -> bool:
    if not address:
        return False
    proxies = services().settings.server.trusted_proxies
    if not proxies:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_ip() -> str:
    """The client's address: the peer's, or, behind a trusted proxy, the first address in
    ``X-Forwarded-For`` (from the right) that is not itself a trusted proxy."""
    cached: str | None = g.get("client_ip")
    if cached is not None:
        return cached
    address = request.remote_addr or ""
    if _trusted(address):
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        for hop in reversed([h for h in hops if h]):
            address = hop
            if not _trusted(hop):
                break
    g.client_ip = address
    return address


def is_https() -> bool:
    """Whether the client reached us over https (directly, or through a trusted proxy)."""
    if request.scheme == "https":
        return True
    if _trusted(request.remote_addr):
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return proto == "https"
    return False


def csrf_token(session_id: str) -> str:
    auth = services().auth
    digest = hmac.new(auth.secret, session_id.encode(), hashlib.sha256).hexdigest()
    return digest[:40]


def _own_origin() -> str:
    scheme = "https" if is_https() else "http"
    host = request.headers.get("X-Forwarded-Host") if _trusted(request.remote_addr) else None
    return f"{scheme}://{host or request.host}"


def _refuse_cross_site() -> None:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise CrossSite("Requests from other sites may not change anything here.", _CLOSE)
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null" and origin.rstrip("/") != _own_origin():
        raise CrossSite(f"Requests from {origin} may not change anything here.", _CLOSE)
    if origin == "null":
        raise CrossSite("Requests from an opaque origin are refused.", _CLOSE)


def _presented_key() -> str | None:
    authorization = request.headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key") or None


def _recognise_key_client() -> bool:
    """Whether the request carries the right API key: it then acts in the key clients' queue.
    A wrong key is refused, never quietly read as no key."""
    presented = _presented_key()
    if presented is None or not services().auth.api_key_required:
        return False
    if not services().auth.api_key_matches(presented):
        raise InvalidApiKey("The API key is wrong.", _WRONG_KEY_HEADERS)
    g.api_client = True
    return True


async def _require_key_or_app_session() -> None:
    auth = services().auth
    if not auth.api_key_required:
        return
    token = request.headers.get(CSRF_HEADER, "")
    session_cookie_ok = await sessions().has_valid_cookie()
    if session_cookie_ok:
        expected = csrf_token(await sessions().current())
        if token and hmac.compare_digest(token.encode(), expected.encode()):
            return
    raise ApiKeyRequired(
        "This server needs an API key for changes: send it as 'Authorization: Bearer <key>' "
        "or 'X-API-Key: <key>'.",
        {**_CLOSE, "WWW-Authenticate": 'Bearer realm="media-rip"'},
    )


class JobRateLimiter:
    """A token bucket per session: ``per_minute`` jobs a minute, bursts up to as many."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # session -> (tokens, at)

    def take(self, session_id: str, per_minute: int) -> float:
        """0 if a job may be created now, else the seconds until one may."""
        if per_minute <= 0:
            return 0.0
        now = time.monotonic()
        tokens, at = self._buckets.get(session_id, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - at) * per_minute / 60.0)
        if tokens < 1.0:
            self._buckets[session_id] = (tokens, now)
            return (1.0 - tokens) * 60.0 / per_minute
        self._buckets[session_id] = (tokens - 1.0, now)
        self._forget_idlest()
        return 0.0

    def take_many(self, session_id: str, count: int, per_minute: int) -> int | None:
        """Take ``count`` jobs at once (a batch), all or none: None if they fit, else how many
        would fit now."""
        if per_minute <= 0:
            return None
        now = time.monotonic()
        tokens, at = self._buckets.get(session_id, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - at) * per_minute / 60.0)
        if tokens < count:
            self._buckets[session_id] = (tokens, now)
            return int(tokens)
        self._buckets[session_id] = (tokens - count, now)
        self._forget_idlest()
        return None

    def _forget_idlest(self) -> None:
        if len(self._buckets) > 10_000:  # forget the idlest when it grows large
            for key in list(self._buckets)[:5_000]:
                del self._buckets[key]


def job_rate() -> JobRateLimiter:
    """This app's limiter (one per app, like every other piece of state)."""
    limiter = current_app.extensions.get("mediarip.job_rate")
    if limiter is None:
        limiter = current_app.extensions["mediarip.job_rate"] = JobRateLimiter()
    assert isinstance(limiter, JobRateLimiter)
    return limiter


async def _read_body() -> None:
    """Read the whole (capped) body of any request that has one, before anything can answer
    it: Hypercorn wedges a kept-alive connection whose request was answered unread, and the
    client's next request on it would hang. Handlers then read the cached bytes."""
    if request.content_length or "Transfer-Encoding" in request.headers:
        await request.get_data(cache=True)


async def check_request() -> None:
    """``before_request``: the checks above, for requests that change something."""
    await _read_body()
    if request.method in SAFE_METHODS:
        _recognise_key_client()
        return
    # The right key proves the sender means it, from wherever it comes (a browser extension's
    # fetch carries its own Origin): a forging page cannot know the key.
    if not _recognise_key_client():
        _refuse_cross_site()
        await _require_key_or_app_session()


async def _within_job_rate() -> None:
    per_minute = services().settings.downloads.max_jobs_per_minute
    wait = job_rate().take(await sessions().current(), per_minute)
    if wait:
        raise TooManyJobs(
            f"Too many new jobs: at most {per_minute} a minute. Try again in {math.ceil(wait)} s.",
            {**_CLOSE, "Retry-After": str(math.ceil(wait))},
        )


#: For the contracts of endpoints that create jobs.
JOB_RATE = Requirement("job rate", _within_job_rate, (TooManyJobs,))
#: What :func:`check_request` can refuse, by kind of request (for the document).
REFUSES_READS: tuple[type[Exception], ...] = (InvalidApiKey,)
REFUSES_CHANGES: tuple[type[Exception], ...] = (ApiKeyRequired, InvalidApiKey, CrossSite)


def set_csrf_cookie(response: Response) -> None:
    """``after_request``: give the web app the CSRF token of its session when it lacks it.

    Sessions with a cookie always get it, so that a page opened before an admin sets an API key
    keeps working after; ``open`` mode, which sets no cookies, only while a key is required."""
    session_id: Any = g.get("session_id")
    if not session_id or session_id == API_SESSION:
        return
    if sessions().mode == "open" and not services().auth.api_key_required:
        return
    token = csrf_token(session_id)
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


def cookies_secure() -> bool:
    """Whether cookies get ``Secure``: as configured, else when the client came over https."""
    configured = services().settings.server.secure_cookies
    return is_https() if configured is None else configured
