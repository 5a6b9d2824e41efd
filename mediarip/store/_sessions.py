"""Browser sessions: when each was made and last seen, and what each holds."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from typing import Any

import attrs

from ..models import JobStatus
from ._base import StoreBase, from_iso, iso, utc_iso

__all__ = ["SessionSummary", "SessionsTable"]


@attrs.frozen
class SessionSummary:
    """A session and what it holds: job counts by status and the bytes of its files."""

    id: str
    created_at: dt.datetime | None  # None: jobs remain of a session whose row is gone
    last_seen: dt.datetime | None
    jobs: dict[str, int]
    bytes: int


class SessionsTable(StoreBase):
    async def session_exists(self, session_id: str) -> bool:
        sql = "SELECT 1 FROM sessions WHERE id = ?"
        return await self._call(lambda: self._db.execute(sql, (session_id,)).fetchone() is not None)

    async def touch_session(self, session_id: str, now: dt.datetime) -> None:
        """Create the session, or move its ``last_seen`` to ``now``."""
        sql = (
            "INSERT INTO sessions (id, created_at, last_seen) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen"
        )
        stamp = iso(now)
        await self._call(self._write, lambda db: db.execute(sql, (session_id, stamp, stamp)))

    async def delete_idle_sessions(
        self, idle_since: dt.datetime, *, unless_jobs_in: Iterable[JobStatus] | None = None
    ) -> list[str]:
        """Delete sessions last seen before ``idle_since`` and return their ids. A session
        with jobs is kept: with any job (``unless_jobs_in=None``) or with a job in one of
        ``unless_jobs_in``."""
        where = "s.last_seen < ? AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.session_id = s.id"
        params: list[Any] = [utc_iso(idle_since)]
        if unless_jobs_in is not None:
            wanted = [s.value for s in unless_jobs_in]
            where += f" AND j.status IN ({', '.join('?' for _ in wanted)})"
            params.extend(wanted)
        where += ")"

        def statements(db: sqlite3.Connection) -> list[str]:
            ids = [r[0] for r in db.execute(f"SELECT s.id FROM sessions s WHERE {where}", params)]
            db.executemany("DELETE FROM sessions WHERE id = ?", [(i,) for i in ids])
            return ids

        return await self._call(self._write, statements)

    async def session_summaries(self) -> list[SessionSummary]:
        """Every session (and every session id that still has jobs), most recently seen first."""

        def query() -> list[SessionSummary]:
            rows = self._db.execute(
                "SELECT session_id, status, count(*), coalesce(sum(filesize), 0) "
                "FROM jobs GROUP BY session_id, status"
            ).fetchall()
            counts: dict[str, dict[str, int]] = {}
            sizes: dict[str, int] = {}
            for session_id, status, count, size in rows:
                counts.setdefault(session_id, {})[status] = count
                sizes[session_id] = sizes.get(session_id, 0) + size
            summaries = []
            for session_id, created, seen in self._db.execute(
                "SELECT id, created_at, last_seen FROM sessions"
            ):
                summaries.append(
                    SessionSummary(
                        session_id,
                        from_iso(created),
                        from_iso(seen),
                        counts.pop(session_id, {}),
                        sizes.get(session_id, 0),
                    )
                )
            for session_id, jobs in counts.items():  # jobs whose session row is gone
                summaries.append(SessionSummary(session_id, None, None, jobs, sizes[session_id]))
            epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
            summaries.sort(key=lambda s: s.last_seen or epoch, reverse=True)
            return summaries

        return await self._call(query)
