"""``GET /api/openapi.json``: the API described from the same attrs models the code uses.

Schemas are derived from the model classes (field names, types, defaults, required), so the
document cannot drift from what handlers accept and return; the paths below say which model
each endpoint takes and gives. NewJob's fields also carry the rules of its validators (the same
patterns), and every operation the answers of the guard (401, and 403 for changes) and of body
reading (400, 413), added in one place (:func:`_with_guard_and_body_errors`).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import types
import typing
from typing import Any

import attrs
from quart import Blueprint, Response

from .. import __version__
from ..auth import ApiKeyState
from ..download_options import (
    SPONSORBLOCK_CATEGORIES,
    Clip,
    DownloadOptions,
    SponsorBlock,
    Subtitles,
)
from ..models import (
    _FORMAT_ID,
    _PLAYLIST_ITEMS,
    _QUALITY,
    _URL_MAX,
    AUDIO_FORMATS,
    PRIVATE_JOB_FIELDS,
    VIDEO_FORMATS,
    FormatInfo,
    Job,
    JobError,
    JobFile,
    NewJob,
    PlaylistEntry,
    UrlInfo,
)
from ..overrides import SettingView
from ..presets import NewPreset, Preset
from ..purge import PurgeReport
from ..reports import DiskUsage, ErrorView, SessionView, StorageReport

__all__ = ["blueprint", "document"]

blueprint = Blueprint("openapi", __name__)


def _type_schema(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        schema = (
            _type_schema(options[0])
            if len(options) == 1
            else {"anyOf": [_type_schema(a) for a in options]}
        )
        if type(None) in typing.get_args(tp):
            schema = {"anyOf": [schema, {"type": "null"}]}
        return schema
    if origin in (list, tuple):
        return {"type": "array", "items": _type_schema(typing.get_args(tp)[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(typing.get_args(tp)[1])}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(tp))}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"type": "string", "enum": [m.value for m in tp]}
    if isinstance(tp, type) and attrs.has(tp):
        return {"$ref": f"#/components/schemas/{tp.__name__}"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if tp in simple:
        return {"type": simple[tp]}
    if tp is dt.datetime:
        return {"type": "string", "format": "date-time"}
    return {}


def _model_schema(
    cls: type, *, exclude: tuple[str, ...] = (), response: bool = False
) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in attrs.fields(cls):
        if field.name in exclude:
            continue
        schema = _type_schema(hints[field.name])
        properties[field.name] = schema
        # In answers every field is always present (null when it has no value).
        if response or field.default is attrs.NOTHING:
            required.append(field.name)
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": response,
    }


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_SAFE_METHODS = ("get", "head", "options")
# What guard.check_request answers before any state-changing handler runs (see guard.py).
_GUARD_RESPONSES = {
    "401": (
        "An API key is set and the request carries none (api_key_required, with "
        "WWW-Authenticate) or a wrong one (invalid_api_key); the web app's own requests "
        "carry their session's CSRF token instead"
    ),
    "403": "A cross-site request (Sec-Fetch-Site or Origin names another site): cross_site",
}
# What reading a request body can answer, for every operation that takes one.
_BODY_RESPONSES = {
    "413": "The body is larger than 2 MiB: body_too_large",
}
_JSON_BODY_RESPONSES = {
    "400": "No body, a body that is not JSON, or JSON that is not an object: "
    "empty_body, invalid_json",
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
# Reads need no key; one that is shown, though, must be the right one (guard.py).
_READ_RESPONSES = {
    "401": (
        "An API key is set and the request shows a wrong one (invalid_api_key); "
        "a read without any key is fine"
    ),
}
_READ_SECURITY: list[dict[str, list[str]]] = [{}, {"apiKey": []}, {"bearer": []}]
# Changes need the key (or the web app's token) only when a key is set: anonymous ({}) is
# allowed otherwise.
_CHANGE_SECURITY: list[dict[str, list[str]]] = [
    {},
    {"apiKey": []},
    {"bearer": []},
    {"csrfToken": []},
]


def _add_error(responses: dict[str, Any], status: str, description: str) -> None:
    """Document an error answer, joining its description to one already there."""
    present = responses.get(status)
    if present is None:
        responses[status] = _error_response(description)
    elif description not in present["description"]:
        joined = f"{present['description']}; or: {description}"
        responses[status] = {**present, "description": joined}  # entries may be shared


def _with_guard_and_body_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation passes the guard: a change needs the API key (when one is set) and must
    not be cross-site, a read must not show a wrong key; and every operation with a body can be
    refused for its size or, for JSON, its syntax."""
    for operations in paths.values():
        for method, operation in operations.items():
            responses = operation["responses"]
            safe = method in _SAFE_METHODS
            operation.setdefault("security", _READ_SECURITY if safe else _CHANGE_SECURITY)
            for status, description in (_READ_RESPONSES if safe else _GUARD_RESPONSES).items():
                _add_error(responses, status, description)
            body = operation.get("requestBody")
            if body is None:
                continue
            for status, description in _BODY_RESPONSES.items():
                _add_error(responses, status, description)
            if "application/json" in body["content"]:
                for status, description in _JSON_BODY_RESPONSES.items():
                    _add_error(responses, status, description)
    return paths


