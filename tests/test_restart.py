"""Stopping and starting the real process: SIGTERM is orderly, kill -9 loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.media import MediaServer

REPO_ROOT = Path(__file__).resolve().parents[1]


class Process:
    """``python -m mediarip`` as a person starts it, configured by environment variables."""

    def __init__(self, root: Path, port: int, env: dict[str, str] | None = None) -> None:
        self.root, self.port = root, port
        self.env = {
            **os.environ,
            "MEDIARIP__SERVER__PORT": str(port),
            "MEDIARIP__SERVER__DATA_DIR": str(root / "data"),
            "MEDIARIP__DOWNLOADS__OUTPUT_DIR": str(root / "downloads"),
            "MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS": "true",
            "MEDIARIP__SESSION__MODE": "open",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        log = (self.root / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mediarip"], cwd=self.root, env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError((self.root / "server.log").read_text())

    def stop(self, sig: int) -> float:
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(timeout=15)
        return time.monotonic() - started


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Process]:
    process = Process(tmp_path, _free_port())
    yield process
    if process.proc and process.proc.poll() is None:
        process.proc.kill()
        process.proc.wait()


def _submit(server: Process, url: str) -> str:
    response = httpx.post(f"{server.base}/api/downloads", json={"url": url}, timeout=10)
    assert response.status_code == 201
    return str(response.json()["id"])


def _wait(
    server: Process, job_id: str, statuses: set[str], timeout: float = 60
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{server.base}/api/downloads/{job_id}", timeout=10).json()
        if job["status"] in statuses:
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {statuses}: {job}")


def test_after_kill_9_mid_download_the_next_start_resumes_and_completes(
    server: Process, media: MediaServer
) -> None:
    server.start()
    jobs = [_submit(server, media.url("/slow/1000000/big.mp4")) for _ in range(2)]
    for job_id in jobs:
        _wait(server, job_id, {"downloading"})
    time.sleep(1.0)
    server.stop(signal.SIGKILL)
    httpx.get(media.url("/_requests?clear"))
    server.start()
    for job_id in jobs:
        done = _wait(server, job_id, {"completed", "failed"})
        assert done["status"] == "completed", done
        path = server.root / "downloads" / str(done["filename"])
        assert path.stat().st_size == (media.media_dir / "big.mp4").stat().st_size
    assert not (server.root / "downloads" / ".mediarip-partial").exists()
    # The downloads went on from their partial files rather than from the start.
    requests = httpx.get(media.url("/_requests")).json()
    ranges = [r["headers"].get("Range", "") for r in requests if r["path"].endswith("big.mp4")]
    assert any(r.startswith("bytes=") and not r.startswith("bytes=0-") for r in ranges), ranges


def test_sigterm_stops_within_seconds_and_leaves_running_jobs_queued(
    server: Process, media: MediaServer
) -> None:
    server.start()
    job_id = _submit(server, media.url("/slow/1000000/big.mp4"))
    _wait(server, job_id, {"downloading"})
    with httpx.stream("GET", f"{server.base}/api/events", timeout=10) as events:
        next(events.iter_lines())  # an open event stream must not hold the shutdown up
        took = server.stop(signal.SIGTERM)
    assert took < 10
    assert server.proc is not None and server.proc.returncode == 0
    log = (server.root / "server.log").read_text()
    assert "shutdown complete" in log
    # The job was left queued, its partial file kept; the next start finishes it.
    server.start()
    done = _wait(server, job_id, {"completed", "failed"})
    assert done["status"] == "completed"


def test_recover_on_start_fail_marks_interrupted_jobs_failed(
    tmp_path: Path, media: MediaServer
) -> None:
    first = Process(tmp_path, _free_port())
    first.start()
    try:
        job_id = _submit(first, media.url("/slow/200000/big.mp4"))
        _wait(first, job_id, {"downloading"})
    finally:
        first.stop(signal.SIGKILL)
    second = Process(tmp_path, _free_port(), {"MEDIARIP__DOWNLOADS__RECOVER_ON_START": "fail"})
    second.start()
    try:
        job = _wait(second, job_id, {"failed", "completed"})
        assert job["status"] == "failed"
        assert job["error"]["code"] == "interrupted"  # type: ignore[index]
        assert "Retry" in job["error"]["message"]  # type: ignore[index]
    finally:
        second.stop(signal.SIGTERM)


def test_a_bad_setting_stops_startup_with_a_message_naming_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mediarip"],
        cwd=tmp_path,
        env={**os.environ, "MEDIARIP__DOWNLOADS__MAX_CONCURRENT": "lots"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "downloads.max_concurrent" in result.stderr
    assert "MEDIARIP__DOWNLOADS__MAX_CONCURRENT" in result.stderr
