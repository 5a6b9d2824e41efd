"""Accounts in the browser (issue 14): the login page, each user's queue on every device and
nobody else's, the proxy mode through a reverse proxy, the upgrade of a ``none`` install, and
the new pages' accessibility."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
    row_for,
    running_server,
    screenshot,
    wait_for_status,
)
from tests.media import MediaServer
from tests.reverse_proxy import ReverseProxy

pytestmark = pytest.mark.e2e

ADMIN = ("admin", "admin-password-1")
ALICE = ("alice", "alice-password-1")
BOB = ("bob", "bob-password-12")
LOCAL = {"MEDIARIP__AUTH__MODE": "local", "MEDIARIP__ADMIN__PASSWORD": ADMIN[1]}
# 96 KiB at 16 KiB/s: about six seconds of progress to watch.
SLOW_VIDEO = "/slow/16000/video.mp4"


@contextmanager
def api_login(base: str, username: str, password: str) -> Iterator[httpx.Client]:
    """An HTTP client logged in as the web app logs in (page session, then the CSRF token)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/api/config/public")
        response = client.post(
            "/api/auth/login",
            json={"username": username, "password": password},
            headers={"X-CSRF-Token": client.cookies.get("mrip_csrf") or ""},
        )
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = client.cookies["mrip_csrf"]
        yield client


def user_key(base: str, username: str, password: str) -> str:
    with api_login(base, username, password) as client:
        made = client.post("/api/auth/keys", json={"name": "test"})
        assert made.status_code == 201, made.text
        return str(made.json()["key"])


