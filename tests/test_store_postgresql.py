"""PostgreSQL's own failures, as the store reports them: a server that drops its connections
and one whose disk is full are storage problems people can act on, not crashes."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg import errors
from sqlalchemy.exc import OperationalError

from mediarip.models import Job, new_job_id, utcnow
from mediarip.store import (
    DatabaseFull,
    DatabaseUnreachable,
    StorageFull,
    StorageUnavailable,
    Store,
)
from mediarip.store._errors import storage_error
from tests.postgres import TEMPLATE, Cluster


def _job() -> Job:
    return Job(id=new_job_id(), session_id="s1", url="https://example.com/v", created_at=utcnow())


async def test_a_dropped_connection_is_storage_unavailable_and_the_next_call_reconnects(
    postgres: Cluster,
) -> None:
    url = postgres.new_database(TEMPLATE)
    name = url.rsplit("/", 1)[1]
    async with Store.open(url) as store:
        job = _job()
        await store.insert_jobs([job])
        assert await store.get_job(job.id) == job  # a pooled connection now sits idle
        # the server ends every connection to the database (what a restart does to them)
        with psycopg.connect(postgres.url(), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        with pytest.raises(StorageUnavailable) as raised:
            await store.get_job(job.id)
        assert isinstance(raised.value, DatabaseUnreachable)
        assert "database.url" in raised.value.message
        assert isinstance(store.problem, DatabaseUnreachable)
        # the next call opens a fresh connection; a write clears the problem
        assert await store.get_job(job.id) == job
        await store.update_job(job.id, progress=50.0)
        assert store.problem is None


async def test_an_unreachable_server_at_start_says_so(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnreachable):  # nothing listens on port 1
        async with Store.open("postgresql://nobody@127.0.0.1:1/none"):
            pass


def test_a_full_disk_on_postgresql_is_the_same_as_sqlites(tmp_path: Path) -> None:
    """SQLSTATE 53100 (disk_full), as psycopg raises it and SQLAlchemy wraps it."""
    full = errors.DiskFull("could not extend file: No space left on device")
    assert full.sqlstate == "53100"
    wrapped = OperationalError("INSERT …", {}, full)
    problem = storage_error(wrapped, tmp_path)
    assert isinstance(problem, StorageFull) and isinstance(problem, DatabaseFull)
    assert "database.url" in problem.message
    # other errors stay errors
    clash = errors.UniqueViolation("duplicate key")
    assert storage_error(OperationalError("INSERT …", {}, clash), tmp_path) is None
