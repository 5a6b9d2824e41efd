"""Cancel stops a job wherever it is, removes its partial files and frees its slot at once."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import trio

from mediarip.config import Settings
from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, running_app, work_folder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # One slot, so "the slot is freed at once" can be seen: the next job starts.
    return make_settings(tmp_path, {"MEDIARIP__DOWNLOADS__MAX_CONCURRENT": "1"})


async def _cancel(app: RunningApp, job_id: str) -> dict[str, object]:
    response = await app.client.post(f"/api/downloads/{job_id}/cancel")
    assert response.status_code == 200, response.text
    job = response.json()
    # The answer comes once the worker has stopped and the partial files are gone.
    assert job["status"] == "cancelled"
    assert not work_folder(app, job_id).exists()
    return job


async def _assert_slot_is_free(app: RunningApp, media: MediaServer) -> None:
    follower = await app.submit(media.url("/media/video.mp4"))
    done = await app.wait_for(follower["id"], timeout=30)
    assert done["status"] == "completed"


def _child_processes_named(name: str) -> list[int]:
    """Live (not zombie) child processes of this test process with that command name."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
        except OSError:
            continue
        if (
            fields.get("Name", "").strip() == name
            and int(fields.get("PPid", "0")) == os.getpid()
            and not fields.get("State", "").startswith("Z")
        ):
            found.append(int(status.parent.name))
    return found


def _files_left(app: RunningApp) -> list[str]:
    return sorted(p.name for p in app.downloads_dir.rglob("*") if p.is_file())


async def test_cancel_while_downloading_stops_it_and_removes_the_partial_file(
    app: RunningApp, media: MediaServer, caplog: pytest.LogCaptureFixture
) -> None:
    job = await app.submit(media.url("/slow/200000/big.mp4"))
    await app.wait_for(job["id"], lambda j: j["status"] == "downloading" and j["progress"] > 0)
    assert any(work_folder(app, job["id"]).iterdir())  # a .part file is being written
    with caplog.at_level(logging.INFO, logger="mediarip"):
        cancelled = await _cancel(app, job["id"])
    assert cancelled["filename"] is None
    assert _files_left(app) == []
    # The log says what happened: a cancel, not yt-dlp's "ERROR: ... bytes read".
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert f"job {job['id']} cancelled" in said
    assert not [m for m in said if "ERROR" in m or "Got error" in m], said
    await _assert_slot_is_free(app, media)


async def test_cancel_during_a_stalled_read_does_not_wait_for_the_socket_timeout(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url("/stall/big.mp4"))
    await app.wait_for(job["id"], lambda j: j["status"] in ("extracting", "downloading"))
    await trio.sleep(1.5)  # the server has stopped sending: no hook will fire again
    with trio.fail_after(5):  # the socket timeout is 10 s in the tests
        await _cancel(app, job["id"])
    await _assert_slot_is_free(app, media)


async def test_cancel_an_hls_download(app: RunningApp, media: MediaServer) -> None:
    job = await app.submit(media.url("/slow/300000/hls_big/index.m3u8"))
    await app.wait_for(job["id"], lambda j: j["status"] == "downloading" and j["progress"] > 0)
    await _cancel(app, job["id"])
    assert _files_left(app) == []
    await _assert_slot_is_free(app, media)


async def test_cancel_during_ffmpeg_postprocessing_kills_ffmpeg(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url("/media/long.wav"), media_type="audio", output_format="mp3")
    await app.wait_for(job["id"], lambda j: j["status"] == "postprocessing", timeout=30)
    with trio.fail_after(10):  # ffprobe looks at the file first, then ffmpeg converts it
        while not _child_processes_named("ffmpeg"):
            await trio.sleep(0.02)
    await _cancel(app, job["id"])
    assert _child_processes_named("ffmpeg") == []
    assert _files_left(app) == []
    await _assert_slot_is_free(app, media)


async def test_cancel_while_extracting(app: RunningApp, media: MediaServer) -> None:
    # A page that stalls mid-body keeps the generic extractor reading it.
    job = await app.submit(media.url("/stall-page.html"))
    await app.wait_for(job["id"], lambda j: j["status"] == "extracting")
    await trio.sleep(0.3)
    with trio.fail_after(5):
        await _cancel(app, job["id"])
    await _assert_slot_is_free(app, media)


async def test_cancel_a_queued_job_never_starts_it(app: RunningApp, media: MediaServer) -> None:
    blocker = await app.submit(media.url("/slow/200000/big.mp4"))
    await app.wait_for(blocker["id"], lambda j: j["status"] == "downloading")
    waiting = await app.submit(media.url("/media/video.mp4"))
    assert (await app.job(waiting["id"]))["status"] == "queued"
    cancelled = await _cancel(app, waiting["id"])
    assert cancelled["started_at"] is None
    await _cancel(app, blocker["id"])


async def test_cancelling_an_ended_job_is_a_conflict(app: RunningApp, media: MediaServer) -> None:
    job = await app.submit(media.url("/media/video.mp4"))
    await app.wait_for(job["id"])
    response = await app.client.post(f"/api/downloads/{job['id']}/cancel")
    assert response.status_code == 409
    assert "completed" in response.json()["error"]["message"]


async def test_a_cancelled_job_can_be_retried_and_completes(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url("/slow/400000/video.webm"))
    await app.wait_for(job["id"], lambda j: j["status"] == "downloading")
    await _cancel(app, job["id"])
    retried = await app.client.post(f"/api/downloads/{job['id']}/retry")
    assert retried.status_code == 200
    assert retried.json()["status"] == "queued"
    done = await app.wait_for(job["id"])
    assert done["status"] == "completed"
    assert (app.downloads_dir / done["filename"]).stat().st_size == done["filesize"]


async def test_a_disconnecting_client_never_leaves_a_half_created_job(
    tmp_path: Path, media: MediaServer
) -> None:
    settings = make_settings(tmp_path)
    async with running_app(settings) as app:
        # Many submissions abandoned at random moments: each job exists fully or not at all.
        for delay in (0.0, 0.0005, 0.001, 0.002, 0.005):
            with trio.move_on_after(delay):
                await app.client.post("/api/downloads", json={"url": media.url("/media/video.mp4")})
        await trio.sleep(0.5)
        listed = (await app.client.get("/api/downloads")).json()["jobs"]
        for job in listed:
            done = await app.wait_for(job["id"])
            assert done["status"] == "completed"