def add_job(base: str, key: str, url: str) -> str:
    """Add a job to a user's queue with their key."""
    headers = {"X-API-Key": key}
    response = httpx.post(f"{base}/api/downloads", json={"url": url}, headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def wait_job(base: str, key: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job = httpx.get(f"{base}/api/downloads/{job_id}", headers={"X-API-Key": key}).json()
        if job["status"] in TERMINAL:
            return job  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


@pytest.fixture
def local_server(
    tmp_path: Path, web_dist: Path, open_contexts: list[BrowserContext]
) -> Iterator[AppServer]:
    """A server in ``local`` mode: the configured admin, and users alice and bob."""
    with running_server(tmp_path / "app", LOCAL) as server:
        with api_login(server.base, *ADMIN) as admin:
            for name, password in (ALICE, BOB):
                made = admin.post("/api/admin/users", json={"username": name, "password": password})
                assert made.status_code == 201, made.text
        yield server
        for context in open_contexts:
            context.close()


def log_in(context: BrowserContext, base: str, username: str, password: str) -> Page:
    """Open the app, meet the login page, log in, and wait for the live queue."""
    page = context.new_page()
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-name")).to_have_text(username)
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
    return page


def test_two_users_on_two_browsers_each_see_only_their_own_queue(
    new_context: NewContext, local_server: AppServer, media_server: MediaServer
) -> None:
    base = local_server.base
    alice_job = add_job(base, user_key(base, *ALICE), media_server.url("/media/video.mp4"))
    bob_job = add_job(base, user_key(base, *BOB), media_server.url("/media/audio.m4a"))
    alice = log_in(new_context(), base, *ALICE)
    bob = log_in(new_context(), base, *BOB)
    assert wait_for_status(row_for(alice, alice_job), "completed") == "completed"
    assert wait_for_status(row_for(bob, bob_job), "completed") == "completed"
    expect(alice.locator('[data-testid="job-row"]')).to_have_count(1)
    expect(bob.locator('[data-testid="job-row"]')).to_have_count(1)
    expect(row_for(alice, bob_job)).to_have_count(0)
    expect(row_for(bob, alice_job)).to_have_count(0)
    screenshot(alice, "accounts-alice-queue")


def test_one_user_on_two_browsers_sees_one_queue_with_live_progress_on_both(
    new_context: NewContext, local_server: AppServer, media_server: MediaServer
) -> None:
    base = local_server.base
    phone = log_in(new_context(viewport=PHONE, is_mobile=True, has_touch=True), base, *ALICE)
    laptop = log_in(new_context(), base, *ALICE)
    key = user_key(base, *ALICE)
    job_id = add_job(base, key, media_server.url(SLOW_VIDEO))
    phone.get_by_test_id("tab-queue").click()
    for page in (phone, laptop):
        row = row_for(page, job_id)
        expect(row).to_have_attribute("data-status", "downloading", timeout=30_000)
        # Progress moves on this page while the download runs: live, not a reload.
        expect(row.get_by_test_id("job-percent")).not_to_have_text("0%", timeout=30_000)
    for page in (phone, laptop):
        assert wait_for_status(row_for(page, job_id), "completed") == "completed"


def test_a_users_colour_mode_follows_them_to_another_device(
    new_context: NewContext, local_server: AppServer
) -> None:
    first = log_in(new_context(color_scheme="light"), local_server.base, *ALICE)
    expect(first.locator("html")).to_have_attribute("data-mode", "light")
    first.get_by_test_id("mode-dark").click()
    expect(first.locator("html")).to_have_attribute("data-mode", "dark")
    with api_login(local_server.base, *ALICE) as client:
        deadline = time.monotonic() + 20
        while client.get("/api/auth/preferences").json()["preferences"].get("mode") != "dark":
            assert time.monotonic() < deadline, "the choice never reached the server"
            time.sleep(0.05)
    second = log_in(new_context(color_scheme="light"), local_server.base, *ALICE)
    expect(second.locator("html")).to_have_attribute("data-mode", "dark")
    # Bob's devices keep their own.
    bob = log_in(new_context(color_scheme="light"), local_server.base, *BOB)
    expect(bob.locator("html")).to_have_attribute("data-mode", "light")


def test_logging_out_shows_the_login_again_and_the_account_pages_work(
    new_context: NewContext, local_server: AppServer
) -> None:
    page = log_in(new_context(), local_server.base, *ALICE)
    page.get_by_test_id("user-name").click()
    expect(page.get_by_role("heading", name="My API keys")).to_be_visible()
    page.get_by_test_id("key-name").fill("phone")
    page.get_by_test_id("key-make").click()
    key = page.get_by_test_id("key-value").input_value()
    assert key.startswith("mrk_")
    expect(page.get_by_test_id("key-row")).to_have_count(1)
    expect(page.get_by_test_id("key-row")).to_contain_text("…" + key[-4:])
    expect(page.get_by_test_id("key-row")).not_to_contain_text(key)
    check = httpx.get(f"{local_server.base}/api/auth/me", headers={"X-API-Key": key})
    assert check.json()["user"]["username"] == "alice"

    page.get_by_test_id("account-nav-password").click()
    expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    page.get_by_test_id("account-password-current").fill(ALICE[1])
    page.get_by_test_id("account-password-new").fill("alice-new-pass-2")
    page.get_by_test_id("account-password-submit").click()
    expect(page.get_by_test_id("account-password-done")).to_be_visible()

    page.get_by_test_id("logout").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_test_id("login-username").fill("alice")
    page.get_by_test_id("login-password").fill(ALICE[1])
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("Wrong username or password")
    page.get_by_test_id("login-password").fill("alice-new-pass-2")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-name")).to_have_text("alice")


def test_the_admin_manages_users_on_the_users_page(
    new_context: NewContext, local_server: AppServer
) -> None:
    page = log_in(new_context(), local_server.base, *ADMIN)
    page.goto(local_server.base + "/admin/users")
    expect(page.get_by_test_id("admin-page-heading")).to_have_text("Users")
    expect(page.get_by_test_id("user-row")).to_have_count(3)
    page.get_by_test_id("new-user-name").fill("carol")
    page.get_by_test_id("new-user-password").fill("carol-password-1")
    page.get_by_test_id("new-user-submit").click()
    expect(page.get_by_test_id("user-row")).to_have_count(4)
    page.get_by_test_id("new-user-name").fill("Caro1")
    page.get_by_test_id("new-user-password").fill("carol-password-1")
    page.get_by_test_id("new-user-submit").click()
    expect(page.get_by_test_id("new-user-error")).to_contain_text("taken")
    carol = page.locator('[data-testid="user-row"][data-username="carol"]')
    carol.get_by_test_id("user-disable").click()
    expect(carol).to_contain_text("Disabled")
    with httpx.Client(base_url=local_server.base) as client:
        client.get("/api/config/public")
        refused = client.post(
            "/api/auth/login",
            json={"username": "carol", "password": "carol-password-1"},
            headers={"X-CSRF-Token": client.cookies.get("mrip_csrf") or ""},
        )
        assert refused.status_code == 401


def test_an_invite_link_from_the_users_page_makes_an_account(
    new_context: NewContext, local_server: AppServer
) -> None:
    admin = log_in(new_context(), local_server.base, *ADMIN)
    admin.goto(local_server.base + "/admin/users")
    admin.get_by_test_id("invite-make").click()
    link = admin.get_by_test_id("invite-link").input_value()
    assert "/register?invite=" in link
    newcomer = new_context().new_page()
    newcomer.goto(link)
    expect(newcomer.get_by_role("heading", name="Make your account")).to_be_visible()
    newcomer.get_by_test_id("login-username").fill("dana")
    newcomer.get_by_test_id("login-password").fill("dana-password-1")
    newcomer.get_by_test_id("login-submit").click()
    expect(newcomer.get_by_test_id("user-name")).to_have_text("dana")
    expect(newcomer.get_by_test_id("connection")).to_have_attribute("data-state", "open")
    # The link made one account; a second visit with it is refused.
    other = new_context().new_page()
    other.goto(link)
    other.get_by_test_id("login-username").fill("erin")
    other.get_by_test_id("login-password").fill("erin-password-1")
    other.get_by_test_id("login-submit").click()
    expect(other.get_by_test_id("login-error")).to_contain_text("not valid")


def test_the_proxy_names_the_user_and_the_app_refuses_the_header_sent_directly(
    tmp_path: Path, web_dist: Path, new_context: NewContext, open_contexts: list[BrowserContext]
) -> None:
    env = {
        "MEDIARIP__AUTH__MODE": "proxy",
        "MEDIARIP__SERVER__TRUSTED_PROXIES": "127.0.0.2",
    }
    with running_server(tmp_path / "app", env) as server:
        with ReverseProxy(server.port, lambda headers: "carol") as proxy:
            page = new_context().new_page()
            page.goto(proxy.base_url + "/")
            expect(page.get_by_test_id("user-name")).to_have_text("carol")
            expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
            expect(page.get_by_test_id("logout")).to_have_count(0)
            # Straight to the app: no user, so the page says where to sign in.
            direct = new_context().new_page()
            direct.goto(server.base + "/")
            expect(direct.get_by_test_id("login-proxy")).to_be_visible()
            # And the same request as the proxy's, sent straight to the app: refused.
            spoofed = httpx.get(f"{server.base}/api/auth/me", headers={"Remote-User": "carol"})
            assert spoofed.status_code == 403
            assert spoofed.json()["error"]["code"] == "proxy_header_untrusted"
            through = httpx.get(f"{proxy.base_url}/api/auth/me")
            assert through.json()["user"]["username"] == "carol"
        for context in open_contexts:
            context.close()


def test_upgrading_a_none_install_to_local_offers_its_jobs_to_a_user(
    tmp_path: Path,
    web_dist: Path,
    new_context: NewContext,
    open_contexts: list[BrowserContext],
    media_server: MediaServer,
) -> None:
    root = tmp_path / "app"
    with running_server(root) as before:
        anonymous = httpx.Client(base_url=before.base, timeout=30)  # one browser's session
        with anonymous:
            url = media_server.url("/media/video.mp4")
            job_id = anonymous.post("/api/downloads", json={"url": url}).json()["id"]
            deadline = time.monotonic() + 60
            while anonymous.get(f"/api/downloads/{job_id}").json()["status"] not in TERMINAL:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    with running_server(root, LOCAL) as after:
        page = log_in(new_context(), after.base, *ADMIN)
        expect(page.locator('[data-testid="job-row"]')).to_have_count(0)
        page.goto(after.base + "/admin/users")
        admin_row = page.locator('[data-testid="user-row"][data-username="admin"]')
        admin_row.get_by_test_id("user-adopt").click()
        page.get_by_test_id("confirm-ok").click()
        expect(page.get_by_test_id("adopted")).to_contain_text("1 job given to admin")
        page.goto(after.base + "/")
        assert wait_for_status(row_for(page, job_id), "completed") == "completed"
        for context in open_contexts:
            context.close()


@at_each_size_and_scheme
def test_the_account_pages_have_no_serious_accessibility_problems(
    new_context: NewContext, local_server: AppServer, axe_source: str, size: str, scheme: str
) -> None:
    page = new_context(**context_options(size, scheme)).new_page()
    base = local_server.base
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-mode", scheme)
    axe = Axe(page, axe_source)
    axe.check("login")
    screenshot(page, f"accounts-login-{size}-{scheme}")
    page.get_by_test_id("login-username").fill(ADMIN[0])
    page.get_by_test_id("login-password").fill(ADMIN[1])
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-name")).to_have_text(ADMIN[0])
    axe.check("header")
    for path, heading in [
        ("/account", "My API keys"),
        ("/account/password", "Change password"),
        ("/admin/users", "Users"),
    ]:
        page.goto(base + path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        if path == "/account":
            page.get_by_test_id("key-make").click()
            expect(page.get_by_test_id("key-row")).to_have_count(1)
        if path == "/admin/users":
            expect(page.get_by_test_id("user-row")).to_have_count(3)
        axe.check(path)
        screenshot(page, f"accounts-{re.sub(r'[^a-z]+', '-', path)}-{size}-{scheme}")
    axe.assert_clean(f"{size} {scheme}")
