"""JSON Schema from Python types: the attrs models, their field types and field metadata.

What a type cannot say (a pattern, bounds, a description) is declared next to the field, in
its metadata, with :func:`mediarip.rules.rules`; fields marked :data:`mediarip.rules.PRIVATE`
never leave the server and are left out. A model's schema is named after its
class, or after its ``__schema_name__`` when two classes would share a name.

Answers and requests differ in one way: an answer always carries every field (null when it
has no value) and may grow new ones (no ``additionalProperties``: JSON Schema allows them); a
request needs only the fields without a default, and an unknown field is an error.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from typing import Any

import attrs

__all__ = ["SchemaSet"]

_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean"}


class SchemaSet:
    """Schemas of types, with every attrs model met on the way kept as a named component."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {}

    def of(self, tp: Any, *, request: bool = False) -> dict[str, Any]:
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            args = typing.get_args(tp)
            options = [self.of(a, request=request) for a in args if a is not type(None)]
            schema = options[0] if len(options) == 1 else {"anyOf": options}
            return {"anyOf": [schema, {"type": "null"}]} if type(None) in args else schema
        if origin is typing.Annotated:
            base, *extra = typing.get_args(tp)
            return {**self.of(base, request=request), **{k: v for e in extra for k, v in e.items()}}
        if origin in (list, tuple, frozenset, set):
            return {"type": "array", "items": self.of(typing.get_args(tp)[0], request=request)}
        if origin is dict:
            value = self.of(typing.get_args(tp)[1], request=request)
            return {"type": "object", "additionalProperties": value}
        if origin is typing.Literal:
            return {"enum": list(typing.get_args(tp))}
        if tp is typing.Any or tp is object:
            return {}
        if tp is bytes:
            return {"type": "string", "format": "binary"}
        if tp is dt.datetime:
            return {"type": "string", "format": "date-time"}
        if tp is dt.date:
            return {"type": "string", "format": "date"}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"type": "string", "enum": [m.value for m in tp]}
        if isinstance(tp, type) and attrs.has(tp):
            return {"$ref": f"#/components/schemas/{self.model(tp, request=request)}"}
        if tp in _SIMPLE:
            return {"type": _SIMPLE[tp]}
        if tp is dict:
            return {"type": "object"}
        raise TypeError(f"no JSON schema for {tp!r}: declare it with rules() on the field")

    def model(self, cls: type, *, request: bool = False) -> str:
        """The component name of an attrs class, made on first use."""
        name: str = getattr(cls, "__schema_name__", cls.__name__)
        if name in self.components:
            return name
        self.components[name] = {}  # taken now: a model may refer to itself
        hints = typing.get_type_hints(cls, include_extras=True)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in attrs.fields(cls):
            if field.metadata.get("private"):
                continue
            schema = self.of(hints[field.name], request=request)
            declared = field.metadata.get("json_schema")
            if declared:
                schema = _merge(schema, declared)
            properties[field.name] = schema
            if not request or field.default is attrs.NOTHING:
                required.append(field.name)
        for extra, tp in getattr(cls, "__schema_extra__", {}).items():
            properties[extra] = self.of(tp, request=request)
            required.append(extra)
        self.components[name] = {"type": "object", "properties": properties, "required": required}
        if request:
            self.components[name]["additionalProperties"] = False
        if cls.__doc__:
            self.components[name]["description"] = " ".join(cls.__doc__.split())
        return name


def _merge(schema: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    """Declared keywords apply to the value; for an optional field, to its non-null branch."""
    branches = schema.get("anyOf")
    if branches and branches[-1] == {"type": "null"} and len(branches) == 2:
        return {"anyOf": [{**branches[0], **declared}, branches[1]]}
    return {**schema, **declared}
