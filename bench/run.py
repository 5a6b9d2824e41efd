"""media-rip's benchmark: ``.venv/bin/python -m bench.run`` from the repository root.

Starts the real server (``python -m bench.launcher``: the ``mediarip`` command with a timing
probe on progress reports) and the loopback media server of the tests, each in its own process,
measures what issue 2's "Benchmark" section asks for, prints one table, and stops everything it
started (also on Ctrl-C or an error). See README.md for what each figure means.
"""

from __future__ import annotations

import itertools
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio
import yt_dlp.version

from mediarip.config import DownloadSettings
from tests.media import MediaServer

from .launcher import HOOK_LOG_ENV
from .media import ensure_bench_media
from .sse import SSEStream

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
YT_DLP = str(Path(sys.executable).with_name("yt-dlp"))
COOKIE = "mrip_session"
TERMINAL = {"completed", "failed", "cancelled"}
ACTIVE = "queued,extracting,downloading,postprocessing"

# How much of everything; the whole run stays under ~5 minutes.
THROUGHPUT_ROUNDS = 3
PROGRESS_DOWNLOADS = 16
PROGRESS_RATE = 200_000  # bytes/s per throttled download
SSE_CLIENTS = 100
PROGRESS_WINDOW = 20.0  # seconds of steady state measured
CANCEL_SAMPLES = 20
POSTS_PER_SESSION = 100  # two sessions: 200 POSTs; the second session is the 100-job listing
IDLE_POSTS = 20
WRK_ARGS = ["-t2", "-c20", "-d10s", "--latency"]
LAST_BYTE_RUNS = 5  # section 7
CLIPS = 32  # section 9: this many ~10 MB clips ...
CLIP_SLOTS = 3  # ... this many at once

rng = random.Random(2)


def note(message: str) -> None:
    """Progress of the run, on stderr (the table goes to stdout)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- results -------------------------------------------------------------------------------------


@dataclass
class Row:
    section: str
    name: str
    value: str
    target: str = ""
    ok: bool | None = None  # None: no target, for information


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100), linearly interpolated between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def print_table(rows: list[Row], header: str) -> None:
    widths = [max(len(r.section) for r in rows), max(len(r.name) for r in rows)]
    widths.append(max(len(r.value) for r in rows))
    widths.append(max(len(r.target) for r in rows))
    line = "-" * (sum(widths) + 3 * 4 + 4)
    print(header)
    print(line)
    titles = ("#", "measurement", "result", "target")
    print(" | ".join(t.ljust(w) for t, w in zip(titles, widths, strict=True)) + " | verdict")
    print(line)
    previous = None
    for row in rows:
        verdict = {True: "ok", False: "MISSED", None: ""}[row.ok]
        section = row.section if row.section != previous else ""
        previous = row.section
        cells = (section, row.name, row.value, row.target)
        print(" | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + f" | {verdict}")
    print(line)


# --- processes -----------------------------------------------------------------------------------


async def stop_process(process: trio.Process, grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``grace`` seconds."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        with trio.move_on_after(grace):
            await process.wait()
    if process.returncode is None:
        process.kill()
        await process.wait()


@asynccontextmanager
async def running_process(cmd: list[str], **options: Any) -> AsyncIterator[trio.Process]:
    """A child process that is stopped, whatever happens, when the block ends."""
    process = await trio.lowlevel.open_process(cmd, **options)
    try:
        yield process
    finally:
        with trio.CancelScope(shield=True):
            await stop_process(process)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_processes(pid: int, names: set[str]) -> list[list[str]]:
    """The command lines of the live (not zombie) children of ``pid`` named one of ``names``."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
            if (
                fields.get("Name", "").strip() in names
                and fields.get("PPid", "").strip() == str(pid)
                and not fields.get("State", "").startswith("Z")
            ):
                found.append((status.parent / "cmdline").read_bytes().decode().split("\0"))
        except OSError:  # it ended meanwhile
            continue
    return found


# --- the server under test -----------------------------------------------------------------------


