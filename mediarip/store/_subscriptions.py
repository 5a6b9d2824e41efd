"""Subscriptions, what each has seen, and the history of its checks. A subscription's settings
are one JSON document; its state (the checker's) has columns."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ..models import Job, converter
from ..subscriptions.models import CheckItem, CheckRecord, CheckResult, Subscription
from ._base import StoreBase, utc_iso
from ._jobs import insert_job_rows, job_to_row
from ._schema import subscription_checks, subscription_seen, subscriptions
from ._sql import upsert

__all__ = ["SubscriptionsTable"]


_SUBSCRIPTION_COLUMNS = [
    "id",
    "session_id",
    "settings",
    "created_at",
    "paused",
    "title",
    "last_check_at",
    "next_check_at",
    "error_code",
    "error_message",
    "failures",
    "checks",
]
_SELECT_SUBSCRIPTION = select(*(subscriptions.c[name] for name in _SUBSCRIPTION_COLUMNS))


def _subscription_to_row(sub: Subscription) -> dict[str, Any]:
    """A subscription as its row: through the one converter; the settings as one JSON
    document, the last error as two columns."""
    data: dict[str, Any] = converter.unstructure(sub)
    error = data.pop("last_error")
    data["settings"] = json.dumps(data["settings"])
    data["created_at"] = utc_iso(sub.created_at)
    data["error_code"] = error["code"] if error else None
    data["error_message"] = error["message"] if error else None
    return data


def _subscription_from_row(row: Sequence[Any]) -> Subscription:
    data = dict(zip(_SUBSCRIPTION_COLUMNS, row, strict=True))
    code, message = data.pop("error_code"), data.pop("error_message")
    data["last_error"] = {"code": code, "message": message or ""} if code else None
    data["settings"] = json.loads(data["settings"])
    data["paused"] = bool(data["paused"])
    return converter.structure(data, Subscription)


def _update(row: dict[str, Any]) -> Any:
    """The statement that stores ``row`` over its subscription (the owner never changes)."""
    changes = {c: v for c, v in row.items() if c not in ("id", "session_id")}
    return update(subscriptions).where(subscriptions.c.id == row["id"]).values(changes)


class SubscriptionsTable(StoreBase):
    async def insert_subscription(self, sub: Subscription) -> None:
        statement = insert(subscriptions).values(_subscription_to_row(sub))
        await self._write(lambda db: db.execute(statement))

    async def get_subscription(self, subscription_id: str) -> Subscription | None:
        query = _SELECT_SUBSCRIPTION.where(subscriptions.c.id == subscription_id)

        def run(db: Connection) -> Subscription | None:
            row = db.execute(query).first()
            return None if row is None else _subscription_from_row(row)

        return await self._read(run)

    async def list_subscriptions(self, session_id: str | None = None) -> list[Subscription]:
        """Subscriptions newest first; ``session_id=None`` means everyone's."""
        query = _SELECT_SUBSCRIPTION
        if session_id is not None:
            query = query.where(subscriptions.c.session_id == session_id)
        query = query.order_by(subscriptions.c.seq.desc())
        return await self._read(lambda db: [_subscription_from_row(r) for r in db.execute(query)])

    async def update_subscription(self, sub: Subscription) -> None:
        """Store ``sub`` as it is now (settings and state; the owner never changes)."""
        statement = _update(_subscription_to_row(sub))
        await self._write(lambda db: db.execute(statement))

    async def delete_subscription(self, subscription_id: str) -> None:
        """Remove the subscription, what it has seen and its history (not its jobs, not the
        archive)."""

        def statements(db: Connection) -> None:
            for table, column in (
                (subscription_seen, subscription_seen.c.subscription_id),
                (subscription_checks, subscription_checks.c.subscription_id),
                (subscriptions, subscriptions.c.id),
            ):
                db.execute(delete(table).where(column == subscription_id))

        await self._write(statements)

    async def seen_items(self, subscription_id: str) -> set[str]:
        query = select(subscription_seen.c.item).where(
            subscription_seen.c.subscription_id == subscription_id
        )
        return await self._read(lambda db: {r[0] for r in db.execute(query)})

    async def record_check(
        self,
        sub: Subscription,
        record: CheckRecord,
        seen: Sequence[tuple[str, str]],
        jobs: Sequence[Job] = (),
        *,
        keep: int = 50,
    ) -> None:
        """Everything one check changes, in one transaction: the jobs it queued, the items it
        dealt with (identity, outcome), its history entry (keeping the last ``keep``), and the
        subscription's new state. After a crash or a cancel, a check happened whole or not at
        all."""
        job_rows = [job_to_row(job) for job in jobs]
        # One row per item, the last outcome winning (as row-by-row upserts would leave it):
        # PostgreSQL refuses to touch one row twice in one statement.
        seen_rows = [
            {"subscription_id": sub.id, "item": item, "outcome": outcome}
            for item, outcome in dict(seen).items()
        ]
        check_row = {
            "subscription_id": sub.id,
            "started_at": utc_iso(record.started_at),
            "finished_at": utc_iso(record.finished_at),
            "result": converter.dumps(record.result),  # type: ignore[attr-defined]
            "items": converter.dumps(record.items),  # type: ignore[attr-defined]
        }
        checks = subscription_checks.c
        # The history beyond the newest ``keep`` entries: at or below the (keep+1)-th's seq.
        oldest_kept = (
            select(checks.seq)
            .where(checks.subscription_id == sub.id)
            .order_by(checks.seq.desc())
            .limit(1)
            .offset(keep)
            .scalar_subquery()
        )
        trim = delete(subscription_checks).where(
            checks.subscription_id == sub.id, checks.seq <= oldest_kept
        )
        exists = select(subscriptions.c.id).where(subscriptions.c.id == sub.id)
        store_sub = _update(_subscription_to_row(sub))

        def statements(db: Connection) -> None:
            if db.execute(exists).first() is None:
                raise LookupError(sub.id)  # deleted while it was being checked
            insert_job_rows(db, job_rows)
            upsert(db, subscription_seen, seen_rows, ["subscription_id", "item"])
            db.execute(insert(subscription_checks).values(check_row))
            db.execute(trim)
            db.execute(store_sub)

        await self._write(statements)

    async def check_history(self, subscription_id: str, limit: int = 50) -> list[CheckRecord]:
        """The subscription's last ``limit`` checks, newest first."""
        checks = subscription_checks.c
        query = (
            select(checks.started_at, checks.finished_at, checks.result, checks["items"])
            .where(checks.subscription_id == subscription_id)
            .order_by(checks.seq.desc())
            .limit(limit)
        )

        def run(db: Connection) -> list[CheckRecord]:
            return [
                CheckRecord(
                    dt.datetime.fromisoformat(started),
                    dt.datetime.fromisoformat(finished),
                    converter.loads(result, CheckResult),  # type: ignore[attr-defined]
                    converter.loads(items, list[CheckItem]),  # type: ignore[attr-defined]
                )
                for started, finished, result, items in db.execute(query)
            ]

        return await self._read(run)
