"""``/api/presets`` (everyone reads them) and ``/api/admin/presets`` (the admin edits them).

A preset is ``{id, name, media_type?, format_id?, quality?, output_format?, options?}``; the
rules live in :mod:`mediarip.presets`. ``POST`` and ``PATCH`` take ``default: true`` to make a
preset the default (``PATCH`` with ``default: false`` unpicks it).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from quart import Blueprint, Response, request

from ..models import converter
from ..presets import NewPreset, Preset, PresetNotFound, preset_body
from ..store import NameTaken
from .admin import admin_only
from .body import read_json, structure_model
from .context import services
from .errors import ApiError

__all__ = ["blueprint"]

blueprint = Blueprint("presets", __name__)


def _json(data: object, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def _shown(preset: Preset) -> dict[str, Any]:
    data: dict[str, Any] = converter.unstructure(preset)
    return data


def _admin_side(
    handler: Callable[..., Awaitable[Response]],
) -> Callable[..., Awaitable[Response]]:
    """Admin only, and absent (404) when the admin side is off, like the rest of it."""
    guarded = admin_only(handler)

    async def gate(*args: Any, **kwargs: Any) -> Response:
        if not services().auth.enabled:
            raise ApiError(404, "not_found", f"There is no API endpoint at {request.path}.")
        return await guarded(*args, **kwargs)

    gate.__name__ = handler.__name__
    return gate


def _default_flag(body: dict[str, Any]) -> bool | None:
    value = body.pop("default", None)
    if value is not None and not isinstance(value, bool):
        raise ApiError(422, "invalid_request", "default: true or false")
    return value


async def _saving(save: Awaitable[Preset], status: int = 200) -> Response:
    try:
        preset = await save
    except NameTaken:
        raise ApiError(409, "name_taken", "name: another preset already has this name") from None
    except PresetNotFound:
        raise ApiError(404, "preset_not_found", "No such preset.") from None
    return _json(_shown(preset), status)


@blueprint.get("/api/presets")
async def list_presets() -> Response:
    presets, default = await services().presets.list()
    return _json({"presets": [_shown(p) for p in presets], "default": default})


@blueprint.post("/api/admin/presets")
@_admin_side
async def create_preset() -> Response:
    body = await read_json()
    default = _default_flag(body)
    new = structure_model(body, NewPreset)
    return await _saving(services().presets.create(new, default=bool(default)), 201)


@blueprint.patch("/api/admin/presets/<preset_id>")
@_admin_side
async def update_preset(preset_id: str) -> Response:
    """Change the fields given (``null`` clears one), keep the others."""
    body = await read_json()
    default = _default_flag(body)
    book = services().presets
    try:
        current = await book.get(preset_id)
    except PresetNotFound:
        raise ApiError(404, "preset_not_found", "No such preset.") from None
    fields = {"name": current.name, **preset_body(current), **body}
    new = structure_model({k: v for k, v in fields.items() if v is not None}, NewPreset)
    return await _saving(book.update(preset_id, new, default=default))


@blueprint.delete("/api/admin/presets/<preset_id>")
@_admin_side
async def delete_preset(preset_id: str) -> Response:
    try:
        await services().presets.delete(preset_id)
    except PresetNotFound:
        raise ApiError(404, "preset_not_found", "No such preset.") from None
    return Response(b"", status=204)
