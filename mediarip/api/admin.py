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

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from quart import Blueprint, Response, request

from ..auth import (
    SESSION_HOURS,
    AuthError,
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
from ..models import converter, job_to_api
from ..overrides import SettingInvalid, SettingPinned, SettingReadOnly, SettingRefused
from ..reports import SessionNotFound
from .body import read_json
from .context import services
from .errors import ApiError, error_response
from .guard import client_ip, cookies_secure

__all__ = ["ADMIN_COOKIE", "blueprint"]

blueprint = Blueprint("admin", __name__, url_prefix="/api/admin")

ADMIN_COOKIE = "mrip_admin"
COOKIE_PATH = "/api/admin"
MAX_ERRORS = 1000
_CLOSE = {"Connection": "close"}

P = ParamSpec("P")

# How each refusal of the layers below is answered: (HTTP status, error code).
_REFUSALS: dict[type[Exception], tuple[int, str]] = {
    SetupNotNeeded: (409, "setup_done"),
    SetupRequired: (409, "setup_required"),
    SetupTokenMissing: (403, "setup_token_required"),
    SetupTokenWrong: (401, "bad_setup_token"),
    CredentialsRejected: (422, "invalid_request"),
    BadCredentials: (401, "bad_credentials"),
    WrongPassword: (403, "wrong_password"),
    PinnedByConfig: (409, "pinned"),
    SettingInvalid: (422, "invalid_setting"),
    SettingPinned: (409, "pinned"),
    SettingReadOnly: (409, "read_only"),
}


def _json(data: object, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def _plain(value: object) -> Any:
    """attrs values (reports, views) as JSON-able data."""
    return converter.unstructure(value)


# -- the gate -----------------------------------------------------------------------------------


@blueprint.before_request
async def admin_enabled() -> None:
    if not services().auth.enabled:
        raise ApiError(404, "not_found", f"There is no API endpoint at {request.path}.", _CLOSE)


def _token() -> str | None:
    return request.cookies.get(ADMIN_COOKIE) or None


def admin_only(handler: Callable[P, Awaitable[Response]]) -> Callable[P, Awaitable[Response]]:
    """Refuse the request with a 401 unless it carries a live admin session."""

    @functools.wraps(handler)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> Response:
        if not await services().auth.session_valid(_token()):
            raise ApiError(401, "admin_login_required", "Log in to the admin panel first.", _CLOSE)
        return await handler(*args, **kwargs)

    return guarded


@blueprint.errorhandler(AuthError)
@blueprint.errorhandler(SettingRefused)
async def refused(error: AuthError | SettingRefused) -> Response:
    if isinstance(error, Locked):
        headers = {"Retry-After": str(error.retry_after)}
        return error_response(429, "too_many_attempts", error.message, headers)
    status, code = _REFUSALS.get(type(error), (400, "refused"))
    return error_response(status, code, error.message)


@blueprint.errorhandler(SessionNotFound)
async def session_not_found(error: SessionNotFound) -> Response:
    return error_response(404, "session_not_found", "No such session.")


def _text_fields(
    data: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, str | None]:
    """The body's string fields, checked: no unknown field, no missing one, only strings."""
    unknown = sorted(set(data) - {*required, *optional})
    if unknown:
        raise ApiError(422, "invalid_request", f"unknown field(s): {', '.join(unknown)}")
    values: dict[str, str | None] = {}
    for name in (*required, *optional):
        value = data.get(name)
        if value is None and name in required:
            raise ApiError(422, "invalid_request", f"{name}: required")
        if value is not None and not isinstance(value, str):
            raise ApiError(422, "invalid_request", f"{name}: a string, please")
        values[name] = value
    return values


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


async def _status_body(logged_in: bool | None = None) -> dict[str, Any]:
    auth = services().auth
    if logged_in is None:
        logged_in = await auth.session_valid(_token())
    return {
        "setup_required": auth.setup_required,
        "logged_in": logged_in,
        "username": auth.username if logged_in else None,
        "admin_enabled": auth.enabled,
    }


# -- setup, login, logout, password -------------------------------------------------------------


@blueprint.get("/status")
async def status() -> Response:
    return _json(await _status_body())


@blueprint.post("/setup")
async def setup() -> Response:
    body = _text_fields(await read_json(), ("password",), ("token", "username"))
    token = await services().auth.setup(
        body["token"], body["username"], body["password"] or "", client_ip()
    )
    response = _json(await _status_body(logged_in=True))
    _set_admin_cookie(response, token)
    return response


@blueprint.post("/login")
async def login() -> Response:
    body = _text_fields(await read_json(), ("username", "password"))
    token = await services().auth.login(body["username"] or "", body["password"] or "", client_ip())
    response = _json(await _status_body(logged_in=True))
    _set_admin_cookie(response, token)
    return response


@blueprint.post("/logout")
@admin_only
async def logout() -> Response:
    await services().auth.logout(_token())
    response = Response(b"", status=204)
    response.delete_cookie(
        ADMIN_COOKIE, path=COOKIE_PATH, secure=cookies_secure(), httponly=True, samesite="Strict"
    )
    return response


@blueprint.post("/password")
@admin_only
async def change_password() -> Response:
    body = _text_fields(await read_json(), ("current", "new"))
    token = await services().auth.change_password(
        body["current"] or "", body["new"] or "", client_ip()
    )
    response = _json({"changed": True})
    _set_admin_cookie(response, token)
    return response


# -- sessions, storage, errors, purge -----------------------------------------------------------


@blueprint.get("/sessions")
@admin_only
async def list_sessions() -> Response:
    return _json({"sessions": _plain(await services().reports.sessions())})


@blueprint.get("/sessions/<session_id>/jobs")
@admin_only
async def session_jobs(session_id: str) -> Response:
    jobs = await services().reports.session_jobs(session_id)
    return _json({"jobs": [job_to_api(job) for job in jobs]})


@blueprint.get("/storage")
@admin_only
async def storage() -> Response:
    return _json(_plain(await services().reports.storage()))


@blueprint.get("/errors")
@admin_only
async def list_errors() -> Response:
    raw = request.args.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ERRORS:
        raise ApiError(422, "invalid_request", f"limit: a whole number from 1 to {MAX_ERRORS}")
    return _json({"errors": _plain(await services().reports.errors(int(raw)))})


@blueprint.delete("/errors")
@admin_only
async def clear_errors() -> Response:
    return _json({"removed": await services().reports.clear_errors()})


@blueprint.post("/purge")
@admin_only
async def purge_now() -> Response:
    return _json(_plain(await services().purge.run_now()))


# -- settings -----------------------------------------------------------------------------------


def _settings_body() -> dict[str, Any]:
    views = services().config.describe()
    return {"settings": {view.key: _plain(view) for view in views}}


@blueprint.get("/settings")
@admin_only
async def get_settings() -> Response:
    return _json(_settings_body())


@blueprint.patch("/settings")
@admin_only
async def change_settings() -> Response:
    await services().config.change(await read_json())
    return _json(_settings_body())


@blueprint.delete("/settings/<key>")
@admin_only
async def reset_setting(key: str) -> Response:
    await services().config.reset([key])
    return _json(_settings_body())


# -- the API key --------------------------------------------------------------------------------


@blueprint.get("/api-key")
@admin_only
async def get_api_key() -> Response:
    return _json(_plain(services().auth.api_key_state()))


@blueprint.post("/api-key")
@admin_only
async def generate_api_key() -> Response:
    auth = services().auth
    key = await auth.generate_api_key()
    return _json({**_plain(auth.api_key_state()), "key": key}, 201)


@blueprint.delete("/api-key")
@admin_only
async def revoke_api_key() -> Response:
    auth = services().auth
    await auth.revoke_api_key()
    return _json(_plain(auth.api_key_state()))
