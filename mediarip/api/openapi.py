"""``GET /api/openapi.json``: the API described from the same attrs models the code uses.

Schemas are derived from the model classes (field names, types, defaults, required), so the
document cannot drift from what handlers accept and return; the paths below say which model
each endpoint takes and gives.
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
from ..models import PRIVATE_JOB_FIELDS, FormatInfo, Job, JobError, NewJob, PlaylistEntry, UrlInfo

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


_JOB_REF = {"$ref": "#/components/schemas/Job"}
_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
_ERRORS = {"404": _error_response("No such job in your scope")}


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
                    "400": _error_response("Malformed body or refused URL"),
                    "422": _error_response("A field is invalid"),
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
                    "409": _error_response("The job has no file yet"),
                    **_ERRORS,
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
                                "properties": {"url": {"type": "string"}},
                                "required": ["url"],
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json_response(
                        "What the URL holds", {"$ref": "#/components/schemas/UrlInfo"}
                    ),
                    "400": _error_response("Refused URL"),
                    "422": _error_response("Nothing usable at the URL"),
                },
            }
        },
        "/api/formats": {
            "get": {
                "parameters": [
                    {"name": "url", "in": "query", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": _json_response(
                        "Formats",
                        {
                            "type": "object",
                            "properties": {
                                "formats": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/FormatInfo"},
                                }
                            },
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
        "/api/openapi.json": {
            "get": {"responses": {"200": _json_response("This document", {"type": "object"})}}
        },
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
        "info": {"title": "media-rip", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": {
                "Job": _model_schema(Job, exclude=PRIVATE_JOB_FIELDS, response=True),
                "JobError": _model_schema(JobError, response=True),
                "NewJob": _model_schema(NewJob),
                "UrlInfo": _model_schema(UrlInfo, response=True),
                "PlaylistEntry": _model_schema(PlaylistEntry, response=True),
                "FormatInfo": _model_schema(FormatInfo, response=True),
                "Error": error,
            }
        },
    }


@blueprint.get("/api/openapi.json")
async def openapi_json() -> Response:
    return Response(json.dumps(document()), content_type="application/json")
