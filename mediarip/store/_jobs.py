"""The jobs table: a row is the Job as the one converter of :mod:`mediarip.models` unstructures
it (enums as their values, moments as ISO 8601 strings in UTC, so comparing the strings compares
the times), with ``error`` in two columns (``error_code``, ``error_message``) and collections as
JSON. :data:`JOB_COLUMNS` is derived from the Job's fields, so a new field is a new column by the
same name (and a migration)."""

from __future__ import annotations

import datetime as dt
import json
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import Connection, delete, func, insert, select, update

from ..models import Job, JobStatus, converter
from ._archive import ArchiveEntry, insert_archive
from ._base import StoreBase, utc_iso
from ._schema import jobs

__all__ = ["JOB_COLUMNS", "JobsTable", "insert_job_rows", "job_to_row"]


def _columns_of(field: attrs.Attribute[Any]) -> tuple[str, ...]:
    return ("error_code", "error_message") if field.name == "error" else (field.name,)


#: The jobs table's columns, from the Job's fields.
JOB_COLUMNS: tuple[str, ...] = tuple(c for f in attrs.fields(Job) for c in _columns_of(f))
_JOB_FIELDS = attrs.fields_dict(attrs.resolve_types(Job))
_SCALARS = (str, int, float, bool, dt.datetime)
# Fields whose values are collections: stored as JSON text.
_JSON_FIELDS = frozenset(
    name
    for name, field in _JOB_FIELDS.items()
    if name != "error"
    and not all(
        t is type(None) or (isinstance(t, type) and issubclass(t, _SCALARS))
        for t in (typing.get_args(field.type) or (field.type,))
    )
)
_SELECT_JOB = select(*(jobs.c[name] for name in JOB_COLUMNS))
#: How many ids go in one ``IN (…)``: well under SQLite's and PostgreSQL's limits on parameters.
_CHUNK = 500


