"""Subscriptions (issue 12): the checker against a real, growing channel on the loopback media
server, with the real store, download service and yt-dlp.

The schedule runs on trio's ``MockClock`` at real speed (``rate=1``) so that yt-dlp's threads,
the media server and timeouts behave as they do for real, while ``clock.jump()`` moves time on
by a check interval without waiting for it. The checker is given a wall clock that follows
trio's clock (like the purge's tests).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.lowlevel
import trio.testing

from mediarip.api.wire import job_events_to, subscription_events_to
from mediarip.broker import Broker
from mediarip.config import Settings
from mediarip.engine import DownloadService
from mediarip.models import Job, JobStatus, MediaType
from mediarip.presets import NewPreset, PresetBook, PresetRefused
from mediarip.store import Store
from mediarip.subscriptions.checker import Subscriptions
from mediarip.subscriptions.events import SubscriptionSink
from mediarip.subscriptions.models import (
    FirstCheck,
    Outcome,
    Subscription,
    settings_from_body,
)
from mediarip.subscriptions.schedule import MAX_BACKOFF, next_check, phase_of, retry_at
from tests.conftest import make_settings
from tests.media import MediaServer

START = dt.datetime.now(dt.UTC).replace(microsecond=0)
INTERVAL = 15  # minutes


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(rate=1)


def wall_clock() -> dt.datetime:
    return START + dt.timedelta(seconds=trio.current_time())


class Channel:
    """A channel on the media server that a test grows between checks."""

    def __init__(self, media: MediaServer, name: str | None = None) -> None:
        self.media = media
        self.name = name or f"ch-{uuid.uuid4().hex[:10]}"

    @property
    def url(self) -> str:
        return self.media.url(f"/channel/{self.name}.rss")

    def add(self, title: str, *, published: dt.datetime | None = None, **extra: Any) -> None:
        """Add an item; by default published "now" (on the checker's clock inside trio)."""
        try:
            when = published or wall_clock()
        except RuntimeError:  # outside trio: a browser test
            when = dt.datetime.now(dt.UTC)
        query = urllib.parse.urlencode(
            {"title": title, "published": int(when.timestamp()), **extra}
        )
        with urllib.request.urlopen(self.media.url(f"/channel/{self.name}/add?{query}")) as r:
            r.read()

    def fail(self, status: int) -> None:
        with urllib.request.urlopen(self.media.url(f"/channel/{self.name}/fail?status={status}")):
            pass


@attrs.define
class World:
    settings: Settings
    store: Store
    broker: Broker
    downloads: DownloadService
    on_subscription_event: SubscriptionSink = attrs.field(init=False)
    presets: PresetBook = attrs.field(init=False)
    subscriptions: Subscriptions = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.on_subscription_event = subscription_events_to(self.broker)
        self.presets = PresetBook(self.store)
        self.subscriptions = Subscriptions(self, wall_clock=wall_clock, timeout=120)

    async def subscribe(self, url: str, session_id: str = "s1", **fields: Any) -> Subscription:
        body = {"url": url, "interval_minutes": INTERVAL, **fields}
        return await self.subscriptions.create(session_id, settings_from_body(body))

    async def jobs(self, sub: Subscription | None = None) -> list[Job]:
        return await self.store.list_jobs(subscription_id=sub.id if sub else None)

    async def wait_checks(self, count: int, timeout: float = 30) -> None:
        with trio.fail_after(timeout):
            while self.subscriptions.checks_done < count:
                await trio.sleep(0.02)

    async def wait_idle(self, timeout: float = 30) -> None:
        """No check under way: a clock jump now cannot time a running check out."""
        with trio.fail_after(timeout):
            while self.subscriptions.checks_running:
                await trio.sleep(0.02)

    async def jump(self, clock: trio.testing.MockClock, minutes: float) -> None:
        """Move the mock clock on, once no check runs (a jump during a check would count
        against its timeout), and let the checker see the new time."""
        await self.wait_idle()
        clock.jump(minutes * 60)
        await trio.lowlevel.checkpoint()

    async def wait_until(
        self, predicate: Callable[[Subscription], bool], sub_id: str, timeout: float = 30
    ) -> Subscription:
        with trio.fail_after(timeout):
            while True:
                sub = await self.store.get_subscription(sub_id)
                if sub is not None and predicate(sub):
                    return sub
                await trio.sleep(0.02)

    async def wait_jobs_done(self, sub: Subscription, timeout: float = 60) -> list[Job]:
        with trio.fail_after(timeout):
            while True:
                jobs = await self.jobs(sub)
                if all(not job.is_active for job in jobs):
                    return jobs
                await trio.sleep(0.05)


@asynccontextmanager
async def world(
    database: Path | str,
    root: Path,
    env: Mapping[str, str] | None = None,
    *,
    checker: bool = True,
) -> AsyncIterator[World]:
    """The store (on either engine: ``database``), broker, download service and checker."""
    settings = make_settings(root, env)
    Path(settings.downloads.output_dir).mkdir(parents=True, exist_ok=True)
    async with Store.open(database) as store:
        broker = Broker()
        async with DownloadService.open(store, job_events_to(broker), settings) as downloads:
            w = World(settings, store, broker, downloads)
            async with trio.open_nursery() as nursery:
                if checker:
                    await nursery.start(w.subscriptions.run)
                yield w
                nursery.cancel_scope.cancel()


def titles(jobs: list[Job]) -> set[str | None]:
    return {job.title for job in jobs}


# -- the first check, new items, never twice ------------------------------------------------------


async def test_first_check_takes_only_new_items_then_a_new_item_is_one_job(
    tmp_path: Path, media: MediaServer, clock: trio.testing.MockClock, database: Path | str
) -> None:
    channel = Channel(media)
    channel.add("Old one", published=START - dt.timedelta(days=2))
    channel.add("Old two", published=START - dt.timedelta(days=1))
    async with world(database, tmp_path) as w:
        sub = await w.subscribe(channel.url)  # first_check: new_only (the default)
        await w.wait_checks(1)
        assert await w.jobs() == []
        [first] = await w.store.check_history(sub.id)
        assert (first.result.found, first.result.queued, first.result.skipped) == (2, 0, 2)
        assert all("before the subscription" in (i.reason or "") for i in first.items)

        channel.add("Brand new")
        await w.jump(clock, INTERVAL)
        await w.wait_checks(2)
        [job] = await w.jobs()
        assert (job.title, job.subscription_id) == ("Brand new", sub.id)
        [done] = await w.wait_jobs_done(sub)
        assert done.status is JobStatus.COMPLETED, done.error
        assert (w.settings.downloads.output_dir / Path(done.filename or "")).is_file()

        await w.jump(clock, INTERVAL)  # nothing new: nothing queued
        await w.wait_checks(3)
        assert len(await w.jobs()) == 1
        stored = await w.store.get_subscription(sub.id)
        assert stored is not None and stored.checks == 3 and stored.last_error is None


async def test_first_check_latest_n_takes_the_newest(
    tmp_path: Path, media: MediaServer, clock: trio.testing.MockClock, database: Path | str
) -> None:
    channel = Channel(media)
    for n in range(1, 5):
        channel.add(f"Episode {n}", published=START - dt.timedelta(days=10 - n))
    async with world(database, tmp_path) as w:
        sub = await w.subscribe(channel.url, first_check="latest", first_count=2)
        await w.wait_checks(1)
        assert titles(await w.jobs(sub)) == {"Episode 4", "Episode 3"}
        [check] = await w.store.check_history(sub.id)
        skipped = {i.title: i.reason for i in check.items if i.outcome is Outcome.SKIPPED}
        assert skipped.keys() == {"Episode 1", "Episode 2"}
        assert "latest 2" in (skipped["Episode 1"] or "")


async def test_an_item_is_never_downloaded_twice_across_restart_purge_and_subscriptions(
    tmp_path: Path, media: MediaServer, clock: trio.testing.MockClock, database: Path | str
) -> None:
    channel = Channel(media)
    channel.add("Only once", published=START - dt.timedelta(hours=1))
    async with world(database, tmp_path) as w:
        first = await w.subscribe(channel.url, first_check="latest", first_count=5)
        await w.wait_checks(1)
        [done] = await w.wait_jobs_done(first)
        assert done.status is JobStatus.COMPLETED, done.error
        assert await w.store.archive_keys("s1") == [f"generic {channel.name}-1"]

    # A restart: the same database, a new process's worth of services.
    async with world(database, tmp_path) as w:
        second = await w.subscribe(channel.url, first_check="latest", first_count=5)
        await w.wait_checks(1)
        assert await w.jobs(second) == []
        [check] = await w.store.check_history(second.id)
        assert [i.reason for i in check.items] == ["already downloaded (in the archive)"]

        # The purge removes the job and its file: the archive still knows the item.
        removal = await w.downloads.remove_jobs(await w.jobs(first))
        assert removal.jobs == 1
        assert await w.jobs() == []
        result = await w.subscriptions.check_now(first.id, None)
        assert (result.found, result.queued) == (0, 0)
        result = await w.subscriptions.check_now(second.id, None)
        assert (result.found, result.queued) == (0, 0)
        assert await w.jobs() == []


async def test_filters_by_title_duration_and_date(
    tmp_path: Path, media: MediaServer, clock: trio.testing.MockClock, database: Path | str
) -> None:
    channel = Channel(media)
    old = START - dt.timedelta(days=40)
    recent = START - dt.timedelta(days=2)
    channel.add("Talk: keep me", published=recent, duration=600)
    channel.add("Talk: too short", published=recent, duration=30)
    channel.add("Talk: too long", published=recent, duration=7200)
    channel.add("Talk: too old", published=old, duration=600)
    channel.add("Trailer: not a talk", published=recent, duration=600)
    channel.add("Talk: [LIVE] excluded", published=recent, duration=600)
    filters = {
        "title_include": "^talk:",
        "title_exclude": r"\[live\]",
        "min_duration": 60,
        "max_duration": 3600,
        "published_after": (START - dt.timedelta(days=7)).date().isoformat(),
    }
    async with world(database, tmp_path) as w:
        sub = await w.subscribe(channel.url, first_check="latest", first_count=10, filters=filters)
        await w.wait_checks(1)
        assert titles(await w.jobs(sub)) == {"Talk: keep me"}
        [check] = await w.store.check_history(sub.id)
        reasons = {i.title: i.reason or "" for i in check.items}
        assert "shorter than 60" in reasons["Talk: too short"]
        assert "longer than 3600" in reasons["Talk: too long"]
        assert "before" in reasons["Talk: too old"]
        assert "does not match" in reasons["Trailer: not a talk"]
        assert "excluded" in reasons["Talk: [LIVE] excluded"]
        assert check.result.queued == 1 and check.result.skipped == 5


async def test_at_most_n_items_per_check_and_the_rest_next_time(
    tmp_path: Path, media: MediaServer, clock: trio.testing.MockClock, database: Path | str
) -> None:
    channel = Channel(media)
    async with world(database, tmp_path) as w:
        sub = await w.subscribe(channel.url, first_check="latest", max_items_per_check=2)
        channel.add("A", published=START - dt.timedelta(days=1))
        await w.wait_checks(1)
        assert titles(await w.jobs(sub)) == {"A"}
        for name in ("B", "C", "D"):
            channel.add(name)
        await w.jump(clock, INTERVAL)
        await w.wait_checks(2)
        assert titles(await w.jobs(sub)) == {"A", "D", "C"}  # the newest first
        [check, _] = await w.store.check_history(sub.id)
        assert check.result.deferred == 1
        await w.jump(clock, INTERVAL)
        await w.wait_checks(3)
        assert titles(await w.jobs(sub)) == {"A", "B", "C", "D"}
        assert len(await w.jobs(sub)) == 4


# -- failures: backoff, readable errors, the others go on ----------------------------------------


async def test_a_broken_channel_backs_off_with_a_readable_error_and_the_others_go_on(
    tmp_path: Path, media: MediaServer, clock: trio.testing.MockClock, database: Path | str
) -> None:
    good, bad = Channel(media), Channel(media)
    good.add("Good old", published=START - dt.timedelta(days=1))
    bad.add("Bad old", published=START - dt.timedelta(days=1))
    bad.fail(500)
    async with world(database, tmp_path) as w:
        broken = await w.subscribe(bad.url)
        fine = await w.subscribe(good.url)
        await w.wait_checks(2)
        sub = await w.store.get_subscription(broken.id)
        assert sub is not None and sub.failures == 1 and sub.last_error is not None
        assert "500" in sub.last_error.message and "next try" in sub.last_error.message
        assert sub.next_check_at == wall_clock_at(sub.last_check_at, minutes=INTERVAL)
        ok = await w.store.get_subscription(fine.id)
        assert ok is not None and ok.last_error is None and ok.checks == 1

        # The next failures wait twice as long each time.
        waits = []
        for count in (2, 3):
            await w.wait_idle()
            before = await w.store.get_subscription(broken.id)
            assert before is not None and before.next_check_at is not None
            clock.jump((before.next_check_at - wall_clock()).total_seconds() + 1)
            await w.wait_until(failed_times(count), broken.id)
            after = await w.store.get_subscription(broken.id)
            assert after is not None and after.next_check_at and after.last_check_at
            waits.append(after.next_check_at - after.last_check_at)
        assert waits == [dt.timedelta(minutes=2 * INTERVAL), dt.timedelta(minutes=4 * INTERVAL)]
        await w.wait_idle()
        ok = await w.store.get_subscription(fine.id)
        assert ok is not None and ok.checks >= 2  # checked on its own schedule meanwhile

        bad.fail(0)  # healed: the next check succeeds and the backoff is over
        result = await w.subscriptions.check_now(broken.id, None)
        assert result.error is None
        healed = await w.store.get_subscription(broken.id)
        assert healed is not None and healed.failures == 0 and healed.last_error is None


def failed_times(count: int) -> Callable[[Subscription], bool]:
    return lambda sub: sub.failures == count


def wall_clock_at(moment: dt.datetime | None, **delta: float) -> dt.datetime:
    assert moment is not None
    return moment + dt.timedelta(**delta)


def test_backoff_doubles_up_to_a_day() -> None:
    settings = settings_from_body({"url": "https://example.com/feed", "interval_minutes": 60})
    now = START
    waits = [retry_at(settings, "x", n, now) - now for n in range(1, 8)]
    assert waits[:5] == [dt.timedelta(hours=h) for h in (1, 2, 4, 8, 16)]
    assert waits[5:] == [MAX_BACKOFF, MAX_BACKOFF]


def test_two_hundred_subscriptions_on_one_schedule_are_spread_over_the_period() -> None:
    settings = settings_from_body({"url": "https://example.com/feed", "interval_minutes": 15})
    ids = [str(uuid.uuid4()) for _ in range(200)]
    times = sorted(next_check(settings, i, START) for i in ids)
    assert times[0] > START and times[-1] <= START + dt.timedelta(minutes=15)
    per_second = max(sum(1 for t in times if t.replace(microsecond=0) == s) for s in times)
    assert per_second <= 4  # ~1 a check every 4.5 s, never a crowd
    # The same subscription keeps its place in every period.
    one = ids[0]
    later = next_check(settings, one, START + dt.timedelta(minutes=15))
    assert later - next_check(settings, one, START) == dt.timedelta(minutes=15)
    assert 0 <= phase_of(one) < 1
    cron = settings_from_body({"url": "https://example.com/feed", "cron": "*/15 * * * *"})
    cron_times = {next_check(cron, i, START) for i in ids}
    assert len(cron_times) > 150


async def test_cron_schedule_on_the_mock_clock(
    tmp_path: Path, media: MediaServer, clock: trio.testing.MockClock, database: Path | str
) -> None:
    channel = Channel(media)
    channel.add("Before", published=START - dt.timedelta(days=1))
    async with world(database, tmp_path) as w:
        sub = await w.subscribe(channel.url, interval_minutes=None, cron="0 * * * *")
        await w.wait_checks(1)
        stored = await w.store.get_subscription(sub.id)
        assert stored is not None and stored.next_check_at is not None
        due = stored.next_check_at
        assert due > wall_clock() and due - wall_clock() <= dt.timedelta(minutes=75)
        assert due.astimezone().minute < 15  # on the hour, spread by at most 15 minutes
        channel.add("After")
        clock.jump((due - wall_clock()).total_seconds() - 5)
        await trio.sleep(0.5)
        assert w.subscriptions.checks_done == 1  # not yet
        clock.jump(6)
        await w.wait_checks(2)
        assert titles(await w.jobs(sub)) == {"After"}


# -- cancellation --------------------------------------------------------------------------------


def _state(db_path: Path, sub_id: str) -> tuple[int, int, int, list[int]]:
    """(checks recorded, items seen, jobs, queued count of each check), read directly."""
    with sqlite3.connect(db_path) as db:
        checks = db.execute(
            "SELECT result FROM subscription_checks WHERE subscription_id = ?", (sub_id,)
        ).fetchall()
        seen = db.execute(
            "SELECT count(*) FROM subscription_seen WHERE subscription_id = ?", (sub_id,)
        ).fetchone()[0]
        jobs = db.execute(
            "SELECT count(*) FROM jobs WHERE subscription_id = ?", (sub_id,)
        ).fetchone()[0]
    return len(checks), seen, jobs, [json.loads(r[0])["queued"] for r in checks]


async def test_cancelling_the_checker_mid_check_leaves_no_half_written_state(
    tmp_path: Path, media: MediaServer, clock: trio.testing.MockClock
) -> None:
    """Cancel the checker task at many moments of a check (listing, deciding, recording): the
    database holds either the whole check (its history entry, the items it dealt with, exactly
    its jobs) or nothing of it, and the next start completes it."""
    db_path = tmp_path / "data" / "db.sqlite3"  # SQLite only: _state reads the file directly
    outcomes = set()
    for attempt, delay in enumerate([0.0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0]):
        channel = Channel(media)
        for n in range(3):
            channel.add(f"Item {n}", published=START - dt.timedelta(days=3 - n))
        root = tmp_path
        async with world(db_path, root, checker=False) as w:
            sub = await w.subscribe(channel.url, first_check="latest", first_count=3)
            async with trio.open_nursery() as nursery:
                await nursery.start(w.subscriptions.run)
                await trio.sleep(delay)
                nursery.cancel_scope.cancel()
            checks, seen, jobs, queued = _state(db_path, sub.id)
            assert (checks, seen, jobs) in ((0, 0, 0), (1, 3, 3)), (attempt, delay)
            assert sum(queued) == jobs
            outcomes.add(checks)
            # Whatever happened, the next run finishes the work, once.
            async with trio.open_nursery() as nursery:
                await nursery.start(w.subscriptions.run)
                await w.wait_until(lambda s: s.checks >= 1, sub.id)
                nursery.cancel_scope.cancel()
            checks, seen, jobs, _ = _state(db_path, sub.id)
            assert (seen, jobs) == (3, 3)
            await w.subscriptions.delete(sub.id, None, remove_downloads=True)
    assert outcomes == {0, 1}  # both sides of the commit were hit


async def test_shutdown_mid_listing_stops_the_check_at_once(
    tmp_path: Path, media: MediaServer, clock: trio.testing.MockClock
) -> None:
    # SQLite only: _state reads the file behind the store's back.
    async with world(tmp_path / "data" / "db.sqlite3", tmp_path, checker=False) as w:
        sub = await w.subscribe(media.url("/stall-page.html"))  # a page that stops mid-body
        async with trio.open_nursery() as nursery:
            await nursery.start(w.subscriptions.run)
            await trio.sleep(1.0)  # the listing is now blocked reading the page
            started = trio.current_time()
            nursery.cancel_scope.cancel()
        assert trio.current_time() - started < 2.0
        assert _state(tmp_path / "data" / "db.sqlite3", sub.id)[:3] == (0, 0, 0)


async def test_deleting_a_subscription_keeps_or_removes_its_downloads(
    tmp_path: Path, media: MediaServer, clock: trio.testing.MockClock, database: Path | str
) -> None:
    one, two = Channel(media), Channel(media)
    one.add("Kept", published=START - dt.timedelta(days=1))
    two.add("Removed", published=START - dt.timedelta(days=1))
    async with world(database, tmp_path) as w:
        keep = await w.subscribe(one.url, first_check=FirstCheck.LATEST.value)
        drop = await w.subscribe(two.url, first_check=FirstCheck.LATEST.value)
        await w.wait_checks(2)
        [kept] = await w.wait_jobs_done(keep)
        [gone] = await w.wait_jobs_done(drop)
        assert await w.subscriptions.delete(keep.id, None, remove_downloads=False) == 0
        assert await w.subscriptions.delete(drop.id, None, remove_downloads=True) == 1
        assert [j.id for j in await w.jobs()] == [kept.id]
        out = w.settings.downloads.output_dir
        assert (out / (kept.filename or "")).is_file()
        assert not (out / (gone.filename or "x")).exists()
        assert await w.store.list_subscriptions() == []
        assert len(await w.store.archive_keys(None)) == 2  # the archive remembers both


async def test_the_check_timeout_and_parallelism_are_settings(
    tmp_path: Path, database: Path | str
) -> None:
    env = {
        "MEDIARIP__SUBSCRIPTIONS__CHECK_TIMEOUT_SECONDS": "45",
        "MEDIARIP__SUBSCRIPTIONS__MAX_PARALLEL_CHECKS": "3",
    }
    async with world(database, tmp_path, env, checker=False) as w:
        checker = Subscriptions(w)
        assert checker.timeout == 45 and checker.max_parallel == 3
    async with world(database, tmp_path / "defaults", checker=False) as w:
        checker = Subscriptions(w)  # half of the 4 probe slots; two minutes
        assert checker.timeout == 120 and checker.max_parallel == 2


# -- presets: the one a subscription names applies to each item, as found at each check ---------


async def test_a_subscriptions_preset_applies_to_its_items_and_a_deleted_one_says_so(
    tmp_path: Path, media: MediaServer, clock: trio.testing.MockClock, database: Path | str
) -> None:
    channel = Channel(media)
    channel.add("Talk", published=START - dt.timedelta(hours=1))
    async with world(database, tmp_path) as w:
        preset = await w.presets.create(
            NewPreset(name="Podcast mp3", media_type=MediaType.AUDIO, output_format="mp3")
        )
        sub = await w.subscribe(channel.url, first_check="latest", first_count=1, preset=preset.id)
        await w.wait_checks(1)
        [job] = await w.jobs(sub)
        assert (job.media_type, job.output_format) == (MediaType.AUDIO, "mp3")

        await w.presets.delete(preset.id)
        channel.add("Another talk")
        await w.wait_idle()
        await w.jump(clock, INTERVAL)
        failed = await w.wait_until(failed_times(1), sub.id)
        assert failed.last_error is not None
        assert preset.id in failed.last_error.message
        assert "Edit the subscription" in failed.last_error.message
        assert len(await w.jobs(sub)) == 1  # nothing queued without its preset

        with pytest.raises(PresetRefused, match="no preset"):
            await w.subscriptions.create(
                "s1", settings_from_body({"url": channel.url, "preset": "gone"})
            )
