"""``python -m bench.accounts``: what accounts (issue 14) cost a request.

Starts the real server (``python -m mediarip``) twice on a free loopback port, with a temporary
data folder: once with ``auth.mode: none`` and once with ``local``. In each, one client sends
``GET /api/downloads`` (an empty queue, from the listing cache) ``--count`` times back to back on
one kept-alive connection, as:

* ``none``: an anonymous browser session (the cookie ``mrip_session``);
* ``local``: a logged-in user (the ``mrip_user`` cookie: one SQLite lookup of the login per
  request), and the same user through their API key (one lookup of the key).

It prints requests per second and the median and 95th percentile of each, and the time one
login takes (a bcrypt check, cost 12). Sequential requests from one client measure the per-
request cost, not the server's throughput under load (``bench.run`` does that with wrk).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from .batch import _free_port, _wait_ready

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-1"


def _start(root: Path, mode: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MEDIARIP__")},
        "MEDIARIP__SERVER__PORT": str(port),
        "MEDIARIP__SERVER__DATA_DIR": str(root / mode / "data"),
        "MEDIARIP__DOWNLOADS__OUTPUT_DIR": str(root / mode / "downloads"),
        "MEDIARIP__YTDLP__CHECK_UPDATES": "false",
        "MEDIARIP__AUTH__MODE": mode,
        "MEDIARIP__ADMIN__PASSWORD": PASSWORD,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediarip"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_ready(base, proc)
    return proc, base


def _timed(client: httpx.Client, count: int, headers: dict[str, str]) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get("/api/downloads", headers=headers)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return times


def _row(name: str, times: list[float]) -> str:
    p50 = statistics.median(times) * 1000
    p95 = statistics.quantiles(times, n=20)[18] * 1000
    return f"| {name} | {len(times) / sum(times):,.0f} | {p50:.2f} | {p95:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mediarip-bench-accounts-") as tmp:
        root = Path(tmp)
        proc, base = _start(root, "none")
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                client.get("/api/config/public")
                _timed(client, 100, {})  # warm up
                rows.append(_row("`none`, anonymous session", _timed(client, args.count, {})))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
        proc, base = _start(root, "local")
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                client.get("/api/config/public")
                started = time.perf_counter()
                login = client.post(
                    "/api/auth/login", json={"username": "admin", "password": PASSWORD}
                )
                login_ms = (time.perf_counter() - started) * 1000
                assert login.status_code == 200, login.text
                csrf = {"X-CSRF-Token": client.cookies["mrip_csrf"]}
                key = client.post("/api/auth/keys", json={"name": "bench"}, headers=csrf)
                _timed(client, 100, {})
                rows.append(_row("`local`, logged-in user", _timed(client, args.count, {})))
            with httpx.Client(base_url=base, timeout=30) as client:
                by_key = {"X-API-Key": key.json()["key"]}
                _timed(client, 100, by_key)
                rows.append(_row("`local`, user's API key", _timed(client, args.count, by_key)))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    print(f"GET /api/downloads, {args.count} requests back to back on one connection\n")
    print("| client | req/s | p50 ms | p95 ms |\n|---|---|---|---|")
    print("\n".join(rows))
    print(f"\none login (bcrypt, cost 12): {login_ms:.0f} ms")


if __name__ == "__main__":
    main()
