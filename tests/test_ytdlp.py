"""Keeping yt-dlp current (issue 15), on the real server: its version and age, the check against
a loopback package index, failure messages that say when yt-dlp is the likely culprit, and
updates and rollbacks that leave the running yt-dlp alone when anything goes wrong.

The restart into the new version, with downloads running, is in test_ytdlp_restart.py.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from mediarip.ytdlp import hints
from mediarip.ytdlp.index import _from_pypi_json, _from_simple_page
from mediarip.ytdlp.release import Release, release_date
from tests.conftest import REPO_ROOT, make_settings
from tests.media import MediaServer
from tests.support import RunningApp, running_app
from tests.ytdlp_index import INSTALLED, PackageIndex, bumped_wheel, next_version

PASSWORD = "correct horse battery"
WHEELS = REPO_ROOT / ".cache" / "test-ytdlp"
NEWER = next_version()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PackageIndex]:
    with PackageIndex(tmp_path / "index") as served:
        yield served


def settings_for(tmp_path: Path, index_url: str, **env: str) -> Any:
    return make_settings(
        tmp_path,
        {
            "MEDIARIP__ADMIN__PASSWORD": PASSWORD,
            "MEDIARIP__YTDLP__INDEX_URL": index_url,
            **{f"MEDIARIP__YTDLP__{k.upper()}": v for k, v in env.items()},
        },
    )


async def log_in(app: RunningApp) -> None:
    response = await app.client.post(
        "/api/admin/login", json={"username": "admin", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text


async def ytdlp_status(app: RunningApp) -> dict[str, Any]:
    response = await app.client.get("/api/admin/ytdlp")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def wait_update(app: RunningApp, states: set[str], timeout: float = 180) -> dict[str, Any]:
    """Follow the update as the panel does; returns its progress once in one of ``states``."""
    with trio.fail_after(timeout):
        while True:
            progress = app.handle.services.ytdlp.progress
            if progress.state in states:
                return (
                    (await ytdlp_status(app))["update"]
                    if not app.handle.restarting
                    else {
                        "state": progress.state,
                        "message": progress.message,
                        "target": progress.target,
                    }
                )
            await trio.sleep(0.1)


def ytdlp_folder(app: RunningApp) -> Path:
    return Path(app.settings.server.data_dir) / "ytdlp"


# -- the running version ------------------------------------------------------------------------


async def test_health_reports_the_running_yt_dlp_and_its_release_date(app: RunningApp) -> None:
    health = (await app.client.get("/api/health")).json()
    assert health["yt_dlp_version"] == INSTALLED
    assert health["yt_dlp_release_date"] == str(release_date(INSTALLED))


async def test_the_yt_dlp_endpoints_are_for_the_admin_only(
    tmp_path: Path, index: PackageIndex
) -> None:
    async with running_app(settings_for(tmp_path, index.url)) as app:
        for method, path in [
            ("GET", "/api/admin/ytdlp"),
            ("POST", "/api/admin/ytdlp/check"),
            ("POST", "/api/admin/ytdlp/update"),
            ("POST", "/api/admin/ytdlp/rollback"),
        ]:
            response = await app.client.request(method, path)
            assert response.status_code == 401, (path, response.text)
            assert response.json()["error"]["code"] == "admin_login_required"
        assert index.requests == []


async def test_the_admin_sees_the_version_its_age_and_that_a_newer_one_is_out(
    tmp_path: Path, index: PackageIndex
) -> None:
    index.add(bumped_wheel(WHEELS, NEWER))
    settings = settings_for(tmp_path, index.url)
    async with running_app(settings) as app:
        await log_in(app)
        before = await ytdlp_status(app)
        assert before["version"] == before["bundled_version"] == INSTALLED
        assert before["release_date"] == str(release_date(INSTALLED))
        assert before["age_days"] == (dt.date.today() - release_date(INSTALLED)).days  # type: ignore[operator]
        assert before["running_from"] == "bundled"
        assert before["channel"] == "stable"
        assert before["latest"] is None and before["update_available"] is False
        checked = (await app.client.post("/api/admin/ytdlp/check")).json()
        assert checked["latest"] == NEWER
        assert checked["latest_release_date"] == str(release_date(NEWER))
        assert checked["update_available"] is True
        assert checked["check_error"] is None and checked["checked_at"]
    asked = len(index.requests)
    # What the check found survives a restart, without asking the index again.
    async with running_app(settings) as app:
        await log_in(app)
        again = await ytdlp_status(app)
        assert again["latest"] == NEWER and again["update_available"] is True
    assert len(index.requests) == asked


async def test_the_daily_check_asks_the_index_by_itself_and_can_be_turned_off(
    tmp_path: Path, index: PackageIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mediarip.ytdlp import updater

    index.add(bumped_wheel(WHEELS, NEWER))
    monkeypatch.setattr(updater, "FIRST_CHECK_DELAY", dt.timedelta(seconds=0.2))
    async with running_app(settings_for(tmp_path / "off", index.url)) as app:
        await trio.sleep(1.0)  # check_updates is false in the tests' settings
        assert index.requests == []
    async with running_app(settings_for(tmp_path / "on", index.url, check_updates="true")) as app:
        with trio.fail_after(10):
            while app.handle.services.ytdlp.last_check is None:
                await trio.sleep(0.05)
        await log_in(app)
        status = await ytdlp_status(app)
        assert status["latest"] == NEWER and status["update_available"] is True
        assert status["update"]["state"] == "idle"  # auto_update is off
        assert index.requests == ["/simple/yt-dlp/"]


async def test_auto_update_installs_what_the_daily_check_found_and_asks_for_a_restart(
    tmp_path: Path, index: PackageIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mediarip.ytdlp import updater

    index.add(bumped_wheel(WHEELS, NEWER))
    monkeypatch.setattr(updater, "FIRST_CHECK_DELAY", dt.timedelta(seconds=0.2))
    settings = settings_for(tmp_path, index.url, check_updates="true", auto_update="true")
    async with running_app(settings) as app:
        with trio.fail_after(240):
            while not app.handle.restarting:
                await trio.sleep(0.1)
        assert app.handle.services.ytdlp.progress.target == NEWER
    chosen = (ytdlp_folder(app) / "active.json").read_text()
    assert f'"version": "{NEWER}"' in chosen


# -- updating, and what happens when it cannot be done -------------------------------------------


async def test_an_update_installs_into_the_data_folder_then_restarts_the_server(
    tmp_path: Path, index: PackageIndex
) -> None:
    index.add(bumped_wheel(WHEELS, NEWER))
    async with running_app(settings_for(tmp_path, index.url)) as app:
        await log_in(app)
        started = await app.client.post("/api/admin/ytdlp/update", json={})
        assert started.status_code == 202, started.text
        assert started.json()["update"]["state"] == "installing"
        again = await app.client.post("/api/admin/ytdlp/update")
        assert again.status_code == 409 and again.json()["error"]["code"] == "update_refused"
        progress = await wait_update(app, {"restarting", "failed"}, timeout=240)
        assert progress["state"] == "restarting", progress
        assert progress["target"] == NEWER
        with trio.fail_after(10):
            while not app.handle.restarting:
                await trio.sleep(0.05)
    folder = ytdlp_folder(app)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["active.json", "tmp", next(p.name for p in folder.iterdir() if p.name.startswith(NEWER))]
    )
    installed = next(folder.glob(f"{NEWER}-*"))
    assert (installed / "yt_dlp" / "__init__.py").is_file()
    assert f"__version__ = '{NEWER}'" in (installed / "yt_dlp" / "version.py").read_text()
    # The virtualenv's own yt-dlp was not touched.
    import yt_dlp.version

    assert yt_dlp.version.__version__ == INSTALLED


async def test_an_unreachable_index_leaves_the_running_yt_dlp_with_a_clear_error(
    tmp_path: Path,
) -> None:
    with socket_closed() as port:
        url = f"http://127.0.0.1:{port}/simple/"
        async with running_app(settings_for(tmp_path, url)) as app:
            await log_in(app)
            checked = (await app.client.post("/api/admin/ytdlp/check")).json()
            assert checked["check_error"].startswith(f"Could not reach the package index at {url}")
            assert checked["latest"] is None and checked["update_available"] is False
            assert (await app.client.post("/api/admin/ytdlp/update")).status_code == 202
            progress = await wait_update(app, {"failed", "restarting"})
            assert progress["state"] == "failed"
            assert progress["message"].startswith(f"The update failed; yt-dlp {INSTALLED} stays.")
            assert "Could not reach the package index" in progress["message"]
            assert not app.handle.restarting
            assert (await ytdlp_status(app))["version"] == INSTALLED
    assert not (ytdlp_folder(app) / "active.json").exists()


async def test_a_broken_wheel_leaves_the_running_yt_dlp_with_a_clear_error(
    tmp_path: Path, index: PackageIndex
) -> None:
    broken = next_version(2)
    index.add(bumped_wheel(WHEELS, NEWER))
    index.add_broken(broken)
    async with running_app(settings_for(tmp_path, index.url)) as app:
        await log_in(app)
        assert (await app.client.post("/api/admin/ytdlp/update")).status_code == 202
        progress = await wait_update(app, {"failed", "restarting"})
        assert progress["state"] == "failed", progress
        assert progress["target"] == broken
        message = progress["message"]
        assert message.startswith(f"The update failed; yt-dlp {INSTALLED} stays.")
        assert f"pip could not install yt-dlp {broken}" in message and "invalid" in message
        assert str(tmp_path) not in message  # no server paths in messages
        assert not app.handle.restarting
        # The admin can try again (another update is not refused).
        assert (await app.client.post("/api/admin/ytdlp/update")).status_code == 202
        await wait_update(app, {"failed", "restarting"})
    folder = ytdlp_folder(app)
    assert sorted(p.name for p in folder.iterdir()) == ["tmp"]


async def test_stopping_the_server_mid_update_stops_pip_and_leaves_nothing_half_made(
    tmp_path: Path, index: PackageIndex
) -> None:
    index.add_stalling(NEWER)
    async with running_app(settings_for(tmp_path, index.url)) as app:
        await log_in(app)
        assert (await app.client.post("/api/admin/ytdlp/update")).status_code == 202
        with trio.fail_after(30):
            while not any("/stall/" in path for path in index.requests):
                await trio.sleep(0.05)
        staging = list(ytdlp_folder(app).glob(".staging-*"))
        await trio.sleep(0.5)
        assert app.handle.services.ytdlp.progress.state == "installing"
        with trio.fail_after(15):
            app.handle.stop()
            while True:  # the server stops promptly, pip with it
                try:
                    await app.client.get("/api/health", timeout=1)
                except httpx.TransportError:
                    break
                await trio.sleep(0.05)
    assert not (ytdlp_folder(app) / "active.json").exists()
    assert not list(ytdlp_folder(app).glob(".staging-*")), staging
    assert not _pip_processes(ytdlp_folder(app))


async def test_rollback_forgets_the_update_and_restarts_and_is_refused_when_bundled(
    tmp_path: Path, index: PackageIndex
) -> None:
    async with running_app(settings_for(tmp_path, index.url)) as app:
        await log_in(app)
        refused = await app.client.post("/api/admin/ytdlp/rollback")
        assert refused.status_code == 409
        assert "bundled yt-dlp is running already" in refused.json()["error"]["message"]
        # An update installed earlier (what a finished update leaves) is chosen for next start.
        folder = ytdlp_folder(app)
        (folder / f"{NEWER}-abc123" / "yt_dlp").mkdir(parents=True)
        (folder / "active.json").write_text(f'{{"folder": "{NEWER}-abc123", "version": "{NEWER}"}}')
        response = await app.client.post("/api/admin/ytdlp/rollback")
        assert response.status_code == 202, response.text
        assert response.json()["update"]["state"] == "restarting"
        assert not (folder / "active.json").exists()
        with trio.fail_after(10):
            while not app.handle.restarting:
                await trio.sleep(0.05)


async def test_update_refuses_an_unknown_channel_or_field(
    tmp_path: Path, index: PackageIndex
) -> None:
    async with running_app(settings_for(tmp_path, index.url)) as app:
        await log_in(app)
        bad = await app.client.post("/api/admin/ytdlp/update", json={"channel": "beta"})
        assert bad.status_code == 422
        assert (
            "channel" in bad.json()["error"]["message"] and "beta" in bad.json()["error"]["message"]
        )
        unknown = await app.client.post("/api/admin/ytdlp/update", json={"version": "1"})
        assert unknown.status_code == 422 and "version" in unknown.json()["error"]["message"]
        assert app.handle.services.ytdlp.progress.state == "idle"


# -- failure messages that point at an outdated yt-dlp -------------------------------------------


async def test_a_403_from_the_media_host_says_how_old_yt_dlp_is_and_that_a_newer_one_is_out(
    tmp_path: Path, index: PackageIndex, media: MediaServer
) -> None:
    index.add(bumped_wheel(WHEELS, NEWER))
    async with running_app(settings_for(tmp_path, index.url)) as app:
        await log_in(app)
        job = await app.submit(media.url("/fail/403"))
        failed = await app.wait_for(job["id"])
        age = (dt.date.today() - release_date(INSTALLED)).days  # type: ignore[operator]
        assert failed["error"]["code"] == "forbidden"
        message = failed["error"]["message"]
        assert "HTTP 403" in message and "cookies" in message
        assert f"yt-dlp {INSTALLED} ({age} days old)" in message
        assert f"{NEWER} is out" not in message  # nobody asked the index yet
        await app.client.post("/api/admin/ytdlp/check")
        job = await app.submit(media.url("/fail/403"))
        message = (await app.wait_for(job["id"]))["error"]["message"]
        assert f"yt-dlp {INSTALLED} ({age} days old), and {NEWER} is out" in message
        assert "update yt-dlp in the admin panel or add cookies" in message


async def test_a_bot_check_page_says_so_with_the_yt_dlp_hint(
    tmp_path: Path, index: PackageIndex, media: MediaServer
) -> None:
    index.add(bumped_wheel(WHEELS, NEWER))
    async with running_app(settings_for(tmp_path, index.url)) as app:
        await log_in(app)
        await app.client.post("/api/admin/ytdlp/check")
        job = await app.submit(media.url("/fail/bot-check"))
        failed = await app.wait_for(job["id"])
        assert failed["error"]["code"] == "bot_check"
        message = failed["error"]["message"]
        assert "not a bot" in message and "cookies.txt" in message
        assert f"{NEWER} is out" in message


async def test_no_yt_dlp_hint_when_the_newest_one_runs_or_the_failure_is_another_kind(
    tmp_path: Path, index: PackageIndex, media: MediaServer
) -> None:
    index.add(bumped_wheel(WHEELS, INSTALLED))  # the index's newest is the running one
    async with running_app(settings_for(tmp_path, index.url)) as app:
        await log_in(app)
        assert (await app.client.post("/api/admin/ytdlp/check")).json()["update_available"] is False
        job = await app.submit(media.url("/fail/403"))
        message = (await app.wait_for(job["id"]))["error"]["message"]
        assert "out of date" not in message and "HTTP 403" in message
        hints.note_latest(Release.of(NEWER))
        job = await app.submit(media.url("/fail/404"))
        message = (await app.wait_for(job["id"]))["error"]["message"]
        assert "out of date" not in message and "404" in message


def test_an_unforeseen_extractor_error_is_called_one_with_the_yt_dlp_hint() -> None:
    from yt_dlp.utils import DownloadError, ExtractorError

    from mediarip.engine.errors import describe_failure

    hints.note_latest(None)
    cause = ExtractorError("[example] abc: Unable to extract player config", expected=False)
    error = describe_failure(DownloadError(str(cause), exc_info=(type(cause), cause, None)))
    assert error.code == "extractor_error"
    assert "Unable to extract player config" in error.message
    assert "please report" not in error.message
    assert "out of date" in error.message  # INSTALLED is weeks old on the tests' clock


# -- the index and the update folder, piece by piece --------------------------------------------


def test_the_channels_pick_stable_releases_or_nightly_builds_and_skip_yanked_ones() -> None:
    def files(day: str, yanked: bool = False) -> list[dict[str, Any]]:
        return [{"upload_time_iso_8601": f"{day}T10:00:00.000Z", "yanked": yanked}]

    pypi = {
        "releases": {
            "2026.10.26": files("2026-10-26"),
            "2026.11.20": files("2026-11-20"),
            "2026.11.25": files("2026-11-25", yanked=True),
            "2026.11.28.101500.dev0": files("2026-11-28"),
            "2026.11.29": [],
        }
    }
    assert _from_pypi_json(pypi, "stable") == Release.of("2026.11.20", dt.date(2026, 11, 20))
    assert _from_pypi_json(pypi, "nightly") == Release.of("2026.11.28.101500.dev0")
    page = """<html><body>
      <a href="../../f/yt_dlp-2026.10.26-py3-none-any.whl#sha256=00">yt_dlp-2026.10.26-py3-none-any.whl</a>
      <a href="../../f/yt_dlp-2026.10.26.tar.gz">yt_dlp-2026.10.26.tar.gz</a>
      <a href="../../f/yt_dlp-2026.11.20-py3-none-any.whl" data-yanked="">yt_dlp-2026.11.20-py3-none-any.whl</a>
      <a href="../../f/yt_dlp-2026.11.28.101500.dev0-py3-none-any.whl">x</a>
      <a href="../../f/yt_dlp_ejs-0.3.0-py3-none-any.whl">yt_dlp_ejs-0.3.0-py3-none-any.whl</a>
    </body></html>"""
    assert _from_simple_page(page, "stable") == Release.of("2026.10.26")
    assert _from_simple_page(page, "nightly") == Release.of("2026.11.28.101500.dev0")


_ACTIVATE = """
import json, sys
from pathlib import Path
from mediarip.ytdlp import folder
result = folder.activate(Path(sys.argv[1]))
import yt_dlp.version
print(json.dumps({"version": yt_dlp.version.__version__, "file": yt_dlp.__file__,
                  "problem": result.problem, "updated": result.updated is not None}))
