"""Removing jobs safely: forgetting a job and deleting its file are two things, asked for
separately; a job forgotten with its file kept can come back (undo); finished, failed and
cancelled jobs are cleared or retried in bulk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.media import MediaServer
from tests.support import RunningApp


async def _done(
    app: RunningApp, url: str, client: httpx.AsyncClient | None = None
) -> dict[str, Any]:
    job = await app.submit(url, client)
    return await app.wait_for(job["id"], client=client)


def _file(app: RunningApp, job: dict[str, Any]) -> Path:
    return app.downloads_dir / str(job["filename"])


async def test_delete_with_keep_file_forgets_the_job_and_leaves_the_file(
    app: RunningApp, media: MediaServer
) -> None:
    done = await _done(app, media.url("/media/video.mp4"))
    assert done["status"] == "completed"
    response = await app.client.delete(f"/api/downloads/{done['id']}?keep_file=true")
    assert response.status_code == 204
    assert (await app.client.get(f"/api/downloads/{done['id']}")).status_code == 404
    assert _file(app, done).is_file()


async def test_delete_without_keep_file_still_removes_the_file(
    app: RunningApp, media: MediaServer
) -> None:
    done = await _done(app, media.url("/media/video.mp4"))
    assert (await app.client.delete(f"/api/downloads/{done['id']}")).status_code == 204
    assert not _file(app, done).exists()


async def test_a_bad_keep_file_value_is_refused_naming_it(app: RunningApp) -> None:
    response = await app.client.delete("/api/downloads/whatever?keep_file=maybe")
    assert response.status_code == 422
    assert "keep_file" in response.json()["error"]["message"]


async def test_a_job_forgotten_with_its_file_kept_can_be_restored_as_it_was(
    app: RunningApp, media: MediaServer
) -> None:
    done = await _done(app, media.url("/media/video.mp4"))
    await app.client.delete(f"/api/downloads/{done['id']}?keep_file=true")
    restored = await app.client.post(f"/api/downloads/{done['id']}/restore")
    assert restored.status_code == 200, restored.text
    assert restored.json() == done
    saved = await app.client.get(f"/api/downloads/{done['id']}/file")
    assert saved.status_code == 200 and saved.content == _file(app, done).read_bytes()
    # Once back, there is nothing more to restore.
    assert (await app.client.post(f"/api/downloads/{done['id']}/restore")).status_code == 404


async def test_a_job_deleted_with_its_file_cannot_be_restored(
    app: RunningApp, media: MediaServer
) -> None:
    done = await _done(app, media.url("/media/video.mp4"))
    await app.client.delete(f"/api/downloads/{done['id']}")
    assert (await app.client.post(f"/api/downloads/{done['id']}/restore")).status_code == 404


async def test_another_session_cannot_restore_my_job(app: RunningApp, media: MediaServer) -> None:
    done = await _done(app, media.url("/media/video.mp4"))
    await app.client.delete(f"/api/downloads/{done['id']}?keep_file=true")
    async with app.new_client() as stranger:
        response = await stranger.post(f"/api/downloads/{done['id']}/restore")
        assert response.status_code == 404
    assert (await app.client.post(f"/api/downloads/{done['id']}/restore")).status_code == 200


async def test_clear_removes_only_the_statuses_asked_and_keeps_files_when_asked(
    app: RunningApp, media: MediaServer
) -> None:
    first = await _done(app, media.url("/media/video.mp4"))
    second = await _done(app, media.url("/media/audio.m4a"))
    failed = await _done(app, media.url("/fail/404"))
    assert failed["status"] == "failed"
    response = await app.client.post(
        "/api/downloads/clear", json={"statuses": ["completed"], "keep_files": True}
    )
    assert response.status_code == 200 and response.json() == {"removed": 2}
    assert _file(app, first).is_file() and _file(app, second).is_file()
    left = (await app.client.get("/api/downloads")).json()["jobs"]
    assert [job["id"] for job in left] == [failed["id"]]

    response = await app.client.post("/api/downloads/clear", json={"statuses": ["failed"]})
    assert response.json() == {"removed": 1}
    assert (await app.client.get("/api/downloads")).json()["jobs"] == []


async def test_clear_without_keep_files_removes_the_files(
    app: RunningApp, media: MediaServer
) -> None:
    done = await _done(app, media.url("/media/video.mp4"))
    response = await app.client.post("/api/downloads/clear", json={"statuses": ["completed"]})
    assert response.json() == {"removed": 1}
    assert not _file(app, done).exists()


async def test_clear_stays_in_my_scope(app: RunningApp, media: MediaServer) -> None:
    async with app.new_client() as other:
        theirs = await _done(app, media.url("/media/video.mp4"), other)
        await _done(app, media.url("/media/video.mp4"))
        response = await app.client.post("/api/downloads/clear", json={"statuses": ["completed"]})
        assert response.json() == {"removed": 1}
        assert (await app.job(theirs["id"], other))["status"] == "completed"


async def test_clear_refuses_active_statuses(app: RunningApp) -> None:
    response = await app.client.post("/api/downloads/clear", json={"statuses": ["downloading"]})
    assert response.status_code == 422
    assert "statuses" in response.json()["error"]["message"]


async def test_retry_requeues_every_failed_job_and_counts_them(
    app: RunningApp, media: MediaServer
) -> None:
    a = await _done(app, media.url("/fail/404"))
    b = await _done(app, media.url("/fail/500"))
    ok = await _done(app, media.url("/media/video.mp4"))
    response = await app.client.post("/api/downloads/retry", json={"statuses": ["failed"]})
    assert response.status_code == 200 and response.json() == {"retried": 2}
    for job in (a, b):
        again = await app.wait_for(job["id"])
        assert again["status"] == "failed" and again["started_at"] != job["started_at"]
    assert (await app.job(ok["id"]))["status"] == "completed"


async def test_retry_refuses_statuses_that_cannot_be_retried(app: RunningApp) -> None:
    response = await app.client.post("/api/downloads/retry", json={"statuses": ["completed"]})
    assert response.status_code == 422
