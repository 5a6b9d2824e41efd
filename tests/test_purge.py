"""The purge (SPEC §8, issue 5): what goes, what stays, and the schedule, with real files.

Each test runs the real store (on SQLite and on PostgreSQL), broker and download service on a
temporary folder, puts jobs,
sessions and files in place, and runs the real purge. The schedule's tests run on trio's mock
clock (``autojump_clock``) with a wall clock that follows it, so a day of cron passes at once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from mediarip.api.wire import job_events_to
from mediarip.broker import Broker, Mailbox
from mediarip.config import Settings
from mediarip.cookies import cookie_path, save_cookies
from mediarip.engine import DownloadService
from mediarip.models import Job, JobKind, JobStatus, new_job_id
from mediarip.purge import PurgeSchedule, run_purge
from mediarip.store import ErrorEntry, Store
from tests.conftest import make_settings

# The schedule's tests start at 00:07 on a fixed day; "*/15 * * * *" fires at 00:15, 00:30 ...
START = dt.datetime(2030, 1, 1, 0, 7, tzinfo=dt.UTC)
NOW = START  # what the one-shot tests pass as the run's time
COOKIES = "# Netscape HTTP Cookie File\nexample.com\tFALSE\t/\tFALSE\t0\tname\tvalue\n"


def ago(**delta: float) -> dt.datetime:
    return NOW - dt.timedelta(**delta)


def virtual_wall_clock() -> dt.datetime:
    """The wall clock as trio's (mock) clock moves it."""
    return START + dt.timedelta(seconds=trio.current_time())


@attrs.define
class World:
    """What the purge works on, and a way to look at it."""

    settings: Settings
    store: Store
    downloads: DownloadService
    broker: Broker

    @property
    def downloads_dir(self) -> Path:
        return Path(self.settings.downloads.output_dir)

    @property
    def data_dir(self) -> Path:
        return Path(self.settings.server.data_dir)

    async def add(
        self,
        status: JobStatus,
        finished: dt.datetime | None = None,
        *,
        file: str | None = None,
        size: int = 1000,
        session_id: str = "s1",
        **fields: Any,
    ) -> Job:
        """A job in the store; with ``file``, a real file of ``size`` bytes there too."""
        job = Job(
            id=new_job_id(),
            session_id=session_id,
            url="https://example.com/v",
            created_at=(finished or NOW) - dt.timedelta(minutes=5),
            status=status,
            finished_at=finished,
            filename=file,
            filesize=size if file else None,
            **fields,
        )
        if file is not None:
            path = self.downloads_dir / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x" * size)
        await self.store.insert_jobs([job])
        return job

    async def session(self, session_id: str, last_seen: dt.datetime, cookies: bool = True) -> Path:
        await self.store.touch_session(session_id, last_seen)
        path = cookie_path(self.data_dir, session_id)
        if cookies:
            save_cookies(path, COOKIES)
        return path

    async def ids(self) -> set[str]:
        return {job.id for job in await self.store.list_jobs()}


@asynccontextmanager
async def world(
    database: Path | str, tmp_path: Path, env: Mapping[str, str] | None = None
) -> AsyncIterator[World]:
    """The store (on either engine: ``database``), broker and download service."""
    settings = make_settings(tmp_path, env)
    Path(settings.downloads.output_dir).mkdir(parents=True)
    async with Store.open(database) as store:
        broker = Broker()
        async with DownloadService.open(store, job_events_to(broker), settings) as downloads:
            yield World(settings, store, downloads, broker)


def listen(broker: Broker) -> Mailbox:
    """A subscriber, as an open page is, from now on."""
    return broker.subscribe(None, broker.last_event_id)


async def removed_ids(mailbox: Mailbox) -> list[str]:
    """The ids of the ``job_removed`` events that reached ``mailbox``."""
    batch = await mailbox.next_batch(ping_after=0)
    assert isinstance(batch, list)
    ids = []
    for event in batch:
        fields = dict(line.split(": ", 1) for line in event.frame.decode().splitlines() if line)
        if fields["event"] == "job_removed":
            ids.append(json.loads(fields["data"])["id"])
    return ids