"""


def _activate_in_a_fresh_process(data_dir: Path) -> dict[str, Any]:
    import json

    result = subprocess.run(
        [sys.executable, "-c", _ACTIVATE, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_at_start_the_chosen_update_runs_a_broken_one_is_set_aside_and_leftovers_go(
    tmp_path: Path,
) -> None:
    import zipfile

    from mediarip.ytdlp import folder

    data = tmp_path / "data"
    assert _activate_in_a_fresh_process(data)["version"] == INSTALLED  # nothing chosen
    root = folder.root(data)
    good = root / f"{NEWER}-aaaaaa"
    with zipfile.ZipFile(bumped_wheel(WHEELS, NEWER)) as wheel:
        wheel.extractall(good)
    (root / ".staging-bbbbbb").mkdir()  # an install a crash interrupted
    folder.write_choice(data, folder.Choice(folder=good.name, version=NEWER))
    started = _activate_in_a_fresh_process(data)
    assert started["version"] == NEWER and started["updated"] is True
    assert Path(started["file"]).is_relative_to(good)
    assert not (root / ".staging-bbbbbb").exists()
    chosen = folder.read_choice(data)
    assert chosen is not None and chosen.tries == 1 and not chosen.confirmed
    # A second start that never got to serving: still tried; a third is refused.
    assert _activate_in_a_fresh_process(data)["version"] == NEWER
    refused = _activate_in_a_fresh_process(data)
    assert refused["version"] == INSTALLED and "did not get media-rip started" in refused["problem"]
    # Once a start gets to serving, the update is confirmed for good.
    folder.write_choice(data, folder.Choice(folder=good.name, version=NEWER, tries=1))
    folder.confirm(data)
    assert _activate_in_a_fresh_process(data)["version"] == NEWER
    # A folder whose yt-dlp cannot be imported: the bundled one runs, and says why.
    (good / "yt_dlp" / "version.py").write_text("this is not python(\n")
    broken = _activate_in_a_fresh_process(data)
    assert broken["version"] == INSTALLED and broken["updated"] is False
    assert "cannot be imported" in broken["problem"]
    # A new image whose bundled yt-dlp is as new as the update: the update is dropped.
    folder.write_choice(data, folder.Choice(folder=good.name, version="2020.01.01"))
    outgrown = _activate_in_a_fresh_process(data)
    assert outgrown["version"] == INSTALLED and outgrown["problem"] is None
    assert folder.read_choice(data) is None


# -- helpers ------------------------------------------------------------------------------------


class socket_closed:
    """A loopback port nothing listens on."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        pass


def _pip_processes(folder: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if " pip " in cmdline and str(folder) in cmdline:
            found.append(cmdline)
    return found
