"""Every refusal the API can answer, and the one table that says how each is answered.

A handler never picks a status code. It raises what went wrong: a domain exception of the
engine, auth, the settings or the reports, or one of the HTTP layer's own refusals defined
below. :data:`REFUSALS` maps each to ``(status, code)``, and the answer is always
``{"error": {"code", "message"}}``. The same table documents the API: an endpoint's contract
names the exceptions it may refuse with (:mod:`.contract`), and ``/api/openapi.json`` lists
each under its status, described by the exception's docstring. So a new refusal is one
exception class with a docstring, one row here, and its name in the contracts that raise it.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from quart import Quart, Response, request
from werkzeug.exceptions import HTTPException, RequestedRangeNotSatisfiable, RequestEntityTooLarge

from ..accounts import InviteInvalid, KeyNotFound, LastAdmin, UsernameTaken, UserNotFound
from ..auth import (
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
from ..engine import AddressBlocked, Conflict, JobNotFound, ProbeFailed
from ..notifications.notifier import TargetNameTaken, TargetNotFound
from ..overrides import SettingInvalid, SettingPinned, SettingReadOnly
from ..presets import PresetNotFound, PresetRefused
from ..reports import SessionNotFound
from ..store import NameTaken, StorageFull, StorageUnavailable
from ..subscriptions.checker import SubscriptionNotFound
from ..ytdlp.updater import UpdateRefused

__all__ = [
    "REFUSALS",
    "AccountsOff",
    "AdminDisabled",
    "AdminLoginRequired",
    "AmbiguousFraming",
    "ApiError",
    "ApiKeyRequired",
    "CrossSite",
    "EmptyBody",
    "FileMissing",
    "FileNotReady",
    "InvalidApiKey",
    "InvalidArchive",
    "InvalidCookies",
    "InvalidJson",
    "InvalidRequest",
    "LoginNotHere",
    "LoginRequired",
    "PreviewNotFound",
    "ProxyHeaderUntrusted",
    "Refusal",
    "Refused",
    "ThemeNotFound",
    "TooManyJobs",
    "Unhealthy",
    "describe",
    "error_response",
    "register_error_handlers",
]


class Refused(Exception):
    """Base of the HTTP layer's own refusals: ``headers`` go out with the answer."""

    def __init__(self, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})


class InvalidRequest(Refused):
    """A field or parameter is missing or invalid; the message names it: invalid_request."""


class EmptyBody(Refused):
    """No body, where a JSON object is needed: empty_body."""


class InvalidJson(Refused):
    """The body is not JSON, or JSON that is not an object: invalid_json."""


class AmbiguousFraming(Refused):
    """The request has both Content-Length and Transfer-Encoding, so where it ends is
    ambiguous (a request-smuggling pattern); the connection is closed: ambiguous_framing."""


class CrossSite(Refused):
    """A cross-site request (Sec-Fetch-Site or Origin names another site) may change nothing
    without the API key: cross_site."""


class ApiKeyRequired(Refused):
    """An API key is set and the request carries none (with WWW-Authenticate); the web app's
    own requests carry their session's CSRF token instead: api_key_required."""


class InvalidApiKey(Refused):
    """The request shows an API key, and it is the wrong one: invalid_api_key."""


class TooManyJobs(Refused):
    """Too many new jobs from this session (downloads.max_jobs_per_minute): see Retry-After."""


class FileNotReady(Refused):
    """The job has no file yet: not_ready."""


class FileMissing(Refused):
    """The job's file is gone from the downloads folder: file_missing."""


class InvalidCookies(Refused):
    """Not a usable cookies.txt: invalid_cookies."""


class ThemeNotFound(Refused):
    """No such theme: theme_not_found."""


class PreviewNotFound(Refused):
    """The theme has no preview image: preview_not_found."""


class InvalidArchive(Refused):
    """Not a yt-dlp archive file (UTF-8 text, one '<extractor> <id>' per line), or more than
    200,000 lines: invalid_archive."""


class AdminDisabled(Refused):
    """The admin side is off (admin.enabled: false): not_found."""


class AdminLoginRequired(Refused):
    """Not logged in to the admin panel: admin_login_required."""


class Unhealthy(Refused):
    """The server cannot do its work now; the message says why ("data folder full"):
    unhealthy."""


