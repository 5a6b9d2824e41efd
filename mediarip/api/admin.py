"""``/api/admin``: the admin panel's API (SPEC §5, §7).

Everything here needs the admin cookie (``mrip_admin``, a 401 without it) except ``status``,
``setup`` and ``login``; with ``admin.enabled: false`` every path is a 404, as if there were no
admin side at all. Handlers stay thin: the rules live in :mod:`mediarip.auth` (credentials,
sessions, lock-out, the API key), :mod:`mediarip.overrides` (settings), :mod:`mediarip.purge`
and :mod:`mediarip.reports` (sessions, storage, the error log).

The admin cookie: 256 random bits, ``HttpOnly``, ``SameSite=Strict``, ``Path=/api/admin``,
``Secure`` by the same rule as the session cookie, for :data:`~mediarip.auth.SESSION_HOURS`.
Refusals made before a request's body is read close the connection (see STACK-NOTES:
Hypercorn would otherwise wedge it).
"""

from __future__ import annotations

import attrs
from quart import Blueprint, Response, request

from ..auth import (
    SESSION_HOURS,
    ApiKeyState,
    BadCredentials,
    CredentialsRejected,
    Locked,
    PinnedByConfig,
    SetupNotNeeded,
    SetupRequired,
    SetupTokenMissing,
    SetupTokenWrong,
    WrongPassword,
)
from ..config import SettingFacts
from ..overrides import SettingInvalid, SettingPinned, SettingReadOnly, SettingView
from ..purge import PurgeReport
from ..reports import ErrorView, SessionNotFound, SessionView, StorageReport
from ..rules import rules
from .context import services
from .contract import Answer, Requirement, endpoint, json_response
from .downloads import JobList
from .errors import AdminDisabled, AdminLoginRequired
from .guard import client_ip, cookies_secure
from .identity import current_user

__all__ = ["ADMIN_COOKIE", "blueprint"]

blueprint = Blueprint("admin", __name__, url_prefix="/api/admin")

ADMIN_COOKIE = "mrip_admin"
COOKIE_PATH = "/api/admin"
MAX_ERRORS = 1000
_CLOSE = {"Connection": "close"}


# -- the gate: two requirements every admin endpoint declares ----------------------------------


async def _enabled() -> None:
    if not services().auth.enabled:
        raise AdminDisabled(f"There is no API endpoint at {request.path}.", _CLOSE)


def _user_admin() -> bool:
    """A logged-in user with the admin role (issue 14) is logged in to the panel too."""
    user = current_user()
    return user is not None and user.role == "admin"


async def _logged_in() -> None:
    if _user_admin():
        return
    if not await services().auth.session_valid(_token()):
        raise AdminLoginRequired("Log in to the admin panel first.", _CLOSE)


ENABLED = Requirement("admin side on", _enabled, (AdminDisabled,))
LOGGED_IN = Requirement("admin login", _logged_in, (AdminLoginRequired,))
#: What most admin endpoints require; status, setup and login only the first.
ADMIN = (ENABLED, LOGGED_IN)


def _token() -> str | None:
    return request.cookies.get(ADMIN_COOKIE) or None


# -- what the endpoints take and give ---------------------------------------------------------


@attrs.frozen
class AdminStatus:
    setup_required: bool
    logged_in: bool
    username: str | None
    admin_enabled: bool


@attrs.frozen
class Setup:
    """First-run setup; ``token`` is the one-time token from the server log."""

    password: str
    token: str | None = None
    username: str | None = None


@attrs.frozen
class Login:
    username: str
    password: str


@attrs.frozen
class PasswordChange:
    current: str
    new: str


@attrs.frozen
class PasswordChanged:
    changed: bool


@attrs.frozen
class SessionList:
    sessions: list[SessionView]


@attrs.frozen
class ErrorList:
    errors: list[ErrorView]


@attrs.frozen
class ErrorsQuery:
    limit: int = attrs.field(default=100, metadata=rules(minimum=1, maximum=MAX_ERRORS))


