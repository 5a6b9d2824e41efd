"""The admin's presets: a preset's fields as one JSON document, its name unique in any case."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from ..models import converter
from ..presets import Preset, preset_body
from ._base import StoreBase, iso, now

__all__ = ["NameTaken", "PresetsTable", "unique_name"]


class NameTaken(ValueError):
    """Another preset already has this name: name_taken."""


def unique_name(statements: Callable[[sqlite3.Connection], Any]) -> Callable[..., None]:
    def run(db: sqlite3.Connection) -> None:
        try:
            statements(db)
        except sqlite3.IntegrityError as exc:
            raise NameTaken(str(exc)) from None

    return run


def _preset(preset_id: str, name: str, body: str) -> Preset:
    return converter.structure({**json.loads(body), "id": preset_id, "name": name}, Preset)


class PresetsTable(StoreBase):
    async def list_presets(self) -> list[Preset]:
        sql = "SELECT id, name, body FROM presets ORDER BY seq"
        return await self._call(lambda: [_preset(*row) for row in self._db.execute(sql)])

    async def get_preset(self, preset_id: str) -> Preset | None:
        sql = "SELECT id, name, body FROM presets WHERE id = ?"

        def query() -> Preset | None:
            row = self._db.execute(sql, (preset_id,)).fetchone()
            return None if row is None else _preset(*row)

        return await self._call(query)

    async def insert_preset(self, preset: Preset) -> None:
        """Raises :class:`NameTaken` when another preset has the name (in any case)."""
        sql = "INSERT INTO presets (id, name, body, created_at) VALUES (?, ?, ?, ?)"
        params = (preset.id, preset.name, json.dumps(preset_body(preset)), iso(now()))
        await self._call(self._write, unique_name(lambda db: db.execute(sql, params)))

    async def update_preset(self, preset: Preset) -> None:
        sql = "UPDATE presets SET name = ?, body = ? WHERE id = ?"
        params = (preset.name, json.dumps(preset_body(preset)), preset.id)
        await self._call(self._write, unique_name(lambda db: db.execute(sql, params)))

    async def delete_preset(self, preset_id: str) -> None:
        sql = "DELETE FROM presets WHERE id = ?"
        await self._call(self._write, lambda db: db.execute(sql, (preset_id,)))
