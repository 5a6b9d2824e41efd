"""``GET /api/openapi.json``: the API described from the app's own routes and their contracts.

Nothing here names an endpoint. The paths are the app's real route table (every rule under
``/api``); each operation is what its handler's contract declares (:mod:`.contract`): the
body and query as the same attrs classes that read them, the answers by status, and the
refusals, each under its status from the one table of :mod:`.errors`, described by its
docstring. On top of that, every operation gets the guard's refusals (an API key that is
missing or wrong, a cross-site change) and its security schemes, which depend only on the
method. A route under ``/api`` without a contract is an error that names it, so a new endpoint
cannot be left out, and a removed one cannot linger.

The document is made once per app, on first request, and served as the same bytes after.
"""

from __future__ import annotations

import json
import re
import typing
from typing import Any

import attrs
from quart import Blueprint, Quart, Response, current_app

from ..version import __version__
from .context import state
from .contract import Answer, Contract, contract_of, endpoint
from .errors import describe
from .guard import REFUSES_CHANGES, REFUSES_READS
from .schema import SchemaSet

__all__ = ["api_routes", "blueprint", "document"]

blueprint = Blueprint("openapi", __name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
_SECURITY_SCHEMES = {
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The API key (server.api_key, or generated in the admin panel)",
    },
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The API key as 'Authorization: Bearer <key>'",
    },
    "csrfToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": (
            "The web app's own requests: the value of the mrip_csrf cookie, sent along with "
            "the mrip_session cookie it belongs to"
        ),
    },
}
# Reads need no key (anonymous: {}); changes need the key or the web app's token only when a
# key is set.
_READ_SECURITY: list[dict[str, list[str]]] = [{}, {"apiKey": []}, {"bearer": []}]
_CHANGE_SECURITY = [*_READ_SECURITY, {"csrfToken": []}]
_DESCRIPTION = (
    "When an API key is set (server.api_key, or generated in the admin panel), every request "
    "that changes something must carry it as 'Authorization: Bearer <key>' or "
    "'X-API-Key: <key>', unless it comes from this server's web app with its session cookie "
    "and CSRF token (the mrip_csrf cookie echoed in X-CSRF-Token). Reads need no key."
)


def api_routes(app: Quart) -> dict[str, dict[str, Any]]:
    """``{openapi path: {method: view function}}`` for every route under ``/api``."""
    routes: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.setdefault(path, {})[method.lower()] = view
    return routes


def _answer(schemas: SchemaSet, answer: Answer) -> dict[str, Any]:
    described: dict[str, Any] = {"description": answer.description}
    if answer.schema is not None:
        schema = schemas.of(answer.schema)
        described["content"] = {media: {"schema": schema} for media in answer.media}
    return described


def _parameters(schemas: SchemaSet, path: str, query: type | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{([^}]+)}", path)
    ]
    hints = typing.get_type_hints(query) if query is not None else {}
    for field in attrs.fields(query) if query is not None else ():
        schema = schemas.of(hints[field.name])
        schema = {**schema, **field.metadata.get("json_schema", {})}
        if "anyOf" in schema:  # a query parameter is absent, never null
            schema = {**schema["anyOf"][0], **{k: v for k, v in schema.items() if k != "anyOf"}}
        parameter = {"name": field.name, "in": "query", "schema": schema}
        parameter["required"] = field.default is attrs.NOTHING
        if schema.get("type") == "array":  # ?status=queued,failed
            parameter.update(style="form", explode=False)
        found.append(parameter)
    return found


def _operation(schemas: SchemaSet, path: str, method: str, contract: Contract) -> dict[str, Any]:
    safe = method.upper() in SAFE_METHODS
    responses = {str(status): _answer(schemas, a) for status, a in contract.answers.items()}
    for kind in (*(REFUSES_READS if safe else REFUSES_CHANGES), *contract.refusals()):
        status, text = describe(kind)
        present = responses.get(str(status))
        if present is None or "content" not in present:
            error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            responses[str(status)] = {"description": text, "content": error}
        elif text not in present["description"]:
            present["description"] += f"; or: {text}"
    operation: dict[str, Any] = {"summary": contract.summary, "responses": responses}
    if parameters := _parameters(schemas, path, contract.query):
        operation["parameters"] = parameters
    if contract.body is not None:
        body = (
            {"type": "object"} if contract.body is dict else schemas.of(contract.body, request=True)
        )
        operation["requestBody"] = {
            "required": contract.body_required,
            "content": {contract.body_media: {"schema": body}},
        }
    operation["security"] = _READ_SECURITY if safe else _CHANGE_SECURITY
    return operation


def document(app: Quart) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``; raises if a route under ``/api`` has no contract."""
    schemas = SchemaSet()
    paths: dict[str, dict[str, Any]] = {}
    for path, methods in api_routes(app).items():
        for method, view in methods.items():
            contract = contract_of(view)
            if contract is None:
                raise LookupError(
                    f"{method.upper()} {path} has no contract: declare it with @endpoint "
                    "(see mediarip/api/contract.py)"
                )
            paths.setdefault(path, {})[method] = _operation(schemas, path, method, contract)
    return {
        "openapi": "3.1.0",
        "info": {"title": "media-rip", "version": __version__, "description": _DESCRIPTION},
        "paths": paths,
        "components": {
            "securitySchemes": _SECURITY_SCHEMES,
            "schemas": {**dict(sorted(schemas.components.items())), "Error": _ERROR},
        },
    }


@blueprint.get("/api/openapi.json")
@endpoint(
    "This document",
    answers={200: Answer("The OpenAPI document of this server", dict[str, Any])},
)
async def openapi_json() -> Response:
    app_state = state()
    if app_state.openapi is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        app_state.openapi = json.dumps(document(app)).encode()
    return Response(app_state.openapi, content_type="application/json")
