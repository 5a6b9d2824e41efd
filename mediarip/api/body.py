"""Reading request bodies: JSON objects into attrs classes, with errors that name the field."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import cattrs
from cattrs.preconf.json import make_converter
from quart import request

from ..download_options import register_hooks
from .errors import ApiError, validation_message

__all__ = ["read_json", "read_model", "structure_model"]

T = TypeVar("T")

# Requests are strict: a misspelt field is an error, not silently ignored.
_strict = make_converter(forbid_extra_keys=True)
register_hooks(_strict)


async def read_json() -> dict[str, Any]:
    """The body as a JSON object, or a 400/415 that says what is wrong with it."""
    raw = await request.get_data(cache=False, as_text=False, parse_form_data=False)
    if not raw:
        raise ApiError(400, "empty_body", "The request needs a JSON object body.")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return data


async def read_model(cls: type[T]) -> T:
    return structure_model(await read_json(), cls)


def structure_model(data: dict[str, Any], cls: type[T]) -> T:
    """``data`` as ``cls``, strictly; a 422 naming each bad field."""
    try:
        return _strict.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        raise ApiError(422, "invalid_request", validation_message(exc)) from None
