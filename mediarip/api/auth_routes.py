"""``/api/auth``: log in and out, who am I, my password, my API keys (issue 14).

In ``auth.mode: none`` there are no users: ``me`` says so and every other path is a 404. The
rules live in :mod:`mediarip.accounts`; the gate that finds the user is :mod:`.identity`.

The login cookie ``mrip_user``: 256 random bits, ``HttpOnly``, ``SameSite=Lax`` (a link to the
app from elsewhere opens it logged in), ``Secure`` by the session cookie's rule, for
``auth.session_days``. Logging in always makes a new one, whatever cookie came with the request,
so a cookie planted before the login (session fixation) is worth nothing after it.
"""

from __future__ import annotations

import datetime as dt

import attrs
from quart import Blueprint, Response, g

from ..accounts import ApiKeyView, InviteInvalid, KeyNotFound, User, UsernameTaken
from ..auth import BadCredentials, CredentialsRejected, Locked, WrongPassword
from ..config import AuthMode
from .admin import Login, PasswordChange  # the same shapes as the admin's: one schema each
from .context import services
from .contract import Answer, Requirement, endpoint, json_response
from .errors import AccountsOff, LoginNotHere, LoginRequired
from .guard import CSRF_COOKIE, client_ip, cookies_secure, csrf_token
from .identity import USER_COOKIE, current_user, login_subject

__all__ = ["UserView", "blueprint", "set_user_cookie", "user_view"]

blueprint = Blueprint("auth", __name__, url_prefix="/api/auth")

_CLOSE = {"Connection": "close"}


async def _accounts_on() -> None:
    if not services().accounts.active:
        raise AccountsOff("There are no user accounts here (auth.mode: none).", _CLOSE)


async def _local() -> None:
    mode = services().accounts.mode
    if mode == "none":
        raise AccountsOff("There are no user accounts here (auth.mode: none).", _CLOSE)
    if mode == "proxy":
        raise LoginNotHere("This server's reverse proxy logs people in.", _CLOSE)


async def _user() -> None:
    if current_user() is None:
        raise LoginRequired("Log in first.", _CLOSE)


ACCOUNTS_ON = Requirement("accounts on", _accounts_on, (AccountsOff,))
LOCAL = Requirement("local accounts", _local, (AccountsOff, LoginNotHere))
USER = Requirement("a user", _user, (LoginRequired,))


@attrs.frozen
class UserView:
    """A user as the API shows them: never a password or its hash."""

    id: int
    username: str
    role: str
    disabled: bool
    source: str
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    has_password: bool


def user_view(user: User) -> UserView:
    return UserView(
        user.id,
        user.username,
        user.role,
        user.disabled,
        user.source,
        user.created_at,
        user.last_login_at,
        user.has_password,
    )


@attrs.frozen
class Me:
    """Who you are: ``user`` is null in mode none (or for the server-wide API key)."""

    mode: AuthMode
    user: UserView | None


@attrs.frozen
class NewKeyRequest:
    """A name to tell the key apart later ("phone", "browser extension")."""

    name: str = "API key"


@attrs.frozen
class NewKeyMade:
    """The key, shown this once; later only ``masked`` (its last four characters)."""

    id: str
    key: str
    name: str
    masked: str
    created_at: dt.datetime


@attrs.frozen
class KeyView:
    id: str
    name: str
    masked: str
    created_at: dt.datetime
    last_used: dt.datetime | None


@attrs.frozen
class KeyList:
    keys: list[KeyView]


def key_view(view: ApiKeyView) -> KeyView:
    return KeyView(view.id, view.name, view.masked, view.created_at, view.last_used)


def set_user_cookie(response: Response, token: str, user: User) -> None:
    """Give the browser its login, and the CSRF token that goes with it."""
    days = services().settings.auth.session_days
    secure = cookies_secure()
    response.set_cookie(
        USER_COOKIE,
        token,
        max_age=days * 86400,
        httponly=True,
        samesite="Lax",
        secure=secure,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token(login_subject(token)),
        max_age=days * 86400,
        httponly=False,
        samesite="Strict",
        secure=secure,
        path="/",
    )
    g.session_id = None  # this request's own session id is not the login's: set no other cookie


def _me() -> Me:
    user = current_user()
    return Me(services().accounts.mode, user_view(user) if user else None)


@blueprint.get("/me")
@endpoint("Who you are", answers={200: Answer("You", Me)})
async def me() -> Me:
    return _me()