_JOB_REF = {"$ref": "#/components/schemas/Job"}
# The rules NewJob's validators apply (models.py), which the field types alone do not say.
_URL = {
    "type": "string",
    "maxLength": _URL_MAX,
    "pattern": r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]",
    "description": "an http:// or https:// address",
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _new_job_schema() -> dict[str, Any]:
    schema = _model_schema(NewJob)
    schema["properties"].update(
        url=_URL,
        format_id=_nullable({"type": "string", "pattern": _FORMAT_ID.pattern}),
        quality=_nullable({"type": "string", "pattern": _QUALITY.pattern}),
        output_format=_nullable(
            {
                "type": "string",
                "enum": [*VIDEO_FORMATS, *AUDIO_FORMATS],
                "description": "one of the video formats for video, the audio ones for audio",
            }
        ),
        playlist_items=_nullable({"type": "string", "pattern": _PLAYLIST_ITEMS.pattern}),
        preset=_nullable(
            {
                "type": "string",
                "description": (
                    "a preset's id: its fields apply under the ones given here (options one "
                    "by one); left out, the default preset applies; null: no preset"
                ),
            }
        ),
    )
    return schema


def _sponsorblock_schema() -> dict[str, Any]:
    schema = _model_schema(SponsorBlock)
    schema["properties"]["categories"] = {
        "type": "array",
        "items": {"type": "string", "enum": list(SPONSORBLOCK_CATEGORIES)},
    }
    return schema


def _new_preset_schema() -> dict[str, Any]:
    schema = _model_schema(NewPreset)
    schema["properties"]["default"] = {
        "type": "boolean",
        "description": "make it the default preset (PATCH: false unpicks it)",
    }
    return schema


def _queue_paths() -> dict[str, Any]:
    job_id = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    not_found = _error_response("No such job in your scope")
    queue = {
        "type": "object",
        "properties": {"paused": {"type": "boolean"}, "jobs": {"type": "integer"}},
        "required": ["paused"],
    }
    refusal = {
        "type": "object",
        "properties": {
            "url": {},
            "error": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                "required": ["code", "message"],
            },
        },
        "required": ["url", "error"],
    }
    return {
        "/api/downloads/batch": {
            "post": {
                "summary": "One job per URL, all with the same fields (and preset)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "description": (
                                    "a single add's body (NewJob, preset included) with urls "
                                    "(a list, at most 5000) instead of url"
                                ),
                                "properties": {
                                    "urls": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "minItems": 1,
                                        "maxItems": 5000,
                                    }
                                },
                                "required": ["urls"],
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json_response(
                        "The jobs made, and the lines refused with why",
                        {
                            "type": "object",
                            "properties": {
                                "jobs": {"type": "array", "items": _JOB_REF},
                                "refused": {"type": "array", "items": refusal},
                            },
                            "required": ["jobs", "refused"],
                        },
                    ),
                    "422": _error_response("A shared field is invalid, or urls is not a list"),
                    "429": _error_response(
                        "More jobs than the rate limit has left (too_many_jobs; error.fits "
                        "says how many would fit): nothing was added"
                    ),
                },
            }
        },
        "/api/downloads/{job_id}/pause": {
            "post": {
                "summary": "Hold a job (a running one stops, keeping its partial files)",
                "parameters": [job_id],
                "responses": {
                    "200": _json_response("The job", _JOB_REF),
                    "404": not_found,
                    "409": _error_response("The job has ended"),
                },
            }
        },
        "/api/downloads/{job_id}/start": {
            "post": {
                "summary": "A paused job goes back to the queue",
                "parameters": [job_id],
                "responses": {
                    "200": _json_response("The job", _JOB_REF),
                    "404": not_found,
                    "409": _error_response("The job is not paused"),
                },
            }
        },
        "/api/queue": {
            "get": {
                "summary": "Whether your queue is paused",
                "responses": {"200": _json_response("The queue", queue)},
            }
        },
        "/api/queue/pause": {
            "post": {
                "summary": "Pause your queue (new jobs wait paused too)",
                "responses": {"200": _json_response("How many jobs were held", queue)},
            }
        },
        "/api/queue/start": {
            "post": {
                "summary": "Start your queue and every paused job in it",
                "responses": {"200": _json_response("How many jobs were started", queue)},
            }
        },
    }


