"""Reading what a request sends: JSON bodies and query strings into attrs classes, with errors
that name the field.

Bodies are strict: a misspelt field is an error, not silently ignored, and a string field takes
only a string (``5`` is not ``"5"``). Query strings are all text; a field's type says how to
read it: a whole number (within the bounds its :func:`~.schema.rules` declare), a
comma-separated list of an enum's values, or text.
"""

from __future__ import annotations

import enum
import functools
import json
import typing
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.preconf.json import make_converter
from quart import request

from ..download_options import register_hooks
from ..rules import rules
from .errors import EmptyBody, InvalidJson, InvalidRequest, validation_message

__all__ = ["flag", "is_set", "read_json", "read_model", "read_query", "structure_model"]

T = TypeVar("T")

_strict = make_converter(forbid_extra_keys=True)
register_hooks(_strict)


def _only_str(value: object, tp: type[str]) -> str:
    """Text fields (and str enums, which this hook also receives) take only a JSON string."""
    if not isinstance(value, str):
        raise ValueError("a string, please")
    return value if tp is str else tp(value)


_strict.register_structure_hook(str, _only_str)


#: How deep a body's arrays and objects may nest (the deepest real body nests 4 levels).
MAX_DEPTH = 32


async def read_json() -> dict[str, Any]:
    """The body as a JSON object, or a 400 that says what is wrong with it.

    Strict: UTF-8 only (``json.loads`` would also guess UTF-16 and UTF-32), no lone UTF-16
    surrogates in strings (``"\\ud800"`` is valid JSON but no text: it cannot be stored or
    shown), and at most :data:`MAX_DEPTH` levels of nesting (a body nested 100,000 levels deep
    exhausted the parser's recursion)."""
    raw = await request.get_data(cache=False, as_text=False, parse_form_data=False)
    if not raw:
        raise EmptyBody("The request needs a JSON object body.")
    return parse_json(raw)


def parse_json(raw: bytes) -> dict[str, Any]:
    """:func:`read_json` on bytes already read."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson(
            f"The body is not UTF-8 (byte {exc.start} cannot start a character); send JSON "
            "in UTF-8."
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidJson(f"The body is not valid JSON: {exc}.") from None
    except RecursionError:  # deeper than the interpreter's recursion limit
        raise InvalidJson(_TOO_DEEP) from None
    if not isinstance(data, dict):
        raise InvalidJson("The body must be a JSON object.")
    _check_strings_and_depth(data)
    return data


_TOO_DEEP = f"The body nests arrays or objects more than {MAX_DEPTH} levels deep."


def _check_strings_and_depth(data: Any) -> None:
    """Refuse a lone surrogate in any string (naming where: ``body.url``) and nesting past
    :data:`MAX_DEPTH`; iterative, so no body can exhaust the stack here."""
    stack: list[tuple[str, int, Any]] = [("body", 1, data)]
    while stack:
        path, depth, value = stack.pop()
        if isinstance(value, str):
            if not _encodable(value):
                raise InvalidJson(
                    f"{path}: a lone UTF-16 surrogate (like \\ud800) is not text; send valid "
                    "Unicode."
                )
            continue
        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            raise InvalidJson(_TOO_DEEP)
        if isinstance(value, dict):
            for key, item in value.items():
                if not _encodable(key):
                    raise InvalidJson(
                        f"{path}: a key holds a lone UTF-16 surrogate (like \\ud800); send "
                        "valid Unicode."
                    )
                stack.append((f"{path}.{key}", depth + 1, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", depth + 1, item) for i, item in enumerate(value))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    values: dict[str, Any] = {}
    for field, tp in _query_fields(cls):  # type: ignore[arg-type]
        raw = request.args.get(field.name)
        if raw is None or (raw == "" and field.default is not attrs.NOTHING):
            if field.default is attrs.NOTHING:
                raise InvalidRequest(f"{field.name}: required")
            continue
        values[field.name] = _parse(field, tp, raw)
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest(str(exc)) from None


@functools.cache
def _query_fields(cls: type) -> tuple[tuple[attrs.Attribute[Any], Any], ...]:
    """Each query field with its plain type, worked out once per class: resolving the type
    hints took ~11 % of a ``GET /api/downloads`` (a 100-job list) when done per request."""
    hints = typing.get_type_hints(cls)
    return tuple((f, _plain(hints[f.name])) for f in attrs.fields(cls))


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


def _check_flag(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in ("true", "false", "1", "0"):
        raise ValueError(f"{attribute.name}: true or false")


def flag(description: str) -> Any:
    """A true/false query parameter, false unless given: kept as the text it came as (a query
    string is text), checked, and read with :func:`is_set`."""
    return attrs.field(
        default="false", validator=_check_flag, metadata=rules(description=description)
    )


def is_set(value: str) -> bool:
    """Whether a :func:`flag` parameter was given as true."""
    return value in ("true", "1")
