"""Fixtures for the end-to-end tests: the built web app, one headless Chromium per test session
(per xdist worker), a fresh browser context per test, and the real server as a subprocess.

The tests are plain synchronous functions using ``playwright.sync_api``: its event loop must not
run inside trio's, and the server runs as ``python -m mediarip`` in its own process, configured
by ``MEDIARIP__...`` environment variables, as a person starts it (see ``tests/test_restart.py``).
The browser is Debian's Chromium, launched by path; nothing is ever downloaded.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from tests.media import MediaServer

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB = REPO_ROOT / "web"
DIST_INDEX = WEB / "dist" / "index.html"
CACHE = REPO_ROOT / ".cache"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
TERMINAL = ("completed", "failed", "cancelled")
ACTIVE = ("queued", "extracting", "downloading", "postprocessing")

# Long enough for a throttled download on a busy machine, short enough to fail in good time.
expect.set_options(timeout=20_000)


# ---- the built web app -------------------------------------------------------------------------


def _newest_source_mtime() -> float:
    sources = [WEB / "index.html", WEB / "vite.config.ts", WEB / "package.json"]
    sources += [p for p in (WEB / "src").rglob("*") if p.is_file()]
    return max((p.stat().st_mtime for p in sources if p.exists()), default=0.0)


def _dist_is_fresh() -> bool:
    return DIST_INDEX.is_file() and DIST_INDEX.stat().st_mtime >= _newest_source_mtime()


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(
            "web/dist is missing or older than web/src, and npm is not installed to build it: "
            "install Node.js 20.19+ with npm (apt-get install nodejs npm), or build the web app "
            "elsewhere (cd web && npm ci && npm run build)",
            pytrace=False,
        )
    result = subprocess.run(
        [npm, *args], cwd=WEB, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"`npm {' '.join(args)}` in web/ failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """``web/dist``, built first if it is missing or older than its sources.

    xdist workers take a lock, so only one of them builds and the others wait for it.
    """
    if _dist_is_fresh():
        return DIST_INDEX.parent
    CACHE.mkdir(exist_ok=True)
    with (CACHE / "web-build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _dist_is_fresh():
                if not (WEB / "node_modules" / ".bin" / "vite").exists():
                    _npm("ci", "--no-audit", "--no-fund")
                _npm("run", "build")
                DIST_INDEX.touch()  # a source saved during the build still counts as newer
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    assert DIST_INDEX.is_file(), "npm run build did not write web/dist/index.html"
    return DIST_INDEX.parent


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's ``axe.min.js``: from ``web/node_modules`` if present, else ``npm pack``ed once
    into ``.cache/axe/`` (nothing is added to web/)."""
    local = WEB / "node_modules" / "axe-core" / "axe.min.js"
    if local.is_file():
        return local.read_text()
    folder = CACHE / "axe"
    script = folder / "package" / "axe.min.js"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not script.is_file():
                npm = shutil.which("npm")
                if npm is None:
                    pytest.fail("npm is needed to fetch axe-core (npm pack axe-core@4)")
                packed = subprocess.run(
                    [npm, "pack", "axe-core@4", "--silent"],
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                )
                if packed.returncode != 0:
                    pytest.fail(f"npm pack axe-core@4 failed:\n{packed.stderr[-3000:]}")
                tarball = folder / packed.stdout.strip().splitlines()[-1]
                subprocess.run(["tar", "-xzf", str(tarball), "-C", str(folder)], check=True)
                tarball.unlink()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return script.read_text()


# ---- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(web_dist: Path) -> Iterator[Browser]:
    """One headless Chromium for the whole session (each xdist worker has its own)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


NewContext = Callable[..., BrowserContext]


@pytest.fixture
def open_contexts() -> list[BrowserContext]:
    """The contexts this test made. The ``server`` fixture closes them before it stops the
    server: a browser's idle keep-alive connections would hold a graceful shutdown up for
    Hypercorn's whole ``graceful_timeout`` (3 s)."""
    return []


