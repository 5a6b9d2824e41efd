"""A failed job reads the same live and after a reload: its stored progress is the last shown."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, open_events, running_app


async def test_a_failed_jobs_stored_progress_is_what_was_last_shown(
    tmp_path: Path, media: MediaServer
) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__DOWNLOADS__SOCKET_TIMEOUT": "2"})
    async with running_app(settings) as app:
        await _check_progress_as_shown(app, media.url("/stall/big.mp4"))
        await _check_progress_as_shown(app, media.url("/fail/drop/big.mp4"))


async def _check_progress_as_shown(app: RunningApp, url: str) -> None:
    async with open_events(app.client) as stream:
        await stream.until(lambda name, _: name == "init")
        job = await app.submit(url)
        shown: list[float] = []

        def ended(name: str, data: dict[str, dict[str, object]]) -> bool:
            if name != "job_update" or data["job"]["id"] != job["id"]:
                return False
            if "progress" in data["job"]:
                shown.append(float(data["job"]["progress"]))  # type: ignore[arg-type]
            return data["job"].get("status") == "failed"

        await stream.until(ended, timeout=60)
    assert shown
    stored = await app.job(job["id"])
    assert stored["status"] == "failed"
    assert stored["progress"] == shown[-1]
    listed = (await app.client.get("/api/downloads")).json()["jobs"]
    assert listed[0]["progress"] == shown[-1]
