"""The admin panel at /admin, in a real browser against the real server: first-run setup with the
token from the server's log, login and logout, the lock-out, settings (saved, refused next to the
field, pinned, reset), purge now and the API key behind an in-page confirmation, the error log,
sessions and storage, and axe-core on every page at desktop and phone sizes.

The pages run under the server's Content-Security-Policy (only the axe test bypasses it, to
inject axe's script); a CSP violation reported in the console fails the test that saw it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.axe import Axe, at_each_size_and_scheme, context_options
from tests.e2e.conftest import (
    PHONE,
    TERMINAL,
    AppServer,
    NewContext,
    running_server,
    screenshot,
)
from tests.media import MediaServer

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
PAGES = (
    "overview",
    "sessions",
    "storage",
    "errors",
    "purge",
    "settings",
    "presets",
    "password",
    "apikey",
)
MAX_CONCURRENT = "admin-setting-downloads.max_concurrent"


# ---- servers -------------------------------------------------------------------------------------


@pytest.fixture
def admin_server(
    tmp_path: Path, web_dist: Path, open_contexts: list[BrowserContext]
) -> Iterator[AppServer]:
    """A server whose admin password comes from the environment: no setup, straight to login."""
    with running_server(tmp_path / "app", {"MEDIARIP__ADMIN__PASSWORD": PASSWORD}) as running:
        yield running
        for context in open_contexts:  # before the server stops, as the `server` fixture does
            context.close()


def setup_token(server: AppServer, timeout: float = 10) -> str:
    """The one-time token the server printed in its log at startup."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.log_path.exists():
            found = re.search(r"use this token: (\S+)", server.log_path.read_text())
            if found:
                return found.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no setup token in the server log:\n{server.log_tail()}")


# ---- the page ------------------------------------------------------------------------------------