@pytest.fixture
def new_context(browser: Browser, open_contexts: list[BrowserContext]) -> Iterator[NewContext]:
    """Make a fresh browser context (its own cookies, so its own session); all are closed at the
    end of the test. Keyword arguments go to ``browser.new_context``."""
    made = open_contexts

    def make(**options: Any) -> BrowserContext:
        settings: dict[str, Any] = {
            "accept_downloads": True,
            "viewport": DESKTOP,
            "locale": "en-GB",
            "permissions": ["clipboard-read", "clipboard-write"],
            **options,
        }
        context = browser.new_context(**settings)
        context.set_default_timeout(20_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


# ---- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppServer:
    """``python -m mediarip`` in a subprocess, on a fixed port, its folders under ``root``."""

    def __init__(self, root: Path, port: int, env: dict[str, str] | None = None) -> None:
        self.root, self.port = root, port
        self.data_dir = root / "data"
        self.downloads = root / "downloads"
        self.log_path = root / "server.log"
        self.env = {
            **os.environ,
            "MEDIARIP__SERVER__PORT": str(port),
            "MEDIARIP__SERVER__DATA_DIR": str(self.data_dir),
            "MEDIARIP__DOWNLOADS__OUTPUT_DIR": str(self.downloads),
            "MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS": "true",
            "MEDIARIP__DOWNLOADS__SOCKET_TIMEOUT": "10",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{port}"

    def start(self, timeout: float = 20) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mediarip"],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"the server did not start:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Stop the process with ``sig`` and wait for it (kill -9 if it lingers)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no server log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def files(self) -> list[Path]:
        """Finished files in the downloads folder (not the partial work folders)."""
        if not self.downloads.exists():
            return []
        return sorted(
            p
            for p in self.downloads.rglob("*")
            if p.is_file() and ".mediarip-partial" not in p.relative_to(self.downloads).parts
        )


def fill_with_one_of_each(server: AppServer, media: MediaServer) -> None:
    """Give ``server``'s queue a finished job, a failed one and a playlist, and wait for them
    to end, so pages show rows of every kind."""
    with httpx.Client(base_url=server.base, timeout=30) as client:
        ids = [
            client.post("/api/downloads", json={"url": media.url(path)}).json()["id"]
            for path in ("/media/video.mp4", "/fail/404", "/feed.rss")
        ]
        deadline = time.monotonic() + 60
        for job_id in ids:
            while client.get(f"/api/downloads/{job_id}").json()["status"] not in TERMINAL:
                assert time.monotonic() < deadline, f"job {job_id} did not end"
                time.sleep(0.05)


@contextmanager
def running_server(root: Path, env: dict[str, str] | None = None) -> Iterator[AppServer]:
    """A started server; stopped with SIGTERM at the end, its log's tail printed."""
    server = AppServer(root, free_port(), env)
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            # Shown by pytest for a failing test only (captured output).
            print(f"--- server log ({server.log_path}) ---\n{server.log_tail()}")


def serving_pages(
    root: Path, open_contexts: list[BrowserContext], env: dict[str, str] | None = None
) -> Iterator[AppServer]:
    """A server for a test's pages: their browser contexts close before it stops, so no page
    is left talking to a server that is going away."""
    with running_server(root, env) as running:
        yield running
        for context in open_contexts:
            context.close()


@pytest.fixture
def server(
    tmp_path: Path, web_dist: Path, open_contexts: list[BrowserContext]
) -> Iterator[AppServer]:
    """The real server in its default session mode, ``isolated``: each browser its own queue."""
    yield from serving_pages(tmp_path / "app", open_contexts)


# ---- the page ------------------------------------------------------------------------------------


def open_app(context: BrowserContext, server: AppServer) -> Page:
    """A new page on the app, once its event stream is live (the queue shows the server's truth)."""
    page = context.new_page()
    page.goto(server.base + "/")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
    expect(page.get_by_test_id("url-input")).to_be_enabled()
    return page


@pytest.fixture
def page(new_context: NewContext, server: AppServer) -> Page:
    """The app at desktop size in a fresh context."""
    return open_app(new_context(), server)


def paste(page: Page, text: str) -> None:
    """Put ``text`` on the clipboard and paste it into the URL field with Ctrl+V, as a person does
    (the app probes a pasted link at once, a typed one after a pause)."""
    field = page.get_by_test_id("url-input")
    field.click()
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.keyboard.press("ControlOrMeta+V")
    expect(field).to_have_value(text)


def job_rows(page: Page) -> Locator:
    """Every job row: top-level downloads, playlists, and a playlist's items."""
    return page.locator('[data-testid="job-row"]')


def row_for(page: Page, job_id: str) -> Locator:
    return page.locator(f'[data-testid="job-row"][data-job-id="{job_id}"]')


def single_row(page: Page, timeout: float = 20_000) -> tuple[str, Locator]:
    """The one job row on the page (waits for it), and its job id."""
    rows = job_rows(page)
    expect(rows).to_have_count(1, timeout=timeout)
    job_id = rows.first.get_attribute("data-job-id")
    assert job_id
    return job_id, row_for(page, job_id)


def wait_for_status(row: Locator, *statuses: str, timeout: float = 60_000) -> str:
    """Wait until the row's ``data-status`` is one of ``statuses``; return it."""
    deadline = time.monotonic() + timeout / 1000
    status = None
    while time.monotonic() < deadline:
        status = row.get_attribute("data-status", timeout=timeout)
        if status in statuses:
            return status
        time.sleep(0.05)
    raise AssertionError(f"the row stayed {status!r}, never one of {statuses}")


def screenshot(page: Page, name: str) -> None:
    """Save a picture of the page to ``$E2E_SCREENSHOTS/<name>.png`` when that variable is set
    (for a person to look at; the tests never compare pictures)."""
    folder = os.environ.get("E2E_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture
def media_server(media: MediaServer) -> MediaServer:
    """The session's loopback media server, its request log emptied for this test."""
    httpx.get(media.url("/_requests?clear"), timeout=10)
    return media
