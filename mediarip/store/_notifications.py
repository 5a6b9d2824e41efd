"""The admin's notification targets: where a job's end (and a subscription's new items) is
told. ``events`` is a JSON list of event names; ``secret`` a webhook's HMAC key."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import delete, insert, select, update

from ..notifications.models import Event, Target, TargetKind
from ._base import StoreBase, utc_iso
from ._presets import unique_name
from ._schema import notification_targets as targets

__all__ = ["NotificationsTable"]

_COLUMNS = ("id", "name", "kind", "url", "secret", "events", "enabled", "created_at")
_SELECT = select(*(targets.c[name] for name in _COLUMNS))


def _target_row(target: Target) -> dict[str, Any]:
    """The columns a target's owner may change (all but ``id`` and ``created_at``)."""
    return {
        "name": target.name,
        "kind": target.kind.value,
        "url": target.url,
        "secret": target.secret,
        "events": json.dumps([event.value for event in target.events]),
        "enabled": int(target.enabled),
    }


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
        query = _SELECT.order_by(targets.c.seq)
        return await self._read(lambda db: [_target(*row) for row in db.execute(query)])

    async def insert_target(self, target: Target) -> None:
        """Raises :class:`NameTaken` when another target has the name (in any case)."""
        statement = insert(targets).values(
            id=target.id, created_at=utc_iso(target.created_at), **_target_row(target)
        )
        await self._write(unique_name(lambda db: db.execute(statement)))

    async def update_target(self, target: Target) -> None:
        statement = update(targets).where(targets.c.id == target.id).values(_target_row(target))
        await self._write(unique_name(lambda db: db.execute(statement)))

    async def delete_target(self, target_id: str) -> None:
        statement = delete(targets).where(targets.c.id == target_id)
        await self._write(lambda db: db.execute(statement))