def watch_csp(page: Page) -> list[str]:
    """Console messages about the Content-Security-Policy (there must be none)."""
    seen: list[str] = []
    page.on(
        "console",
        lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return seen


def open_admin(context: BrowserContext, server: AppServer, path: str = "/admin") -> Page:
    page = context.new_page()
    page.goto(server.base + path)
    expect(
        page.get_by_test_id("admin-login-submit")
        .or_(page.get_by_test_id("admin-setup-submit"))
        .or_(page.get_by_test_id("admin-logout"))
    ).to_be_visible()
    return page


def log_in(page: Page, password: str = PASSWORD, username: str = "admin") -> None:
    page.get_by_test_id("admin-login-username").fill(username)
    page.get_by_test_id("admin-login-password").fill(password)
    page.get_by_test_id("admin-login-submit").click()
    expect(page.get_by_test_id("admin-logout")).to_be_visible()
    expect(page.get_by_test_id("admin-nav-overview")).to_be_visible()


def go(page: Page, name: str) -> None:
    """Follow the nav link to an admin page; the focus lands on its heading."""
    page.get_by_test_id(f"admin-nav-{name}").click()
    expect(page.get_by_test_id(f"admin-nav-{name}")).to_have_attribute("aria-current", "page")
    expect(page.locator("#admin-page-heading")).to_be_focused()


def api(page: Page, server: AppServer, path: str) -> Any:
    """GET an admin endpoint with the page's cookies (the admin cookie is HttpOnly)."""
    response = page.request.get(server.base + path)
    assert response.ok, f"{path}: {response.status} {response.text()}"
    return response.json()


def attempt_login(page: Page, password: str) -> int:
    """One click on "Log in"; the status of the server's answer."""
    page.get_by_test_id("admin-login-password").fill(password)
    with page.expect_response(lambda r: r.url.endswith("/api/admin/login")) as answer:
        page.get_by_test_id("admin-login-submit").click()
    return answer.value.status


# ---- setup, login, logout, password --------------------------------------------------------------


def test_first_run_setup_login_logout_and_password_change(
    new_context: NewContext, server: AppServer
) -> None:
    context = new_context()
    page = open_admin(context, server)
    csp = watch_csp(page)
    expect(page.get_by_test_id("admin-setup-token")).to_be_visible()
    expect(
        page.get_by_text("The one-time setup token is printed in the server's log")
    ).to_be_visible()
    screenshot(page, "admin-setup")

    # A guessed token, then two passwords that differ: refused, each next to its field.
    page.get_by_test_id("admin-setup-token").fill("not-the-token")
    page.get_by_test_id("admin-setup-password").fill(PASSWORD)
    page.get_by_test_id("admin-setup-confirm").fill(PASSWORD)
    page.get_by_test_id("admin-setup-submit").click()
    expect(page.get_by_test_id("admin-setup-error-token")).to_contain_text("not the setup token")
    expect(page.get_by_test_id("admin-setup-token")).to_be_focused()
    page.get_by_test_id("admin-setup-token").fill(setup_token(server))
    page.get_by_test_id("admin-setup-confirm").fill(PASSWORD + "!")
    page.get_by_test_id("admin-setup-submit").click()
    expect(page.get_by_test_id("admin-setup-error-confirm")).to_have_text(
        "The two passwords differ."
    )
    page.get_by_test_id("admin-setup-password").fill("short")
    page.get_by_test_id("admin-setup-confirm").fill("short")
    page.get_by_test_id("admin-setup-submit").click()
    expect(page.get_by_test_id("admin-setup-error-password")).to_contain_text(
        "at least 8 characters", ignore_case=True
    )

    # The right token: logged in, on the overview, its heading focused.
    page.get_by_test_id("admin-setup-password").fill(PASSWORD)
    page.get_by_test_id("admin-setup-confirm").fill(PASSWORD)
    page.get_by_test_id("admin-setup-submit").click()
    expect(page.get_by_test_id("admin-logout")).to_be_visible()
    expect(page.get_by_test_id("admin-nav-overview")).to_have_attribute("aria-current", "page")
    expect(page.locator("#admin-page-heading")).to_have_text("Overview")
    expect(page.locator("#admin-page-heading")).to_be_focused()
    expect(page.get_by_test_id("live-region")).to_contain_text("Setup done")
    status = api(page, server, "/api/admin/status")
    assert status == {
        "setup_required": False,
        "logged_in": True,
        "username": "admin",
        "admin_enabled": True,
    }
    page.reload()  # the admin cookie carries the login
    expect(page.get_by_test_id("admin-logout")).to_be_visible()

    # Log out: the login form.
    page.get_by_test_id("admin-logout").click()
    expect(page.get_by_test_id("admin-login-username")).to_be_visible()
    expect(page.locator("#admin-page-heading")).to_be_focused()
    assert api(page, server, "/api/admin/status")["logged_in"] is False
    screenshot(page, "admin-login")

    # A wrong password is refused with the server's words; the right one gets back in.
    page.get_by_test_id("admin-login-username").fill("admin")
    assert attempt_login(page, "not the password") == 401
    expect(page.get_by_test_id("admin-login-error")).to_have_text("Wrong username or password.")
    expect(page.get_by_test_id("admin-login-password")).to_have_attribute("aria-invalid", "true")
    log_in(page)

    # Change the password: a wrong current one and a short new one are refused at their fields.
    go(page, "password")
    page.get_by_test_id("admin-password-current").fill("not the password")
    page.get_by_test_id("admin-password-new").fill("a brand new one")
    page.get_by_test_id("admin-password-submit").click()
    expect(page.get_by_test_id("admin-password-error-current")).to_contain_text(
        "not the current password"
    )
    page.get_by_test_id("admin-password-current").fill(PASSWORD)
    page.get_by_test_id("admin-password-new").fill("short")
    page.get_by_test_id("admin-password-submit").click()
    expect(page.get_by_test_id("admin-password-error-new")).to_contain_text(
        "at least 8 characters", ignore_case=True
    )
    page.get_by_test_id("admin-password-new").fill("a brand new one")
    page.get_by_test_id("admin-password-submit").click()
    expect(page.get_by_test_id("admin-password-done")).to_contain_text("password is changed")
    assert api(page, server, "/api/admin/status")["logged_in"] is True  # with its new cookie

    page.get_by_test_id("admin-logout").click()
    expect(page.get_by_test_id("admin-login-username")).to_be_visible()
    page.get_by_test_id("admin-login-username").fill("admin")
    assert attempt_login(page, PASSWORD) == 401
    log_in(page, "a brand new one")
    assert not csp, csp


def test_the_download_page_links_to_the_panel(
    new_context: NewContext, admin_server: AppServer
) -> None:
    page = new_context().new_page()
    page.goto(admin_server.base + "/")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
    link = page.get_by_test_id("admin-link")
    expect(link).to_have_accessible_name("Admin panel")
    link.click()
    page.wait_for_url(admin_server.base + "/admin")
    expect(page.get_by_test_id("admin-login-username")).to_be_visible()
    log_in(page)
    page.get_by_test_id("admin-back").click()
    page.wait_for_url(admin_server.base + "/")
    expect(page.get_by_test_id("url-input")).to_be_visible()


def test_a_login_lock_out_says_how_long_and_disables_the_button(
    new_context: NewContext, admin_server: AppServer
) -> None:
    page = open_admin(new_context(), admin_server)
    page.get_by_test_id("admin-login-username").fill("admin")
    # Five failures are free; the fifth locks for 1 s, the next failure for 2 s.
    for _ in range(5):
        assert attempt_login(page, "guess") == 401
    time.sleep(1.2)
    assert attempt_login(page, "guess") == 401
    assert attempt_login(page, "guess") == 429
    error = page.get_by_test_id("admin-login-error")
    expect(error).to_have_text(re.compile(r"^Too many attempts: try again in [12] s$"))
    submit = page.get_by_test_id("admin-login-submit")
    expect(submit).to_be_disabled()
    screenshot(page, "admin-login-locked")
    expect(submit).to_be_enabled(timeout=5_000)
    expect(error).to_be_hidden()
    log_in(page)


# ---- settings ------------------------------------------------------------------------------------


def test_a_setting_is_saved_refused_next_to_its_field_and_reset(
    new_context: NewContext, admin_server: AppServer
) -> None:
    page = open_admin(new_context(), admin_server, "/admin/settings")
    csp = watch_csp(page)
    log_in(page)
    expect(page.locator("#admin-page-heading")).to_have_text("Settings")
    field = page.get_by_test_id(MAX_CONCURRENT)
    expect(field).to_have_value("3")

    field.fill("5")
    page.get_by_test_id("admin-setting-save").click()
    expect(page.get_by_test_id("admin-settings-done")).to_have_text(
        "Saved downloads.max_concurrent."
    )
    saved = api(page, admin_server, "/api/admin/settings")["settings"]["downloads.max_concurrent"]
    assert saved["value"] == 5 and saved["overridden"] is True
    assert api(page, admin_server, "/api/config/public")["max_concurrent"] == 5
    page.reload()
    expect(page.get_by_test_id(MAX_CONCURRENT)).to_have_value("5")

    # A bad value: the server's 422 lands under the field, which is marked and focused.
    field.fill("0")
    page.get_by_test_id("admin-setting-save").click()
    error = page.get_by_test_id("admin-setting-error-downloads.max_concurrent")
    expect(error).to_contain_text("integer from 1 to 32")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    screenshot(page, "admin-settings-error")
    assert (
        api(page, admin_server, "/api/admin/settings")["settings"]["downloads.max_concurrent"][
            "value"
        ]
        == 5
    )

    # Pinned by the environment, and the deployment's own: shown, not editable.
    pinned = page.get_by_test_id("admin-setting-downloads.allow_private_networks")
    expect(pinned).to_be_disabled()
    expect(
        page.get_by_test_id("admin-setting-note-downloads.allow_private_networks")
    ).to_contain_text("set by the environment")
    expect(page.get_by_test_id("admin-setting-server.host")).not_to_be_editable()
    expect(page.get_by_test_id("admin-setting-note-server.host")).to_contain_text("Read-only")

    # Reset to the default: DELETE /api/admin/settings/downloads.max_concurrent.
    page.get_by_test_id("admin-setting-reset-downloads.max_concurrent").click()
    expect(field).to_have_value("3")
    expect(error).to_be_hidden()
    reset = api(page, admin_server, "/api/admin/settings")["settings"]["downloads.max_concurrent"]
    assert reset["value"] == 3 and reset["overridden"] is False
    expect(page.get_by_test_id("admin-setting-reset-downloads.max_concurrent")).to_be_hidden()
    assert not csp, csp


def test_settings_get_the_controls_their_declarations_ask_for(
    new_context: NewContext, admin_server: AppServer
) -> None:
    page = open_admin(new_context(), admin_server, "/admin/settings")
    log_in(page)
    # A choice is a select of its choices; changing it saves the chosen value.
    mode = page.get_by_test_id("admin-setting-ui.theme_default_mode")
    expect(mode).to_have_js_property("tagName", "SELECT")
    expect(mode.locator("option")).to_have_text(["dark", "light", "system"])
    # A bounded number is a number field with its bounds; its help text is shown and read out.
    field = page.get_by_test_id(MAX_CONCURRENT)
    expect(field).to_have_attribute("type", "number")
    expect(field).to_have_attribute("min", "1")
    expect(field).to_have_attribute("max", "32")
    help_id = "setting-downloads-max_concurrent-help"
    expect(page.locator(f"#{help_id}")).to_have_text("Downloads that run at the same time.")
    expect(field).to_have_attribute("aria-describedby", re.compile(help_id))
    # The templates show the file name they would make.
    preview = page.get_by_test_id("admin-setting-preview-downloads.source_templates")
    expect(preview).to_contain_text("Big Buck Bunny [aqz-KE-bpKQ].mp4")
    mode.select_option("dark")
    page.get_by_test_id("admin-setting-save").click()
    expect(page.get_by_test_id("admin-settings-done")).to_have_text("Saved ui.theme_default_mode.")
    saved = api(page, admin_server, "/api/admin/settings")["settings"]["ui.theme_default_mode"]
    assert saved["value"] == "dark" and saved["overridden"] is True
    # A map of templates is edited as rows, each previewed.
    templates = "admin-setting-downloads.source_templates"
    page.get_by_test_id(f"{templates}-add").click()
    page.get_by_test_id(f"{templates}-key-1").fill("example.com")
    page.get_by_test_id(f"{templates}-value-1").fill("example/%(id)s.%(ext)s")
    expect(preview).to_contain_text("example/aqz-KE-bpKQ.mp4")
    page.get_by_test_id("admin-setting-save").click()
    expect(page.get_by_test_id("admin-settings-done")).to_have_text(
        "Saved downloads.source_templates."
    )
    stored = api(page, admin_server, "/api/admin/settings")["settings"]
    assert stored["downloads.source_templates"]["value"]["example.com"] == "example/%(id)s.%(ext)s"
    # yt-dlp's options and extractor arguments are rows too: the option names offered, values
    # typed as text or JSON, an argument's values separated by commas.
    options = "admin-setting-ytdlp.extra_options"
    page.get_by_test_id(f"{options}-add").click()
    name = page.get_by_test_id(f"{options}-key-0")
    offered = page.locator(f"datalist#{name.get_attribute('list')} option")
    assert "retries" in [o.get_attribute("value") for o in offered.all()]
    name.fill("retries")
    page.get_by_test_id(f"{options}-value-0").fill("7")
    arguments = "admin-setting-ytdlp.extractor_args"
    page.get_by_test_id(f"{arguments}-add").click()
    page.get_by_test_id(f"{arguments}-key-0").fill("youtube")
    page.get_by_test_id(f"{arguments}-argument-0").fill("player_client")
    page.get_by_test_id(f"{arguments}-value-0").fill("web, tv")
    page.get_by_test_id("admin-setting-save").click()
    expect(page.get_by_test_id("admin-settings-done")).to_have_text("Saved 2 settings.")
    stored = api(page, admin_server, "/api/admin/settings")["settings"]
    assert stored["ytdlp.extra_options"]["value"] == {"retries": 7}
    assert stored["ytdlp.extractor_args"]["value"] == {"youtube": {"player_client": ["web", "tv"]}}


# ---- purge, API key, error log, sessions, storage ------------------------------------------------


def test_purge_now_asks_first_then_shows_its_report(
    new_context: NewContext, admin_server: AppServer
) -> None:
    page = open_admin(new_context(), admin_server)
    log_in(page)
    go(page, "purge")
    run = page.get_by_test_id("admin-purge-run")
    dialog = page.get_by_role("dialog", name="Purge now?")

    run.click()
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("confirm-cancel")).to_be_focused()
    page.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_be_hidden()
    expect(run).to_be_focused()  # back where it was
    run.click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("admin-purge-report")).to_have_count(0)

    run.click()
    screenshot(page, "admin-purge-confirm")
    with page.expect_response(lambda r: r.url.endswith("/api/admin/purge")) as answer:
        page.get_by_test_id("confirm-ok").click()
    report = answer.value.json()
    assert set(report) == {"jobs", "files", "bytes", "sessions", "errors"}
    shown = page.get_by_test_id("admin-purge-report")
    expect(shown).to_be_visible()
    expect(page.get_by_test_id("admin-purge-jobs")).to_have_text(str(report["jobs"]))
    expect(page.get_by_test_id("admin-purge-files")).to_have_text(str(report["files"]))
    expect(page.get_by_test_id("admin-purge-sessions")).to_have_text(str(report["sessions"]))
    expect(page.get_by_test_id("admin-purge-bytes")).to_contain_text(f"({report['bytes']} bytes)")
    expect(page.get_by_test_id("live-region")).to_contain_text("Purge done")