def _preset_paths() -> dict[str, Any]:
    preset = {"$ref": "#/components/schemas/Preset"}
    body = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewPreset"}}},
    }
    refused = {
        "409": _error_response("Another preset has this name: name_taken"),
        "422": _error_response("A field is invalid; the message names it"),
    }
    missing = {"404": _error_response("No such preset: preset_not_found")}
    preset_id = {"name": "preset_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "/api/presets": {
            "get": {
                "summary": "The presets, and the default one's id",
                "responses": {
                    "200": _json_response(
                        "Presets",
                        {
                            "type": "object",
                            "properties": {
                                "presets": {"type": "array", "items": preset},
                                "default": _nullable({"type": "string"}),
                            },
                            "required": ["presets", "default"],
                        },
                    )
                },
            }
        },
        "/api/admin/presets": {
            "post": _admin(
                {"201": _json_response("The preset", preset), **refused},
                summary="Create a preset",
                requestBody=body,
            )
        },
        "/api/admin/presets/{preset_id}": {
            "patch": _admin(
                {"200": _json_response("The preset", preset), **refused, **missing},
                summary="Change a preset's fields (null clears one)",
                parameters=[preset_id],
                requestBody=body,
            ),
            "delete": _admin(
                {"204": {"description": "Deleted"}, **missing},
                summary="Delete a preset",
                parameters=[preset_id],
            ),
        },
    }


_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
_ERRORS = {"404": _error_response("No such job in your scope")}
_THEME_REF = {"$ref": "#/components/schemas/Theme"}
_THEME_ID = {"name": "theme_id", "in": "path", "required": True, "schema": {"type": "string"}}
_THEME = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,39}$"},
        "name": {"type": "string"},
        "mode": {"type": "string", "enum": ["dark", "light"]},
        "description": {"type": "string"},
        "author": {"type": "string"},
        "builtin": {"type": "boolean"},
        "has_preview": {"type": "boolean"},
    },
    "required": ["id", "name", "mode", "description", "author", "builtin", "has_preview"],
}