class LoginRequired(Refused):
    """auth.mode is local or proxy and the request has no identity (log in, or send a user's
    API key): login_required."""


class ProxyHeaderUntrusted(Refused):
    """In proxy mode, the identity header came from an address that is not one of
    server.trusted_proxies: proxy_header_untrusted."""


class AccountsOff(Refused):
    """auth.mode is none: there are no users (not_found)."""


class LoginNotHere(Refused):
    """In proxy mode people log in at the proxy, not here: login_at_proxy."""


class ApiError(Refused):
    """A refusal with its status and code spelt out at the raise: for what no contract can
    name. Prefer a class above (or a domain exception) with a row in :data:`REFUSALS`."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, headers)
        self.status = status
        self.code = code


@attrs.frozen
class Refusal:
    """How one kind of refusal is answered."""

    status: int
    #: The error code; None: the exception's own (``ProbeFailed.error.code``).
    code: str | None
    #: A fixed message instead of ``str(exception)`` (which may hold what must not be shown).
    message: str | None = None
    #: Headers the answer needs, made from the exception.
    headers: Callable[[Any], dict[str, str]] | None = None


def _retry_after(error: Locked) -> dict[str, str]:
    return {"Retry-After": str(error.retry_after)}


REFUSALS: Mapping[type[Exception], Refusal] = {
    # the HTTP layer's own
    InvalidRequest: Refusal(422, "invalid_request"),
    EmptyBody: Refusal(400, "empty_body"),
    AmbiguousFraming: Refusal(400, "ambiguous_framing"),
    InvalidJson: Refusal(400, "invalid_json"),
    RequestEntityTooLarge: Refusal(413, "body_too_large"),
    RequestedRangeNotSatisfiable: Refusal(416, "range_not_satisfiable"),
    CrossSite: Refusal(403, "cross_site"),
    ApiKeyRequired: Refusal(401, "api_key_required"),
    InvalidApiKey: Refusal(401, "invalid_api_key"),
    TooManyJobs: Refusal(429, "too_many_jobs"),
    FileNotReady: Refusal(409, "not_ready"),
    FileMissing: Refusal(404, "file_missing"),
    InvalidCookies: Refusal(422, "invalid_cookies"),
    ThemeNotFound: Refusal(404, "theme_not_found"),
    PreviewNotFound: Refusal(404, "preview_not_found"),
    AdminDisabled: Refusal(404, "not_found"),
    AdminLoginRequired: Refusal(401, "admin_login_required"),
    Unhealthy: Refusal(503, "unhealthy"),
    # the data folder
    StorageFull: Refusal(507, "storage_full"),
    StorageUnavailable: Refusal(503, "storage_unavailable"),
    # issue 14: accounts
    LoginRequired: Refusal(401, "login_required"),
    ProxyHeaderUntrusted: Refusal(403, "proxy_header_untrusted"),
    AccountsOff: Refusal(404, "not_found"),
    LoginNotHere: Refusal(409, "login_at_proxy"),
    UserNotFound: Refusal(404, "user_not_found", message="No such user."),
    KeyNotFound: Refusal(404, "key_not_found", message="No such API key."),
    UsernameTaken: Refusal(409, "username_taken"),
    LastAdmin: Refusal(409, "last_admin"),
    InviteInvalid: Refusal(403, "invalid_invite"),
    # the engine
    JobNotFound: Refusal(404, "job_not_found", message="No such job."),
    Conflict: Refusal(409, "conflict"),
    AddressBlocked: Refusal(400, None),
    ProbeFailed: Refusal(422, None),
    # the admin's credentials
    SetupNotNeeded: Refusal(409, "setup_done"),
    SetupRequired: Refusal(409, "setup_required"),
    SetupTokenMissing: Refusal(403, "setup_token_required"),
    SetupTokenWrong: Refusal(401, "bad_setup_token"),
    CredentialsRejected: Refusal(422, "invalid_request"),
    BadCredentials: Refusal(401, "bad_credentials"),
    WrongPassword: Refusal(403, "wrong_password"),
    PinnedByConfig: Refusal(409, "pinned"),
    Locked: Refusal(429, "too_many_attempts", headers=_retry_after),
    # the settings, the reports
    SettingInvalid: Refusal(422, "invalid_setting"),
    SettingPinned: Refusal(409, "pinned"),
    SettingReadOnly: Refusal(409, "read_only"),
    SessionNotFound: Refusal(404, "session_not_found", message="No such session."),
    # presets
    PresetRefused: Refusal(422, "invalid_request"),
    PresetNotFound: Refusal(404, "preset_not_found", message="No such preset."),
    NameTaken: Refusal(409, "name_taken", message="name: another preset already has this name"),
    # subscriptions and the archive
    SubscriptionNotFound: Refusal(404, "subscription_not_found", message="No such subscription."),
    InvalidArchive: Refusal(422, "invalid_archive"),
    # notification targets
    TargetNotFound: Refusal(404, "target_not_found", message="No such notification target."),
    TargetNameTaken: Refusal(
        409, "name_taken", message="name: another notification target already has this name"
    ),
    # yt-dlp's updates
    UpdateRefused: Refusal(409, "update_refused"),
}


def describe(kind: type[Exception]) -> tuple[int, str]:
    """``(status, description)`` of a refusal, for the document: its docstring, one line."""
    refusal = REFUSALS[kind]
    text = " ".join((inspect.getdoc(kind) or kind.__name__).split())
    return refusal.status, text.removesuffix(".")


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(
        body, status=status, content_type="application/json", headers=dict(headers or {})
    )


def _answer(error: Exception) -> Response:
    headers = dict(getattr(error, "headers", None) or {})
    if isinstance(error, ApiError):
        return error_response(error.status, error.code, error.message, headers)
    refusal = next(REFUSALS[k] for k in type(error).__mro__ if k in REFUSALS)
    if refusal.headers is not None:
        headers.update(refusal.headers(error))
    code = refusal.code or str(getattr(getattr(error, "error", None), "code", "refused"))
    message: str
    if isinstance(error, HTTPException):
        message = refusal.message or error.description or code
        if refusal.status == 413:
            # Answering before the whole body was read would wedge a kept-alive connection
            # (Hypercorn), so a 413 closes it.
            headers["Connection"] = "close"
    else:
        message = refusal.message or getattr(error, "message", None) or str(error)
    return error_response(refusal.status, code, message, headers)


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    415: "unsupported_media_type",
}


def register_error_handlers(app: Quart) -> None:
    kinds: list[type[Exception]] = [ApiError, *REFUSALS]
    for kind in kinds:
        app.register_error_handler(kind, _answer_async)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response | HTTPException:
        status = error.code or 500
        if status == 404 and not request.path.startswith("/api/") and request.path != "/api":
            return error  # the SPA's fallback decides about other paths
        message = {
            404: f"There is no API endpoint at {request.path}.",
            405: f"{request.method} is not allowed on {request.path}.",
        }.get(status, error.description or "Bad request.")
        return error_response(status, _HTTP_CODES.get(status, "http_error"), message)


async def _answer_async(error: Exception) -> Response:
    return _answer(error)


def validation_message(error: Exception) -> str:
    """One line naming each bad field, from a cattrs structuring error."""
    if isinstance(error, cattrs.BaseValidationError):
        lines: list[str] = []
        for message in cattrs.transform_error(error, path="body", format_exception=_describe):
            lines.append(_clean_cattrs_message(message))
        return "; ".join(lines)
    return str(error)


def _describe(error: BaseException, type_: type | None) -> str:
    # Our validators already write "field: what is wrong"; keep their words.
    if type_ is not None and typing.get_origin(type_) is typing.Literal:
        allowed = ", ".join(repr(a) for a in typing.get_args(type_))
        return f"must be one of {allowed}"
    if type(error) is ValueError and str(error):
        return str(error)
    return cattrs.v.format_exception(error, type_)


def _clean_cattrs_message(message: str) -> str:
    # "invalid value for type, expected MediaType @ body.media_type" -> readable
    if " @ " in message:
        what, _, where = message.rpartition(" @ ")
        field = where.removeprefix("body.").removeprefix("body")
        if what.startswith("extra fields found"):
            return f"unknown field(s): {what.split('(')[-1].rstrip(')')}"
        if what == "required field missing":
            return f"{field}: required"
        if ":" in what.split(" ", 1)[0]:  # already "field: message" from a validator
            return what
        return f"{field}: {what}" if field else what
    return message