@dataclass
class Bench:
    """The running server and what the measurements need to know about it."""

    base_url: str
    pid: int
    downloads_dir: Path
    hook_log: Path
    scratch: Path
    media: MediaServer

    def rss_mb(self) -> float:
        """The server's resident memory (VmRSS), in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def work_dir(self, job_id: str) -> Path:
        return self.downloads_dir / ".mediarip-partial" / job_id

    def client(self, cookie: str | None = None) -> httpx.AsyncClient:
        """A browser of its own (its own cookie jar), or one in the session of ``cookie``."""
        cookies = {COOKIE: cookie} if cookie else None
        return httpx.AsyncClient(base_url=self.base_url, cookies=cookies, timeout=60)


def server_env(scratch: Path, port: int, hook_log: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIARIP")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "MEDIARIP__SERVER__HOST": "127.0.0.1",
            "MEDIARIP__SERVER__PORT": str(port),
            "MEDIARIP__SERVER__DATA_DIR": str(scratch / "data"),
            "MEDIARIP__DOWNLOADS__OUTPUT_DIR": str(scratch / "downloads"),
            "MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS": "true",
            "MEDIARIP__DOWNLOADS__MAX_CONCURRENT": str(PROGRESS_DOWNLOADS),
            HOOK_LOG_ENV: str(hook_log),
            "MEDIARIP__YTDLP__CHECK_UPDATES": "false",
        }
    )
    if "max_jobs_per_minute" in attrs.fields_dict(DownloadSettings):
        # The benchmark measures the server, not its per-session job-creation rate limit.
        env["MEDIARIP__DOWNLOADS__MAX_JOBS_PER_MINUTE"] = "0"
    return env


async def wait_healthy(base_url: str, process: trio.Process, log: Path) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        with trio.fail_after(30):
            while True:
                if process.returncode is not None:
                    tail = log.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"the server exited with {process.returncode}:\n{tail}")
                try:
                    if (await client.get("/api/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await trio.sleep(0.1)


@asynccontextmanager
async def media_rip_server(scratch: Path, media: MediaServer, **env: str) -> AsyncIterator[Bench]:
    """The real server, in its own process, on a free loopback port; SIGTERM at the end.
    ``env`` adds to (or overrides) :func:`server_env`'s variables."""
    port = free_port()
    hook_log = scratch / "hooks.tsv"
    log_path = scratch / "server.log"
    with log_path.open("wb") as log:
        async with running_process(
            [PYTHON, "-m", "bench.launcher"],
            env={**server_env(scratch, port, hook_log), **env},
            cwd=scratch,  # no config.yaml of the repository's is picked up
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        ) as process:
            base_url = f"http://127.0.0.1:{port}"
            await wait_healthy(base_url, process, log_path)
            note(f"server up at {base_url} (pid {process.pid})")
            yield Bench(base_url, process.pid, scratch / "downloads", hook_log, scratch, media)
            note("stopping the server (SIGTERM)")


# --- HTTP helpers --------------------------------------------------------------------------------


async def start_session(client: httpx.AsyncClient) -> str:
    """Make the server give this client a session; return its id."""
    response = await client.get("/api/downloads")
    response.raise_for_status()
    return client.cookies[COOKIE]


