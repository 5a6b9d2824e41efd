"""The store: schema, journal choice, what it keeps and returns (on SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import attrs
import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from mediarip.models import Job, JobError, JobKind, JobStatus, MediaType, new_job_id, utcnow
from mediarip.store import JOB_COLUMNS, MIGRATIONS, Store, choose_journal_mode, filesystem_of

MOUNTS = """\
/dev/vda1 / ext4 rw,relatime 0 0
server:/export /srv/media nfs4 rw,relatime 0 0
//nas/share /mnt/nas cifs rw 0 0
"""


def _job(**changes: object) -> Job:
    return attrs.evolve(
        Job(id=new_job_id(), session_id="s1", url="https://example.com/v", created_at=utcnow()),
        **changes,
    )


def test_network_filesystems_get_the_delete_journal() -> None:
    assert filesystem_of(Path("/srv/media/data"), MOUNTS) == "nfs4"
    assert filesystem_of(Path("/mnt/nas/x"), MOUNTS) == "cifs"
    assert filesystem_of(Path("/home/me"), MOUNTS) == "ext4"
    assert choose_journal_mode("nfs4") == "DELETE"
    assert choose_journal_mode("cifs") == "DELETE"
    assert choose_journal_mode("ext4") == "WAL"


async def test_a_new_database_is_migrated_and_uses_wal(tmp_path: Path) -> None:
    async with Store.open(tmp_path / "db.sqlite3") as store:
        assert store.journal_mode == "WAL"
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"jobs_by_session", "jobs_by_status", "jobs_by_parent"} <= indexes


async def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(RuntimeError, match="newer than this mediarip"):
        async with Store.open(tmp_path / "db.sqlite3"):
            pass


async def test_jobs_round_trip_with_every_field(database: Path | str) -> None:
    job = _job(
        kind=JobKind.PLAYLIST,
        title="Ünïcode title",
        status=JobStatus.FAILED,
        media_type=MediaType.AUDIO,
        output_format="mp3",
        progress=42.5,
        downloaded_bytes=5_000_000_000,  # past 2 GiB: a long video
        total_bytes=6_000_000_000,
        filesize=6_000_000_000,
        error=JobError("not_found", "gone"),
        started_at=utcnow(),
    )
    async with Store.open(database) as store:
        await store.insert_jobs([job])
        assert await store.get_job(job.id) == job
    async with Store.open(database) as store:  # and it survives a reopen
        assert await store.get_job(job.id) == job


async def test_listing_is_newest_first_scoped_filtered_and_paged(database: Path | str) -> None:
    mine = [_job() for _ in range(5)]
    theirs = _job(session_id="s2")
    async with Store.open(database) as store:
        for job in [*mine, theirs]:
            await store.insert_jobs([job])
        await store.update_job(mine[0].id, status=JobStatus.COMPLETED)
        listed = await store.list_jobs(session_id="s1")
        assert [j.id for j in listed] == [j.id for j in reversed(mine)]
        assert len(await store.list_jobs()) == 6
        done = await store.list_jobs(session_id="s1", statuses=[JobStatus.COMPLETED])
        assert [j.id for j in done] == [mine[0].id]
        page = await store.list_jobs(session_id="s1", limit=2, before=mine[3].id)
        assert [j.id for j in page] == [mine[2].id, mine[1].id]


async def test_expanding_a_playlist_is_one_transaction(database: Path | str) -> None:
    parent = _job()
    async with Store.open(database) as store:
        await store.insert_jobs([parent])
        duplicate = _job(parent_id=parent.id)
        children = [_job(parent_id=parent.id), duplicate, attrs.evolve(duplicate, url="x")]
        with pytest.raises(IntegrityError):  # the third child reuses an id
            await store.expand_playlist(parent.id, children, kind=JobKind.PLAYLIST)
        assert (await store.get_job(parent.id)) == parent  # nothing half-done
        assert await store.list_jobs(parent_id=parent.id) == []


async def test_sessions_are_created_and_touched(database: Path | str) -> None:
    async with Store.open(database) as store:
        assert not await store.session_exists("abc")
        await store.touch_session("abc", utcnow())
        await store.touch_session("abc", utcnow())
        assert await store.session_exists("abc")


async def test_every_job_field_has_its_column(database: Path | str) -> None:
    """The jobs table holds what the Job declares: the columns come from its fields."""
    async with Store.open(database) as store:
        columns = await store._read(lambda db: {c["name"] for c in inspect(db).get_columns("jobs")})
    assert columns == {*JOB_COLUMNS, "seq"}  # seq: the store's own order of insertion
    fields = {field.name for field in attrs.fields(Job)} - {"error"}
    assert fields | {"error_code", "error_message"} == set(JOB_COLUMNS)