@attrs.frozen
class Removed:
    removed: int


@attrs.frozen
class SettingsList:
    """The settings as they are, and what each one's declaration says (for typed controls)."""

    settings: dict[str, SettingView]
    fields: dict[str, SettingFacts]


@attrs.frozen
class NewApiKey:
    """A new key, shown this once."""

    configured: bool
    pinned: bool
    masked: str | None
    key: str


def _set_admin_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        ADMIN_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="Strict",
        secure=cookies_secure(),
        path=COOKIE_PATH,
    )


async def _status(logged_in: bool | None = None) -> AdminStatus:
    auth = services().auth
    user = current_user() if _user_admin() else None
    if logged_in is None:
        logged_in = user is not None or await auth.session_valid(_token())
    return AdminStatus(
        setup_required=auth.setup_required,
        logged_in=logged_in,
        username=(user.username if user else auth.username) if logged_in else None,
        admin_enabled=auth.enabled,
    )


def _settings() -> SettingsList:
    config = services().config
    return SettingsList({view.key: view for view in config.describe()}, config.facts())


# -- setup, login, logout, password -------------------------------------------------------------


@blueprint.get("/status")
@endpoint(
    "Whether setup is needed and whether you are logged in",
    answers={200: Answer("Status", AdminStatus)},
    requires=(ENABLED,),
)
async def status() -> AdminStatus:
    return await _status()


@blueprint.post("/setup")
@endpoint(
    "First-run setup with the one-time token from the server log",
    body=Setup,
    answers={200: Answer("Set up, and logged in", AdminStatus)},
    refuses=(SetupTokenWrong, SetupTokenMissing, SetupNotNeeded, CredentialsRejected, Locked),
    requires=(ENABLED,),
)
async def setup(body: Setup) -> Response:
    token = await services().auth.setup(body.token, body.username, body.password, client_ip())
    response = json_response(await _status(logged_in=True))
    _set_admin_cookie(response, token)
    await _first_user(response)
    return response


async def _first_user(response: Response) -> None:
    """Local accounts (issue 14): setup makes the admin the first user, logged in."""
    from .auth_routes import set_user_cookie  # auth_routes' users page imports this module

    accounts = services().accounts
    user = await accounts.ensure_first_admin()
    if user is not None:
        set_user_cookie(response, await accounts.start_session(user), user)


@blueprint.post("/login")
@endpoint(
    "Log in: sets the mrip_admin cookie",
    body=Login,
    answers={200: Answer("Logged in", AdminStatus)},
    refuses=(BadCredentials, SetupRequired, Locked),
    requires=(ENABLED,),
)
async def login(body: Login) -> Response:
    token = await services().auth.login(body.username, body.password, client_ip())
    response = json_response(await _status(logged_in=True))
    _set_admin_cookie(response, token)
    return response


@blueprint.post("/logout")
@endpoint("Log out", answers={204: Answer("Logged out")}, requires=ADMIN)
async def logout() -> Response:
    await services().auth.logout(_token())
    response = Response(b"", status=204)
    response.delete_cookie(
        ADMIN_COOKIE, path=COOKIE_PATH, secure=cookies_secure(), httponly=True, samesite="Strict"
    )
    if _user_admin():  # logged in as a user with the admin role (issue 14): that login ends
        from .auth_routes import end_user_login

        await end_user_login(response)
    return response


@blueprint.post("/password")
@endpoint(
    "Change the admin password",
    body=PasswordChange,
    answers={200: Answer("Changed; every other admin session has ended", PasswordChanged)},
    refuses=(WrongPassword, PinnedByConfig, SetupRequired, CredentialsRejected, Locked),
    requires=ADMIN,
)
async def change_password(body: PasswordChange) -> Response:
    token = await services().auth.change_password(body.current, body.new, client_ip())
    response = json_response(PasswordChanged(True))
    _set_admin_cookie(response, token)
    return response


# -- sessions, storage, errors, purge -----------------------------------------------------------


