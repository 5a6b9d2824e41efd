"""The jobs table: a row is the Job as the one converter of :mod:`mediarip.models` unstructures
it (enums as their values, moments as ISO 8601 strings in UTC, so comparing the strings compares
the times), with ``error`` in two columns (``error_code``, ``error_message``) and collections as
JSON. :data:`JOB_COLUMNS` is derived from the Job's fields, so a new field is a new column by the
same name (and a migration)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..models import Job, JobStatus, converter
from ._archive import ArchiveEntry, insert_archive
from ._base import StoreBase, utc_iso

__all__ = ["INSERT_JOB", "JOB_COLUMNS", "JobsTable", "job_to_row"]


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
_SELECT_JOB = f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs"
INSERT_JOB = (
    f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in JOB_COLUMNS)})"
)


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
        await self._call(self._write, lambda db: db.executemany(INSERT_JOB, rows))

    async def update_job(
        self, job_id: str, *, archive: ArchiveEntry | None = None, **changes: Any
    ) -> None:
        """Change a job; with ``archive``, record it in the download archive in the same
        transaction (a completed job is never left out of the archive)."""
        columns = _changes_to_columns(changes)
        if not columns:
            return
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        sql = f"UPDATE jobs SET {assignments} WHERE id = :_id"

        def statements(db: sqlite3.Connection) -> None:
            db.execute(sql, {**columns, "_id": job_id})
            if archive is not None:
                insert_archive(db, [archive])

        await self._call(self._write, statements)

    async def update_jobs(self, job_ids: Iterable[str], **changes: Any) -> None:
        """The same ``changes`` on many jobs, in one transaction."""
        columns = _changes_to_columns(changes)
        ids = [{**columns, "_id": job_id} for job_id in job_ids]
        if not columns or not ids:
            return
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        sql = f"UPDATE jobs SET {assignments} WHERE id = :_id"
        await self._call(self._write, lambda db: db.executemany(sql, ids))

    async def expand_playlist(
        self, parent_id: str, children: Sequence[Job], **changes: Any
    ) -> None:
        """Turn a job into a playlist parent and insert its children, in one transaction: after
        a crash there is either a parent with all its children or a job still to expand."""
        rows = [job_to_row(job) for job in children]
        columns = _changes_to_columns(changes)
        update = f"UPDATE jobs SET {', '.join(f'{n} = :{n}' for n in columns)} WHERE id = :_id"

        def statements(db: sqlite3.Connection) -> None:
            db.execute(update, {**columns, "_id": parent_id})
            db.executemany(INSERT_JOB, rows)

        await self._call(self._write, statements)

    async def update_jobs_where_status(
        self, statuses: Iterable[JobStatus], **changes: Any
    ) -> list[str]:
        """Set ``changes`` on every job in one of ``statuses``; return their ids."""
        wanted = [s.value for s in statuses]
        columns = _changes_to_columns(changes)
        marks = ", ".join("?" for _ in wanted)
        assignments = ", ".join(f"{name} = ?" for name in columns)

        def statements(db: sqlite3.Connection) -> list[str]:
            ids = [
                r[0] for r in db.execute(f"SELECT id FROM jobs WHERE status IN ({marks})", wanted)
            ]
            db.execute(
                f"UPDATE jobs SET {assignments} WHERE status IN ({marks})",
                [*columns.values(), *wanted],
            )
            return ids

        ids: list[str] = await self._call(self._write, statements)
        return ids

    async def delete_jobs(self, job_ids: Iterable[str]) -> None:
        ids = [(i,) for i in job_ids]
        await self._call(
            self._write, lambda db: db.executemany("DELETE FROM jobs WHERE id = ?", ids)
        )

    async def get_job(self, job_id: str) -> Job | None:
        def query() -> Job | None:
            row = self._db.execute(f"{_SELECT_JOB} WHERE id = ?", (job_id,)).fetchone()
            return None if row is None else _job_from_row(row)

        return await self._call(query)

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
        where: list[str] = []
        params: list[Any] = []
        if isinstance(session_id, frozenset):
            where.append(f"session_id IN ({', '.join('?' for _ in session_id)})")
            params.extend(sorted(session_id))
        elif session_id is not None:
            where.append("session_id = ?")
            params.append(session_id)
        if statuses is not None:
            wanted = [s.value for s in statuses]
            where.append(f"status IN ({', '.join('?' for _ in wanted)})")
            params.extend(wanted)
        if parent_id is not None:
            where.append("parent_id = ?")
            params.append(parent_id)
        if subscription_id is not None:
            where.append("subscription_id = ?")
            params.append(subscription_id)
        if before is not None:
            where.append("seq < (SELECT seq FROM jobs WHERE id = ?)")
            params.append(before)
        sql = (
            _SELECT_JOB + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY seq DESC"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)

        def query() -> list[Job]:
            return [_job_from_row(row) for row in self._db.execute(sql, params)]

        return await self._call(query)

    async def count_jobs(self, statuses: Iterable[JobStatus]) -> int:
        wanted = [s.value for s in statuses]
        sql = f"SELECT count(*) FROM jobs WHERE status IN ({', '.join('?' for _ in wanted)})"
        return await self._call(lambda: int(self._db.execute(sql, wanted).fetchone()[0]))

    # -- for the purge and the admin ----------------------------------------------------------

    async def list_jobs_finished_before(
        self, cutoff: dt.datetime, statuses: Iterable[JobStatus]
    ) -> list[Job]:
        """Jobs in ``statuses`` whose ``finished_at`` is before ``cutoff``, oldest first."""
        wanted = [s.value for s in statuses]
        sql = (
            f"{_SELECT_JOB} WHERE finished_at IS NOT NULL AND finished_at < ? "
            f"AND status IN ({', '.join('?' for _ in wanted)}) ORDER BY finished_at"
        )
        params = [utc_iso(cutoff), *wanted]
        return await self._call(
            lambda: [_job_from_row(row) for row in self._db.execute(sql, params)]
        )

    async def job_counts(self) -> dict[str, int]:
        """How many jobs there are in each status (statuses with none are left out)."""
        sql = "SELECT status, count(*) FROM jobs GROUP BY status"
        return await self._call(lambda: {s: int(n) for s, n in self._db.execute(sql)})