def insert_job_rows(db: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows made by :func:`job_to_row` (in the caller's transaction)."""
    if rows:
        db.execute(insert(jobs), list(rows))


def _to_column(name: str, value: Any) -> Any:
    plain = converter.unstructure(value)
    return json.dumps(plain) if name in _JSON_FIELDS and plain is not None else plain


def job_to_row(job: Job) -> dict[str, Any]:
    return _changes_to_columns(
        {field.name: getattr(job, field.name) for field in attrs.fields(Job)}
    )


def _job_from_row(row: Sequence[Any]) -> Job:
    data = dict(zip(JOB_COLUMNS, row, strict=True))
    code, message = data.pop("error_code"), data.pop("error_message")
    data["error"] = {"code": code, "message": message or ""} if code else None
    for name in _JSON_FIELDS:
        if data[name] is not None:
            data[name] = json.loads(data[name])
    return converter.structure(data, Job)


def _changes_to_columns(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Job field changes (as :func:`attrs.evolve` would take them) to column values."""
    columns: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "error":
            columns["error_code"] = value.code if value else None
            columns["error_message"] = value.message if value else None
        elif name in _JOB_FIELDS:
            columns[name] = _to_column(name, value)
        else:
            raise KeyError(f"not a stored job field: {name}")
    return columns


class JobsTable(StoreBase):
    async def insert_jobs(self, jobs: Iterable[Job]) -> None:
        """Insert jobs in one transaction: all of them, or none."""
        rows = [job_to_row(job) for job in jobs]
        await self._write(lambda db: insert_job_rows(db, rows))

    async def update_job(
        self, job_id: str, *, archive: ArchiveEntry | None = None, **changes: Any
    ) -> None:
        """Change a job; with ``archive``, record it in the download archive in the same
        transaction (a completed job is never left out of the archive)."""
        columns = _changes_to_columns(changes)
        if not columns:
            return
        statement = update(jobs).where(jobs.c.id == job_id).values(columns)

        def statements(db: Connection) -> None:
            db.execute(statement)
            if archive is not None:
                insert_archive(db, [archive])

        await self._write(statements)

    async def update_jobs(self, job_ids: Iterable[str], **changes: Any) -> None:
        """The same ``changes`` on many jobs, in one transaction."""
        columns = _changes_to_columns(changes)
        ids = list(job_ids)
        if not columns or not ids:
            return

        def statements(db: Connection) -> None:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                db.execute(update(jobs).where(jobs.c.id.in_(chunk)).values(columns))

        await self._write(statements)

    async def expand_playlist(
        self, parent_id: str, children: Sequence[Job], **changes: Any
    ) -> None:
        """Turn a job into a playlist parent and insert its children, in one transaction: after
        a crash there is either a parent with all its children or a job still to expand."""
        rows = [job_to_row(job) for job in children]
        statement = update(jobs).where(jobs.c.id == parent_id).values(_changes_to_columns(changes))

        def statements(db: Connection) -> None:
            db.execute(statement)
            insert_job_rows(db, rows)

        await self._write(statements)

    async def update_jobs_where_status(
        self, statuses: Iterable[JobStatus], **changes: Any
    ) -> list[str]:
        """Set ``changes`` on every job in one of ``statuses``; return their ids."""
        wanted = [s.value for s in statuses]
        columns = _changes_to_columns(changes)
        found = select(jobs.c.id).where(jobs.c.status.in_(wanted))
        statement = update(jobs).where(jobs.c.status.in_(wanted)).values(columns)

        def statements(db: Connection) -> list[str]:
            ids = [r[0] for r in db.execute(found)]
            db.execute(statement)
            return ids

        return await self._write(statements)

    async def delete_jobs(self, job_ids: Iterable[str]) -> None:
        ids = list(job_ids)

        def statements(db: Connection) -> None:
            for start in range(0, len(ids), _CHUNK):
                db.execute(delete(jobs).where(jobs.c.id.in_(ids[start : start + _CHUNK])))

        await self._write(statements)

    async def get_job(self, job_id: str) -> Job | None:
        query = _SELECT_JOB.where(jobs.c.id == job_id)

        def run(db: Connection) -> Job | None:
            row = db.execute(query).first()
            return None if row is None else _job_from_row(row)

        return await self._read(run)

    async def list_jobs(
        self,
        *,
        session_id: str | frozenset[str] | None = None,
        statuses: Iterable[JobStatus] | None = None,
        parent_id: str | None = None,
        limit: int | None = None,
        before: str | None = None,
        subscription_id: str | None = None,
    ) -> list[Job]:
        """Jobs newest first; ``session_id=None`` means every session's, a set those
        sessions'."""
        query = _SELECT_JOB
        if isinstance(session_id, frozenset):
            query = query.where(jobs.c.session_id.in_(sorted(session_id)))
        elif session_id is not None:
            query = query.where(jobs.c.session_id == session_id)
        if statuses is not None:
            query = query.where(jobs.c.status.in_([s.value for s in statuses]))
        if parent_id is not None:
            query = query.where(jobs.c.parent_id == parent_id)
        if subscription_id is not None:
            query = query.where(jobs.c.subscription_id == subscription_id)
        if before is not None:
            query = query.where(
                jobs.c.seq < select(jobs.c.seq).where(jobs.c.id == before).scalar_subquery()
            )
        query = query.order_by(jobs.c.seq.desc())
        if limit is not None:
            query = query.limit(limit)
        return await self._read(lambda db: [_job_from_row(row) for row in db.execute(query)])

    async def count_jobs(self, statuses: Iterable[JobStatus]) -> int:
        wanted = [s.value for s in statuses]
        query = select(func.count()).select_from(jobs).where(jobs.c.status.in_(wanted))
        return await self._read(lambda db: int(db.execute(query).scalar_one()))

    # -- for the purge and the admin ----------------------------------------------------------

    async def list_jobs_finished_before(
        self, cutoff: dt.datetime, statuses: Iterable[JobStatus]
    ) -> list[Job]:
        """Jobs in ``statuses`` whose ``finished_at`` is before ``cutoff``, oldest first."""
        query = _SELECT_JOB.where(
            jobs.c.finished_at.is_not(None),
            jobs.c.finished_at < utc_iso(cutoff),
            jobs.c.status.in_([s.value for s in statuses]),
        ).order_by(jobs.c.finished_at)
        return await self._read(lambda db: [_job_from_row(row) for row in db.execute(query)])

    async def job_counts(self) -> dict[str, int]:
        """How many jobs there are in each status (statuses with none are left out)."""
        query = select(jobs.c.status, func.count()).group_by(jobs.c.status)
        return await self._read(lambda db: {s: int(n) for s, n in db.execute(query)})
