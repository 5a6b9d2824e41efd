"""The admin side's records: single values (the server secret, the admin's credentials, the API
key), admin sessions (the sha256 of each admin cookie), the settings changed in the panel, and
the error log (one row per failed job)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Mapping

import attrs

from ._base import StoreBase, utc_iso

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
        sql = "SELECT value FROM meta WHERE key = ?"

        def query() -> str | None:
            row = self._db.execute(sql, (key,)).fetchone()
            return None if row is None else str(row[0])

        return await self._call(query)

    async def set_meta(self, key: str, value: str | None) -> None:
        """Store ``value`` under ``key``; None removes it."""
        params: tuple[str, ...]
        if value is None:
            sql, params = "DELETE FROM meta WHERE key = ?", (key,)
        else:
            sql = (
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            )
            params = (key, value)
        await self._call(self._write, lambda db: db.execute(sql, params))

    async def ensure_meta(self, key: str, value: str) -> str:
        """The value stored under ``key``, storing ``value`` first if there is none."""

        def statements(db: sqlite3.Connection) -> str:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
            return str(db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

        stored = await self.get_meta(key)  # no write when it is there (a read-only start)
        if stored is not None:
            return stored
        return await self._call(self._write, statements)

    async def set_admin_credentials(self, values: Mapping[str, str]) -> None:
        """Store the admin's credentials (meta keys) and end every admin session, together:
        a new password never leaves an old admin cookie valid."""

        def statements(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )
            db.execute("DELETE FROM admin_sessions")

        await self._call(self._write, statements)

    # -- admin sessions -----------------------------------------------------------------------

    async def insert_admin_session(
        self, token_hash: str, session: AdminSession, *, expired_before: dt.datetime
    ) -> None:
        """Store an admin session, and forget those created before ``expired_before``."""
        insert = "INSERT INTO admin_sessions (token_hash, created_at, generation) VALUES (?, ?, ?)"
        row = (token_hash, utc_iso(session.created_at), session.generation)
        cutoff = utc_iso(expired_before)

        def statements(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM admin_sessions WHERE created_at < ?", (cutoff,))
            db.execute(insert, row)

        await self._call(self._write, statements)

    async def get_admin_session(self, token_hash: str) -> AdminSession | None:
        sql = "SELECT created_at, generation FROM admin_sessions WHERE token_hash = ?"

        def query() -> AdminSession | None:
            row = self._db.execute(sql, (token_hash,)).fetchone()
            return None if row is None else AdminSession(dt.datetime.fromisoformat(row[0]), row[1])

        return await self._call(query)

    async def delete_admin_session(self, token_hash: str) -> None:
        sql = "DELETE FROM admin_sessions WHERE token_hash = ?"
        await self._call(self._write, lambda db: db.execute(sql, (token_hash,)))

    # -- settings changed in the admin panel --------------------------------------------------

    async def get_setting_overrides(self) -> dict[str, object]:
        """Dotted key -> value, as the admin gave it (JSON)."""
        sql = "SELECT key, value FROM setting_overrides ORDER BY key"
        return await self._call(lambda: {k: json.loads(v) for k, v in self._db.execute(sql)})

    async def set_setting_overrides(
        self, changes: Mapping[str, object], removed: Iterable[str] = ()
    ) -> None:
        """Store ``changes`` and drop the overrides of ``removed``, in one transaction."""
        rows = [(key, json.dumps(value)) for key, value in changes.items()]
        gone = [(key,) for key in removed]

        def statements(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT INTO setting_overrides (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rows,
            )
            db.executemany("DELETE FROM setting_overrides WHERE key = ?", gone)

        await self._call(self._write, statements)

    # -- the error log ------------------------------------------------------------------------

    async def insert_error(self, entry: ErrorEntry) -> None:
        sql = (
            "INSERT INTO error_log (at, job_id, session_id, url, code, message, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        row = (
            utc_iso(entry.at),
            entry.job_id,
            entry.session_id,
            entry.url,
            entry.code,
            entry.message,
            entry.detail,
        )
        await self._call(self._write, lambda db: db.execute(sql, row))

    async def list_errors(self, limit: int) -> list[ErrorEntry]:
        """The newest ``limit`` entries, newest first."""
        sql = (
            "SELECT at, job_id, session_id, url, code, message, detail FROM error_log "
            "ORDER BY seq DESC LIMIT ?"
        )

        def query() -> list[ErrorEntry]:
            return [
                ErrorEntry(dt.datetime.fromisoformat(at), *rest)
                for at, *rest in self._db.execute(sql, (limit,))
            ]

        return await self._call(query)

    async def delete_errors(self, before: dt.datetime | None = None) -> int:
        """Delete the entries older than ``before`` (None: all of them); return how many."""
        params: tuple[str, ...]
        if before is None:
            sql, params = "DELETE FROM error_log", ()
        else:
            sql, params = "DELETE FROM error_log WHERE at < ?", (utc_iso(before),)
        return await self._call(self._write, lambda db: db.execute(sql, params).rowcount)
