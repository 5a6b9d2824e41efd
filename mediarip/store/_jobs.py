"""The jobs table: a row is the Job as the one converter of :mod:`mediarip.models` unstructures
it (enums as their values, moments as ISO 8601 strings in UTC, so comparing the strings compares
the times), with ``error`` in two columns (``error_code``, ``error_message``) and collections as
JSON. :data:`JOB_COLUMNS` is derived from the Job's fields, so a new field is a new column by the
same name (and a migration).

The statements are built once per shape (which columns change, which filters a listing has)
and given their values as bound parameters: building a Core statement and its cache key costs
~200 µs, three times what SQLite takes to run a progress write, and these are the store's
busiest paths (see ``bench/store.py``)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import (
    BindParameter,
    Connection,
    Select,
    Update,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from ..models import Job, JobStatus, converter
from ._archive import ArchiveEntry, insert_archive
from ._base import StoreBase, utc_iso
from ._schema import jobs
from ._sql import run_hot, run_hot_many

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
_INSERT_JOB = insert(jobs)
_GET_JOB = _SELECT_JOB.where(jobs.c.id == bindparam("id"))
_IDS_IN: BindParameter[Any] = bindparam("ids", expanding=True)
_STATUSES_IN: BindParameter[Any] = bindparam("statuses", expanding=True)
_DELETE_JOBS = delete(jobs).where(jobs.c.id.in_(_IDS_IN))
_IDS_WITH_STATUS = select(jobs.c.id).where(jobs.c.status.in_(_STATUSES_IN))
_COUNT_WITH_STATUS = select(func.count()).select_from(jobs).where(jobs.c.status.in_(_STATUSES_IN))
_FINISHED_BEFORE = _SELECT_JOB.where(
    jobs.c.finished_at.is_not(None),
    jobs.c.finished_at < bindparam("cutoff"),
    jobs.c.status.in_(_STATUSES_IN),
).order_by(jobs.c.finished_at)
_COUNTS = select(jobs.c.status, func.count()).group_by(jobs.c.status)
#: How many ids go in one ``IN (…)``: well under SQLite's and PostgreSQL's limits on parameters.
_CHUNK = 500


def insert_job_rows(db: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows made by :func:`job_to_row` (in the caller's transaction)."""
    run_hot_many(db, _INSERT_JOB, rows)


def _values(columns: Mapping[str, Any]) -> dict[str, Any]:
    """Column values as the parameters of :func:`_update_where`'s statement."""
    return {f"v_{name}": value for name, value in columns.items()}


@functools.cache
def _update_where(names: tuple[str, ...], where: str) -> Update:
    """``UPDATE jobs SET <names> WHERE <where>`` with every value a parameter (``v_<name>``;
    ``where_id`` for one job, ``where_ids`` or ``where_statuses`` for many: SQLAlchemy keeps
    the columns' own names for the SET clause)."""
    condition = {
        "id": jobs.c.id == bindparam("where_id"),
        "ids": jobs.c.id.in_(bindparam("where_ids", expanding=True)),
        "statuses": jobs.c.status.in_(bindparam("where_statuses", expanding=True)),
    }[where]
    return update(jobs).where(condition).values({n: bindparam(f"v_{n}") for n in names})


