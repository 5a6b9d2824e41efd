"""``python -m bench.subscriptions``: what 200 subscriptions on a 15-minute schedule cost.

Loopback only. It starts the tests' media server with 200 "channels" (RSS feeds of 10 items
each, as ``tests/media`` serves them) and prints:

1. **Spread**: when the 200 subscriptions are checked in one 15-minute period (the schedule's
   own arithmetic): the most checks starting in any one second and any ten seconds, and the
   gaps between them.
2. **Cost of a check**, on the real store, download service and checker in this process: 60
   of them (``BENCH_TIMED``) checked once (first checks), then again (nothing new: the steady
   state), one after another
   with ``check_now``; wall time and CPU time per check (this process's ``process_time``: the
   flat listing in yt-dlp, the decision, the one transaction), and RSS before and after.
3. **Effect on downloads and the API**, on the real server (Hypercorn, in this process):
   ``GET /api/health`` and ``GET /api/downloads`` latency, and the time to download
   ``big.mp4`` (7.6 MB), first with nothing else running, then while the 200 subscriptions
   are all checked within 60 s (15 times denser than their real schedule, as if every one of
   them fell in the same minute).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import statistics
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio

from mediarip.api.wire import job_events_to, subscription_events_to
from mediarip.broker import Broker
from mediarip.config import Settings
from mediarip.engine import DownloadService
from mediarip.presets import PresetBook
from mediarip.store import Store
from mediarip.subscriptions.checker import Subscriptions
from mediarip.subscriptions.events import SubscriptionSink
from mediarip.subscriptions.models import settings_from_body
from mediarip.subscriptions.schedule import next_check
from tests.conftest import make_settings
from tests.media import MediaServer, ensure_media
from tests.support import running_app

ROOT = Path(__file__).resolve().parents[1]
SUBSCRIPTIONS = int(os.environ.get("BENCH_SUBSCRIPTIONS", "200"))
#: How many of them section 2 times, one check after another (all: BENCH_TIMED=200).
TIMED = int(os.environ.get("BENCH_TIMED", "60"))
ITEMS = 10
PERIOD = 15  # minutes


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def make_channels(media: MediaServer) -> list[str]:
    urls = []
    base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for c in range(SUBSCRIPTIONS):
        name = f"bench-{c}-{uuid.uuid4().hex[:6]}"
        for n in range(ITEMS):
            query = urllib.parse.urlencode(
                {
                    "title": f"Episode {n}",
                    "published": int((base + dt.timedelta(days=n)).timestamp()),
                    "duration": 600,
                }
            )
            with urllib.request.urlopen(media.url(f"/channel/{name}/add?{query}")) as r:
                r.read()
        urls.append(media.url(f"/channel/{name}.rss"))
    return urls


def spread() -> None:
    settings = settings_from_body({"url": "https://example.com/feed", "interval_minutes": PERIOD})
    now = dt.datetime.now(dt.UTC)
    times = sorted(
        (next_check(settings, str(uuid.uuid4()), now) - now).total_seconds()
        for _ in range(SUBSCRIPTIONS)
    )
    per_second = max(sum(1 for t in times if int(t) == int(s)) for s in times)
    per_ten = max(sum(1 for t in times if s <= t < s + 10) for s in times)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    print(f"1. spread of {SUBSCRIPTIONS} subscriptions over {PERIOD} min")
    print(f"   first check after {times[0]:.1f} s, last after {times[-1]:.1f} s")
    print(f"   most checks starting in one second: {per_second}; in ten seconds: {per_ten}")
    print(
        f"   gap between checks: median {statistics.median(gaps):.1f} s, "
        f"mean {statistics.mean(gaps):.1f} s, max {max(gaps):.1f} s"
    )


@attrs.define
class Context:
    settings: Settings
    store: Store
    broker: Broker
    downloads: DownloadService
    on_subscription_event: SubscriptionSink = attrs.field(init=False)
    presets: PresetBook = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.on_subscription_event = subscription_events_to(self.broker)
        self.presets = PresetBook(self.store)


async def check_costs(urls: list[str], root: Path) -> None:
    settings = make_settings(root / "costs")
    Path(settings.downloads.output_dir).mkdir(parents=True, exist_ok=True)
    async with Store.open(root / "costs.sqlite3") as store:
        broker = Broker()
        async with DownloadService.open(store, job_events_to(broker), settings) as downloads:
            context = Context(settings, store, broker, downloads)
            subs = Subscriptions(context)
            async with trio.open_nursery() as nursery:
                await nursery.start(subs.run)
                # Created paused: the checker would otherwise run their first checks itself.
                ids = []
                for url in urls[:TIMED]:
                    sub = await subs.create("bench", settings_from_body({"url": url}))
                    await subs.set_paused(sub.id, None, True)
                    ids.append(sub.id)
                rss_before = rss_mb()
                for label in ("first checks", "steady checks (nothing new)"):
                    walls, cpus = [], []
                    for sub_id in ids:
                        cpu, wall = time.process_time(), time.perf_counter()
                        result = await subs.check_now(sub_id, None)
                        walls.append(time.perf_counter() - wall)
                        cpus.append(time.process_time() - cpu)
                        assert result.error is None, result.error
                        assert result.listed == ITEMS
                    print(
                        f"   {label:29} wall p50 {statistics.median(walls) * 1000:6.1f} ms, "
                        f"p95 {pct(walls, 95) * 1000:6.1f} ms | CPU p50 "
                        f"{statistics.median(cpus) * 1000:6.1f} ms, p95 {pct(cpus, 95) * 1000:6.1f} ms, "
                        f"all {len(ids)}: {sum(cpus):.1f} s"
                    )
                print(
                    f"   RSS {rss_before:.0f} MB before, {rss_mb():.0f} MB after "
                    f"{2 * len(ids)} checks"
                )
                history = await store.check_history(ids[0])
                assert len(history) == 2
                nursery.cancel_scope.cancel()


async def latencies(client: httpx.AsyncClient, seconds: float) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"/api/health": [], "/api/downloads": []}
    deadline = trio.current_time() + seconds
    while trio.current_time() < deadline:
        for path, samples in found.items():
            start = time.perf_counter()
            response = await client.get(path)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200
        await trio.sleep(0.05)
    return found


async def download_time(client: httpx.AsyncClient, url: str) -> float:
    start = time.perf_counter()
    job = (await client.post("/api/downloads", json={"url": url})).json()
    while True:
        state = (await client.get(f"/api/downloads/{job['id']}")).json()
        if state["status"] in ("completed", "failed", "cancelled"):
            assert state["status"] == "completed", state
            return time.perf_counter() - start
        await trio.sleep(0.02)


async def effect(urls: list[str], media: MediaServer, root: Path) -> None:
    settings = make_settings(root / "server", {"MEDIARIP__DOWNLOADS__MAX_JOBS_PER_MINUTE": "0"})
    big = media.url("/media/big.mp4")
    async with running_app(settings) as app:
        client = app.client
        await client.get("/api/config/public")
        ids = []
        for url in urls:
            response = await client.post(
                "/api/subscriptions", json={"url": url, "interval_minutes": PERIOD}
            )
            ids.append(response.json()["id"])
        # Let their first checks (run at once on creation) end before measuring.
        with trio.fail_after(300):
            while True:
                subs = (await client.get("/api/subscriptions")).json()["subscriptions"]
                if all(s["checks"] >= 1 for s in subs):
                    break
                await trio.sleep(0.5)
        await download_time(client, big)  # warm: imports, page cache

        async def measure(label: str, during: Callable[[], Any] | None) -> None:
            async with trio.open_nursery() as nursery:
                if during is not None:
                    nursery.start_soon(during)
                lat = await latencies(client, 20)
                dl = [await download_time(client, big) for _ in range(3)]
                nursery.cancel_scope.cancel()
            health, listing = lat["/api/health"], lat["/api/downloads"]
            print(
                f"   {label:32} health p50 {statistics.median(health) * 1000:5.1f} ms "
                f"p99 {pct(health, 99) * 1000:6.1f} ms | downloads list p50 "
                f"{statistics.median(listing) * 1000:5.1f} ms p99 {pct(listing, 99) * 1000:6.1f} ms"
                f" | big.mp4 median {statistics.median(dl):.2f} s"
            )

        async def checks_in_a_minute() -> None:
            async with httpx.AsyncClient(base_url=app.base_url, timeout=60) as checker:
                checker.cookies.update(client.cookies)
                async with trio.open_nursery() as nursery:
                    for sub_id in ids:
                        nursery.start_soon(checker.post, f"/api/subscriptions/{sub_id}/check")
                        await trio.sleep(60 / len(ids))

        print("3. effect on downloads and the API (real server)")
        await measure("nothing else running", None)
        await measure(f"{SUBSCRIPTIONS} checks within 60 s", checks_in_a_minute)


async def main() -> None:
    media_dir = ensure_media(ROOT / ".cache" / "test-media")
    with tempfile.TemporaryDirectory() as tmp, MediaServer(media_dir) as media:
        root = Path(tmp)
        urls = await trio.to_thread.run_sync(make_channels, media)
        print(f"machine: {os.cpu_count()} CPUs; {SUBSCRIPTIONS} channels of {ITEMS} items each")
        spread()
        print("2. cost of a check (in process: flat listing, decision, one transaction)")
        await check_costs(urls, root)
        await effect(urls, media, root)


if __name__ == "__main__":
    trio.run(main)
