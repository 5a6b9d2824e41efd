"""The admin side's records: single values (the server secret, the admin's credentials, the API
key), admin sessions (the sha256 of each admin cookie), the settings changed in the panel, and
the error log (one row per failed job)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping

import attrs
from sqlalchemy import Connection, delete, insert, select

from ._base import StoreBase, utc_iso
from ._schema import admin_sessions, error_log, meta, setting_overrides
from ._sql import insert_ignore, upsert

__all__ = ["AdminSession", "AdminTables", "ErrorEntry"]


@attrs.frozen
class ErrorEntry:
    """One failed job in the error log."""

    at: dt.datetime
    job_id: str
    session_id: str
    url: str
    code: str
    message: str
    #: The whole text of the failure, for the admin (may name server paths).
    detail: str | None = None


@attrs.frozen
class AdminSession:
    created_at: dt.datetime
    generation: str


class AdminTables(StoreBase):
    # -- single values: the server secret, admin credentials, the API key ---------------------

    async def get_meta(self, key: str) -> str | None:
        query = select(meta.c.value).where(meta.c.key == key)
        return await self._read(lambda db: _text_or_none(db.execute(query).scalar()))

    async def set_meta(self, key: str, value: str | None) -> None:
        """Store ``value`` under ``key``; None removes it."""
        if value is None:
            gone = delete(meta).where(meta.c.key == key)
            await self._write(lambda db: db.execute(gone))
        else:
            await self._write(lambda db: upsert(db, meta, {"key": key, "value": value}, ["key"]))

    async def ensure_meta(self, key: str, value: str) -> str:
        """The value stored under ``key``, storing ``value`` first if there is none."""

        def statements(db: Connection) -> str:
            insert_ignore(db, meta, {"key": key, "value": value})
            return str(db.execute(select(meta.c.value).where(meta.c.key == key)).scalar_one())

        stored = await self.get_meta(key)  # no write when it is there (a read-only start)
        if stored is not None:
            return stored
        return await self._write(statements)

    async def set_admin_credentials(self, values: Mapping[str, str]) -> None:
        """Store the admin's credentials (meta keys) and end every admin session, together:
        a new password never leaves an old admin cookie valid."""
        rows = [{"key": key, "value": value} for key, value in values.items()]

        def statements(db: Connection) -> None:
            upsert(db, meta, rows, ["key"])
            db.execute(delete(admin_sessions))

        await self._write(statements)

    # -- admin sessions -----------------------------------------------------------------------

    async def insert_admin_session(
        self, token_hash: str, session: AdminSession, *, expired_before: dt.datetime
    ) -> None:
        """Store an admin session, and forget those created before ``expired_before``."""
        row = {
            "token_hash": token_hash,
            "created_at": utc_iso(session.created_at),
            "generation": session.generation,
        }
        expired = delete(admin_sessions).where(
            admin_sessions.c.created_at < utc_iso(expired_before)
        )

        def statements(db: Connection) -> None:
            db.execute(expired)
            db.execute(insert(admin_sessions).values(row))

        await self._write(statements)

    async def get_admin_session(self, token_hash: str) -> AdminSession | None:
        query = select(admin_sessions.c.created_at, admin_sessions.c.generation).where(
            admin_sessions.c.token_hash == token_hash
        )

        def run(db: Connection) -> AdminSession | None:
            row = db.execute(query).first()
            return None if row is None else AdminSession(dt.datetime.fromisoformat(row[0]), row[1])

        return await self._read(run)

    async def delete_admin_session(self, token_hash: str) -> None:
        gone = delete(admin_sessions).where(admin_sessions.c.token_hash == token_hash)
        await self._write(lambda db: db.execute(gone))

    # -- settings changed in the admin panel --------------------------------------------------

    async def get_setting_overrides(self) -> dict[str, object]:
        """Dotted key -> value, as the admin gave it (JSON)."""
        query = select(setting_overrides.c.key, setting_overrides.c.value).order_by(
            setting_overrides.c.key
        )
        return await self._read(lambda db: {k: json.loads(v) for k, v in db.execute(query)})

    async def set_setting_overrides(
        self, changes: Mapping[str, object], removed: Iterable[str] = ()
    ) -> None:
        """Store ``changes`` and drop the overrides of ``removed``, in one transaction."""
        rows = [{"key": key, "value": json.dumps(value)} for key, value in changes.items()]
        gone = delete(setting_overrides).where(setting_overrides.c.key.in_(list(removed)))

        def statements(db: Connection) -> None:
            upsert(db, setting_overrides, rows, ["key"])
            db.execute(gone)

        await self._write(statements)

    # -- the error log ------------------------------------------------------------------------

    async def insert_error(self, entry: ErrorEntry) -> None:
        row = {**attrs.asdict(entry), "at": utc_iso(entry.at)}
        await self._write(lambda db: db.execute(insert(error_log).values(row)))

    async def list_errors(self, limit: int) -> list[ErrorEntry]:
        """The newest ``limit`` entries, newest first."""
        c = error_log.c
        query = (
            select(c.at, c.job_id, c.session_id, c.url, c.code, c.message, c.detail)
            .order_by(c.seq.desc())
            .limit(limit)
        )

        def run(db: Connection) -> list[ErrorEntry]:
            return [
                ErrorEntry(dt.datetime.fromisoformat(at), *rest) for at, *rest in db.execute(query)
            ]

        return await self._read(run)

    async def delete_errors(self, before: dt.datetime | None = None) -> int:
        """Delete the entries older than ``before`` (None: all of them); return how many."""
        gone = delete(error_log)
        if before is not None:
            gone = gone.where(error_log.c.at < utc_iso(before))
        return await self._write(lambda db: int(db.execute(gone).rowcount))


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)