@functools.cache
def document() -> dict[str, Any]:
    job_list = {
        "type": "object",
        "properties": {"jobs": {"type": "array", "items": _JOB_REF}},
        "required": ["jobs"],
    }
    paths: dict[str, Any] = {
        "/api/downloads": {
            "post": {
                "summary": "Create a download job",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/NewJob"}}
                    },
                },
                "responses": {
                    "201": _json_response("The job, queued", _JOB_REF),
                    "400": _error_response("Refused URL (blocked_address)"),
                    "422": _error_response(
                        "A field is invalid, or preset names no preset (the message names "
                        "the field, e.g. options.clip.end)"
                    ),
                    "429": _error_response(
                        "Too many new jobs from this session "
                        "(downloads.max_jobs_per_minute): see Retry-After"
                    ),
                },
            },
            "get": {
                "summary": "List jobs in your scope, newest first",
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "comma-separated statuses",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                    {
                        "name": "before",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "a job id: list jobs older than it",
                    },
                ],
                "responses": {
                    "200": _json_response("Jobs", job_list),
                    "422": _error_response("A parameter is invalid"),
                },
            },
        },
        "/api/downloads/{job_id}": {
            "get": {
                "parameters": [_ID],
                "responses": {"200": _json_response("The job", _JOB_REF), **_ERRORS},
            },
            "delete": {
                "parameters": [_ID],
                "responses": {"204": {"description": "Deleted with its files"}, **_ERRORS},
            },
        },
        "/api/downloads/{job_id}/cancel": {
            "post": {
                "parameters": [_ID],
                "responses": {
                    "200": _json_response("The cancelled job", _JOB_REF),
                    "409": _error_response("Already ended"),
                    **_ERRORS,
                },
            },
        },
        "/api/downloads/{job_id}/retry": {
            "post": {
                "parameters": [_ID],
                "responses": {
                    "200": _json_response("The re-queued job", _JOB_REF),
                    "409": _error_response("Not failed or cancelled"),
                    **_ERRORS,
                },
            },
        },
        "/api/downloads/{job_id}/file": {
            "get": {
                "parameters": [_ID],
                "responses": {
                    "200": {
                        "description": "The file as an attachment",
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                    "206": {"description": "A range of the file"},
                    "304": {"description": "Not modified (If-None-Match)"},
                    "409": _error_response("The job has no file yet"),
                    "416": _error_response("The Range is outside the file"),
                    **_ERRORS,
                },
            }
        },
        "/api/downloads/{job_id}/files/{index}": {
            "get": {
                "summary": "One of the job's files, by its place in the job's files list",
                "parameters": [
                    _ID,
                    {
                        "name": "index",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The file as an attachment",
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                    "206": {"description": "A range of the file"},
                    "409": _error_response("The job has no file yet"),
                    "416": _error_response("The Range is outside the file"),
                    "404": _error_response("No such job in your scope, or no such file"),
                },
            }
        },
        "/api/url-info": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"url": _URL},
                                "required": ["url"],
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json_response(
                        "What the URL holds", {"$ref": "#/components/schemas/UrlInfo"}
                    ),
                    "400": _error_response("Refused URL (blocked_address)"),
                    "422": _error_response("Not a usable URL, or nothing usable at it"),
                },
            }
        },
        "/api/formats": {
            "get": {
                "parameters": [{"name": "url", "in": "query", "required": True, "schema": _URL}],
                "responses": {
                    "200": _json_response(
                        "Formats",
                        {
                            "type": "object",
                            "properties": {
                                "formats": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/FormatInfo"},
                                },
                                "subtitles": {"type": "array", "items": {"type": "string"}},
                                "automatic_captions": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                },
                            },
                            "required": ["formats", "subtitles", "automatic_captions"],
                        },
                    ),
                    "400": _error_response("Refused URL"),
                    "422": _error_response("Nothing usable at the URL"),
                },
            }
        },
        "/api/events": {
            "get": {
                "summary": "Server-Sent Events: init, job_update, job_removed, ping",
                "responses": {
                    "200": {
                        "description": "An event stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/api/cookies": {
            "get": {
                "responses": {
                    "200": _json_response(
                        "Whether this session has cookies",
                        {"type": "object", "properties": {"has_cookies": {"type": "boolean"}}},
                    )
                }
            },
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {"file": {"type": "string", "format": "binary"}},
                                "required": ["file"],
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json_response(
                        "Stored",
                        {"type": "object", "properties": {"has_cookies": {"type": "boolean"}}},
                    ),
                    "422": _error_response("Not a cookies.txt"),
                },
            },
            "delete": {"responses": {"204": {"description": "Removed"}}},
        },
        "/api/health": {
            "get": {"responses": {"200": _json_response("Health", {"type": "object"})}}
        },
        "/api/config/public": {
            "get": {
                "responses": {"200": _json_response("Settings the UI needs", {"type": "object"})}
            }
        },
        "/api/themes": {
            "get": {
                "summary": "Built-in and custom themes, and the admin's defaults",
                "responses": {
                    "200": _json_response(
                        "Themes",
                        {
                            "type": "object",
                            "properties": {
                                "themes": {"type": "array", "items": _THEME_REF},
                                "defaults": {
                                    "type": "object",
                                    "properties": {
                                        "dark": {"type": "string"},
                                        "light": {"type": "string"},
                                        "mode": {
                                            "type": "string",
                                            "enum": ["system", "dark", "light"],
                                        },
                                    },
                                    "required": ["dark", "light", "mode"],
                                },
                            },
                            "required": ["themes", "defaults"],
                        },
                    )
                },
            }
        },
        "/api/themes/{theme_id}/theme.css": {
            "get": {
                "summary": "A theme's stylesheet, scoped to :root[data-theme=<id>]",
                "parameters": [_THEME_ID],
                "responses": {
                    "200": {
                        "description": "The stylesheet (ETag, short max-age)",
                        "content": {"text/css": {"schema": {"type": "string"}}},
                    },
                    "304": {"description": "Not modified (If-None-Match)"},
                    "404": _error_response("No such theme"),
                },
            }
        },
        "/api/themes/{theme_id}/preview": {
            "get": {
                "summary": "A theme's preview image",
                "parameters": [_THEME_ID],
                "responses": {
                    "200": {
                        "description": "The image (ETag, short max-age)",
                        "content": {
                            kind: {"schema": {"type": "string", "format": "binary"}}
                            for kind in ("image/png", "image/jpeg", "image/webp")
                        },
                    },
                    "304": {"description": "Not modified (If-None-Match)"},
                    "404": _error_response("No such theme, or it has no preview"),
                },
            }
        },
        "/api/openapi.json": {
            "get": {"responses": {"200": _json_response("This document", {"type": "object"})}}
        },
        **_admin_paths(job_list),
        **_preset_paths(),
        **_queue_paths(),
    }
    error = {
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
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "media-rip",
            "version": __version__,
            "description": (
                "When an API key is set (server.api_key, or generated in the admin panel), "
                "every request that changes something must carry it as "
                "'Authorization: Bearer <key>' or 'X-API-Key: <key>', unless it comes from "
                "this server's web app with its session cookie and CSRF token "
                "(the mrip_csrf cookie echoed in X-CSRF-Token). Reads need no key."
            ),
        },
        "paths": _with_guard_and_body_errors(paths),
        "components": {
            "securitySchemes": _SECURITY_SCHEMES,
            "schemas": {
                "Job": _model_schema(Job, exclude=PRIVATE_JOB_FIELDS, response=True),
                "DownloadOptions": _model_schema(DownloadOptions),
                "Subtitles": _model_schema(Subtitles),
                "SponsorBlock": _sponsorblock_schema(),
                "Clip": _model_schema(Clip),
                "JobFile": _model_schema(JobFile, response=True),
                "Preset": _model_schema(Preset, response=True),
                "NewPreset": _new_preset_schema(),
                "JobError": _model_schema(JobError, response=True),
                "NewJob": _new_job_schema(),
                "UrlInfo": _model_schema(UrlInfo, response=True),
                "PlaylistEntry": _model_schema(PlaylistEntry, response=True),
                "FormatInfo": _model_schema(FormatInfo, response=True),
                "Theme": _THEME,
                "AdminStatus": _ADMIN_STATUS,
                "Setting": _model_schema(SettingView, response=True),
                "SessionView": _model_schema(SessionView, response=True),
                "DiskUsage": _model_schema(DiskUsage, response=True),
                "StorageReport": _model_schema(StorageReport, response=True),
                "ErrorView": _model_schema(ErrorView, response=True),
                "PurgeReport": _model_schema(PurgeReport, response=True),
                "ApiKeyState": _model_schema(ApiKeyState, response=True),
                "Error": error,
            },
        },
    }


