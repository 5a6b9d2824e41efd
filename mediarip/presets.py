"""Presets: named sets of what a download can ask for, defined by the admin.

A preset holds any of a new job's fields except the URL (media type, format, quality, output
format, and the download :class:`~mediarip.download_options.DownloadOptions`). A request names
one with ``preset``; the fields it gives itself win over the preset's, and within ``options``
each option it gives wins over the preset's same option (:func:`apply_preset`). A request that
says nothing about ``preset`` gets the default preset, if the admin picked one;
``"preset": null`` asks for none.

Presets are stored in the database (two exist out of the box, see the store's migration 3) and
reached through :class:`PresetBook`, which also checks them: a preset that could not make a
valid job is refused when it is saved, with the field named, not when someone uses it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .download_options import DownloadOptions
from .models import MediaType, NewJob, converter

if TYPE_CHECKING:
    from .store import Store

__all__ = [
    "PRESET_FIELDS",
    "NewPreset",
    "Preset",
    "PresetBook",
    "PresetNotFound",
    "PresetRefused",
    "apply_preset",
    "preset_body",
]

#: The fields of a new job a preset may set.
PRESET_FIELDS = ("media_type", "format_id", "quality", "output_format", "options")
_NAME_MAX = 80
_NAME = re.compile(r"^\S(.*\S)?$")
_CHECK_URL = "https://preset.invalid/"


class PresetNotFound(LookupError):
    """No such preset: preset_not_found."""


class PresetRefused(ValueError):
    """A preset field is invalid, or ``preset`` names no preset; the message names the field:
    invalid_request."""


def _check_name(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value) or len(value) > _NAME_MAX:
        raise ValueError(f"name: 1 to {_NAME_MAX} characters, not blank at either end")


@attrs.frozen
class NewPreset:
    """The body of ``POST /api/admin/presets`` (and a whole preset after a ``PATCH``)."""

    name: str = attrs.field(validator=_check_name)
    media_type: MediaType | None = None
    format_id: str | None = None
    quality: str | None = None
    output_format: str | None = None
    options: DownloadOptions | None = None

    def __attrs_post_init__(self) -> None:
        # The same rules as a job's: a preset that could not make a valid job is refused now.
        NewJob(url=_CHECK_URL, **_job_fields(self))


@attrs.frozen
class Preset:
    """A stored preset, as ``GET /api/presets`` shows it."""

    id: str
    name: str
    media_type: MediaType | None = None
    format_id: str | None = None
    quality: str | None = None
    output_format: str | None = None
    options: DownloadOptions | None = None


def _job_fields(preset: NewPreset | Preset) -> dict[str, Any]:
    return {
        name: getattr(preset, name) for name in PRESET_FIELDS if getattr(preset, name) is not None
    }


def preset_body(preset: NewPreset | Preset) -> dict[str, Any]:
    """A preset's job fields as JSON (no id, no name): what the store keeps, and what a
    ``PATCH`` starts from."""
    body: dict[str, Any] = converter.unstructure(_job_fields(preset))
    return body


def apply_preset(preset: Preset | None, body: Mapping[str, Any]) -> dict[str, Any]:
    """A job request's body with ``preset``'s fields under it: the body's own fields win, and
    within ``options`` each option the body sets wins over the preset's."""
    merged = {k: v for k, v in body.items() if k != "preset"}
    if preset is None:
        return merged
    base: dict[str, Any] = converter.unstructure(_job_fields(preset))
    if isinstance(base.get("options"), dict):
        base["options"] = {k: v for k, v in base["options"].items() if v not in (None, False)}
    for name, value in base.items():
        if name == "options" and isinstance(merged.get("options"), dict):
            merged["options"] = {**value, **merged["options"]}
        elif name not in merged:
            merged[name] = value
    # Choosing "audio" over a video preset also drops the preset's video-only output format.
    if (
        "media_type" in body
        and "output_format" not in body
        and body.get("media_type") != base.get("media_type")
    ):
        merged.pop("output_format", None)
        merged.pop("format_id", None)
    return merged


class PresetBook:
    """The presets in the database: read for every new job, changed by the admin."""

    DEFAULT_KEY = "default_preset"

    def __init__(self, store: Store) -> None:
        self._store = store

    async def list(self) -> tuple[list[Preset], str | None]:
        presets = await self._store.list_presets()
        default = await self._store.get_meta(self.DEFAULT_KEY)
        if default is not None and all(p.id != default for p in presets):
            default = None
        return presets, default

    async def get(self, preset_id: str) -> Preset:
        preset = await self._store.get_preset(preset_id)
        if preset is None:
            raise PresetNotFound(preset_id)
        return preset

    async def for_request(self, body: Mapping[str, Any]) -> Preset | None:
        """The preset a job request asks for: ``preset`` if it names one, none if it is null,
        the default if the request does not mention it. Raises :class:`PresetRefused` (naming
        ``preset``) for an id that does not exist."""
        if "preset" in body:
            wanted = body["preset"]
            if wanted is None:
                return None
            if not isinstance(wanted, str) or not wanted:
                raise PresetRefused("preset: a preset's id (a string), or null for none")
            try:
                return await self.get(wanted)
            except PresetNotFound:
                raise PresetRefused(
                    f"preset: there is no preset {wanted!r} (GET /api/presets lists them)"
                ) from None
        default = await self._store.get_meta(self.DEFAULT_KEY)
        return None if default is None else await self._store.get_preset(default)

    async def create(self, new: NewPreset, *, default: bool = False) -> Preset:
        preset = Preset(id=uuid.uuid4().hex[:12], **attrs.asdict(new, recurse=False))
        await self._store.insert_preset(preset)
        if default:
            await self._store.set_meta(self.DEFAULT_KEY, preset.id)
        return preset

    async def update(self, preset_id: str, new: NewPreset, *, default: bool | None) -> Preset:
        """Replace a preset's fields; ``default`` True/False picks or unpicks it as the
        default, None leaves that alone."""
        await self.get(preset_id)
        updated = Preset(id=preset_id, **attrs.asdict(new, recurse=False))
        await self._store.update_preset(updated)
        if default is True:
            await self._store.set_meta(self.DEFAULT_KEY, preset_id)
        elif default is False and await self._store.get_meta(self.DEFAULT_KEY) == preset_id:
            await self._store.set_meta(self.DEFAULT_KEY, None)
        return updated

    async def delete(self, preset_id: str) -> None:
        await self.get(preset_id)
        await self._store.delete_preset(preset_id)
        if await self._store.get_meta(self.DEFAULT_KEY) == preset_id:
            await self._store.set_meta(self.DEFAULT_KEY, None)
