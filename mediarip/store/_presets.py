"""The admin's presets: a preset's fields as one JSON document, its name unique in any case."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..models import converter
from ..presets import Preset, preset_body
from ._base import StoreBase, iso, now
from ._schema import presets

__all__ = ["NameTaken", "PresetsTable", "unique_name"]


class NameTaken(ValueError):
    """Another preset already has this name: name_taken."""


def unique_name(statements: Callable[[Connection], Any]) -> Callable[[Connection], None]:
    """``statements``, with a unique-name clash said as :class:`NameTaken`. The transaction
    is rolled back on the way out, on either engine."""

    def run(db: Connection) -> None:
        try:
            statements(db)
        except IntegrityError as exc:
            raise NameTaken(str(exc.orig)) from None

    return run


def _preset(preset_id: str, name: str, body: str) -> Preset:
    return converter.structure({**json.loads(body), "id": preset_id, "name": name}, Preset)


_SELECT = select(presets.c.id, presets.c.name, presets.c.body)


class PresetsTable(StoreBase):
    async def list_presets(self) -> list[Preset]:
        query = _SELECT.order_by(presets.c.seq)
        return await self._read(lambda db: [_preset(*row) for row in db.execute(query)])

    async def get_preset(self, preset_id: str) -> Preset | None:
        query = _SELECT.where(presets.c.id == preset_id)

        def run(db: Connection) -> Preset | None:
            row = db.execute(query).first()
            return None if row is None else _preset(*row)

        return await self._read(run)

    async def insert_preset(self, preset: Preset) -> None:
        """Raises :class:`NameTaken` when another preset has the name (in any case)."""
        statement = insert(presets).values(
            id=preset.id,
            name=preset.name,
            body=json.dumps(preset_body(preset)),
            created_at=iso(now()),
        )
        await self._write(unique_name(lambda db: db.execute(statement)))

    async def update_preset(self, preset: Preset) -> None:
        statement = (
            update(presets)
            .where(presets.c.id == preset.id)
            .values(name=preset.name, body=json.dumps(preset_body(preset)))
        )
        await self._write(unique_name(lambda db: db.execute(statement)))

    async def delete_preset(self, preset_id: str) -> None:
        statement = delete(presets).where(presets.c.id == preset_id)
        await self._write(lambda db: db.execute(statement))
