"""Updating yt-dlp restarts the real server process into the new version, losing nothing.

``python -m mediarip`` runs as a subprocess, as in test_restart.py, with its virtualenv and
source made read-only (a read-only bind mount in a private mount namespace, when the tests run
as root and ``unshare`` can make one: even root cannot write there) and only the data and
downloads folders writable, as in the container image. The update comes from a loopback PEP 503
index holding a wheel repacked from the installed yt-dlp with a higher version.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.media import MediaServer
from tests.test_restart import Process, _free_port
from tests.ytdlp_index import INSTALLED, PackageIndex, bumped_wheel, next_version

PASSWORD = "correct horse battery"
WHEELS = REPO_ROOT / ".cache" / "test-ytdlp"
NEWER = next_version()
VENV = Path(sys.prefix)


def _can_make_read_only_mounts() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind -o ro {VENV} {VENV}"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


class ReadOnlyInstallProcess(Process):
    """The server with its virtualenv and source read-only (when it can be arranged)."""

    read_only = _can_make_read_only_mounts()

    def start(self) -> None:
        if not self.read_only:
            super().start()
            return
        mounts = " && ".join(
            f"mount --bind -o ro {path} {path}" for path in (VENV, REPO_ROOT / "mediarip")
        )
        log = (self.root / "server.log").open("ab")
        self.proc = subprocess.Popen(
            ["unshare", "-m", "sh", "-c", f'{mounts} && exec "$0" -m mediarip', sys.executable],
            cwd=self.root,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"{self.base}/api/health", timeout=1)
                if response.status_code == 200:
                    return response.json()  # type: ignore[no-any-return]
            except httpx.TransportError:
                pass
            assert self.proc is not None and self.proc.poll() is None, self.log()
            time.sleep(0.05)
        raise AssertionError(self.log())

    def log(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")


class EventWatcher:
    """An event stream that stays open across the restart: when the server ends it, it
    reconnects with ``Last-Event-ID``, as the browser's EventSource does. Keeps every job's
    last status it was told of (by ``init`` or ``job_update``)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.status: dict[str, str] = {}
        self.connections = 0
        self.last_id: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            headers = {"Last-Event-ID": self.last_id} if self.last_id else {}
            try:
                with httpx.stream(
                    "GET",
                    f"{self.base}/api/events",
                    headers=headers,
                    timeout=httpx.Timeout(5, read=30),
                ) as response:
                    self.connections += 1
                    self._read(response)
            except httpx.TransportError:
                pass
            time.sleep(0.2)

    def _read(self, response: httpx.Response) -> None:
        name, data, event_id = "message", [], None
        for line in response.iter_lines():
            if self._stop.is_set():
                return
            if line == "":
                if data:
                    self._take(name, json.loads("\n".join(data)))
                    if event_id:
                        self.last_id = event_id
                name, data, event_id = "message", [], None
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                event_id = value

    def _take(self, name: str, data: Any) -> None:
        if name == "init":
            for job in data["jobs"]:
                self.status[job["id"]] = job["status"]
        elif name == "job_update" and "status" in data["job"]:
            self.status[data["job"]["id"]] = data["job"]["status"]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=35)


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PackageIndex]:
    with PackageIndex(tmp_path / "index") as served:
        served.add(bumped_wheel(WHEELS, NEWER))
        yield served


@pytest.fixture
def server(tmp_path: Path, index: PackageIndex) -> Iterator[ReadOnlyInstallProcess]:
    root = tmp_path / "app"
    root.mkdir()
    process = ReadOnlyInstallProcess(
        root,
        _free_port(),
        {
            "MEDIARIP__ADMIN__PASSWORD": PASSWORD,
            "MEDIARIP__YTDLP__INDEX_URL": index.url,
            "MEDIARIP__DOWNLOADS__MAX_CONCURRENT": "2",
        },
    )
    yield process
    if process.proc and process.proc.poll() is None:
        process.proc.send_signal(signal.SIGTERM)
        try:
            process.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.proc.kill()
            process.proc.wait()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _job(server: Process, job_id: str) -> dict[str, Any]:
    return httpx.get(f"{server.base}/api/downloads/{job_id}", timeout=10).json()  # type: ignore[no-any-return]


def _health(server: Process) -> dict[str, Any] | None:
    try:
        response = httpx.get(f"{server.base}/api/health", timeout=2)
    except httpx.TransportError:
        return None
    return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]


