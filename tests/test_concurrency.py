"""The concurrency limit: job N+1 waits for a free slot, then runs; probes never wait for it."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from mediarip.config import Settings
from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, {"MEDIARIP__DOWNLOADS__MAX_CONCURRENT": "2"})


async def test_the_third_job_waits_for_a_slot_then_runs(
    app: RunningApp, media: MediaServer
) -> None:
    slow = [await app.submit(media.url("/slow/1500000/big.mp4")) for _ in range(2)]
    for job in slow:
        await app.wait_for(job["id"], lambda j: j["status"] == "downloading")
    third = await app.submit(media.url("/media/video.mp4"))
    await trio.sleep(1.0)
    assert (await app.job(third["id"]))["status"] == "queued"
    health = (await app.client.get("/api/health")).json()
    assert (health["active"], health["queue_depth"]) == (2, 1)
    done = await app.wait_for(third["id"], timeout=60)
    assert done["status"] == "completed"
    # It started only once one of the first two had finished.
    finished = [(await app.job(job["id"]))["finished_at"] for job in slow]
    assert min(f for f in finished if f) <= done["started_at"]


async def test_probes_are_answered_while_every_download_slot_is_busy(
    app: RunningApp, media: MediaServer
) -> None:
    for _ in range(2):
        job = await app.submit(media.url("/slow/300000/big.mp4"))
        await app.wait_for(job["id"], lambda j: j["status"] == "downloading")
    with trio.fail_after(10):
        response = await app.client.post(
            "/api/url-info", json={"url": media.url("/media/video.mp4")}
        )
    assert response.status_code == 200
    assert response.json()["title"] == "video"
    with trio.fail_after(10):
        response = await app.client.get(
            "/api/formats", params={"url": media.url("/media/merge.mpd")}
        )
    assert response.status_code == 200


async def test_cancelling_a_running_job_lets_the_queued_one_start(
    app: RunningApp, media: MediaServer
) -> None:
    running = [await app.submit(media.url("/slow/200000/big.mp4")) for _ in range(2)]
    for job in running:
        await app.wait_for(job["id"], lambda j: j["status"] == "downloading")
    waiting = await app.submit(media.url("/slow/200000/big.mp4"))
    assert (await app.job(waiting["id"]))["status"] == "queued"
    await app.client.post(f"/api/downloads/{running[0]['id']}/cancel")
    await app.wait_for(waiting["id"], lambda j: j["status"] == "downloading", timeout=5)
    for job in (running[1], waiting):
        await app.client.post(f"/api/downloads/{job['id']}/cancel")
