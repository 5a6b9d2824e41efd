"""Jobs added with the API key, seen in a browser: in isolated mode a browser that shows the key
once sees the key clients' queue beside its own (live, with files to save); in shared and open
mode everyone sees them anyway."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, open_events, running_app

KEY = secrets.token_hex(16)


def _settings(tmp_path: Path, mode: str = "isolated") -> dict[str, str]:
    return {
        "MEDIARIP__SERVER__API_KEY": KEY,
        "MEDIARIP__SESSION__MODE": mode,
        "MEDIARIP__DOWNLOADS__MAX_JOBS_PER_MINUTE": "0",
    }


@asynccontextmanager
async def _browser(app: RunningApp) -> AsyncIterator[httpx.AsyncClient]:
    async with app.new_client() as browser:
        await browser.get("/api/config/public")  # the session and CSRF cookies
        browser.headers["X-CSRF-Token"] = browser.cookies["mrip_csrf"]
        yield browser


async def _added_with_key(app: RunningApp, url: str) -> dict[str, object]:
    async with app.new_client() as script:
        script.headers["Authorization"] = f"Bearer {KEY}"
        job = await app.submit(url, script)
        return await app.wait_for(str(job["id"]), client=script)


async def test_a_browser_that_shows_the_key_sees_the_api_queue_and_saves_its_files(
    tmp_path: Path, media: MediaServer
) -> None:
    async with running_app(make_settings(tmp_path, _settings(tmp_path))) as app:
        done = await _added_with_key(app, media.url("/media/video.mp4"))
        assert done["status"] == "completed" and done["via_api"] is True
        async with _browser(app) as browser:
            assert (await browser.get("/api/downloads")).json()["jobs"] == []
            assert (await browser.get(f"/api/downloads/{done['id']}")).status_code == 404
            assert (await browser.get("/api/queue")).json()["api_jobs"] is False

            wrong = await browser.post("/api/queue/api-jobs", json={"key": "not-the-key" * 2})
            assert wrong.status_code == 401
            shown = await browser.post("/api/queue/api-jobs", json={"key": KEY})
            assert shown.status_code == 200 and shown.json() == {"api_jobs": True}
            assert (await browser.get("/api/queue")).json()["api_jobs"] is True

            listed = (await browser.get("/api/downloads")).json()["jobs"]
            assert [job["id"] for job in listed] == [done["id"]]
            saved = await browser.get(f"/api/downloads/{done['id']}/file")
            assert saved.status_code == 200
            # Live: a new key job reaches this browser's event stream.
            async with open_events(browser) as stream:
                _, init = await stream.next()
                assert [job["id"] for job in init["jobs"]] == [done["id"]]
                second = await _added_with_key(app, media.url("/media/audio.m4a"))
                await stream.until(
                    lambda name, data: name == "job_update" and data["job"]["id"] == second["id"]
                )
            # Another browser still sees nothing of it.
            async with _browser(app) as other:
                assert (await other.get("/api/downloads")).json()["jobs"] == []

            hidden = await browser.delete("/api/queue/api-jobs")
            assert hidden.json() == {"api_jobs": False}
            assert (await browser.get("/api/downloads")).json()["jobs"] == []


async def test_in_shared_mode_everyone_sees_the_api_queue(
    tmp_path: Path, media: MediaServer
) -> None:
    async with running_app(make_settings(tmp_path, _settings(tmp_path, "shared"))) as app:
        done = await _added_with_key(app, media.url("/media/video.mp4"))
        async with _browser(app) as browser:
            assert (await browser.get("/api/queue")).json()["api_jobs"] is True
            listed = (await browser.get("/api/downloads")).json()["jobs"]
            assert [(job["id"], job["via_api"]) for job in listed] == [(done["id"], True)]