def test_an_api_key_is_shown_once_then_masked_and_revoked_after_asking(
    new_context: NewContext, admin_server: AppServer, media_server: MediaServer
) -> None:
    context = new_context()
    page = open_admin(context, admin_server)
    csp = watch_csp(page)
    log_in(page)
    go(page, "apikey")
    value = page.get_by_test_id("admin-apikey-value")
    expect(value).to_have_text("None")

    page.get_by_test_id("admin-apikey-generate").click()  # no key yet: nothing to confirm
    expect(page.get_by_test_id("admin-apikey-fresh")).to_be_visible()
    expect(value).to_have_text(re.compile(r"^[A-Za-z0-9_-]{32,}$"))
    key = value.inner_text()
    expect(page.get_by_test_id("admin-apikey-copy")).to_be_focused()
    page.get_by_test_id("admin-apikey-copy").click()
    expect(page.get_by_test_id("admin-apikey-copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key
    screenshot(page, "admin-apikey-new")

    # The key now guards changes from outside clients.
    url = media_server.url("/media/video.mp4")
    with httpx.Client(base_url=admin_server.base, timeout=30) as curl:
        assert curl.post("/api/downloads", json={"url": url}).status_code == 401
        created = curl.post("/api/downloads", json={"url": url}, headers={"X-API-Key": key})
        assert created.status_code == 201, created.text
    state = api(page, admin_server, "/api/admin/api-key")
    assert state["configured"] is True and state["masked"] == "…" + key[-4:]

    # Shown once: back on the page, only its end.
    go(page, "overview")
    go(page, "apikey")
    expect(value).to_have_text("…" + key[-4:])
    assert key not in page.content()

    # Making a new one asks first; cancelled, the key stays.
    page.get_by_test_id("admin-apikey-generate").click()
    expect(page.get_by_role("dialog", name="Make a new API key?")).to_be_visible()
    page.get_by_test_id("confirm-cancel").click()
    expect(value).to_have_text("…" + key[-4:])

    # Revoke, confirmed (a change from the app itself, now that a key is set).
    page.get_by_test_id("admin-apikey-revoke").click()
    dialog = page.get_by_role("dialog", name="Revoke the API key?")
    expect(dialog).to_be_visible()
    page.get_by_test_id("confirm-ok").click()
    expect(dialog).to_be_hidden()
    expect(value).to_have_text("None")
    expect(page.get_by_test_id("admin-apikey-done")).to_have_text("The API key is revoked.")
    assert api(page, admin_server, "/api/admin/api-key")["configured"] is False
    page.get_by_test_id("admin-logout").click()
    expect(page.get_by_test_id("admin-login-username")).to_be_visible()
    assert not csp, csp


def wait_for_job(page: Page, server: AppServer, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = api(page, server, f"/api/downloads/{job_id}")
        if job["status"] in TERMINAL:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_the_error_log_sessions_and_storage_pages(
    new_context: NewContext, admin_server: AppServer, media_server: MediaServer
) -> None:
    page = open_admin(new_context(), admin_server)
    # This browser's own downloads: one that fails, one that completes.
    urls = [media_server.url("/fail/404"), media_server.url("/media/video.mp4")]
    ids = [
        page.request.post(admin_server.base + "/api/downloads", data={"url": u}).json()["id"]
        for u in urls
    ]
    failed, done = (wait_for_job(page, admin_server, i) for i in ids)
    assert (failed["status"], done["status"]) == ("failed", "completed")
    log_in(page)

    go(page, "errors")
    entry = page.get_by_test_id("admin-error")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(urls[0])
    expect(entry).to_contain_text(failed["error"]["message"])

    go(page, "sessions")
    session = page.get_by_test_id("admin-session").filter(has_text="Finished: 1")
    expect(session).to_have_count(1)
    toggle = session.get_by_test_id("admin-session-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    jobs = session.get_by_test_id("admin-session-jobs")
    expect(jobs.locator("li")).to_have_count(2)
    expect(jobs).to_contain_text("Failed")

    go(page, "storage")
    expect(page.get_by_test_id("admin-storage-jobs")).to_contain_text("Finished")
    expect(page.get_by_test_id("admin-storage-disk")).to_contain_text("free", ignore_case=True)

    go(page, "overview")
    expect(page.get_by_test_id("admin-overview-jobs")).to_have_text("2")
    expect(page.get_by_test_id("admin-overview-errors")).to_have_text("1")

    # Clear the error log: asks first.
    go(page, "errors")
    page.get_by_test_id("admin-errors-clear").click()
    dialog = page.get_by_role("dialog", name="Clear the error log?")
    expect(dialog).to_be_visible()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("admin-errors-done")).to_contain_text("1 entry removed")
    expect(page.get_by_test_id("admin-errors-empty")).to_be_visible()
    assert api(page, admin_server, "/api/admin/errors") == {"errors": []}


def test_a_session_that_ends_under_a_page_goes_back_to_the_login(
    new_context: NewContext, admin_server: AppServer
) -> None:
    context = new_context()
    page = open_admin(context, admin_server)
    log_in(page)
    other = context.new_page()  # the same browser, another tab: logs out there
    other.goto(admin_server.base + "/admin")
    other.get_by_test_id("admin-logout").click()
    expect(other.get_by_test_id("admin-login-username")).to_be_visible()
    page.get_by_test_id("admin-nav-storage").click()  # its request finds the session gone
    expect(page.get_by_test_id("admin-login-notice")).to_contain_text("session has ended")
    expect(page.get_by_test_id("admin-login-username")).to_be_visible()


# ---- accessibility -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def a11y_server(
    tmp_path_factory: pytest.TempPathFactory, web_dist: Path, media: MediaServer
) -> Iterator[AppServer]:
    """A server with an admin password and a failed and a finished job, so every admin page
    has something to show."""
    root = tmp_path_factory.mktemp("admin-a11y") / "app"
    with running_server(root, {"MEDIARIP__ADMIN__PASSWORD": PASSWORD}) as server:
        with httpx.Client(base_url=server.base, timeout=30) as client:
            ids = [
                client.post("/api/downloads", json={"url": media.url(path)}).json()["id"]
                for path in ("/media/video.mp4", "/fail/404")
            ]
            deadline = time.monotonic() + 60
            for job_id in ids:
                while client.get(f"/api/downloads/{job_id}").json()["status"] not in TERMINAL:
                    assert time.monotonic() < deadline, f"job {job_id} did not end"
                    time.sleep(0.05)
        yield server


@at_each_size_and_scheme
def test_admin_pages_have_no_serious_or_critical_accessibility_violations(
    new_context: NewContext, a11y_server: AppServer, axe_source: str, size: str, scheme: str
) -> None:
    page = open_admin(new_context(**context_options(size, scheme)), a11y_server)
    expect(page.locator("html")).to_have_attribute("data-mode", scheme)
    axe = Axe(page, axe_source)

    page.get_by_test_id("admin-login-username").fill("admin")
    assert attempt_login(page, "not the password") == 401
    expect(page.get_by_test_id("admin-login-error")).to_be_visible()
    axe.check("login")
    log_in(page)

    ready = {
        "overview": "admin-overview-jobs",
        "sessions": "admin-session",
        "storage": "admin-storage-disk",
        "errors": "admin-error",
        "purge": "admin-purge-run",
        "settings": MAX_CONCURRENT,
        "presets": "admin-preset",
        "password": "admin-password-current",
        "apikey": "admin-apikey-value",
    }
    for name in PAGES:
        go(page, name)
        expect(page.get_by_test_id(ready[name]).first).to_be_visible()
        if name == "settings":  # with a field error on screen
            page.get_by_test_id(MAX_CONCURRENT).fill("0")
            page.get_by_test_id("admin-setting-save").click()
            expect(
                page.get_by_test_id("admin-setting-error-downloads.max_concurrent")
            ).to_be_visible()
        if name == "sessions":
            page.get_by_test_id("admin-session-toggle").first.click()
            expect(page.get_by_test_id("admin-session-jobs").first).to_be_visible()
        axe.check(name)
        screenshot(page, f"admin-{name}-{size}-{scheme}")
        if name == "apikey":  # and with a new key on screen
            page.get_by_test_id("admin-apikey-generate").click()
            expect(page.get_by_test_id("admin-apikey-fresh")).to_be_visible()
            axe.check("apikey-new")
            screenshot(page, f"admin-apikey-new-{size}-{scheme}")
            page.get_by_test_id("admin-apikey-revoke").click()
            page.get_by_test_id("confirm-ok").click()
            expect(page.get_by_test_id("admin-apikey-value")).to_have_text("None")
        if name == "purge":  # and with the confirmation open
            page.get_by_test_id("admin-purge-run").click()
            expect(page.get_by_role("dialog")).to_be_visible()
            axe.check("purge-confirm", dialog=True)
            screenshot(page, f"admin-purge-confirm-{size}-{scheme}")
            page.get_by_test_id("confirm-cancel").click()
            expect(page.get_by_role("dialog")).to_be_hidden()

    if size == "phone":  # nothing wider than the screen
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide"
    axe.assert_clean(f"{size} {scheme}")


def test_the_setup_page_has_no_serious_or_critical_accessibility_violations(
    new_context: NewContext, server: AppServer, axe_source: str
) -> None:
    page = open_admin(new_context(**context_options("phone", "light")), server)
    page.get_by_test_id("admin-setup-token").fill("wrong")
    page.get_by_test_id("admin-setup-password").fill("short")
    page.get_by_test_id("admin-setup-confirm").fill("short")
    page.get_by_test_id("admin-setup-submit").click()
    expect(page.get_by_test_id("admin-setup-error-token")).to_be_visible()
    axe = Axe(page, axe_source)
    axe.check("setup")
    axe.assert_clean("setup, phone")


def test_setup_says_every_problem_at_once(new_context: NewContext, server: AppServer) -> None:
    page = open_admin(new_context(), server)
    page.get_by_test_id("admin-setup-token").fill("not-the-token")
    page.get_by_test_id("admin-setup-password").fill("short")
    page.get_by_test_id("admin-setup-confirm").fill("short")
    page.get_by_test_id("admin-setup-submit").click()
    expect(page.get_by_test_id("admin-setup-error-token")).to_contain_text("not the setup token")
    expect(page.get_by_test_id("admin-setup-error-password")).to_contain_text(
        "at least 8 characters", ignore_case=True
    )
    screenshot(page, "admin-setup-every-problem")
