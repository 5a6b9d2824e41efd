"""Reading what a request sends: JSON bodies and query strings into attrs classes, with errors
that name the field.

Bodies are strict: a misspelt field is an error, not silently ignored, and a string field takes
only a string (``5`` is not ``"5"``). Query strings are all text; a field's type says how to
read it: a whole number (within the bounds its :func:`~.schema.rules` declare), a
comma-separated list of an enum's values, or text.
"""

from __future__ import annotations

import enum
import json
import typing
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.preconf.json import make_converter
from quart import request

from ..download_options import register_hooks
from .errors import EmptyBody, InvalidJson, InvalidRequest, validation_message

__all__ = ["read_json", "read_model", "read_query", "structure_model"]

T = TypeVar("T")

_strict = make_converter(forbid_extra_keys=True)
register_hooks(_strict)


def _only_str(value: object, tp: type[str]) -> str:
    """Text fields (and str enums, which this hook also receives) take only a JSON string."""
    if not isinstance(value, str):
        raise ValueError("a string, please")
    return value if tp is str else tp(value)


_strict.register_structure_hook(str, _only_str)


async def read_json() -> dict[str, Any]:
    """The body as a JSON object, or a 400 that says what is wrong with it."""
    raw = await request.get_data(cache=False, as_text=False, parse_form_data=False)
    if not raw:
        raise EmptyBody("The request needs a JSON object body.")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidJson(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise InvalidJson("The body must be a JSON object.")
    return data


async def read_model(cls: type[T]) -> T:
    return structure_model(await read_json(), cls)


def structure_model(data: dict[str, Any], cls: type[T]) -> T:
    """``data`` as ``cls``, strictly; a 422 naming each bad field."""
    try:
        return _strict.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        raise InvalidRequest(validation_message(exc)) from None


def read_query(cls: type[T]) -> T:
    """The query string as ``cls``: one attrs field per parameter; others are ignored."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in attrs.fields(cls):  # type: ignore[arg-type]
        raw = request.args.get(field.name)
        if raw is None or (raw == "" and field.default is not attrs.NOTHING):
            if field.default is attrs.NOTHING:
                raise InvalidRequest(f"{field.name}: required")
            continue
        values[field.name] = _parse(field, _plain(hints[field.name]), raw)
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest(str(exc)) from None


def _plain(tp: Any) -> Any:
    """``X | None`` -> ``X``."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return args[0] if typing.get_origin(tp) in (typing.Union, type(int | None)) else tp


def _parse(field: attrs.Attribute[Any], tp: Any, raw: str) -> Any:
    rules = field.metadata.get("json_schema", {})
    if tp is int:
        low, high = rules.get("minimum"), rules.get("maximum")
        if (
            not (raw.isascii() and raw.isdigit())
            or (low is not None and int(raw) < low)
            or (high is not None and int(raw) > high)
        ):
            span = f" from {low} to {high}" if low is not None and high is not None else ""
            raise InvalidRequest(f"{field.name}: a whole number{span}")
        return int(raw)
    if typing.get_origin(tp) is tuple:
        kind = typing.get_args(tp)[0]
        assert issubclass(kind, enum.Enum), tp
        try:
            return tuple(kind(part.strip()) for part in raw.split(",") if part.strip())
        except ValueError:
            allowed = ", ".join(str(m.value) for m in kind)
            raise InvalidRequest(f"{field.name}: {raw!r} is not one of {allowed}") from None
    return raw
