"""Many URLs at once, and a queue that waits: batches with per-line refusals and the job rate
limit, paused jobs that start by hand, pausing a running download and resuming it from its
partial files, and paused jobs staying paused across a restart."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, running_app, work_folder


async def test_a_batch_makes_one_job_per_url_and_reports_bad_lines(
    app: RunningApp, media: MediaServer
) -> None:
    good = [media.url("/media/video.mp4"), media.url("/media/audio.m4a")]
    response = await app.client.post(
        "/api/downloads/batch",
        json={
            "urls": [good[0], "ftp://nope", "not a url", good[1], good[0], 42],
            "media_type": "audio",
            "output_format": "mp3",
            "options": {"embed_metadata": True},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [j["url"] for j in body["jobs"]] == good
    assert all(j["output_format"] == "mp3" and j["options"]["embed_metadata"] for j in body["jobs"])
    refused = {str(r["url"]): r["error"] for r in body["refused"]}
    assert set(refused) == {"ftp://nope", "not a url", good[0], "42"}
    assert "url" in refused["ftp://nope"]["message"]
    assert refused[good[0]]["code"] == "duplicate"
    for job in body["jobs"]:
        done = await app.wait_for(job["id"])
        assert done["status"] == "completed", done["error"]


async def test_a_batch_with_a_bad_shared_field_is_refused_whole(
    app: RunningApp, media: MediaServer
) -> None:
    response = await app.client.post(
        "/api/downloads/batch",
        json={"urls": [media.url("/media/video.mp4")], "options": {"clip": {"start": 5, "end": 1}}},
    )
    assert response.status_code == 422
    assert "options.clip.end" in response.json()["error"]["message"]
    assert (await app.client.get("/api/downloads")).json()["jobs"] == []


async def test_blocked_addresses_are_refused_per_line(tmp_path: Path, media: MediaServer) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS": "false"})
    async with running_app(settings) as app:
        response = await app.client.post(
            "/api/downloads/batch",
            json={"urls": ["http://10.0.0.1/x.mp4", "https://example.com/talk"], "paused": True},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert [j["url"] for j in body["jobs"]] == ["https://example.com/talk"]
        assert body["jobs"][0]["status"] == "paused"
        assert body["refused"][0]["error"]["code"] == "blocked_address"


async def test_the_rate_limit_counts_a_batchs_jobs_and_refuses_what_does_not_fit(
    tmp_path: Path, media: MediaServer
) -> None:
    settings = make_settings(
        tmp_path,
        {
            "MEDIARIP__DOWNLOADS__MAX_JOBS_PER_MINUTE": "5",
            "MEDIARIP__DOWNLOADS__AUTOSTART": "false",
        },
    )
    async with running_app(settings) as app:
        urls = [media.url(f"/media/video.mp4?n={n}") for n in range(4)]
        first = await app.client.post("/api/downloads/batch", json={"urls": urls})
        assert first.status_code == 201, first.text
        assert len(first.json()["jobs"]) == 4
        second = await app.client.post("/api/downloads/batch", json={"urls": urls[:3]})
        assert second.status_code == 429
        error = second.json()["error"]
        assert error["code"] == "too_many_jobs" and error["fits"] == 1
        assert "only 1 fit" in error["message"]
        assert len((await app.client.get("/api/downloads")).json()["jobs"]) == 4
        third = await app.client.post("/api/downloads/batch", json={"urls": urls[:1]})
        assert third.status_code == 201


async def test_a_thousand_urls_in_one_batch(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        {
            "MEDIARIP__DOWNLOADS__MAX_JOBS_PER_MINUTE": "0",
            "MEDIARIP__DOWNLOADS__AUTOSTART": "false",
        },
    )
    async with running_app(settings) as app:
        urls = [f"https://example.com/video/{n}" for n in range(1000)]
        response = await app.client.post("/api/downloads/batch", json={"urls": urls})
        assert response.status_code == 201, response.text
        assert len(response.json()["jobs"]) == 1000
        listed = (await app.client.get("/api/downloads")).json()["jobs"]
        assert len(listed) == 1000 and {j["status"] for j in listed} == {"paused"}


async def test_with_autostart_off_jobs_wait_paused_until_started_and_stay_paused_on_restart(
    tmp_path: Path, media: MediaServer
) -> None:
    settings = make_settings(
        tmp_path, {"MEDIARIP__DOWNLOADS__AUTOSTART": "false", "MEDIARIP__SESSION__MODE": "shared"}
    )
    async with running_app(settings) as app:
        job = await app.submit(media.url("/media/video.mp4"))
        assert job["status"] == "paused"
        await trio.sleep(0.5)
        assert (await app.job(job["id"]))["status"] == "paused"
        config = (await app.client.get("/api/config/public")).json()
        assert config["autostart"] is False
    async with running_app(settings) as app:
        assert (await app.job(job["id"]))["status"] == "paused"  # a restart keeps it paused
        started = await app.client.post(f"/api/downloads/{job['id']}/start")
        assert started.status_code == 200, started.text
        done = await app.wait_for(job["id"])
        assert done["status"] == "completed", done["error"]
        again = await app.client.post(f"/api/downloads/{job['id']}/start")
        assert again.status_code == 409


async def test_pausing_a_running_download_keeps_its_partial_file_and_start_resumes_it(
    app: RunningApp, media: MediaServer
) -> None:
    # ~7.6 MB at 1 MB/s: pause it a few seconds in.
    job = await app.submit(media.url("/slow/1000000/big.mp4"))
    await app.wait_for(
        job["id"], lambda j: j["status"] == "downloading" and (j["downloaded_bytes"] or 0) > 1e6
    )
    paused = await app.client.post(f"/api/downloads/{job['id']}/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    partial = [p for p in work_folder(app, job["id"]).rglob("*") if p.name.endswith(".part")]
    assert partial and partial[0].stat().st_size > 1e6
    kept = partial[0].stat().st_size
    requests = (await app.client.get(media.url("/_requests?clear"))).status_code
    assert requests == 200
    started = await app.client.post(f"/api/downloads/{job['id']}/start")
    assert started.status_code == 200
    done = await app.wait_for(job["id"], timeout=60)
    assert done["status"] == "completed", done["error"]
    # It continued from the partial file: the next request asked for the rest only.
    import httpx

    async with httpx.AsyncClient() as client:
        seen = (await client.get(media.url("/_requests"))).json()
    ranges = [r["headers"].get("Range") for r in seen if "big.mp4" in r["path"]]
    assert any(r and r.startswith(f"bytes={kept}") for r in ranges), (kept, ranges)


async def test_pausing_the_queue_holds_new_jobs_until_it_starts(
    app: RunningApp, media: MediaServer
) -> None:
    paused = await app.client.post("/api/queue/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert (await app.client.get("/api/queue")).json()["paused"] is True
    jobs = [await app.submit(media.url("/media/video.mp4")) for _ in range(2)]
    assert {j["status"] for j in jobs} == {"paused"}
    started = await app.client.post("/api/queue/start")
    assert started.json()["paused"] is False and started.json()["jobs"] == 2
    for job in jobs:
        assert (await app.wait_for(job["id"]))["status"] == "completed"
    # A paused job can also be cancelled.
    held = await app.submit(media.url("/media/video.mp4"), paused=True)
    cancelled = await app.client.post(f"/api/downloads/{held['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


async def test_a_partial_file_that_already_holds_every_byte_completes_without_downloading_again(
    app: RunningApp, media: MediaServer, media_dir: Path
) -> None:
    # Killed after the last byte was written, before the job completed: the .part file is
    # whole. Made for real: pause a download partway, then the rest of the bytes arrive.
    job = await app.submit(media.url("/slow/1000000/big.mp4"))
    await app.wait_for(
        job["id"], lambda j: j["status"] == "downloading" and (j["downloaded_bytes"] or 0) > 1e6
    )
    paused = await app.client.post(f"/api/downloads/{job['id']}/pause")
    assert paused.json()["status"] == "paused"
    (partial,) = [p for p in work_folder(app, job["id"]).rglob("*") if p.name.endswith(".part")]
    original = (media_dir / "big.mp4").read_bytes()
    assert original.startswith(partial.read_bytes())
    partial.write_bytes(original)

    assert (await app.client.post(f"/api/downloads/{job['id']}/start")).status_code == 200
    done = await app.wait_for(job["id"], timeout=60)
    assert done["status"] == "completed", done["error"]
    assert (app.downloads_dir / done["filename"]).read_bytes() == original
