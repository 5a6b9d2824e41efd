"""Subscriptions, what each has seen, and the history of its checks. A subscription's settings
are one JSON document; its state (the checker's) has columns."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from ..models import Job, converter
from ..subscriptions.models import CheckItem, CheckRecord, CheckResult, Subscription
from ._base import StoreBase, utc_iso
from ._jobs import INSERT_JOB, job_to_row

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
_SELECT_SUBSCRIPTION = f"SELECT {', '.join(_SUBSCRIPTION_COLUMNS)} FROM subscriptions"


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


class SubscriptionsTable(StoreBase):
    async def insert_subscription(self, sub: Subscription) -> None:
        row = _subscription_to_row(sub)
        sql = (
            f"INSERT INTO subscriptions ({', '.join(row)}) "
            f"VALUES ({', '.join(':' + c for c in row)})"
        )
        await self._call(self._write, lambda db: db.execute(sql, row))

    async def get_subscription(self, subscription_id: str) -> Subscription | None:
        sql = f"{_SELECT_SUBSCRIPTION} WHERE id = ?"

        def query() -> Subscription | None:
            row = self._db.execute(sql, (subscription_id,)).fetchone()
            return None if row is None else _subscription_from_row(row)

        return await self._call(query)

    async def list_subscriptions(self, session_id: str | None = None) -> list[Subscription]:
        """Subscriptions newest first; ``session_id=None`` means everyone's."""
        sql, params = _SELECT_SUBSCRIPTION, []
        if session_id is not None:
            sql, params = f"{sql} WHERE session_id = ?", [session_id]
        sql += " ORDER BY seq DESC"
        return await self._call(
            lambda: [_subscription_from_row(r) for r in self._db.execute(sql, params)]
        )

    async def update_subscription(self, sub: Subscription) -> None:
        """Store ``sub`` as it is now (settings and state; the owner never changes)."""
        row = _subscription_to_row(sub)
        assignments = ", ".join(f"{c} = :{c}" for c in row if c not in ("id", "session_id"))
        sql = f"UPDATE subscriptions SET {assignments} WHERE id = :id"
        await self._call(self._write, lambda db: db.execute(sql, row))

    async def delete_subscription(self, subscription_id: str) -> None:
        """Remove the subscription, what it has seen and its history (not its jobs, not the
        archive)."""

        def statements(db: sqlite3.Connection) -> None:
            for table, column in (
                ("subscription_seen", "subscription_id"),
                ("subscription_checks", "subscription_id"),
                ("subscriptions", "id"),
            ):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (subscription_id,))

        await self._call(self._write, statements)

    async def seen_items(self, subscription_id: str) -> set[str]:
        sql = "SELECT item FROM subscription_seen WHERE subscription_id = ?"
        return await self._call(lambda: {r[0] for r in self._db.execute(sql, (subscription_id,))})

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
        sub_row = _subscription_to_row(sub)
        assignments = ", ".join(f"{c} = :{c}" for c in sub_row if c not in ("id", "session_id"))
        check_row = (
            sub.id,
            utc_iso(record.started_at),
            utc_iso(record.finished_at),
            converter.dumps(record.result),  # type: ignore[attr-defined]
            converter.dumps(record.items),  # type: ignore[attr-defined]
        )

        def statements(db: sqlite3.Connection) -> None:
            exists = db.execute("SELECT 1 FROM subscriptions WHERE id = ?", (sub.id,)).fetchone()
            if exists is None:
                raise LookupError(sub.id)  # deleted while it was being checked
            db.executemany(INSERT_JOB, job_rows)
            db.executemany(
                "INSERT OR REPLACE INTO subscription_seen (subscription_id, item, outcome) "
                "VALUES (?, ?, ?)",
                [(sub.id, item, outcome) for item, outcome in seen],
            )
            db.execute(
                "INSERT INTO subscription_checks "
                "(subscription_id, started_at, finished_at, result, items) VALUES (?, ?, ?, ?, ?)",
                check_row,
            )
            db.execute(
                "DELETE FROM subscription_checks WHERE subscription_id = ? AND seq <= ("
                "SELECT seq FROM subscription_checks WHERE subscription_id = ? "
                "ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (sub.id, sub.id, keep),
            )
            db.execute(f"UPDATE subscriptions SET {assignments} WHERE id = :id", sub_row)

        await self._call(self._write, statements)

    async def check_history(self, subscription_id: str, limit: int = 50) -> list[CheckRecord]:
        """The subscription's last ``limit`` checks, newest first."""
        sql = (
            "SELECT started_at, finished_at, result, items FROM subscription_checks "
            "WHERE subscription_id = ? ORDER BY seq DESC LIMIT ?"
        )

        def query() -> list[CheckRecord]:
            return [
                CheckRecord(
                    dt.datetime.fromisoformat(started),
                    dt.datetime.fromisoformat(finished),
                    converter.loads(result, CheckResult),  # type: ignore[attr-defined]
                    converter.loads(items, list[CheckItem]),  # type: ignore[attr-defined]
                )
                for started, finished, result, items in self._db.execute(
                    sql, (subscription_id, limit)
                )
            ]

        return await self._call(query)
