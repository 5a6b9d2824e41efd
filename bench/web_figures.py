"""The web app's figures: ``.venv/bin/python -m bench.web_figures`` from the repository root.

Prints three things (issue 3, "Figures"):

1. The production bundle's size: every ``web/dist/assets/*.js`` and ``*.css``, raw and gzipped
   (Python's gzip, level 9, like ``gzip -9``; the server itself sends them uncompressed).
2. The time from navigation to an interactive page on loopback, in Debian's headless Chromium,
   against ``python -m mediarip`` with an empty queue: the browser's own navigation timings
   (``PerformanceNavigationTiming``: HTML received, DOM interactive, DOMContentLoaded, load, first
   contentful paint) and the app's own moments, stamped in the page by an init script: the URL
   field present and enabled, and the ``init`` event of ``/api/events`` received (the queue on
   screen is the server's). "Interactive" is the later of those two. Each run is a fresh browser
   context (empty HTTP cache); "warm" runs reload in one context (hashed assets cached).
3. How long one progress update takes to reach the screen with 1,000 jobs listed. The 1,000 jobs
   (800 finished, 150 failed, 50 cancelled) are written into the server's SQLite file with
   ``mediarip.store.Store`` before the server starts (shared mode, so the page sees them all).
   Then real, throttled downloads run from the loopback media server. An init script wraps
   ``EventSource`` and stamps each ``job_update`` as it is dispatched (its listener is the first
   on the source, so it runs before the app's); a ``MutationObserver`` stamps each change of a
   row's ``aria-valuenow``, and a ``requestAnimationFrame`` scheduled there stamps the next frame.
   Each DOM change is paired with the latest update for that job carrying that percentage; the
   delays (update dispatched -> attribute changed, and -> the next frame starts) are given as
   p50/p95/max (``performance.now()`` has 0.1 ms resolution here). Run A: one download, the list
   as a person first sees it (100 rows mounted, the rest behind "show more"). Run B: 20 downloads
   at once, same list. Run C: 20 more with every row mounted first ("show more" pressed to the
   end). Each also counts the main thread's long tasks (> 50 ms) while it runs. The server, its
   downloads and the browser share this machine's CPUs, so B and C measure a loaded machine.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import trio
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from mediarip.models import Job, JobError, JobKind, JobStatus, MediaType
from mediarip.store import Store
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer, free_port
from tests.media import MediaServer, ensure_media

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "web"
DIST = WEB / "dist"

LOAD_RUNS = 15
SEEDED_JOBS = 1000
SINGLE_RATE = 300_000  # bytes/s: big.mp4 (~7.6 MiB) takes ~26 s, about one update a second
MANY_DOWNLOADS = 20
MANY_RATE = 700_000  # bytes/s each: ~11 s

# Stamps, in the page, what the figures need. Runs before the app's own scripts.
HOOKS = """
(() => {
  const T = (window.__bench = { sse: [], dom: [], frames: [], longTasks: [] });
  const Original = window.EventSource;
  function Stamped(url, options) {
    const source = new Original(url, options);
    source.addEventListener('init', () => { if (T.init == null) T.init = performance.now(); });
    // Raw data only: parsing here would add the probe's own work to the measured path.
    source.addEventListener('job_update', (ev) => { T.sse.push([performance.now(), ev.data]); });
    return source;
  }
  Stamped.prototype = Original.prototype;
  Object.assign(Stamped, { CONNECTING: 0, OPEN: 1, CLOSED: 2 });
  window.EventSource = Stamped;

  const inputReady = () => {
    if (T.input != null) return;
    const el = document.querySelector('[data-testid="url-input"]');
    if (el && !el.disabled) T.input = performance.now();
  };
  new MutationObserver((records) => {
    inputReady();
    for (const r of records) {
      if (r.type !== 'attributes' || r.attributeName !== 'aria-valuenow') continue;
      const row = r.target.closest('[data-testid="job-row"]');
      if (!row) continue;
      const entry = [performance.now(), row.dataset.jobId, Number(r.target.getAttribute('aria-valuenow')), null];
      T.dom.push(entry);
      requestAnimationFrame(() => { entry[3] = performance.now(); });
    }
  }).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow', 'disabled'],
  });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) T.longTasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) {}
})();
"""


# ---- helpers -----------------------------------------------------------------------------------


def ensure_built() -> None:
    newest = max(p.stat().st_mtime for p in (WEB / "src").rglob("*") if p.is_file())
    index = DIST / "index.html"
    if index.is_file() and index.stat().st_mtime >= newest:
        return
    print("building web/ (npm run build) ...", flush=True)
    subprocess.run(["npm", "run", "build"], cwd=WEB, check=True, capture_output=True)


@contextmanager
def running(root: Path, env: dict[str, str] | None = None) -> Iterator[AppServer]:
    server = AppServer(root, free_port(), env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"p50 {percentile(values, 50):7.2f} ms   p95 {percentile(values, 95):7.2f} ms   "
        f"max {max(values):7.2f} ms   (n={len(values)})"
    )


# ---- 1. bundle size ----------------------------------------------------------------------------


def bundle_sizes() -> list[str]:
    lines = []
    totals: dict[str, list[int]] = {}
    for path in sorted((DIST / "assets").iterdir()):
        if path.suffix not in (".js", ".css"):
            continue
        raw = path.read_bytes()
        packed = len(gzip.compress(raw, compresslevel=9))
        totals.setdefault(path.suffix, [0, 0])
        totals[path.suffix][0] += len(raw)
        totals[path.suffix][1] += packed
        lines.append(
            f"  {path.name:<32} {len(raw) / 1024:8.1f} KiB raw  {packed / 1024:7.1f} KiB gzip"
        )
    for suffix, (raw_total, packed_total) in sorted(totals.items(), reverse=True):
        name = "JS" if suffix == ".js" else "CSS"
        lines.append(
            f"  {name + ' total':<32} {raw_total / 1024:8.1f} KiB raw  {packed_total / 1024:7.1f} KiB gzip"
        )
    html = (DIST / "index.html").read_bytes()
    lines.append(f"  {'index.html':<32} {len(html) / 1024:8.1f} KiB raw")
    return lines


# ---- 2. time to interactive --------------------------------------------------------------------


def _load_once(page: Page, base: str, reload: bool) -> dict[str, float]:
    started = time.perf_counter()
    if reload:
        page.reload()
    else:
        page.goto(base + "/")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
    expect(page.get_by_test_id("url-input")).to_be_enabled()
    wall = (time.perf_counter() - started) * 1000
    timings: dict[str, float] = page.evaluate(
        """() => {
            const n = performance.getEntriesByType('navigation')[0];
            const fcp = performance.getEntriesByName('first-contentful-paint')[0];
            const b = window.__bench;
            return {
                html: n.responseEnd, domInteractive: n.domInteractive,
                domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd,
                fcp: fcp ? fcp.startTime : NaN, input: b.input, init: b.init,
            };
        }"""
    )
    timings["interactive"] = max(timings["input"], timings["init"])
    timings["wall"] = wall
    return timings


def load_times(browser: Browser, base: str) -> list[str]:
    cold: list[dict[str, float]] = []
    for _ in range(LOAD_RUNS + 1):
        context = browser.new_context()
        context.add_init_script(HOOKS)
        cold.append(_load_once(context.new_page(), base, reload=False))
        context.close()
    cold = cold[1:]  # the first one also warms the server and Chromium up
    context = browser.new_context()
    context.add_init_script(HOOKS)
    page = context.new_page()
    _load_once(page, base, reload=False)
    warm = [_load_once(page, base, reload=True) for _ in range(LOAD_RUNS)]
    context.close()

    names = [
        ("html", "HTML received (responseEnd)"),
        ("domInteractive", "DOM interactive"),
        ("domContentLoaded", "DOMContentLoaded done"),
        ("fcp", "first contentful paint"),
        ("load", "load event done"),
        ("input", "URL field enabled (app mounted)"),
        ("init", "SSE init received (queue live)"),
        ("interactive", "interactive = later of the two"),
        ("wall", "goto() -> both checked from Python"),
    ]
    lines = [
        f"  {'median over ' + str(LOAD_RUNS) + ' loads, ms from navigation start':<44} cold     warm"
    ]
    for key, label in names:
        c = statistics.median(t[key] for t in cold)
        w = statistics.median(t[key] for t in warm)
        lines.append(f"  {label:<44} {c:7.1f}  {w:7.1f}")
    worst = max(t["interactive"] for t in cold)
    lines.append(f"  {'slowest cold load, interactive':<44} {worst:7.1f}")
    return lines


# ---- 3. a progress update reaching the screen with 1,000 jobs ----------------------------------


async def _seed(db: Path, count: int) -> None:
    now = dt.datetime.now(dt.UTC)
    jobs = []
    for i in range(count):
        status = (
            JobStatus.COMPLETED
            if i % 20 < 16
            else JobStatus.FAILED
            if i % 20 < 19
            else JobStatus.CANCELLED
        )
        created = now - dt.timedelta(minutes=30, seconds=count - i)
        jobs.append(
            Job(
                id=str(uuid.uuid4()),
                session_id="bench",
                url=f"https://example.invalid/watch/{i:04d}",
                created_at=created,
                kind=JobKind.SINGLE,
                title=f"Seeded download {i:04d}",
                status=status,
                media_type=MediaType.VIDEO,
                output_format="mp4",
                progress=100.0 if status is JobStatus.COMPLETED else 42.0,
                total_bytes=5_000_000 + i,
                filename=f"seeded-{i:04d}.mp4" if status is JobStatus.COMPLETED else None,
                filesize=5_000_000 + i if status is JobStatus.COMPLETED else None,
                error=JobError("not_found", "The site says this media does not exist (HTTP 404).")
                if status is JobStatus.FAILED
                else None,
                started_at=created,
                finished_at=created + dt.timedelta(seconds=5),
            )
        )
    async with Store.open(db) as store:
        await store.insert_jobs(jobs)


def _pair(bench: dict[str, Any], job_ids: set[str]) -> tuple[list[float], list[float], int]:
    """Pair each aria-valuenow change with the update that caused it."""
    updates: dict[str, list[tuple[float, int]]] = {}
    for stamp, data in bench["sse"]:
        job = json.loads(data).get("job") or {}
        if job.get("id") not in job_ids:
            continue
        if job.get("status") == "completed":
            value = 100  # the bar shows 100 for a finished job, whatever the progress field says
        elif isinstance(job.get("progress"), (int, float)):
            value = int(max(0, min(100, job["progress"])))
        else:
            continue
        updates.setdefault(job["id"], []).append((stamp, value))
    to_dom, to_frame = [], []
    for stamp, job_id, value, frame in bench["dom"]:
        causes = [t for t, v in updates.get(job_id, []) if v == value and t <= stamp]
        if not causes:
            continue
        to_dom.append(stamp - causes[-1])
        if frame is not None:
            to_frame.append(frame - causes[-1])
    count = sum(len(v) for v in updates.values())
    return to_dom, to_frame, count


def _run_downloads(
    page: Page, server: AppServer, media: MediaServer, n: int, rate: int
) -> tuple[list[float], list[float], int, list[list[float]], float]:
    page.wait_for_timeout(500)  # long tasks of what came before are reported late: let them
    page.evaluate(
        "() => { const b = window.__bench; b.sse = []; b.dom = []; b.t0 = performance.now(); }"
    )
    ids = set()
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for _ in range(n):
            answer = client.post("/api/downloads", json={"url": media.url(f"/slow/{rate}/big.mp4")})
            answer.raise_for_status()
            ids.add(answer.json()["id"])
        started = time.monotonic()
        while True:
            jobs = [client.get(f"/api/downloads/{i}").json() for i in ids]
            if all(j["status"] in ("completed", "failed", "cancelled") for j in jobs):
                break
            if time.monotonic() - started > 180:
                raise RuntimeError("the downloads did not finish in 3 minutes")
            time.sleep(0.5)
        took = time.monotonic() - started
        failed = [j for j in jobs if j["status"] != "completed"]
        if failed:
            raise RuntimeError(f"downloads did not complete: {failed}")
    for job_id in ids:
        expect(page.locator(f'[data-job-id="{job_id}"]')).to_have_attribute(
            "data-status", "completed"
        )
    page.wait_for_timeout(300)  # the last frames
    bench = page.evaluate("window.__bench")
    to_dom, to_frame, updates = _pair(bench, ids)
    long_tasks = [
        [start - bench["t0"], d] for start, d in bench["longTasks"] if start >= bench["t0"]
    ]
    return to_dom, to_frame, updates, long_tasks, took


def _long_tasks(tasks: list[list[float]]) -> str:
    if not tasks:
        return "none"
    listed = ", ".join(f"{d:.0f} ms at +{start / 1000:.1f} s" for start, d in tasks[:6])
    return f"{len(tasks)} ({listed}{', ...' if len(tasks) > 6 else ''})"


def progress_latency(browser: Browser, media: MediaServer, root: Path) -> list[str]:
    trio.run(_seed, root / "data" / "mediarip.sqlite3", SEEDED_JOBS)
    env = {
        "MEDIARIP__SESSION__MODE": "shared",
        "MEDIARIP__PURGE__ENABLED": "false",
        "MEDIARIP__DOWNLOADS__MAX_CONCURRENT": str(MANY_DOWNLOADS),
    }
    lines = []
    with running(root, env) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(HOOKS)
        page = context.new_page()
        started = time.perf_counter()
        page.goto(server.base + "/")
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
        expect(page.get_by_test_id("filter-all")).to_have_attribute("data-count", str(SEEDED_JOBS))
        shown = page.locator('[data-testid="job-row"]').count()
        lines.append(
            f"  page with {SEEDED_JOBS} jobs live after {(time.perf_counter() - started) * 1000:.0f} ms "
            f"(wall); {shown} rows mounted, the rest behind 'show more'"
        )

        runs = [
            ("A", 1, SINGLE_RATE, False),
            ("B", MANY_DOWNLOADS, MANY_RATE, False),
            ("C", MANY_DOWNLOADS, MANY_RATE, True),
        ]
        for name, count, rate, mount_all in runs:
            if mount_all:
                more = page.get_by_test_id("show-more")
                deadline = time.monotonic() + 60
                while more.count() and time.monotonic() < deadline:
                    try:  # the button is re-rendered under the click now and then: try again
                        more.click(timeout=2000)
                    except PlaywrightError:
                        page.wait_for_timeout(100)
            rows = page.locator('[data-testid="job-row"]').count()
            to_dom, to_frame, updates, long_tasks, took = _run_downloads(
                page, server, media, count, rate
            )
            what = "1 download" if count == 1 else f"{count} downloads at once"
            lines.append(
                f"  {name}: {what} at {rate // 1000} kB/s{'' if count == 1 else ' each'} ({took:.0f} s); {rows} rows mounted "
                f"before ({'all' if mount_all else 'the first page'}); {updates} progress updates"
            )
            lines.append(f"     update -> aria-valuenow changed   {fmt_ms(to_dom)}")
            lines.append(f"     update -> next frame starts       {fmt_ms(to_frame)}")
            lines.append(f"     long tasks (>50 ms) meanwhile: {_long_tasks(long_tasks)}")
        context.close()
    return lines


# ---- main --------------------------------------------------------------------------------------


def main() -> None:
    ensure_built()
    print("media-rip web figures")
    print(
        f"  Chromium: {subprocess.run([CHROMIUM, '--version'], capture_output=True, text=True).stdout.strip()}"
    )
    print(f"  machine: {os.cpu_count()} CPUs; everything on 127.0.0.1\n")
    print("1. production bundle (web/dist/assets), gzip -9:")
    for line in bundle_sizes():
        print(line)
    media_dir = ensure_media(REPO / ".cache" / "test-media")
    work = Path(tempfile.mkdtemp(prefix="mediarip-web-figures-"))
    try:
        with MediaServer(media_dir) as media, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                print("\n2. navigation -> interactive, empty queue (headless Chromium, loopback):")
                with running(work / "load") as server:
                    for line in load_times(browser, server.base):
                        print(line, flush=True)
                print(f"\n3. one progress update reaching the screen, {SEEDED_JOBS} jobs listed:")
                for line in progress_latency(browser, media, work / "many"):
                    print(line, flush=True)
            finally:
                browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