async def submit(client: httpx.AsyncClient, url: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/downloads", json={"url": url, **fields})
    if response.status_code != 201:
        raise RuntimeError(f"POST /api/downloads: {response.status_code} {response.text}")
    return response.json()  # type: ignore[no-any-return]


async def wait_job(
    client: httpx.AsyncClient,
    job_id: str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = 60,
    interval: float = 0.05,
) -> dict[str, Any]:
    """Poll the job until ``predicate`` holds; fail if it ends first or ``timeout`` passes."""
    with trio.fail_after(timeout):
        while True:
            job: dict[str, Any] = (await client.get(f"/api/downloads/{job_id}")).json()
            if predicate(job):
                return job
            if job["status"] in TERMINAL:
                raise RuntimeError(f"job {job_id} ended ({job['status']}: {job.get('error')})")
            await trio.sleep(interval)


async def wait_settled(
    client: httpx.AsyncClient, timeout: float = 120, interval: float = 0.25
) -> None:
    """Wait until no job of the client's session is active."""
    with trio.fail_after(timeout):
        while (await client.get("/api/downloads", params={"status": ACTIVE})).json()["jobs"]:
            await trio.sleep(interval)


# --- 4. memory -----------------------------------------------------------------------------------


async def read_ready(process: trio.Process, timeout: float = 60) -> None:
    assert process.stdout is not None
    seen = b""
    with trio.fail_after(timeout):
        while b"READY\n" not in seen:
            chunk = await process.stdout.receive_some()
            if not chunk:
                raise RuntimeError("the SSE clients exited before they were all connected")
            seen += chunk


@asynccontextmanager
async def sse_clients(bench: Bench, cookie: str, out: Path) -> AsyncIterator[trio.Process]:
    """The SSE client process, once all its streams have had their ``init``. Close its stdin
    to make it write ``out`` and exit (it is stopped anyway when the block ends)."""
    cmd = [
        PYTHON,
        "-m",
        "bench.sse_clients",
        "--url",
        bench.base_url,
        f"--cookie={cookie}",
    ]  # a session id may start with "-"
    cmd += ["--clients", str(SSE_CLIENTS), "--out", str(out), "--max-seconds", "180"]
    async with running_process(
        cmd, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as clients:
        await read_ready(clients)
        await trio.sleep(1)  # let the server settle after the connections
        yield clients


async def measure_rss(bench: Bench) -> list[Row]:
    """On the fresh server: idle, then with the 100 SSE clients connected (no jobs yet)."""
    await trio.sleep(1)
    idle = bench.rss_mb()
    async with bench.client() as client:
        cookie = await start_session(client)
    async with sse_clients(bench, cookie, bench.scratch / "rss-receipts.tsv"):
        streams = bench.rss_mb()
    per_stream = (streams - idle) * 1024 / SSE_CLIENTS
    note(f"RSS idle {idle:.1f} MB, with {SSE_CLIENTS} SSE clients {streams:.1f} MB")
    section = "4 server RSS"
    return [
        Row(section, "idle, after start-up", f"{idle:.1f} MB"),
        Row(section, f"with {SSE_CLIENTS} SSE clients connected",
            f"{streams:.1f} MB ({per_stream:.0f} KB per stream)"),
    ]  # fmt: skip


# --- 5. POST /api/downloads ----------------------------------------------------------------------


async def idle_rss(bench: Bench) -> float:
    """RSS once the server has been idle for a few seconds after work."""
    await trio.sleep(5)
    return bench.rss_mb()


async def timed_post(client: httpx.AsyncClient, url: str) -> float:
    started = time.perf_counter()
    await submit(client, url)
    return time.perf_counter() - started


async def measure_post_latency(bench: Bench) -> tuple[list[Row], str]:
    """POSTs of a URL that fails at once (404): 200 back to back, in two sessions of 100 jobs
    (each job then runs and fails in the background, as a burst of submissions would), and,
    for reference, a few more with the server otherwise idle (each job ends before the next).

    Returns the rows and the ``Cookie`` header of the second session (its session and CSRF
    cookies, as the web app's browser sends them), whose 100 jobs section 6 lists."""
    url = bench.media.url("/fail/404")
    burst: list[float] = []
    cookie = ""
    for _ in range(2):
        async with bench.client() as client:
            await start_session(client)
            for _ in range(POSTS_PER_SESSION):
                burst.append(await timed_post(client, url))
            await wait_settled(client)
            cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    idle: list[float] = []
    async with bench.client() as client:
        await start_session(client)
        for _ in range(IDLE_POSTS):
            idle.append(await timed_post(client, url))
            await wait_settled(client)
    note(f"POST: {len(burst)} back to back, p50 {ms(percentile(burst, 50))}")
    section = "5 POST /api/downloads"
    p50 = percentile(burst, 50)
    return [
        Row(section, f"latency p50 ({len(burst)} sequential, back to back)", ms(p50),
            "< 20 ms", p50 < 0.020),
        Row(section, "latency p99 / max", f"{ms(percentile(burst, 99))} / {ms(max(burst))}"),
        Row(section, f"server otherwise idle: p50 / p99 ({len(idle)} requests)",
            f"{ms(percentile(idle, 50))} / {ms(percentile(idle, 99))}"),
    ], cookie  # fmt: skip


# --- 6. GET /api/downloads with wrk --------------------------------------------------------------


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    bad_responses: int
    socket_errors: str


def parse_wrk(output: str) -> WrkResult:
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = {
        m[1]: float(m[2]) * scale[m[3]]
        for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    }
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rps is None or set(latency) != {"50", "99"}:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:\s*(.*)", output)
    return WrkResult(
        float(rps[1]),
        latency["50"],
        latency["99"],
        int(bad[1]) if bad else 0,
        errors[1].strip() if errors else "",
    )


async def run_wrk(url: str, cookie: str | None) -> WrkResult:
    """``cookie``: a whole ``Cookie`` header's value."""
    cmd = ["wrk", *WRK_ARGS, url]
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: {cookie}"]
    result = await trio.run_process(cmd, capture_stdout=True, capture_stderr=True)
    return parse_wrk(result.stdout.decode())


LISTING_PASSES = 3
#: MeTube's p99 on the same 100-job list, on this machine (issue 9): 35-44 ms.
METUBE_LIST_P99_MS = 44.0


async def measure_listing(bench: Bench, cookie: str) -> list[Row]:
    """The 100-job list and, for reference, ``/api/health``, in alternating passes: the list's
    rate against health's in the same run, and whether it drifts from pass to pass (it once
    fell 998 -> 815 -> 736 req/s with flat CPU)."""
    async with httpx.AsyncClient(
        base_url=bench.base_url, headers={"Cookie": cookie}, timeout=60
    ) as client:
        response = await client.get("/api/downloads")
    jobs = len(response.json()["jobs"])
    if jobs != POSTS_PER_SESSION:
        raise RuntimeError(f"the listing session has {jobs} jobs, not {POSTS_PER_SESSION}")
    lists: list[WrkResult] = []
    healths: list[WrkResult] = []
    for _ in range(LISTING_PASSES):
        lists.append(await run_wrk(bench.base_url + "/api/downloads", cookie))
        healths.append(await run_wrk(bench.base_url + "/api/health", None))
        note(
            f"wrk /api/downloads: {lists[-1].requests_per_s:.0f} req/s, "
            f"/api/health: {healths[-1].requests_per_s:.0f} req/s"
        )
    section = "6 wrk -t2 -c20 -d10s"

    def rates(results: list[WrkResult]) -> str:
        return " / ".join(f"{r.requests_per_s:,.0f}" for r in results) + " req/s"

    def worst_p99(results: list[WrkResult]) -> float:
        return max(r.p99_ms for r in results)

    def errors(results: list[WrkResult]) -> tuple[str, bool]:
        bad = sum(r.bad_responses for r in results)
        socket = "; ".join(r.socket_errors for r in results if r.socket_errors)
        return f"{bad} non-2xx" + (f", socket errors: {socket}" if socket else ""), bad == 0

    list_rate = statistics.median(r.requests_per_s for r in lists)
    health_rate = statistics.median(r.requests_per_s for r in healths)
    ratio = list_rate / health_rate
    drift = lists[-1].requests_per_s / lists[0].requests_per_s
    list_errors, list_clean = errors(lists)
    health_errors, health_clean = errors(healths)
    size = f"{len(response.content) / 1024:.0f} KiB"
    return [
        Row(section, f"GET /api/downloads, {jobs} jobs ({size}), passes 1 / 2 / 3", rates(lists)),
        Row(section, "  latency p50 / p99 (worst pass)",
            f"{max(r.p50_ms for r in lists):.1f} / {worst_p99(lists):.1f} ms",
            f"p99 <= {METUBE_LIST_P99_MS:.0f} ms (MeTube)",
            worst_p99(lists) <= METUBE_LIST_P99_MS),
        Row(section, "  last pass / first pass (drift)", f"{drift:.2f}", ">= 0.90",
            drift >= 0.90),
        Row(section, "  errors", list_errors, "0 non-2xx", list_clean),
        Row(section, "GET /api/health, passes 1 / 2 / 3", rates(healths), ">= 1,500 req/s",
            health_rate >= 1500),
        Row(section, "  latency p50 / p99 (worst pass)",
            f"{max(r.p50_ms for r in healths):.1f} / {worst_p99(healths):.1f} ms"),
        Row(section, "  errors", health_errors, "0 non-2xx", health_clean),
        Row(section, "list / health, medians of the passes", f"{ratio:.2f}", ">= 0.90",
            ratio >= 0.90),
    ]  # fmt: skip


# --- 1. throughput -------------------------------------------------------------------------------


async def app_run(bench: Bench, url: str) -> tuple[float, dict[str, Any]]:
    """POST, then wait for the job's end on an SSE stream (no polling load); delete it."""
    async with bench.client() as client:
        await start_session(client)
        async with client.stream("GET", "/api/events", timeout=None) as response:
            events = SSEStream(response)
            await events.next()  # init
            started = time.perf_counter()
            job = await submit(client, url)
            done = await events.until_job(job["id"], TERMINAL)
            elapsed = time.perf_counter() - started
        await client.delete(f"/api/downloads/{job['id']}")  # and its file
    return elapsed, done


async def cli_run(bench: Bench, url: str) -> tuple[float, list[int]]:
    """The plain command line, into a fresh folder; the sizes of the files it left."""
    target = Path(tempfile.mkdtemp(prefix="cli-", dir=bench.scratch))
    try:
        started = time.perf_counter()
        await trio.run_process(
            [YT_DLP, "-P", str(target), url],
            stdout=subprocess.DEVNULL,
            capture_stderr=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
        return elapsed, [p.stat().st_size for p in target.iterdir()]
    finally:
        shutil.rmtree(target, ignore_errors=True)


async def measure_throughput(bench: Bench) -> list[Row]:
    media_file = bench.media.media_dir / "big.mp4"
    size = media_file.stat().st_size
    media_file.read_bytes()  # into the page cache, so that neither side pays for the disk
    url = bench.media.url("/media/big.mp4")
    # The server's first download pays one-time costs (yt-dlp's lazily loaded extractor and
    # downloader modules); a server that has been running has paid them. The CLI pays its
    # start-up every time: that is what a command line is.
    await app_run(bench, url)
    app_times, cli_times = [], []
    for _ in range(THROUGHPUT_ROUNDS):  # interleaved, so drift affects both alike
        elapsed, done = await app_run(bench, url)
        if done["status"] != "completed" or done.get("filesize") != size:
            raise RuntimeError(f"the app's download went wrong: {done}")
        app_times.append(elapsed)
        elapsed, files = await cli_run(bench, url)
        if files != [size]:
            raise RuntimeError(f"yt-dlp left files of {files} bytes, expected one of {size}")
        cli_times.append(elapsed)
        note(f"throughput round: app {app_times[-1]:.2f} s, CLI {cli_times[-1]:.2f} s")
    # What each pays whatever the size: the same run on a URL that fails at once.
    fixed_url = bench.media.url("/fail/404")
    app_fixed = statistics.median([(await app_run(bench, fixed_url))[0] for _ in range(3)])
    cli_fixed = statistics.median([(await cli_run(bench, fixed_url))[0] for _ in range(3)])
    app, cli = statistics.median(app_times), statistics.median(cli_times)
    ratio = cli / app  # (size / app) / (size / cli)
    transfer_ratio = (cli - cli_fixed) / (app - app_fixed)
    mb = size / 1e6
    section = "1 throughput"
    return [
        Row(section, f"app: POST -> completed, {mb:.0f} MB (median of 3)",
            f"{app:.2f} s ({mb / app:.0f} MB/s)"),
        Row(section, "yt-dlp CLI, same URL (median of 3)", f"{cli:.2f} s ({mb / cli:.0f} MB/s)"),
        Row(section, "app / CLI throughput", f"{ratio:.2f}", ">= 0.95", ratio >= 0.95),
        Row(section, "fixed cost per run (a URL that 404s): app / CLI",
            f"{ms(app_fixed)} / {ms(cli_fixed)}"),
        Row(section, "app / CLI throughput, fixed costs taken out", f"{transfer_ratio:.2f}"),
    ]  # fmt: skip


# --- 2. progress latency (and 4. memory with 100 streams) ----------------------------------------


def read_hook_log(path: Path, job_ids: set[str]) -> dict[tuple[str, float], float]:
    """(job id, progress) -> when the worker handed the report over (the first, if repeated)."""
    stamps: dict[tuple[str, float], float] = {}
    for line in path.read_text().splitlines():
        job, progress, stamp = line.split("\t")
        if job in job_ids:
            stamps.setdefault((job, float(progress)), float(stamp))
    return stamps


def read_receipts(path: Path) -> list[tuple[int, str, float, float]]:
    receipts = []
    for line in path.read_text().splitlines():
        client, job, progress, stamp = line.split("\t")
        receipts.append((int(client), job, float(progress), float(stamp)))
    return receipts


async def wait_all_progressing(client: httpx.AsyncClient, job_ids: list[str]) -> None:
    with trio.fail_after(60):
        while True:
            jobs = (await client.get("/api/downloads")).json()["jobs"]
            moving = {j["id"] for j in jobs if j["status"] == "downloading" and j["progress"] > 0}
            if moving >= set(job_ids):
                return
            await trio.sleep(0.25)


async def measure_progress_latency(bench: Bench) -> list[Row]:
    out = bench.scratch / "sse-receipts.tsv"
    url = bench.media.url(f"/slow/{PROGRESS_RATE}/big.mp4")
    async with bench.client() as client:
        cookie = await start_session(client)
        rss_before = bench.rss_mb()
        async with sse_clients(bench, cookie, out) as clients:
            rss_streams = bench.rss_mb()
            jobs = [await submit(client, url) for _ in range(PROGRESS_DOWNLOADS)]
            job_ids = [job["id"] for job in jobs]
            await wait_all_progressing(client, job_ids)
            window_start = time.time()
            rss_peak = rss_streams
            note(f"{PROGRESS_DOWNLOADS} downloads running; measuring for {PROGRESS_WINDOW:.0f} s")
            for _ in range(int(PROGRESS_WINDOW)):
                await trio.sleep(1)
                rss_peak = max(rss_peak, bench.rss_mb())
            window_end = time.time()
            await trio.sleep(1)  # the last reports of the window reach the clients
            assert clients.stdin is not None
            await clients.stdin.aclose()  # the clients write their receipts and exit
            with trio.fail_after(30):
                await clients.wait()
        for job_id in job_ids:
            await client.delete(f"/api/downloads/{job_id}")
    stamps = read_hook_log(bench.hook_log, set(job_ids))
    in_window = {k: t for k, t in stamps.items() if window_start <= t <= window_end}
    latencies = [
        received - in_window[(job, progress)]
        for _, job, progress, received in read_receipts(out)
        if (job, progress) in in_window
    ]
    if not latencies:
        raise RuntimeError("no progress update was matched to its report")
    p99 = percentile(latencies, 99)
    note(f"progress latency: {len(latencies)} matched, p99 {ms(p99)}")
    section = "2 progress latency"
    setup = f"{PROGRESS_DOWNLOADS} x {PROGRESS_RATE // 1000} kB/s, {SSE_CLIENTS} SSE clients"
    return [
        Row(section, f"hook -> SSE client p50 ({setup})", ms(percentile(latencies, 50))),
        Row(section, "hook -> SSE client p99", ms(p99), "< 100 ms", p99 < 0.100),
        Row(section, "hook -> SSE client max", ms(max(latencies))),
        Row(section, "events matched (reports x clients)",
            f"{len(latencies):,} ({len(in_window)} reports in {PROGRESS_WINDOW:.0f} s)"),
        Row("4 server RSS", "later: before section 2 (after sections 5, 6 and 1)",
            f"{rss_before:.1f} MB"),
        Row("4 server RSS", f"  + {SSE_CLIENTS} SSE clients", f"{rss_streams:.1f} MB"),
        Row("4 server RSS", f"  + {PROGRESS_DOWNLOADS} downloads running (peak)",
            f"{rss_peak:.1f} MB"),
    ]  # fmt: skip


# --- 3. cancel latency ---------------------------------------------------------------------------


@dataclass
class CancelSample:
    latency: float
    answered: str  # the status in the answer
    partial_left: bool  # the job's working folder still existed right after the answer
    ffmpeg_left: int  # ffmpeg/ffprobe children of the server still alive


async def timed_cancel(bench: Bench, client: httpx.AsyncClient, job_id: str) -> CancelSample:
    started = time.perf_counter()
    response = await client.post(f"/api/downloads/{job_id}/cancel")
    latency = time.perf_counter() - started
    partial_left = bench.work_dir(job_id).exists()
    ffmpeg_left = len(child_processes(bench.pid, {"ffmpeg", "ffprobe"}))
    answered = response.json().get("status", f"HTTP {response.status_code}")
    return CancelSample(latency, answered, partial_left, ffmpeg_left)


async def cancel_while_downloading(bench: Bench, client: httpx.AsyncClient) -> CancelSample:
    job = await submit(client, bench.media.url(f"/slow/{PROGRESS_RATE}/big.mp4"))
    await wait_job(client, job["id"], lambda j: j["status"] == "downloading" and j["progress"] > 0)
    if not any(bench.work_dir(job["id"]).iterdir()):
        raise RuntimeError("a downloading job has no partial file")
    await trio.sleep(rng.uniform(0, 1.0))  # anywhere in the 1.3 s between two 256 KiB reads
    return await timed_cancel(bench, client, job["id"])


async def wait_for_encoder(bench: Bench, client: httpx.AsyncClient, job_id: str) -> None:
    """Wait until the job's own ffmpeg (the one converting its file) runs: then it is in
    post-processing proper, past yt-dlp's one-time ``ffmpeg -bsfs`` version probe."""
    with trio.fail_after(60):
        while True:
            if any(job_id in " ".join(argv) for argv in child_processes(bench.pid, {"ffmpeg"})):
                return
            job = (await client.get(f"/api/downloads/{job_id}")).json()
            if job["status"] in TERMINAL:
                raise RuntimeError(f"job {job_id} ended ({job['status']}: {job.get('error')})")
            await trio.sleep(0.02)


async def cancel_while_postprocessing(bench: Bench, client: httpx.AsyncClient) -> CancelSample:
    url = bench.media.url("/media/long.wav")
    job = await submit(client, url, media_type="audio", output_format="mp3")
    await wait_job(client, job["id"], lambda j: j["status"] == "postprocessing", interval=0.02)
    await wait_for_encoder(bench, client, job["id"])
    await trio.sleep(rng.uniform(0, 0.5))  # ffmpeg takes ~3 s over this file
    return await timed_cancel(bench, client, job["id"])


def cancel_rows(label: str, samples: list[CancelSample], attempts: int) -> list[Row]:
    section = "3 cancel latency"
    if not samples:
        return [Row(section, f"{label}: no sample could be taken", "-", "< 1 s", False)]
    latencies = [s.latency for s in samples]
    p99 = percentile(latencies, 99)
    n = len(samples)
    answered = sum(s.answered == "cancelled" for s in samples)
    gone = sum(not s.partial_left for s in samples)
    clean = sum(not s.ffmpeg_left for s in samples)
    return [
        Row(section, f"{label}: p50 ({n} of {attempts} samples)", ms(percentile(latencies, 50))),
        Row(section, f"{label}: p99", ms(p99), "< 1 s", p99 < 1.0),
        Row(section, "  answered cancelled / work folder gone / no ffmpeg left",
            f"{answered} / {gone} / {clean} of {n}", "all",
            answered == gone == clean == n == attempts),
    ]  # fmt: skip


async def measure_cancel(bench: Bench) -> list[Row]:
    rows = []
    for label, one_sample in (
        ("during download", cancel_while_downloading),
        ("during ffmpeg post-processing", cancel_while_postprocessing),
    ):
        samples = []
        async with bench.client() as client:
            for _ in range(CANCEL_SAMPLES):
                try:
                    samples.append(await one_sample(bench, client))
                except (RuntimeError, trio.TooSlowError) as exc:
                    note(f"cancel {label}: sample not taken: {exc!r}")
        note(f"cancel {label}: p99 {ms(percentile([s.latency for s in samples], 99))}")
        rows += cancel_rows(label, samples, CANCEL_SAMPLES)
    return rows


# --- 7. progress cadence and last byte -> completed ------------------------------------------------

CADENCE_SECONDS = 5.0  # how long the throttled download is watched
CADENCE_RATE = 1_000_000  # bytes/s
SPACED_POSTS = 30
POST_SPACING = 0.5  # seconds between the POSTs of section 8


async def measure_cadence(bench: Bench) -> list[Row]:
    """A download throttled to 1 MB/s, alone, watched on an SSE stream for 5 s: how many
    progress updates reach the client and how far apart. Then one full-speed download: from
    the worker's last progress report (the last byte) to the ``completed`` event, over
    :data:`LAST_BYTE_RUNS` downloads (one is at the mercy of the page cache's write-back)."""
    updates: list[float] = []
    async with bench.client() as client:
        await start_session(client)
        async with client.stream("GET", "/api/events", timeout=None) as response:
            stream = SSEStream(response)
            job = await submit(client, bench.media.url(f"/slow/{CADENCE_RATE}/big.mp4"))
            with trio.fail_after(60):
                while not updates or updates[-1] - updates[0] < CADENCE_SECONDS:
                    name, data, arrived = await stream.next()
                    changed = data.get("job") or {} if name == "job_update" else {}
                    if changed.get("id") == job["id"] and "progress" in changed:
                        updates.append(arrived)
            await client.delete(f"/api/downloads/{job['id']}")
            completions: dict[str, float] = {}
            for _ in range(LAST_BYTE_RUNS):
                job = await submit(client, bench.media.url("/media/big.mp4"))
                await stream.until_job(job["id"], {"completed"})
                completions[job["id"]] = time.time()
                await client.delete(f"/api/downloads/{job['id']}")
    stamps = read_hook_log(bench.hook_log, set(completions))
    waits = [
        completions[job_id] - max(stamp for (job, _), stamp in stamps.items() if job == job_id)
        for job_id in completions
    ]
    done = statistics.median(waits)
    gaps = [b - a for a, b in itertools.pairwise(updates)]
    count = len(updates) - 1  # updates within the 5 s after the first
    p50 = percentile(gaps, 50)
    note(f"cadence: {count} updates in 5 s, gaps p50 {ms(p50)}; last byte -> completed {ms(done)}")
    section = "7 progress cadence"
    return [
        Row(section, f"updates in {CADENCE_SECONDS:.0f} s of a {CADENCE_RATE // 1000} kB/s download",
            str(count), ">= 20", count >= 20),
        Row(section, "gap between updates p50 / p95",
            f"{ms(p50)} / {ms(percentile(gaps, 95))}", "p50 <= 250 ms", p50 <= 0.250),
        Row(section, f"last byte (last report) -> completed event, 200 MB at full speed: "
            f"median / max of {LAST_BYTE_RUNS}", f"{ms(done)} / {ms(max(waits))}", "median < 10 ms",
            done < 0.010),
    ]  # fmt: skip


async def measure_spaced_posts(bench: Bench) -> list[Row]:
    """POSTs one every 0.5 s of a URL that fails at once: each job runs yt-dlp's start-up in
    a worker thread while the next requests come in."""
    url = bench.media.url("/fail/404")
    latencies: list[float] = []
    async with bench.client() as client:
        await start_session(client)
        for _ in range(SPACED_POSTS):
            started = time.perf_counter()
            latencies.append(await timed_post(client, url))
            await trio.sleep(max(0.0, POST_SPACING - (time.perf_counter() - started)))
        await wait_settled(client)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    note(f"spaced POSTs: p50 {ms(p50)}, p99 {ms(p99)}")
    section = "8 POST, a job starting every 0.5 s"
    return [
        Row(section, f"latency p50 ({SPACED_POSTS} requests)", ms(p50), "< 10 ms", p50 < 0.010),
        Row(section, "latency p99", ms(p99), "< 25 ms", p99 < 0.025),
    ]  # fmt: skip


# --- 9. many small downloads ----------------------------------------------------------------------


async def measure_clip_batch(scratch: Path, media: MediaServer) -> list[Row]:
    """``CLIPS`` ~10 MB clips, ``CLIP_SLOTS`` at once (a server of its own with that many
    slots): from the first POST to the last ``completed``, against curl fetching the same bytes
    one after the other. Each job's fixed cost (yt-dlp's start-up and extraction, the start
    gate, the file's move, the database writes) is what separates the two."""
    (scratch / "clips").mkdir()
    async with (
        media_rip_server(
            scratch / "clips", media, MEDIARIP__DOWNLOADS__MAX_CONCURRENT=str(CLIP_SLOTS)
        ) as bench,
        bench.client() as client,
    ):
        await start_session(client)
        # Untimed, as in section 1: a fresh server's first download pays one-time costs (yt-dlp
        # compiles the URL patterns of its ~1,750 extractors once: ~0.4 s of CPU).
        await submit(client, bench.media.url("/media/clip.mp4?n=warm-up"))
        await wait_settled(client, timeout=120, interval=0.05)
        started = time.perf_counter()
        for n in range(CLIPS):
            await submit(client, bench.media.url(f"/media/clip.mp4?n={n}"))
        await wait_settled(client, timeout=300, interval=0.05)
        took = time.perf_counter() - started
        jobs = (await client.get("/api/downloads")).json()["jobs"]
    done = sum(1 for job in jobs if job["status"] == "completed") - 1  # the warm-up
    if done != CLIPS:
        raise RuntimeError(f"section 9: {done} of {CLIPS} clips completed")
    curl_started = time.perf_counter()
    for n in range(CLIPS):
        await trio.run_process(
            ["curl", "-sS", "-o", "/dev/null", media.url(f"/media/clip.mp4?n={n}")]
        )
    curl = time.perf_counter() - curl_started
    mb = (media.media_dir / "clip.mp4").stat().st_size * CLIPS / 1e6
    note(f"clips: {CLIPS} in {took:.2f} s; curl {curl:.2f} s")
    section = "9 many small downloads"
    return [
        Row(section, f"{CLIPS} clips ({mb:.0f} MB), {CLIP_SLOTS} at once: first POST -> last "
            "completed", f"{took:.2f} s", "<= 3 s", took <= 3.0),
        Row(section, "curl, the same bytes one by one", f"{curl:.2f} s"),
        Row(section, "fixed cost per job and slot, (app - curl) / clips x slots",
            ms((took - curl) / CLIPS * CLIP_SLOTS)),
    ]  # fmt: skip


# --- the run -------------------------------------------------------------------------------------


async def run_all(scratch: Path, media: MediaServer, only: set[str]) -> list[Row]:
    """Every section, or those numbered in ``only`` (``python -m bench.run 7 8``)."""

    def wanted(number: str) -> bool:
        return not only or number in only

    rows: list[Row] = []
    async with media_rip_server(scratch, media) as bench:
        if wanted("4"):
            rows += await measure_rss(bench)
        if wanted("5") or wanted("6"):
            post_rows, listing_cookie = await measure_post_latency(bench)
            rows += post_rows if wanted("5") else []
            rows += await measure_listing(bench, listing_cookie) if wanted("6") else []
        if wanted("1"):
            rows += await measure_throughput(bench)
        if wanted("2"):
            rows += await measure_progress_latency(bench)
        if wanted("3"):
            rows += await measure_cancel(bench)
        if wanted("7"):
            rows += await measure_cadence(bench)
        if wanted("8"):
            rows += await measure_spaced_posts(bench)
        if wanted("4"):
            idle = await idle_rss(bench)
            rows.append(Row("4 server RSS", "idle after every section", f"{idle:.1f} MB", "< 90 MB",
                            idle < 90))  # fmt: skip
    if wanted("9"):
        rows += await measure_clip_batch(scratch, media)
    return sorted(rows, key=lambda row: row.section[0])  # stable: keeps each section's order


def header() -> str:
    return (
        f"media-rip benchmark — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, trio {trio.__version__}, "
        f"yt-dlp {yt_dlp.version.__version__}"
    )


def load_average() -> float:
    """The 1-minute load average: other work on the machine shares its cores with the run."""
    return os.getloadavg()[0]


def main() -> int:
    started = time.monotonic()
    load_before = load_average()
    scratch = Path(tempfile.mkdtemp(prefix="mediarip-bench-"))
    try:
        note("making the benchmark media (cached in .cache/bench/)")
        media_dir = ensure_bench_media(REPO / ".cache" / "bench")
        with MediaServer(media_dir) as media:
            note(f"media server at {media.base}")
            rows = trio.run(run_all, scratch, media, set(sys.argv[1:]))
    except KeyboardInterrupt:
        note("interrupted: everything started has been stopped")
        return 130
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print_table(rows, header())
    print(
        f"whole run: {time.monotonic() - started:.0f} s; 1-min load average before "
        f"{load_before:.1f}, after {load_average():.1f} on {os.cpu_count()} CPUs "
        "(a load before the run well above 0 means other work shared the cores: rerun)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
