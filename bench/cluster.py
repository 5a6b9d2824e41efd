"""``python -m bench.cluster``: media-rip as a cluster (issue 16), figures side by side.

Everything on this machine and loopback: a throwaway PostgreSQL (``tests/postgres.py``), the
tests' media server, and real processes (``mediarip serve``, ``mediarip worker``, and plain
``mediarip`` on SQLite for comparison), started fresh for each row on a fresh database.

- **Aggregate throughput**: 16 downloads of ``big.mp4`` (~7.6 MiB) throttled to 2 MB/s each,
  with 1, 2 and 4 workers of ``downloads.max_concurrent: 2``, from the first POST to the last
  ``completed`` event; the single box (SQLite, the same ``max_concurrent``) for reference. It
  should scale with the workers until the machine (2 cores here, shared by every process) is
  the limit.
- **Claim latency**: 20 small jobs one after another with idle workers, from the POST's answer
  to the first event that says the job left ``queued`` (a web node's wake message, a worker's
  claim, its first status change back through NOTIFY to the web node's stream).
- **Event latency, worker → web node → client**: for every completed job above, from its
  ``finished_at`` (stamped by the worker as it writes the final status) to the arrival of the
  ``completed`` event on a stream of the web node.

The store's own operations per second on each engine: ``python -m bench.store``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.media import MediaServer, ensure_media
from tests.postgres import Cluster, running_cluster

REPO_ROOT = Path(__file__).resolve().parents[1]
JOBS = 16
RATE = 2_000_000  # bytes per second per download
CLAIM_SAMPLES = 20
SLOTS = 2  # downloads.max_concurrent of each worker (and of the single box)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Events:
    """A web node's event stream, read in a thread: (arrival time, job) of each job_update."""

    def __init__(self, base: str) -> None:
        self.updates: list[tuple[float, dict[str, Any]]] = []
        self._open = threading.Event()
        threading.Thread(target=self._read, args=(base,), daemon=True).start()
        if not self._open.wait(15):
            raise RuntimeError("the event stream did not open")

    def _read(self, base: str) -> None:
        try:
            with httpx.stream("GET", f"{base}/api/events", timeout=None) as response:
                self._open.set()
                event = ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "job_update":
                        self.updates.append((time.time(), json.loads(line[5:])["job"]))
        except httpx.HTTPError:
            pass  # the node stopped

    def first(self, job_id: str, statuses: set[str], timeout: float = 120) -> tuple[float, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for arrived, job in list(self.updates):
                if job.get("id") == job_id and job.get("status") in statuses:
                    return arrived, job
            time.sleep(0.005)
        raise RuntimeError(f"job {job_id} never reached {statuses}")


@contextmanager
def _processes(env: dict[str, str], commands: list[list[str]]) -> Iterator[str]:
    """Start ``commands`` (the first serves HTTP); yield its base URL; stop them all."""
    port = _free_port()
    procs = []
    logs = Path(env["MEDIARIP__SERVER__DATA_DIR"]).parent
    try:
        for number, command in enumerate(commands):
            own = {**env, "MEDIARIP__SERVER__PORT": str(port)} if number == 0 else env
            log = (logs / f"process-{number}.log").open("ab")
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "mediarip", *command],
                    cwd=REPO_ROOT,
                    env=own,
                    stdout=log,
                    stderr=log,
                )
            )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the web node did not start")
            time.sleep(0.1)
        if len(commands) > 1:
            # The workers say when they claim; give them the time to start listening.
            deadline = time.monotonic() + 60
            while (
                sum(
                    "is claiming jobs" in (logs / f"process-{n}.log").read_text(errors="replace")
                    for n in range(1, len(commands))
                )
                < len(commands) - 1
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError("a worker did not start")
                time.sleep(0.1)
        yield base
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _env(root: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIARIP__")}
    env.update(
        {
            "MEDIARIP__SERVER__DATA_DIR": str(root / "data"),
            "MEDIARIP__DOWNLOADS__OUTPUT_DIR": str(root / "downloads"),
            "MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS": "true",
            "MEDIARIP__DOWNLOADS__MAX_JOBS_PER_MINUTE": "0",
            "MEDIARIP__DOWNLOADS__MAX_CONCURRENT": str(SLOTS),
            "MEDIARIP__SESSION__MODE": "shared",
        }
    )
    if database_url is not None:
        env["MEDIARIP__DATABASE__URL"] = database_url
    return env


def _post(client: httpx.Client, url: str) -> dict[str, Any]:
    response = client.post("/api/downloads", json={"url": url})
    if response.status_code != 201:
        raise RuntimeError(f"POST answered {response.status_code}: {response.text}")
    return response.json()  # type: ignore[no-any-return]


def _stamp(value: str) -> float:
    return dt.datetime.fromisoformat(value).timestamp()


def _throughput(base: str, media: MediaServer, size: int) -> tuple[float, list[float]]:
    """(MB/s over the batch, finished_at -> completed event at the client, per job)."""
    events = Events(base)
    with httpx.Client(base_url=base, timeout=30) as client:
        started = time.monotonic()
        ids = [_post(client, media.url(f"/slow/{RATE}/big.mp4?n={n}"))["id"] for n in range(JOBS)]
        arrivals = [events.first(job_id, {"completed", "failed"}) for job_id in ids]
        took = time.monotonic() - started
    failed = [job for _, job in arrivals if job["status"] != "completed"]
    if failed:
        raise RuntimeError(f"{len(failed)} job(s) failed: {failed[0].get('error')}")
    lags = [arrived - _stamp(job["finished_at"]) for arrived, job in arrivals]
    return JOBS * size / took / 1e6, lags


def _claims(base: str, media: MediaServer) -> list[float]:
    events = Events(base)
    waits = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for n in range(CLAIM_SAMPLES):
            answered = _post(client, media.url(f"/media/video.mp4?claim={n}"))
            posted = time.time()
            arrived, _ = events.first(
                answered["id"], {"extracting", "downloading", "postprocessing", "completed"}
            )
            waits.append(arrived - posted)
            events.first(answered["id"], {"completed", "failed"})
    return waits


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return f"{ordered[index] * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    media_dir = ensure_media(REPO_ROOT / ".cache" / "test-media")
    size = (media_dir / "big.mp4").stat().st_size
    rows: list[tuple[str, str, str, str, str]] = []
    with running_cluster() as postgres, MediaServer(media_dir) as media:

        def run(label: str, cluster: Cluster | None, workers: int) -> None:
            root = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
            try:
                url = cluster.new_database() if cluster else None
                env = _env(root, url)
                if url is not None:
                    subprocess.run(
                        [sys.executable, "-m", "mediarip", "db", "migrate"],
                        env=env, cwd=REPO_ROOT, check=True, capture_output=True,
                    )  # fmt: skip
                    commands = [["serve"]] + [["worker"]] * workers
                else:
                    commands = [[]]
                with _processes(env, commands) as base:
                    rate, lags = _throughput(base, media, size)
                    claims = _claims(base, media)
                rows.append(
                    (
                        label,
                        f"{rate:.1f}",
                        f"{_ms(claims, 50)} / {_ms(claims, 95)}",
                        f"{_ms(lags, 50)} / {_ms(lags, 99)}",
                        f"{len(lags)}",
                    )
                )
                print(f"{label}: {rate:.1f} MB/s", flush=True)
            finally:
                shutil.rmtree(root, ignore_errors=True)

        run(f"single box (SQLite), {SLOTS} slots", None, 0)
        for workers in counts:
            run(f"1 web node + {workers} worker(s) x {SLOTS} slots", postgres, workers)
    titles = ("setup", "MB/s (16 x 2 MB/s)", "claim p50 / p95 ms", "event p50 / p99 ms", "n")
    widths = [max(len(t), *(len(r[i]) for r in rows)) for i, t in enumerate(titles)]
    print()
    print(" | ".join(t.ljust(w) for t, w in zip(titles, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(
        f"\nclaim: POST answered -> first event past queued, {CLAIM_SAMPLES} jobs one by one; "
        "event: the worker's finished_at -> completed event at the client (on the single box, "
        "the same process stamps and sends)"
    )


if __name__ == "__main__":
    main()
