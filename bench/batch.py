"""``python -m bench.batch``: 1,000 URLs in one ``POST /api/downloads/batch``, timed, with the
server's memory before and after.

It starts the real server (``python -m mediarip``) on a free loopback port with a temporary data
and downloads folder, ``downloads.autostart: false`` (the jobs wait ``paused``: this measures
taking a batch in, not downloading it), ``downloads.max_jobs_per_minute: 0`` and
``downloads.max_concurrent: 1``. Then, for a batch of ``--count`` URLs (loopback media server
URLs that are never fetched):

* the batch request's wall time, and the time for an SSE client to see every new job;
* ``GET /api/downloads`` with all of them (cold, then warm from the listing cache);
* ``POST /api/queue/start`` (every job becomes a task waiting for the one download slot) and
  ``POST /api/queue/pause`` (they all stop again);
* the server's RSS (``/proc/<pid>/status`` VmRSS) after start-up, after the batch, and with
  every job waiting in the queue.

Loopback only; the jobs' URLs point at 127.0.0.1 and none runs (the one slot's job is paused
before it can reach it, or fails fast: nothing listens there).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not answer within 30 s")


def _sse_count(base: str, cookies: httpx.Cookies, expected: int, started: float) -> float:
    """Seconds from ``started`` until ``expected`` job_update events with a status arrived."""
    seen = 0
    with httpx.stream("GET", f"{base}/api/events", cookies=cookies, timeout=120) as stream:
        event = ""
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "job_update" and '"paused"' in line:
                seen += 1
                if seen >= expected:
                    return time.monotonic() - started
    return float("nan")


def run(count: int) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        env = {
            **os.environ,
            "MEDIARIP__SERVER__PORT": str(port),
            "MEDIARIP__SERVER__DATA_DIR": f"{tmp}/data",
            "MEDIARIP__DOWNLOADS__OUTPUT_DIR": f"{tmp}/downloads",
            "MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS": "true",
            "MEDIARIP__DOWNLOADS__AUTOSTART": "false",
            "MEDIARIP__DOWNLOADS__MAX_JOBS_PER_MINUTE": "0",
            "MEDIARIP__DOWNLOADS__MAX_CONCURRENT": "1",
            "MEDIARIP__SERVER__LOG_LEVEL": "warning",
        }
        proc = subprocess.Popen([sys.executable, "-m", "mediarip"], cwd=REPO, env=env)
        try:
            _wait_ready(base, proc)
            with httpx.Client(base_url=base, timeout=120) as client:
                client.get("/api/config/public")  # the session cookie
                rss_idle = _rss_mb(proc.pid)
                urls = [f"http://127.0.0.1:9/batch/{n}.mp4" for n in range(count)]
                # An SSE client in a thread counts the new jobs as they are announced.
                import threading

                sse_result: list[float] = []
                started_box: list[float] = []
                ready = threading.Event()

                def follow() -> None:
                    ready.set()
                    while not started_box:
                        time.sleep(0.001)
                    sse_result.append(_sse_count(base, client.cookies, count, started_box[0]))

                follower = threading.Thread(target=follow, daemon=True)
                follower.start()
                ready.wait()
                time.sleep(0.5)
                started = time.monotonic()
                started_box.append(started)
                response = client.post("/api/downloads/batch", json={"urls": urls})
                took = time.monotonic() - started
                assert response.status_code == 201, response.text
                made = len(response.json()["jobs"])
                follower.join(timeout=120)
                rss_batch = _rss_mb(proc.pid)
                t0 = time.monotonic()
                listed = client.get("/api/downloads")
                cold = time.monotonic() - t0
                t0 = time.monotonic()
                client.get("/api/downloads")
                warm = time.monotonic() - t0
                assert len(listed.json()["jobs"]) == count
                t0 = time.monotonic()
                client.post("/api/queue/start")
                start_all = time.monotonic() - t0
                time.sleep(1.0)
                rss_queued = _rss_mb(proc.pid)
                t0 = time.monotonic()
                client.post("/api/queue/pause")
                pause_all = time.monotonic() - t0
            print(f"batch of {count} URLs ({made} jobs made)")
            print(f"  POST /api/downloads/batch        {took * 1000:8.0f} ms")
            print(f"  all {count} announced over SSE     {sse_result[0] * 1000:8.0f} ms")
            print(f"  GET /api/downloads (cold, warm)  {cold * 1000:8.0f} ms {warm * 1000:6.1f} ms")
            print(f"  POST /api/queue/start            {start_all * 1000:8.0f} ms")
            print(f"  POST /api/queue/pause            {pause_all * 1000:8.0f} ms")
            print(f"  RSS idle                         {rss_idle:8.1f} MB")
            print(f"  RSS after the batch              {rss_batch:8.1f} MB")
            print(f"  RSS with all {count} queued      {rss_queued:8.1f} MB")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    run(parser.parse_args().count)


if __name__ == "__main__":
    main()
