"""The admin's notification targets: where a job's end (and a subscription's new items) is
told. ``events`` is a JSON list of event names; ``secret`` a webhook's HMAC key."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..notifications.models import Event, Target, TargetKind
from ._base import StoreBase, utc_iso
from ._presets import unique_name

__all__ = ["NotificationsTable"]

_COLUMNS = "id, name, kind, url, secret, events, enabled, created_at"


def _target_row(target: Target) -> tuple[Any, ...]:
    events = json.dumps([event.value for event in target.events])
    return (
        target.id,
        target.name,
        target.kind.value,
        target.url,
        target.secret,
        events,
        int(target.enabled),
    )


def _target(*row: Any) -> Target:
    target_id, name, kind, url, secret, events, enabled, created_at = row
    return Target(
        id=target_id,
        name=name,
        kind=TargetKind(kind),
        url=url,
        events=tuple(Event(e) for e in json.loads(events)),
        secret=secret,
        enabled=bool(enabled),
        created_at=dt.datetime.fromisoformat(created_at),
    )


class NotificationsTable(StoreBase):
    async def list_targets(self) -> list[Target]:
        sql = f"SELECT {_COLUMNS} FROM notification_targets ORDER BY seq"
        return await self._call(lambda: [_target(*row) for row in self._db.execute(sql)])

    async def insert_target(self, target: Target) -> None:
        """Raises :class:`NameTaken` when another target has the name (in any case)."""
        sql = f"INSERT INTO notification_targets ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        params = (*_target_row(target), utc_iso(target.created_at))
        await self._call(self._write, unique_name(lambda db: db.execute(sql, params)))

    async def update_target(self, target: Target) -> None:
        sql = (
            "UPDATE notification_targets SET name = ?, kind = ?, url = ?, secret = ?, "
            "events = ?, enabled = ? WHERE id = ?"
        )
        _id, *rest = _target_row(target)
        await self._call(self._write, unique_name(lambda db: db.execute(sql, (*rest, _id))))

    async def delete_target(self, target_id: str) -> None:
        sql = "DELETE FROM notification_targets WHERE id = ?"
        await self._call(self._write, lambda db: db.execute(sql, (target_id,)))
