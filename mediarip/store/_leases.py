"""Job leases: the cluster's queue (issue 16).

A worker *claims* jobs: it picks active jobs nobody holds, oldest first, locking their rows
with ``FOR UPDATE SKIP LOCKED`` (rows another claim has locked are passed over, never waited
for), and writes a lease for each that runs out ``seconds`` later by the database's clock. It
renews its leases while the jobs run and drops them when they end. A worker that dies stops
renewing; once its leases have run out, the next claim takes those jobs over (their status is
put back to ``queued``: the new worker resumes them from their partial files).

A playlist's items are claimed together: one worker keeps the playlist's tally (its progress
and status come from its items), so whoever claims an item also takes every other item of that
playlist that nobody holds.

The clock is the database's: ``expires`` is seconds since the epoch as the database server
counts them, so the hosts' clocks need not agree. On SQLite (one process, where leases only
serve the tests of this module and a single box never claims) the same statements run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    and_,
    cast,
    delete,
    func,
    literal,
    select,
    update,
)

from ..models import ACTIVE_STATUSES, Job, JobKind, JobStatus
from ._base import StoreBase
from ._jobs import _SELECT_JOB, _job_from_row
from ._schema import job_leases, jobs
from ._sql import upsert

__all__ = ["LeasesTable"]

_ACTIVE = sorted(ACTIVE_STATUSES)


def _now(db: Connection) -> ColumnElement[float]:
    """Seconds since the epoch, by the database's clock."""
    if db.dialect.name == "postgresql":
        return cast(func.extract("epoch", func.clock_timestamp()), Float)
    return (func.julianday("now") - literal(2440587.5)) * literal(86400.0)


def _held(db: Connection) -> Any:
    """The ids of the jobs under a lease that has not run out."""
    return select(job_leases.c.job_id).where(job_leases.c.expires > _now(db))


def _lease(db: Connection, owner: str, job_ids: Sequence[str], seconds: float) -> None:
    if not job_ids:
        return
    expires = db.execute(select(_now(db) + literal(seconds))).scalar_one()
    rows = [{"job_id": job_id, "owner": owner, "expires": expires} for job_id in job_ids]
    upsert(db, job_leases, rows, ["job_id"])


class LeasesTable(StoreBase):
    async def claim_jobs(self, owner: str, limit: int, seconds: float) -> list[Job]:
        """Up to ``limit`` active jobs nobody holds (oldest first; a playlist item brings the
        playlist's other free items along), leased to ``owner`` for ``seconds``. Jobs that were
        running under a lease that ran out come back ``queued``."""

        def statements(db: Connection) -> list[Job]:
            free = and_(
                jobs.c.status.in_(_ACTIVE),
                jobs.c.kind == JobKind.SINGLE.value,
                jobs.c.id.not_in(_held(db)),
            )
            picked = select(jobs.c.id, jobs.c.parent_id).where(free)
            first = db.execute(
                picked.order_by(jobs.c.seq).limit(limit).with_for_update(skip_locked=True, of=jobs)
            ).all()
            ids = [row.id for row in first]
            parents = sorted({row.parent_id for row in first if row.parent_id is not None})
            if parents:
                siblings = db.execute(
                    picked.where(jobs.c.parent_id.in_(parents), jobs.c.id.not_in(ids))
                    .order_by(jobs.c.seq)
                    .with_for_update(skip_locked=True, of=jobs)
                ).all()
                ids += [row.id for row in siblings]
            if not ids:
                return []
            _lease(db, owner, ids, seconds)
            # Taken over from a worker that stopped renewing: back to the queue's state.
            db.execute(
                update(jobs)
                .where(jobs.c.id.in_(ids), jobs.c.status != JobStatus.QUEUED.value)
                .values(status=JobStatus.QUEUED.value, speed=None, eta=None)
            )
            rows = db.execute(_SELECT_JOB.where(jobs.c.id.in_(ids)).order_by(jobs.c.seq)).all()
            return [_job_from_row(row) for row in rows]

        return await self._write(statements)

    async def lease_jobs(self, owner: str, job_ids: Sequence[str], seconds: float) -> None:
        """Lease ``job_ids`` to ``owner`` whoever held them (the items a worker has just made
        of a playlist it runs: leased before their rows exist, so no other worker takes one)."""
        await self._write(lambda db: _lease(db, owner, list(job_ids), seconds))

    async def take_lease(self, owner: str, job_id: str, seconds: float) -> bool:
        """Lease one job to ``owner`` if nobody else holds it: True if ``owner`` holds it now
        (a web node that stops a job no worker has claimed yet)."""

        def statements(db: Connection) -> bool:
            row = db.execute(
                select(jobs.c.id).where(jobs.c.id == job_id).with_for_update(of=jobs)
            ).first()
            if row is None:
                return False
            holder = db.execute(
                select(job_leases.c.owner).where(
                    job_leases.c.job_id == job_id, job_leases.c.expires > _now(db)
                )
            ).scalar_one_or_none()
            if holder is not None and holder != owner:
                return False
            _lease(db, owner, [job_id], seconds)
            return True

        return await self._write(statements)

    async def renew_leases(self, owner: str, job_ids: Iterable[str], seconds: float) -> list[str]:
        """Extend ``owner``'s leases of ``job_ids``; the ids it no longer holds (another worker
        took them over after they ran out, or a web node stopped them): their runs here must
        stop. A lease of ours that ran out but that nobody took is still ours."""
        wanted = sorted(set(job_ids))

        def statements(db: Connection) -> list[str]:
            mine = set(
                db.execute(
                    select(job_leases.c.job_id).where(
                        job_leases.c.job_id.in_(wanted), job_leases.c.owner == owner
                    )
                ).scalars()
            )
            _lease(db, owner, sorted(mine), seconds)
            return [job_id for job_id in wanted if job_id not in mine]

        return await self._write(statements) if wanted else []

    async def release_leases(self, owner: str, job_ids: Iterable[str]) -> None:
        """Drop ``owner``'s leases of ``job_ids`` (their runs have ended)."""
        ids = sorted(set(job_ids))
        if not ids:
            return
        await self._write(
            lambda db: db.execute(
                delete(job_leases).where(job_leases.c.job_id.in_(ids), job_leases.c.owner == owner)
            )
        )

    async def lease_holders(self, job_ids: Iterable[str]) -> dict[str, str]:
        """Who holds each of ``job_ids`` under a lease that has not run out."""
        ids = sorted(set(job_ids))

        def query(db: Connection) -> dict[str, str]:
            rows = db.execute(
                select(job_leases.c.job_id, job_leases.c.owner).where(
                    job_leases.c.job_id.in_(ids), job_leases.c.expires > _now(db)
                )
            ).all()
            return {row.job_id: row.owner for row in rows}

        return await self._read(query) if ids else {}

    # -- messages between the processes of a cluster (PostgreSQL's NOTIFY) ---------------------

    async def notify(self, channel: str, payloads: Sequence[str]) -> None:
        """Send ``payloads`` on ``channel``, in order, in one round trip (PostgreSQL only: on
        SQLite there is no one else to tell)."""
        if self.dialect != "postgresql" or not payloads:
            return
        statement = select(*(func.pg_notify(channel, payload) for payload in payloads))
        await self._read(lambda db: db.execute(statement).all())

    def listener_conninfo(self) -> str:
        """libpq's connection string for a listening connection of its own (PostgreSQL)."""
        url = self._engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)
