"""Who the request is, in ``auth.mode`` ``local`` or ``proxy`` (issue 14); nothing in ``none``.

The guard (:func:`~.guard.check_request`) calls :func:`identify` on every request, after it
has read the body and recognised any API key. It finds the user, by the first that applies:

1. a user's API key (``Authorization: Bearer mrk_…`` or ``X-API-Key``), recognised by
   :func:`recognise_key` (the guard asks it when the key is not the server-wide one);
2. ``proxy`` mode: the header ``auth.proxy_header`` (``Remote-User``), believed only when the
   request comes straight from one of ``server.trusted_proxies``. The same header from any
   other address is refused outright (403): whoever can reach the app past the proxy must not
   be able to name themselves;
3. ``local`` mode: the ``mrip_user`` cookie, a login made at ``POST /api/auth/login``.

A user found, their *owner id* (``user:<id>``) stands in for the browser's session id
everywhere (:meth:`~.sessions.SessionTracker.current`): jobs, cookies, events. A request with no
user (and not the server-wide API key either) gets 401 ``login_required`` on every ``/api``
route but health, the public config, the themes, the login itself, and the admin side (which
has its own login). Pages and static files are served to anyone: the web app shows its login.

CSRF. A user's browser changes things with the CSRF token of its *login* (an HMAC of the
login's hash under the server secret, :func:`~.guard.csrf_token`), required on every change it
makes with its cookie or through the proxy, whether or not a server-wide API key is set: a
cookie (or a proxy's single sign-on) is ambient authority that another site could borrow.
"""

from __future__ import annotations

import hashlib

from quart import g, request

from ..accounts import User
from ..auth import CredentialsRejected
from . import client
from .context import services
from .errors import LoginRequired, ProxyHeaderUntrusted

__all__ = [
    "USER_COOKIE",
    "current_user",
    "identify",
    "login_subject",
    "recognise_key",
    "uses_login",
]

USER_COOKIE = "mrip_user"
_CLOSE = {"Connection": "close"}
#: /api paths open without an identity (besides the admin side, which has its own login).
_OPEN = ("/api/health", "/api/config/public", "/api/auth/login", "/api/auth/register")
_OPEN_PREFIXES = ("/api/themes", "/api/admin/")


def current_user() -> User | None:
    """The user the request acts as, if any."""
    user: User | None = g.get("user")
    return user


def uses_login() -> bool:
    """Whether the request acts as a user through a browser (a cookie or the proxy), not a
    key: its changes need the CSRF token."""
    return g.get("user") is not None and not g.get("api_client")


def login_subject(token: str) -> str:
    """What a login's CSRF token is made from: never the token itself."""
    return "login:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def _act_as(user: User) -> None:
    g.user = user
    g.owner = user.owner


async def recognise_key(presented: str) -> bool:
    """Whether ``presented`` is a user's API key (the request then acts as that user)."""
    accounts = services().accounts
    if not accounts.active:
        return False
    user = await accounts.key_user(presented)
    if user is None:
        return False
    _act_as(user)
    return True


def _is_open(path: str) -> bool:
    return not path.startswith("/api/") or path in _OPEN or path.startswith(_OPEN_PREFIXES)


async def identify() -> None:
    """Find the request's user (see the module doc), or refuse a request that needs one."""
    accounts = services().accounts
    if not accounts.active or g.get("user") is not None:
        return
    settings = services().settings
    path = request.path
    user: User | None = None
    if accounts.mode == "proxy":
        name = request.headers.get(settings.auth.proxy_header)
        if name is not None and not client.trusted(request.remote_addr, settings.server):
            raise ProxyHeaderUntrusted(
                f"The {settings.auth.proxy_header} header is only believed from the trusted "
                "reverse proxy (server.trusted_proxies).",
                _CLOSE,
            )
        if name and name.strip() and path.startswith("/api/"):
            try:
                user = await accounts.proxy_user(name.strip())
            except CredentialsRejected as exc:
                raise LoginRequired(
                    f"The proxy's user name is refused: {exc.message}", _CLOSE
                ) from None
            g.csrf_subject = user.owner if user is not None else None
    elif path.startswith("/api/") or path == "/":
        token = request.cookies.get(USER_COOKIE)
        user = await accounts.session_user(token)
        if user is not None and token:
            g.login_token = token
            g.csrf_subject = login_subject(token)
    if user is not None:
        _act_as(user)
        return
    if g.get("api_client") or _is_open(path):
        return
    raise LoginRequired("Log in first.", _CLOSE)