@blueprint.get("/sessions")
@endpoint(
    "Sessions, most recently seen first",
    answers={200: Answer("Sessions, most recently seen first", SessionList)},
    requires=ADMIN,
)
async def list_sessions() -> SessionList:
    return SessionList(await services().reports.sessions())


@blueprint.get("/sessions/<session_id>/jobs")
@endpoint(
    "A session's jobs",
    answers={200: Answer("The session's jobs", JobList)},
    refuses=(SessionNotFound,),
    requires=ADMIN,
)
async def session_jobs(session_id: str) -> JobList:
    return JobList(await services().reports.session_jobs(session_id))


@blueprint.get("/storage")
@endpoint("Disk and jobs", answers={200: Answer("Disk and jobs", StorageReport)}, requires=ADMIN)
async def storage() -> StorageReport:
    return await services().reports.storage()


@blueprint.get("/errors")
@endpoint(
    "Failed jobs, newest first",
    query=ErrorsQuery,
    answers={200: Answer("Failed jobs, newest first", ErrorList)},
    requires=ADMIN,
)
async def list_errors(query: ErrorsQuery) -> ErrorList:
    return ErrorList(await services().reports.errors(query.limit))


@blueprint.delete("/errors")
@endpoint("Clear the error log", answers={200: Answer("Cleared", Removed)}, requires=ADMIN)
async def clear_errors() -> Removed:
    return Removed(await services().reports.clear_errors())


@blueprint.post("/purge")
@endpoint(
    "Purge now, whatever purge.enabled says",
    answers={200: Answer("What was removed", PurgeReport)},
    requires=ADMIN,
)
async def purge_now() -> PurgeReport:
    return await services().purge.run_now()


# -- settings -----------------------------------------------------------------------------------

_SETTING_REFUSALS = (SettingInvalid, SettingPinned, SettingReadOnly)


@blueprint.get("/settings")
@endpoint(
    "Every setting but the secrets",
    answers={200: Answer("Every setting but the secrets", SettingsList)},
    requires=ADMIN,
)
async def get_settings() -> SettingsList:
    return _settings()


@blueprint.patch("/settings")
@endpoint(
    "Change settings: {dotted key: value}, all or none",
    body=dict,
    answers={200: Answer("The settings after the change", SettingsList)},
    refuses=_SETTING_REFUSALS,
    requires=ADMIN,
)
async def change_settings(body: dict[str, object]) -> SettingsList:
    await services().config.change(body)
    return _settings()


@blueprint.delete("/settings/<key>")
@endpoint(
    "Drop the panel's value of a setting",
    answers={200: Answer("The settings after the reset", SettingsList)},
    refuses=_SETTING_REFUSALS,
    requires=ADMIN,
)
async def reset_setting(key: str) -> SettingsList:
    await services().config.reset([key])
    return _settings()


# -- the API key --------------------------------------------------------------------------------


@blueprint.get("/api-key")
@endpoint(
    "Whether a key is set (masked)",
    answers={200: Answer("Whether a key is set (masked)", ApiKeyState)},
    requires=ADMIN,
)
async def get_api_key() -> ApiKeyState:
    return services().auth.api_key_state()


@blueprint.post("/api-key")
@endpoint(
    "Make a new API key (the old one stops working)",
    answers={201: Answer("A new key, shown this once", NewApiKey)},
    refuses=(PinnedByConfig,),
    requires=ADMIN,
)
async def generate_api_key() -> NewApiKey:
    auth = services().auth
    key = await auth.generate_api_key()
    return NewApiKey(**attrs.asdict(auth.api_key_state()), key=key)


@blueprint.delete("/api-key")
@endpoint(
    "Revoke the API key",
    answers={200: Answer("Revoked", ApiKeyState)},
    refuses=(PinnedByConfig,),
    requires=ADMIN,
)
async def revoke_api_key() -> ApiKeyState:
    auth = services().auth
    await auth.revoke_api_key()
    return auth.api_key_state()