@pytest.mark.slow
def test_an_update_restarts_into_the_new_yt_dlp_and_every_download_finishes_intact(
    server: ReadOnlyInstallProcess, media: MediaServer
) -> None:
    server.start()
    assert server.proc is not None
    pid = server.proc.pid
    before = _health(server)
    assert before is not None and before["yt_dlp_version"] == INSTALLED
    # Two downloads running, slow enough (7.6 MiB at 100 kB/s: ~80 s) to outlast the update
    # even on a loaded machine, and one queued behind them.
    sources = ["big.mp4", "big.mp4", "video.mp4"]
    jobs = []
    for name in sources:
        response = httpx.post(
            f"{server.base}/api/downloads",
            json={"url": media.url(f"/slow/100000/{name}")},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        jobs.append(response.json()["id"])
    _wait_for(
        lambda: all(_job(server, j)["status"] == "downloading" for j in jobs[:2]), 30, "downloads"
    )
    assert _job(server, jobs[2])["status"] == "queued"
    events = EventWatcher(server.base)
    _wait_for(lambda: events.connections == 1 and len(events.status) == 3, 10, "the stream")
    admin = httpx.Client(base_url=server.base, timeout=10)
    assert (
        admin.post("/api/admin/login", json={"username": "admin", "password": PASSWORD}).status_code
        == 200
    )
    started = admin.post("/api/admin/ytdlp/update", json={"channel": "stable"})
    assert started.status_code == 202, started.text
    assert started.json()["update"]["state"] == "installing"
    # The panel's view while it runs: progress lines from pip, then the restart.
    seen_states = set()

    def restarted() -> bool:
        try:
            status = admin.get("/api/admin/ytdlp").json()
        except (httpx.TransportError, ValueError):
            return False
        seen_states.add(status["update"]["state"])
        assert status["update"]["state"] != "failed", status
        return bool(status["version"] == NEWER)

    _wait_for(restarted, 300, "the restart into the new yt-dlp")
    after = _health(server)
    assert after is not None
    assert after["yt_dlp_version"] == NEWER
    assert after["yt_dlp_release_date"] == NEWER.replace(".", "-")
    assert after["uptime_s"] < before["uptime_s"] + 120
    status = admin.get("/api/admin/ytdlp").json()
    assert status["running_from"] == "update folder"
    assert status["bundled_version"] == INSTALLED
    assert status["update_available"] is False
    assert "installing" in seen_states
    # The same process (its PID: a container's PID 1 stays), re-executed.
    assert server.proc.poll() is None and server.proc.pid == pid
    log = server.log()
    assert "restarting: ending event streams and stopping downloads" in log
    assert f"running yt-dlp {NEWER} from" in log
    assert "resumed 3 interrupted job(s)" in log  # the restart found them running and queued
    # Every download finishes, byte for byte the source, resumed rather than restarted.
    for job_id, name in zip(jobs, sources, strict=True):
        done = _wait_for(
            lambda job_id=job_id: (
                (j := _job(server, job_id))["status"] in {"completed", "failed"} and j
            ),
            180,
            f"job {job_id}",
        )
        assert done["status"] == "completed", done
        assert _sha256(server.root / "downloads" / done["filename"]) == _sha256(
            media.media_dir / name
        )
    requests = httpx.get(media.url("/_requests")).json()
    ranges = [r["headers"].get("Range", "") for r in requests if r["path"].endswith("big.mp4")]
    assert any(r.startswith("bytes=") and not r.startswith("bytes=0-") for r in ranges), ranges
    # The open event stream reconnected and was told every job's end.
    _wait_for(lambda: all(events.status.get(j) == "completed" for j in jobs), 15, "events")
    assert events.connections >= 2
    events.stop()
    # The virtualenv's yt-dlp is the one it was; the update lives in the data folder.
    assert (VENV / "lib").exists()
    import yt_dlp.version

    assert yt_dlp.version.__version__ == INSTALLED
    folder = server.root / "data" / "ytdlp"
    assert len(list(folder.glob(f"{NEWER}-*/yt_dlp/__init__.py"))) == 1

    # Rollback: back to the bundled yt-dlp, through another restart.
    rolled = admin.post("/api/admin/ytdlp/rollback")
    assert rolled.status_code == 202, rolled.text
    _wait_for(
        lambda: (h := _health(server)) is not None and h["yt_dlp_version"] == INSTALLED,
        180,
        "the restart into the bundled yt-dlp",
    )
    assert server.proc.poll() is None and server.proc.pid == pid
    assert (
        admin.post("/api/admin/login", json={"username": "admin", "password": PASSWORD}).status_code
        == 200
    ), "the admin password from the environment survives restarts"
    status = admin.get("/api/admin/ytdlp").json()
    assert status["running_from"] == "bundled" and status["version"] == INSTALLED
    assert status["latest"] == NEWER and status["update_available"] is True
    assert sorted(p.name for p in folder.iterdir()) == ["tmp"]  # the update's folder is gone