# -- what one run removes -----------------------------------------------------------------------


async def test_old_finished_jobs_go_with_their_files_and_the_folders_left_empty(
    tmp_path: Path,
    database: Path | str,
) -> None:
    async with world(database, tmp_path) as w:  # purge.max_age_minutes: 1440 by default
        old_done = await w.add(JobStatus.COMPLETED, ago(days=2), file="show/s01/e01.mp4", size=700)
        old_failed = await w.add(JobStatus.FAILED, ago(days=3))
        old_cancelled = await w.add(JobStatus.CANCELLED, ago(hours=25))
        kept_done = await w.add(JobStatus.COMPLETED, ago(hours=23), file="show/e02.mp4")
        running = await w.add(JobStatus.DOWNLOADING, started_at=ago(days=5))
        queued = await w.add(JobStatus.QUEUED)
        mailbox = listen(w.broker)

        report = await run_purge(w, NOW)

        assert attrs.asdict(report) == {
            "jobs": 3,
            "files": 1,
            "bytes": 700,
            "sessions": 0,
            "errors": 0,
        }
        assert await w.ids() == {kept_done.id, running.id, queued.id}
        assert not (w.downloads_dir / "show" / "s01").exists()  # emptied, so removed
        assert (w.downloads_dir / "show" / "e02.mp4").is_file()  # a neighbour stays
        assert w.downloads_dir.is_dir()
        assert sorted(await removed_ids(mailbox)) == sorted(
            [old_done.id, old_failed.id, old_cancelled.id]
        )


async def test_the_downloads_folder_itself_stays_when_everything_goes(
    tmp_path: Path, database: Path | str
) -> None:
    async with world(database, tmp_path) as w:
        await w.add(JobStatus.COMPLETED, ago(days=2), file="a/b/c/only.mp4")
        await run_purge(w, NOW)
        assert w.downloads_dir.is_dir() and list(w.downloads_dir.iterdir()) == []


async def test_a_playlist_goes_whole_and_never_while_a_child_is_active(
    tmp_path: Path, database: Path | str
) -> None:
    async with world(database, tmp_path) as w:
        done = await w.add(JobStatus.COMPLETED, ago(days=2), kind=JobKind.PLAYLIST)
        done_children = [
            await w.add(
                JobStatus.COMPLETED, ago(days=2, minutes=i), file=f"list/{i}.mp3", parent_id=done.id
            )
            for i in range(3)
        ]
        busy = await w.add(JobStatus.COMPLETED, ago(days=2), kind=JobKind.PLAYLIST)
        busy_children = [
            await w.add(JobStatus.COMPLETED, ago(days=2), file="busy/1.mp3", parent_id=busy.id),
            await w.add(JobStatus.QUEUED, parent_id=busy.id),  # retried: active again
        ]
        young = await w.add(JobStatus.COMPLETED, ago(hours=1), kind=JobKind.PLAYLIST)
        old_child_of_young = await w.add(
            JobStatus.COMPLETED, ago(days=2), file="young/1.mp3", parent_id=young.id
        )

        report = await run_purge(w, NOW)

        assert (report.jobs, report.files) == (4, 3)
        assert not (w.downloads_dir / "list").exists()
        remaining = await w.ids()
        assert {done.id, *(c.id for c in done_children)}.isdisjoint(remaining)
        assert {busy.id, *(c.id for c in busy_children)} <= remaining
        assert (w.downloads_dir / "busy" / "1.mp3").is_file()
        assert {young.id, old_child_of_young.id} <= remaining  # a child goes with its playlist


