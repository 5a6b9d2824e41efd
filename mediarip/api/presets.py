"""``/api/presets`` (everyone reads them) and ``/api/admin/presets`` (the admin edits them).

A preset is ``{id, name, media_type?, format_id?, quality?, output_format?, options?}``; the
rules live in :mod:`mediarip.presets`. ``POST`` and ``PATCH`` take ``default: true`` to make a
preset the default (``PATCH`` with ``default: false`` unpicks it).
"""

from __future__ import annotations

from typing import Any

import attrs
from quart import Blueprint, Response

from ..presets import NewPreset, Preset, PresetNotFound, preset_body
from ..rules import rules
from ..store import NameTaken
from .admin import ADMIN
from .body import structure_model
from .context import services
from .contract import Answer, endpoint
from .errors import InvalidRequest

__all__ = ["blueprint"]

blueprint = Blueprint("presets", __name__)


@attrs.frozen
class PresetList:
    presets: list[Preset]
    default: str | None = attrs.field(metadata=rules(description="the default preset's id"))


@attrs.frozen
class PresetRequest:
    """A preset's fields as the admin sends them (``PATCH``: only those to change; ``null``
    clears one), and whether it is the default."""

    name: str | None = None
    media_type: str | None = None
    format_id: str | None = None
    quality: str | None = None
    output_format: str | None = None
    options: dict[str, Any] | None = None
    default: bool | None = attrs.field(
        default=None, metadata=rules(description="true: make it the default; false: unpick it")
    )


def _default_flag(body: dict[str, Any]) -> bool | None:
    value = body.pop("default", None)
    if value is not None and not isinstance(value, bool):
        raise InvalidRequest("default: true or false")
    return value


@blueprint.get("/api/presets")
@endpoint("The presets, and the default one's id", answers={200: Answer("Presets", PresetList)})
async def list_presets() -> PresetList:
    presets, default = await services().presets.list()
    return PresetList(presets, default)


@blueprint.post("/api/admin/presets")
@endpoint(
    "Create a preset",
    body=PresetRequest,
    raw_body=True,
    answers={201: Answer("The preset", Preset)},
    refuses=(NameTaken,),
    requires=ADMIN,
)
async def create_preset(body: dict[str, Any]) -> Preset:
    default = _default_flag(body)
    new = structure_model(body, NewPreset)
    return await services().presets.create(new, default=bool(default))


@blueprint.patch("/api/admin/presets/<preset_id>")
@endpoint(
    "Change a preset's fields (null clears one), keeping the others",
    body=PresetRequest,
    raw_body=True,
    answers={200: Answer("The preset", Preset)},
    refuses=(PresetNotFound, NameTaken),
    requires=ADMIN,
)
async def update_preset(preset_id: str, body: dict[str, Any]) -> Preset:
    default = _default_flag(body)
    book = services().presets
    current = await book.get(preset_id)
    fields = {"name": current.name, **preset_body(current), **body}
    new = structure_model({k: v for k, v in fields.items() if v is not None}, NewPreset)
    return await book.update(preset_id, new, default=default)


@blueprint.delete("/api/admin/presets/<preset_id>")
@endpoint(
    "Delete a preset",
    answers={204: Answer("Deleted")},
    refuses=(PresetNotFound,),
    requires=ADMIN,
)
async def delete_preset(preset_id: str) -> Response:
    await services().presets.delete(preset_id)
    return Response(b"", status=204)
