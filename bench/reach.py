"""Figures for issue 13 (reach): ``.venv/bin/python -m bench.reach`` from the repository root.

1. How long a job's completion takes to reach an open event stream (from the job's
   ``finished_at`` to the frame read by a client), with no notification target, and with a
   webhook target that never answers plus a healthy one: the notifier must not add to it.
2. How long a ``/metrics`` scrape takes (median, p95 of 200 sequential scrapes) with 50 jobs in
   the database.

Everything runs on loopback: the real server in this process (as the tests run it), the tests'
media server, and two webhook receivers in threads.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import trio

from tests.conftest import make_settings
from tests.media import MediaServer, ensure_media
from tests.receiver import Receiver
from tests.support import open_events, running_app
from tests.test_admin import set_up

JOBS = 12
SCRAPES = 200


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _completion_delays(root: Path, media: MediaServer, targets: list[str]) -> list[float]:
    settings = make_settings(root, {"MEDIARIP__METRICS__ENABLED": "true"})
    delays: list[float] = []
    async with running_app(settings) as app:
        await set_up(app)
        app.handle.services.notifications.try_seconds = 60
        for index, url in enumerate(targets):
            response = await app.client.post(
                "/api/admin/notifications",
                json={"name": f"t{index}", "kind": "webhook", "url": url},
            )
            assert response.status_code == 201, response.text
        async with open_events(app.client) as events:
            await events.next()
            for _ in range(JOBS):
                job = await app.submit(media.url("/media/video.mp4"))
                seen = await events.until(
                    lambda name, d, i=job["id"]: (
                        name == "job_update"
                        and d["job"]["id"] == i
                        and d["job"].get("status") == "completed"
                    ),
                    timeout=60,
                )
                _, data = seen[-1]
                read_at = dt.datetime.now(dt.UTC)
                finished = dt.datetime.fromisoformat(data["job"]["finished_at"])
                delays.append((read_at - finished).total_seconds() * 1000)
    return delays


async def _scrape_times(root: Path, media: MediaServer) -> list[float]:
    settings = make_settings(root, {"MEDIARIP__METRICS__ENABLED": "true"})
    times: list[float] = []
    async with running_app(settings) as app:
        for _ in range(50):
            await app.submit(media.url("/fail/404"))
        for _ in range(SCRAPES):
            started = time.perf_counter()
            response = await app.client.get("/metrics")
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return times


async def main() -> None:
    media_dir = ensure_media(Path(__file__).resolve().parents[1] / ".cache" / "test-media")
    with MediaServer(media_dir) as media, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        plain = await _completion_delays(root / "a", media, [])
        with Receiver(then="hang") as hanging, Receiver() as healthy:
            notified = await _completion_delays(root / "b", media, [hanging.url, healthy.url])
        scrapes = await _scrape_times(root / "c", media)
    print(f"completion to SSE frame, {JOBS} jobs each (ms)   median    p95    max")
    for name, values in (("no target", plain), ("hanging + healthy webhook", notified)):
        print(
            f"  {name:<38} {statistics.median(values):7.1f} {_pct(values, 0.95):6.1f}"
            f" {max(values):6.1f}"
        )
    print(
        f"/metrics scrape, {SCRAPES} in a row, 50 jobs (ms): median "
        f"{statistics.median(scrapes):.1f}, p95 {_pct(scrapes, 0.95):.1f}"
    )


if __name__ == "__main__":
    trio.run(main)
