"""Browser sessions: when each was made and last seen, and what each holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import attrs
from sqlalchemy import Connection, delete, exists, func, select

from ..models import JobStatus
from ._base import StoreBase, from_iso, iso, utc_iso
from ._schema import jobs, sessions
from ._sql import upsert

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
        query = select(sessions.c.id).where(sessions.c.id == session_id)
        return await self._read(lambda db: db.execute(query).first() is not None)

    async def touch_session(self, session_id: str, now: dt.datetime) -> None:
        """Create the session, or move its ``last_seen`` to ``now``."""
        stamp = iso(now)
        row = {"id": session_id, "created_at": stamp, "last_seen": stamp}
        # Only last_seen changes on a conflict: created_at stays the first visit's.
        await self._write(lambda db: upsert(db, sessions, row, ["id"], ["last_seen"]))

    async def delete_idle_sessions(
        self, idle_since: dt.datetime, *, unless_jobs_in: Iterable[JobStatus] | None = None
    ) -> list[str]:
        """Delete sessions last seen before ``idle_since`` and return their ids. A session
        with jobs is kept: with any job (``unless_jobs_in=None``) or with a job in one of
        ``unless_jobs_in``."""
        has_jobs = select(jobs.c.seq).where(jobs.c.session_id == sessions.c.id)
        if unless_jobs_in is not None:
            has_jobs = has_jobs.where(jobs.c.status.in_([s.value for s in unless_jobs_in]))
        query = select(sessions.c.id).where(
            sessions.c.last_seen < utc_iso(idle_since), ~exists(has_jobs)
        )

        def statements(db: Connection) -> list[str]:
            ids = [r[0] for r in db.execute(query)]
            for start in range(0, len(ids), 500):
                db.execute(delete(sessions).where(sessions.c.id.in_(ids[start : start + 500])))
            return ids

        return await self._write(statements)

    async def session_summaries(self) -> list[SessionSummary]:
        """Every session (and every session id that still has jobs), most recently seen first."""
        by_status = select(
            jobs.c.session_id,
            jobs.c.status,
            func.count(),
            func.coalesce(func.sum(jobs.c.filesize), 0),
        ).group_by(jobs.c.session_id, jobs.c.status)
        every_session = select(sessions.c.id, sessions.c.created_at, sessions.c.last_seen)

        def query(db: Connection) -> list[SessionSummary]:
            counts: dict[str, dict[str, int]] = {}
            sizes: dict[str, int] = {}
            for session_id, status, count, size in db.execute(by_status).all():
                counts.setdefault(session_id, {})[status] = int(count)
                sizes[session_id] = sizes.get(session_id, 0) + int(size)
            summaries = []
            for session_id, created, seen in db.execute(every_session):
                summaries.append(
                    SessionSummary(
                        session_id,
                        from_iso(created),
                        from_iso(seen),
                        counts.pop(session_id, {}),
                        sizes.get(session_id, 0),
                    )
                )
            for session_id, found in counts.items():  # jobs whose session row is gone
                summaries.append(SessionSummary(session_id, None, None, found, sizes[session_id]))
            epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
            summaries.sort(key=lambda s: s.last_seen or epoch, reverse=True)
            return summaries

        return await self._read(query)
