"""JSON errors: one exception type for handlers to raise, and the handlers that render it."""

from __future__ import annotations

import json
import typing
from typing import Any

import cattrs
from quart import Quart, Response, request
from werkzeug.exceptions import HTTPException

from ..engine import Conflict, JobNotFound, ProbeFailed

__all__ = ["ApiError", "error_response", "register_error_handlers"]


class ApiError(Exception):
    """Raise in a handler to answer ``{"error": {"code", "message"}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status=status, content_type="application/json", headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
}


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(ApiError)
    async def api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message, error.headers)

    @app.errorhandler(JobNotFound)
    async def job_not_found(error: JobNotFound) -> Response:
        return error_response(404, "job_not_found", "No such job.")

    @app.errorhandler(Conflict)
    async def conflict(error: Conflict) -> Response:
        return error_response(409, "conflict", str(error))

    @app.errorhandler(ProbeFailed)
    async def probe_failed(error: ProbeFailed) -> Response:
        status = 400 if error.error.code == "blocked_address" else 422
        return error_response(status, error.error.code, error.error.message)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response | HTTPException:
        status = error.code or 500
        if status == 404 and not request.path.startswith("/api/") and request.path != "/api":
            return error  # the SPA's fallback decides about other paths
        message = {
            404: f"There is no API endpoint at {request.path}.",
            405: f"{request.method} is not allowed on {request.path}.",
        }.get(status, error.description or "Bad request.")
        # Answering before the whole body was read would wedge a kept-alive connection
        # (Hypercorn), so a 413 closes it.
        headers = {"Connection": "close"} if status == 413 else None
        return error_response(status, _HTTP_CODES.get(status, "http_error"), message, headers)


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


def field_error(error: Any) -> ApiError:
    return ApiError(422, "invalid_request", validation_message(error))