@blueprint.post("/login")
@endpoint(
    "Log in with a name and password: sets the mrip_user cookie",
    body=Login,
    answers={200: Answer("Logged in", Me)},
    refuses=(BadCredentials, Locked),
    requires=(LOCAL,),
)
async def login(body: Login) -> Response:
    token, user = await services().accounts.login(body.username, body.password, client_ip())
    response = json_response(Me(services().accounts.mode, user_view(user)))
    set_user_cookie(response, token, user)
    return response


async def end_user_login(response: Response) -> None:
    """End the request's login on the server and drop its cookie."""
    await services().accounts.logout(g.get("login_token"))
    response.delete_cookie(
        USER_COOKIE, path="/", secure=cookies_secure(), httponly=True, samesite="Lax"
    )


@attrs.frozen
class Registration:
    """An invite link's ``invite`` (from its ``?invite=``), and the new user's name and
    password."""

    invite: str
    username: str
    password: str


@blueprint.post("/register")
@endpoint(
    "Make your account with an invite link the admin gave you: logs you in",
    body=Registration,
    answers={200: Answer("Registered and logged in", Me)},
    refuses=(InviteInvalid, CredentialsRejected, UsernameTaken, Locked),
    requires=(LOCAL,),
)
async def register(body: Registration) -> Response:
    accounts = services().accounts
    token, user = await accounts.register(body.invite, body.username, body.password, client_ip())
    response = json_response(Me(accounts.mode, user_view(user)))
    set_user_cookie(response, token, user)
    return response


@blueprint.post("/logout")
@endpoint("Log out: ends this login on the server", answers={204: Answer("Logged out")})
async def logout() -> Response:
    response = Response(b"", status=204)
    await end_user_login(response)
    return response


@blueprint.post("/password")
@endpoint(
    "Change your password: your other logins end",
    body=PasswordChange,
    answers={200: Answer("Changed; this device stays logged in", Me)},
    refuses=(WrongPassword, CredentialsRejected, Locked),
    requires=(LOCAL, USER),
)
async def change_password(body: PasswordChange) -> Response:
    user = current_user()
    assert user is not None
    accounts = services().accounts
    token = await accounts.change_password(user, body.current, body.new, client_ip())
    response = json_response(Me(accounts.mode, user_view(user)))
    set_user_cookie(response, token, user)
    return response


@attrs.frozen
class Preferences:
    """The web app's remembered choices for you (opaque JSON by key), the same on every
    device."""

    preferences: dict[str, object]


@blueprint.get("/preferences")
@endpoint(
    "Your remembered choices",
    answers={200: Answer("Your preferences", Preferences)},
    requires=(ACCOUNTS_ON, USER),
)
async def get_preferences() -> Preferences:
    user = current_user()
    assert user is not None
    return Preferences(await services().accounts.preferences(user))


@blueprint.put("/preferences")
@endpoint(
    "Replace your remembered choices (at most 50 keys, 16 KiB)",
    body=dict,
    answers={200: Answer("Your preferences", Preferences)},
    refuses=(CredentialsRejected,),
    requires=(ACCOUNTS_ON, USER),
)
async def put_preferences(body: dict[str, object]) -> Preferences:
    user = current_user()
    assert user is not None
    await services().accounts.set_preferences(user, body)
    return Preferences(body)


@blueprint.get("/keys")
@endpoint(
    "Your API keys (masked)",
    answers={200: Answer("Your keys", KeyList)},
    requires=(ACCOUNTS_ON, USER),
)
async def list_keys() -> KeyList:
    return KeyList([key_view(k) for k in await services().accounts.keys(current_user())])


@blueprint.post("/keys")
@endpoint(
    "Make an API key that acts as you",
    body=NewKeyRequest,
    body_required=False,
    answers={201: Answer("The key, shown this once", NewKeyMade)},
    refuses=(CredentialsRejected,),
    requires=(ACCOUNTS_ON, USER),
)
async def make_key(body: NewKeyRequest) -> NewKeyMade:
    user = current_user()
    assert user is not None
    made = await services().accounts.make_key(user, body.name)
    view = made.view
    return NewKeyMade(view.id, made.key, view.name, view.masked, view.created_at)


@blueprint.delete("/keys/<key_id>")
@endpoint(
    "Revoke one of your API keys",
    answers={204: Answer("Revoked")},
    refuses=(KeyNotFound,),
    requires=(ACCOUNTS_ON, USER),
)
async def revoke_key(key_id: str) -> Response:
    await services().accounts.revoke_key(key_id, current_user())
    return Response(b"", status=204)