# -- /api/admin ----------------------------------------------------------------------------------

_ADMIN_STATUS = {
    "type": "object",
    "properties": {
        "setup_required": {"type": "boolean"},
        "logged_in": {"type": "boolean"},
        "username": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "admin_enabled": {"type": "boolean"},
    },
    "required": ["setup_required", "logged_in", "username", "admin_enabled"],
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _admin(responses: dict[str, Any], **operation: Any) -> dict[str, Any]:
    """An admin operation: it needs the admin cookie, and the admin side can be off."""
    answers = dict(responses)
    _add_error(answers, "401", "Not logged in to the admin panel: admin_login_required")
    _add_error(answers, "404", "The admin side is off (admin.enabled: false)")
    return {**operation, "responses": answers}


def _admin_paths(job_list: dict[str, Any]) -> dict[str, Any]:
    _string = {"type": "string"}
    settings = {
        "type": "object",
        "properties": {"settings": {"type": "object", "additionalProperties": _ref("Setting")}},
        "required": ["settings"],
    }
    key_state = _ref("ApiKeyState")
    new_key = {"allOf": [key_state, {"type": "object", "properties": {"key": _string}}]}
    refusals = {
        "409": _error_response("Pinned by the environment, or read-only in the panel"),
        "422": _error_response("An unknown key or a bad value; the message names it"),
    }
    locked = _error_response("Too many failed attempts: see Retry-After")
    return {
        "/api/admin/status": {
            "get": {
                "summary": "Whether setup is needed and whether you are logged in",
                "responses": {
                    "200": _json_response("Status", _ref("AdminStatus")),
                    "404": _error_response("The admin side is off (admin.enabled: false)"),
                },
            }
        },
        "/api/admin/setup": {
            "post": {
                "summary": "First-run setup with the one-time token from the server log",
                "requestBody": _body(
                    {"token": _string, "username": _string, "password": _string}, ["password"]
                ),
                "responses": {
                    "200": _json_response("Set up, and logged in", _ref("AdminStatus")),
                    "401": _error_response("Wrong setup token"),
                    "403": _error_response("No setup token given"),
                    "404": _error_response("The admin side is off (admin.enabled: false)"),
                    "409": _error_response("Already set up"),
                    "422": _error_response("The password or username breaks a rule"),
                    "429": locked,
                },
            }
        },
        "/api/admin/login": {
            "post": {
                "summary": "Log in: sets the mrip_admin cookie",
                "requestBody": _body(
                    {"username": _string, "password": _string}, ["username", "password"]
                ),
                "responses": {
                    "200": _json_response("Logged in", _ref("AdminStatus")),
                    "401": _error_response("Wrong username or password"),
                    "404": _error_response("The admin side is off (admin.enabled: false)"),
                    "409": _error_response("Setup comes first"),
                    "422": _error_response("A field is missing or not a string"),
                    "429": locked,
                },
            }
        },
        "/api/admin/logout": {
            "post": _admin({"204": {"description": "Logged out"}}, summary="Log out"),
        },
        "/api/admin/password": {
            "post": _admin(
                {
                    "200": _json_response(
                        "Changed; every other admin session has ended",
                        {"type": "object", "properties": {"changed": {"type": "boolean"}}},
                    ),
                    "403": _error_response("The current password is wrong"),
                    "409": _error_response("The password is set in the config"),
                    "422": _error_response("The new password breaks a rule"),
                    "429": locked,
                },
                summary="Change the admin password",
                requestBody=_body({"current": _string, "new": _string}, ["current", "new"]),
            )
        },
        "/api/admin/sessions": {
            "get": _admin(
                {
                    "200": _json_response(
                        "Sessions, most recently seen first",
                        {
                            "type": "object",
                            "properties": {
                                "sessions": {"type": "array", "items": _ref("SessionView")}
                            },
                            "required": ["sessions"],
                        },
                    )
                }
            )
        },
        "/api/admin/sessions/{session_id}/jobs": {
            "get": _admin(
                {
                    "200": _json_response("The session's jobs", job_list),
                    "404": _error_response("No such session: session_not_found"),
                },
                parameters=[
                    {"name": "session_id", "in": "path", "required": True, "schema": _string}
                ],
            )
        },
        "/api/admin/storage": {
            "get": _admin({"200": _json_response("Disk and jobs", _ref("StorageReport"))})
        },
        "/api/admin/errors": {
            "get": _admin(
                {
                    "200": _json_response(
                        "Failed jobs, newest first",
                        {
                            "type": "object",
                            "properties": {"errors": {"type": "array", "items": _ref("ErrorView")}},
                            "required": ["errors"],
                        },
                    ),
                    "422": _error_response("A parameter is invalid"),
                },
                parameters=[
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    }
                ],
            ),
            "delete": _admin(
                {
                    "200": _json_response(
                        "Cleared",
                        {"type": "object", "properties": {"removed": {"type": "integer"}}},
                    )
                }
            ),
        },
        "/api/admin/purge": {
            "post": _admin(
                {"200": _json_response("What was removed", _ref("PurgeReport"))},
                summary="Purge now, whatever purge.enabled says",
            )
        },
        "/api/admin/settings": {
            "get": _admin({"200": _json_response("Every setting but the secrets", settings)}),
            "patch": _admin(
                {"200": _json_response("The settings after the change", settings), **refusals},
                summary="Change settings: {dotted key: value}, all or none",
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
            ),
        },
        "/api/admin/settings/{key}": {
            "delete": _admin(
                {"200": _json_response("The settings after the reset", settings), **refusals},
                summary="Drop the panel's value of a setting",
                parameters=[{"name": "key", "in": "path", "required": True, "schema": _string}],
            )
        },
        "/api/admin/api-key": {
            "get": _admin({"200": _json_response("Whether a key is set (masked)", key_state)}),
            "post": _admin(
                {
                    "201": _json_response("A new key, shown this once", new_key),
                    "409": _error_response("The key is set in the config"),
                },
            ),
            "delete": _admin(
                {
                    "200": _json_response("Revoked", key_state),
                    "409": _error_response("The key is set in the config"),
                },
            ),
        },
    }


@blueprint.get("/api/openapi.json")
async def openapi_json() -> Response:
    return Response(json.dumps(document()), content_type="application/json")
