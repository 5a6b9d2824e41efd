"""The admin panel's yt-dlp page in a real browser against the real server: the running
version and its age, "Check now" against a loopback package index, an update that shows its
progress, restarts the server and comes back with the new version, the rollback, a failed update
said plainly, and axe-core on the page (light and dark, desktop and phone).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.conftest import REPO_ROOT
from tests.e2e.axe import Axe, at_each_size_and_scheme, context_options
from tests.e2e.conftest import DESKTOP, PHONE, AppServer, NewContext, free_port, screenshot
from tests.e2e.test_admin_panel import PASSWORD, go, log_in, open_admin
from tests.ytdlp_index import INSTALLED, PackageIndex, bumped_wheel, next_version

pytestmark = pytest.mark.e2e

WHEELS = REPO_ROOT / ".cache" / "test-ytdlp"
NEWER = next_version()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PackageIndex]:
    with PackageIndex(tmp_path / "index") as served:
        yield served


@pytest.fixture
def ytdlp_server(
    tmp_path: Path, web_dist: Path, index: PackageIndex, open_contexts: list[BrowserContext]
) -> Iterator[AppServer]:
    env = {"MEDIARIP__ADMIN__PASSWORD": PASSWORD, "MEDIARIP__YTDLP__INDEX_URL": index.url}
    running = AppServer(tmp_path / "app", free_port(), env)
    running.start(timeout=120)  # generous: these machines are often loaded
    try:
        yield running
        for context in open_contexts:
            context.close()
    finally:
        running.stop()
        print(f"--- server log ({running.log_path}) ---\n{running.log_tail()}")


def open_ytdlp_page(context: BrowserContext, server: AppServer) -> Page:
    page = open_admin(context, server)
    log_in(page)
    go(page, "ytdlp")
    expect(page.get_by_test_id("ytdlp-version")).to_contain_text(INSTALLED)
    return page


def status_of(page: Page, server: AppServer) -> Any:
    return json.loads(page.request.get(server.base + "/api/admin/ytdlp").text())


@pytest.mark.slow
def test_update_shows_progress_restarts_and_comes_back_with_the_new_version_then_rolls_back(
    new_context: NewContext, ytdlp_server: AppServer, index: PackageIndex
) -> None:
    index.add(bumped_wheel(WHEELS, NEWER))
    page = open_ytdlp_page(new_context(viewport=DESKTOP), ytdlp_server)
    expect(page.get_by_test_id("ytdlp-version")).to_contain_text("days old")
    expect(page.get_by_test_id("ytdlp-from")).to_have_text("the bundled copy")
    expect(page.get_by_test_id("ytdlp-rollback")).to_be_disabled()
    expect(page.get_by_test_id("ytdlp-latest")).to_contain_text("Check now")

    page.get_by_test_id("ytdlp-check").click()
    expect(page.get_by_test_id("ytdlp-available")).to_be_visible()
    expect(page.get_by_test_id("ytdlp-latest")).to_contain_text(NEWER)
    update = page.get_by_test_id("ytdlp-update")
    expect(update).to_have_text(f"Update to {NEWER}")

    update.click()
    expect(page.get_by_role("dialog")).to_contain_text(f"Update to yt-dlp {NEWER}?")
    page.get_by_test_id("confirm-ok").click()
    progress = page.get_by_test_id("ytdlp-progress-message")
    expect(progress).to_be_visible()
    expect(update).to_be_disabled()
    # pip's lines while it installs, then the restart, then the page is back on its own.
    expect(page.get_by_test_id("ytdlp-log")).to_contain_text("yt-dlp", timeout=180_000)
    expect(page.get_by_test_id("ytdlp-version")).to_contain_text(NEWER, timeout=300_000)
    expect(page.get_by_test_id("ytdlp-from")).to_have_text("the update folder (data folder/ytdlp)")
    expect(page.get_by_test_id("ytdlp-latest")).to_contain_text("up to date")
    expect(page.get_by_test_id("admin-page-error")).to_have_count(0)
    screenshot(page, "admin-ytdlp-updated")
    assert "restarting: executing" in ytdlp_server.log_path.read_text()

    rollback = page.get_by_test_id("ytdlp-rollback")
    expect(rollback).to_be_enabled()
    rollback.click()
    expect(page.get_by_role("dialog")).to_contain_text(f"Go back to yt-dlp {INSTALLED}?")
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("ytdlp-version")).to_contain_text(INSTALLED, timeout=300_000)
    expect(page.get_by_test_id("ytdlp-from")).to_have_text("the bundled copy")
    expect(page.get_by_test_id("ytdlp-available")).to_be_visible()
    assert status_of(page, ytdlp_server)["version"] == INSTALLED


@at_each_size_and_scheme
def test_the_ytdlp_page_has_no_serious_or_critical_accessibility_violations(
    new_context: NewContext,
    ytdlp_server: AppServer,
    index: PackageIndex,
    axe_source: str,
    size: str,
    scheme: str,
) -> None:
    index.add_broken(NEWER)  # the update fails: its message and pip's lines are on screen
    page = open_ytdlp_page(new_context(**context_options(size, scheme)), ytdlp_server)
    expect(page.locator("html")).to_have_attribute("data-mode", scheme)
    axe = Axe(page, axe_source)
    axe.check("ytdlp")

    page.get_by_test_id("ytdlp-check").click()
    expect(page.get_by_test_id("ytdlp-available")).to_be_visible()
    page.get_by_test_id("ytdlp-update").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    axe.check("ytdlp-confirm", dialog=True)
    page.get_by_test_id("confirm-ok").click()
    message = page.get_by_test_id("ytdlp-progress-message")
    expect(message).to_contain_text(f"yt-dlp {INSTALLED} stays", timeout=180_000)
    expect(message).to_contain_text(f"pip could not install yt-dlp {NEWER}")
    expect(page.get_by_test_id("ytdlp-update")).to_be_enabled()
    axe.check("ytdlp-failed")
    screenshot(page, f"admin-ytdlp-failed-{size}-{scheme}")
    if size == "phone":  # nothing wider than the screen
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide"
    axe.assert_clean(f"yt-dlp page, {size} {scheme}")