@functools.cache
def _listing(
    session: str, statuses: bool, parent: bool, subscription: bool, before: bool, limit: bool
) -> Select[Any]:
    """A listing's statement for the filters it has (``session``: "", "one" or "many")."""
    query = _SELECT_JOB
    if session == "many":
        query = query.where(jobs.c.session_id.in_(bindparam("sessions", expanding=True)))
    elif session == "one":
        query = query.where(jobs.c.session_id == bindparam("session"))
    if statuses:
        query = query.where(jobs.c.status.in_(_STATUSES_IN))
    if parent:
        query = query.where(jobs.c.parent_id == bindparam("parent"))
    if subscription:
        query = query.where(jobs.c.subscription_id == bindparam("subscription"))
    if before:
        older = select(jobs.c.seq).where(jobs.c.id == bindparam("before")).scalar_subquery()
        query = query.where(jobs.c.seq < older)
    query = query.order_by(jobs.c.seq.desc())
    return query.limit(bindparam("limit")) if limit else query


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


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
        statement = _update_where(tuple(columns), "id")
        params = {**_values(columns), "where_id": job_id}

        def statements(db: Connection) -> None:
            run_hot(db, statement, params)
            if archive is not None:
                insert_archive(db, [archive])

        await self._write(statements)

    async def update_jobs(self, job_ids: Iterable[str], **changes: Any) -> None:
        """The same ``changes`` on many jobs, in one transaction."""
        columns = _changes_to_columns(changes)
        ids = list(job_ids)
        if not columns or not ids:
            return
        statement, values = _update_where(tuple(columns), "ids"), _values(columns)

        def statements(db: Connection) -> None:
            for chunk in _chunks(ids):
                db.execute(statement, {**values, "where_ids": chunk})

        await self._write(statements)

    async def expand_playlist(
        self, parent_id: str, children: Sequence[Job], **changes: Any
    ) -> None:
        """Turn a job into a playlist parent and insert its children, in one transaction: after
        a crash there is either a parent with all its children or a job still to expand."""
        rows = [job_to_row(job) for job in children]
        columns = _changes_to_columns(changes)
        statement = _update_where(tuple(columns), "id")
        params = {**_values(columns), "where_id": parent_id}

        def statements(db: Connection) -> None:
            db.execute(statement, params)
            insert_job_rows(db, rows)

        await self._write(statements)

    async def update_jobs_where_status(
        self, statuses: Iterable[JobStatus], **changes: Any
    ) -> list[str]:
        """Set ``changes`` on every job in one of ``statuses``; return their ids."""
        wanted = [s.value for s in statuses]
        columns = _changes_to_columns(changes)
        statement = _update_where(tuple(columns), "statuses")
        params = {**_values(columns), "where_statuses": wanted}

        def statements(db: Connection) -> list[str]:
            ids = [r[0] for r in db.execute(_IDS_WITH_STATUS, {"statuses": wanted})]
            db.execute(statement, params)
            return ids

        return await self._write(statements)

    async def delete_jobs(self, job_ids: Iterable[str]) -> None:
        ids = list(job_ids)

        def statements(db: Connection) -> None:
            for chunk in _chunks(ids):
                db.execute(_DELETE_JOBS, {"ids": chunk})

        await self._write(statements)

    async def get_job(self, job_id: str) -> Job | None:
        def run(db: Connection) -> Job | None:
            row = run_hot(db, _GET_JOB, {"id": job_id})
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
        params: dict[str, Any] = {
            "session": session_id,
            "parent": parent_id,
            "subscription": subscription_id,
            "before": before,
            "limit": limit,
        }
        if isinstance(session_id, frozenset):
            params["sessions"] = sorted(session_id)
        if statuses is not None:
            params["statuses"] = [s.value for s in statuses]
        query = _listing(
            "many" if isinstance(session_id, frozenset) else "one" if session_id else "",
            statuses is not None,
            parent_id is not None,
            subscription_id is not None,
            before is not None,
            limit is not None,
        )
        used = {key: value for key, value in params.items() if value is not None}
        return await self._read(lambda db: [_job_from_row(row) for row in db.execute(query, used)])

    async def count_jobs(self, statuses: Iterable[JobStatus]) -> int:
        wanted = [s.value for s in statuses]
        return await self._read(
            lambda db: int(db.execute(_COUNT_WITH_STATUS, {"statuses": wanted}).scalar_one())
        )

    # -- for the purge and the admin ----------------------------------------------------------

    async def list_jobs_finished_before(
        self, cutoff: dt.datetime, statuses: Iterable[JobStatus]
    ) -> list[Job]:
        """Jobs in ``statuses`` whose ``finished_at`` is before ``cutoff``, oldest first."""
        params = {"cutoff": utc_iso(cutoff), "statuses": [s.value for s in statuses]}
        return await self._read(
            lambda db: [_job_from_row(row) for row in db.execute(_FINISHED_BEFORE, params)]
        )

    async def job_counts(self) -> dict[str, int]:
        """How many jobs there are in each status (statuses with none are left out)."""
        return await self._read(lambda db: {s: int(n) for s, n in db.execute(_COUNTS)})
