"""Live progress on /api/events: init first, updates in order, resume, cleanup, no stalls."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import trio

from mediarip.broker import Broker, Resync
from mediarip.config import Settings
from mediarip.models import Job, JobStatus, new_job_id, utcnow
from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, open_events


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, {"MEDIARIP__DOWNLOADS__MAX_CONCURRENT": "4"})


def _is_terminal_update(job_id: str):  # type: ignore[no-untyped-def]
    return lambda name, data: (
        name == "job_update"
        and data["job"]["id"] == job_id
        and data["job"].get("status") in ("completed", "failed", "cancelled")
    )


async def test_the_stream_starts_with_init_holding_every_job(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url("/media/video.mp4"))
    await app.wait_for(job["id"])
    async with open_events(app.client) as events:
        name, data = await events.next()
        assert name == "init"
        assert [j["id"] for j in data["jobs"]] == [job["id"]]
        assert data["jobs"][0]["status"] == "completed"
        assert events.last_id  # every event carries an id


async def test_progress_arrives_in_order_up_to_100(app: RunningApp, media: MediaServer) -> None:
    async with open_events(app.client) as events:
        await events.next()
        job = await app.submit(media.url("/slow/2000000/big.mp4"))
        seen = await events.until(_is_terminal_update(job["id"]), timeout=60)
    updates = [d["job"] for n, d in seen if n == "job_update" and d["job"]["id"] == job["id"]]
    statuses = [u["status"] for u in updates if "status" in u]
    assert statuses[0] == "queued"
    assert statuses[-1] == "completed"
    order = ["queued", "extracting", "downloading", "postprocessing", "completed"]
    steps = [order.index(s) for s in statuses]
    assert steps == sorted(steps), statuses
    progress = [u["progress"] for u in updates if "progress" in u]
    assert progress == sorted(progress)
    assert len([p for p in progress if 0 < p < 100]) >= 5, progress
    assert progress[-1] == 100
    with_speed = [u for u in updates if u.get("speed")]
    assert with_speed and all(u["downloaded_bytes"] <= u["total_bytes"] for u in with_speed)


async def test_status_changes_arrive_in_lifecycle_order(
    app: RunningApp, media: MediaServer
) -> None:
    async with open_events(app.client) as events:
        await events.next()
        job = await app.submit(
            media.url("/media/video.mp4"), media_type="audio", output_format="mp3"
        )
        seen = await events.until(_is_terminal_update(job["id"]))
    statuses = [d["job"]["status"] for n, d in seen if n == "job_update" and "status" in d["job"]]
    assert statuses == ["queued", "extracting", "downloading", "postprocessing", "completed"]


async def test_a_reconnect_with_last_event_id_gets_only_what_it_missed(
    app: RunningApp, media: MediaServer
) -> None:
    async with open_events(app.client) as events:
        await events.next()
        last_id = events.last_id
    job = await app.submit(media.url("/media/video.mp4"))
    await app.wait_for(job["id"])
    async with open_events(app.client, last_event_id=last_id) as events:
        name, data = await events.next()
        assert name == "job_update"  # no init: the missed events are replayed
        assert data["job"]["id"] == job["id"]
        rest = await events.until(_is_terminal_update(job["id"]))
        assert all(n == "job_update" for n, _ in rest)


async def test_an_unknown_last_event_id_gets_a_fresh_init(app: RunningApp) -> None:
    async with open_events(app.client, last_event_id="deadbeef-12") as events:
        name, _ = await events.next()
        assert name == "init"


async def test_removal_is_announced(app: RunningApp, media: MediaServer) -> None:
    job = await app.submit(media.url("/media/video.mp4"))
    await app.wait_for(job["id"])
    async with open_events(app.client) as events:
        await events.next()
        assert (await app.client.delete(f"/api/downloads/{job['id']}")).status_code == 204
        name, data = await events.next()
        assert (name, data) == ("job_removed", {"id": job["id"]})


async def test_a_disconnected_client_is_unsubscribed_within_a_second(app: RunningApp) -> None:
    broker = app.handle.services.broker
    async with open_events(app.client) as events:
        await events.next()
        assert broker.subscriber_count == 1
    with trio.fail_after(1):
        while broker.subscriber_count:
            await trio.sleep(0.01)


async def test_a_stalled_client_slows_nothing_down(app: RunningApp, media: MediaServer) -> None:
    """A client that connects and never reads: the server's writes to it fill the socket
    buffers, yet downloads and a healthy client go on at full pace."""
    await app.client.get("/api/cookies")  # gets this browser its session cookie
    cookie = app.client.cookies["mrip_session"]
    # Enough history that the init alone (~5 MB) overflows the ~3 MB that loopback socket
    # buffers absorb: after it, the stalled client really blocks the server's writes to it.
    padding = "x" * 1500
    old_jobs = [
        Job(
            id=new_job_id(),
            session_id=cookie,
            url=media.url(f"/media/video.mp4?{n}{padding}"),
            created_at=utcnow(),
            status=JobStatus.COMPLETED,
        )
        for n in range(3000)
    ]
    await app.handle.services.store.insert_jobs(old_jobs)
    host, port = app.base_url.removeprefix("http://").split(":")
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: tiny window
    stalled.connect((host, int(port)))
    stalled.sendall(
        f"GET /api/events HTTP/1.1\r\nHost: {host}\r\nCookie: mrip_session={cookie}\r\n\r\n".encode()
    )
    try:
        async with open_events(app.client) as events:
            await events.next()
            with trio.fail_after(60):
                jobs = [await app.submit(media.url("/slow/3000000/big.mp4")) for _ in range(4)]
                pending = {job["id"] for job in jobs}
                while pending:
                    name, data = await events.next()
                    if name == "job_update" and data["job"].get("status") == "completed":
                        pending.discard(data["job"]["id"])
        for job in jobs:
            assert (await app.job(job["id"]))["status"] == "completed"
        # The stalled client really is stalled (events wait for it), and its backlog is bounded.
        backlog = app.handle.services.broker.backlog()
        assert len(backlog) == 1 and 0 < backlog[0] <= 50, backlog
    finally:
        stalled.close()


# -- the broker's own rules, without HTTP ---------------------------------------------------------


async def test_a_slow_subscriber_gets_the_latest_progress_and_every_status() -> None:
    broker = Broker(mailbox_limit=50)
    mailbox = broker.subscribe(None, broker.last_event_id)
    broker.publish(
        "job_update", {"job": {"id": "a", "status": "downloading"}}, session_id="s", job_id="a"
    )
    for p in range(1000):
        broker.publish(
            "job_update",
            {"job": {"id": "a", "progress": p / 10}},
            session_id="s",
            job_id="a",
            coalesce=True,
        )
    broker.publish(
        "job_update", {"job": {"id": "a", "status": "completed"}}, session_id="s", job_id="a"
    )
    batch = await mailbox.next_batch(ping_after=0)
    assert isinstance(batch, list)
    frames = [e.frame.decode() for e in batch]
    assert len(frames) == 3
    assert (
        '"downloading"' in frames[0]
        and '"progress":99.9' in frames[1]
        and '"completed"' in frames[2]
    )


async def test_an_overflowing_subscriber_is_resynced_not_silently_truncated() -> None:
    broker = Broker(mailbox_limit=10)
    mailbox = broker.subscribe(None, broker.last_event_id)
    for n in range(11):
        broker.publish(
            "job_update",
            {"job": {"id": f"j{n}", "status": "queued"}},
            session_id="s",
            job_id=f"j{n}",
        )
    assert isinstance(await mailbox.next_batch(ping_after=0), Resync)


async def test_subscribers_only_get_their_sessions_events() -> None:
    broker = Broker()
    mine = broker.subscribe("me", broker.last_event_id)
    everyone = broker.subscribe(None, broker.last_event_id)
    broker.publish("job_removed", {"id": "x"}, session_id="other", job_id="x")
    assert await mine.next_batch(ping_after=0) == []
    batch = await everyone.next_batch(ping_after=0)
    assert isinstance(batch, list) and len(batch) == 1