async def test_idle_sessions_with_nothing_left_go_with_their_cookies(
    tmp_path: Path, database: Path | str
) -> None:
    async with world(database, tmp_path, {"MEDIARIP__SESSION__TIMEOUT_HOURS": "24"}) as w:
        idle = await w.session("idle", ago(hours=25))
        idle_with_old_job = await w.session("idle-old-job", ago(days=3))
        await w.add(JobStatus.COMPLETED, ago(days=3), session_id="idle-old-job")
        idle_with_job = await w.session("idle-with-job", ago(hours=30))
        kept_job = await w.add(JobStatus.COMPLETED, ago(hours=2), session_id="idle-with-job")
        recent = await w.session("recent", ago(hours=2))

        report = await run_purge(w, NOW)

        # The old job goes first, and then its session has nothing left either.
        assert (report.jobs, report.sessions) == (1, 2)
        assert not idle.exists() and not idle_with_old_job.exists()
        assert idle_with_job.is_file() and recent.is_file()
        summaries = {s.id: s for s in await w.store.session_summaries()}
        assert set(summaries) == {"idle-with-job", "recent"}
        assert summaries["idle-with-job"].jobs == {"completed": 1}
        assert await w.ids() == {kept_job.id}


async def test_a_users_cookies_file_outlives_their_idle_session_row(
    tmp_path: Path, database: Path | str
) -> None:
    # issue 14: a user's owner id ("user:<id>") is touched like a session, but the cookies.txt
    # belongs to the account, not to a browser that went quiet.
    async with world(database, tmp_path, {"MEDIARIP__SESSION__TIMEOUT_HOURS": "24"}) as w:
        user = await w.session("user:7", ago(days=5))
        await run_purge(w, NOW)
        assert user.is_file()


async def test_privacy_mode_removes_old_error_entries_and_session_data(
    tmp_path: Path, database: Path | str
) -> None:
    env = {
        "MEDIARIP__PURGE__PRIVACY_MODE": "true",
        "MEDIARIP__PURGE__PRIVACY_RETENTION_MINUTES": "60",
    }
    async with world(database, tmp_path, env) as w:
        for minutes in (90, 61, 30):
            entry = ErrorEntry(ago(minutes=minutes), f"job-{minutes}", "s1", "u", "c", "m")
            await w.store.insert_error(entry)
        quiet = await w.session("quiet", ago(minutes=90))
        finished = await w.add(JobStatus.COMPLETED, ago(minutes=90), session_id="quiet")
        active = await w.session("active", ago(minutes=90))
        running = await w.add(JobStatus.DOWNLOADING, session_id="active")
        fresh = await w.session("fresh", ago(minutes=10))

        report = await run_purge(w, NOW)

        assert (report.errors, report.sessions, report.jobs) == (2, 1, 0)
        assert [e.job_id for e in await w.store.list_errors(10)] == ["job-30"]
        assert not quiet.exists()
        assert active.is_file() and fresh.is_file()
        summaries = {s.id: s for s in await w.store.session_summaries()}
        assert summaries["quiet"].created_at is None  # the row is gone; its jobs wait their turn
        assert {"active", "fresh"} <= set(summaries)
        assert await w.ids() == {finished.id, running.id}


async def test_without_privacy_mode_the_error_log_is_kept(
    tmp_path: Path, database: Path | str
) -> None:
    async with world(database, tmp_path) as w:
        await w.store.insert_error(ErrorEntry(ago(days=30), "j", "s1", "u", "c", "m"))
        assert (await run_purge(w, NOW)).errors == 0
        assert len(await w.store.list_errors(10)) == 1


# -- the schedule ---------------------------------------------------------------------------


async def test_the_schedule_fires_on_its_cron_times(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, database: Path | str
) -> None:
    async with world(database, tmp_path, {"MEDIARIP__PURGE__MAX_AGE_MINUTES": "10"}) as w:
        first = await w.add(JobStatus.COMPLETED, ago(minutes=5), file="a.mp4")  # 13 min at 00:15
        second = await w.add(JobStatus.COMPLETED, ago(minutes=-10), file="b.mp4")  # 00:17
        schedule = PurgeSchedule(w, wall_clock=virtual_wall_clock)
        async with trio.open_nursery() as nursery:
            await nursery.start(schedule.run)
            assert schedule.next_run == START.replace(minute=15)
            await wait_for_runs(schedule, 1)
            assert schedule.last_run == START.replace(minute=15)
            assert await w.ids() == {second.id}
            assert schedule.last_report is not None
            assert (schedule.last_report.jobs, schedule.last_report.files) == (1, 1)
            assert schedule.next_run == START.replace(minute=30)
            await wait_for_runs(schedule, 2)
            assert schedule.last_run == START.replace(minute=30)
            assert await w.ids() == set()
            await wait_for_runs(schedule, 5)  # on it goes, every quarter of an hour
            assert schedule.last_run == START.replace(hour=1, minute=15)
            nursery.cancel_scope.cancel()
        assert first.id not in await w.ids()


@attrs.define
class FlakyStore:
    """The real store, except that the purge's first query fails as a locked database would."""

    store: Store
    failures: int = 1

    async def list_jobs_finished_before(self, *args: Any, **kwargs: Any) -> list[Job]:
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("database is locked")
        return await self.store.list_jobs_finished_before(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def test_a_failed_run_is_logged_and_the_next_one_does_the_work(
    tmp_path: Path,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    database: Path | str,
) -> None:
    async with world(database, tmp_path) as w:
        old = await w.add(JobStatus.COMPLETED, ago(days=2), file="old.mp4")
        flaky = attrs.evolve(w, store=FlakyStore(w.store))  # type: ignore[arg-type]
        schedule = PurgeSchedule(flaky, wall_clock=virtual_wall_clock)
        with caplog.at_level(logging.ERROR, logger="mediarip.purge"):
            async with trio.open_nursery() as nursery:
                await nursery.start(schedule.run)
                await wait_for_runs(schedule, 1)
                [failure] = [r for r in caplog.records if "purge failed" in r.getMessage()]
                assert failure.exc_info is not None
                assert "database is locked" in str(failure.exc_info[1])
                assert old.id in await w.ids()
                assert (w.downloads_dir / "old.mp4").is_file()
                await wait_for_runs(schedule, 2)
                nursery.cancel_scope.cancel()
        assert await w.ids() == set()
        assert not (w.downloads_dir / "old.mp4").exists()


async def test_a_disabled_purge_does_nothing_until_enabled(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, database: Path | str
) -> None:
    async with world(database, tmp_path, {"MEDIARIP__PURGE__ENABLED": "false"}) as w:
        old = await w.add(JobStatus.COMPLETED, ago(days=2), file="old.mp4")
        schedule = PurgeSchedule(w, wall_clock=virtual_wall_clock)
        async with trio.open_nursery() as nursery:
            await nursery.start(schedule.run)
            await trio.sleep(24 * 3600)
            assert schedule.scheduled_runs == 0 and schedule.next_run is None
            assert old.id in await w.ids()
            w.settings = attrs.evolve(
                w.settings, purge=attrs.evolve(w.settings.purge, enabled=True)
            )
            schedule.reschedule()
            await wait_for_runs(schedule, 1)
            nursery.cancel_scope.cancel()
        assert await w.ids() == set()


async def test_purge_now_runs_even_when_the_schedule_is_off(
    tmp_path: Path, database: Path | str
) -> None:
    async with world(database, tmp_path, {"MEDIARIP__PURGE__ENABLED": "false"}) as w:
        await w.add(JobStatus.FAILED, ago(days=2))
        report = await PurgeSchedule(w).run_now(NOW)
        assert report.jobs == 1 and await w.ids() == set()


async def wait_for_runs(schedule: PurgeSchedule, count: int) -> None:
    """Let the mock clock run until the schedule has fired ``count`` times."""
    with trio.fail_after(7 * 24 * 3600):  # virtual time
        while schedule.scheduled_runs < count:
            await trio.sleep(30)


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    """trio's mock clock, jumping ahead only after 10 ms of real idleness: a purge run waiting
    for SQLite in a worker thread must not see minutes pass (pytest-trio's own fixture jumps at
    once, which would skip quarters of an hour during a run)."""
    return trio.testing.MockClock(autojump_threshold=0.01)
