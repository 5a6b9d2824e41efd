"""Reach, in a real Chromium: the manifest and the service worker as the browser sees them (and
what the worker leaves alone), the share target, the bookmarklet run on a page of another
origin, CORS for a named origin, the admin's notification targets with "Send a test", and axe
on the new pages.

Every test has a timeout of its own and waits for conditions, never for time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.axe import Axe, at_each_size_and_scheme, context_options
from tests.e2e.conftest import (
    AppServer,
    NewContext,
    open_app,
    running_server,
    screenshot,
)
from tests.media import MediaServer
from tests.receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

KEY = "reach-e2e-key-0123456789"
PASSWORD = "correct horse battery"


@pytest.fixture
def share_server(
    tmp_path: Path, web_dist: Path, open_contexts: list[BrowserContext]
) -> Iterator[AppServer]:
    """Shared links are queued at once; the media server's 127.0.0.1 origin may call the API."""
    with running_server(
        tmp_path / "app",
        {
            "MEDIARIP__UI__SHARE_QUEUES": "true",
            "MEDIARIP__SERVER__API_KEY": KEY,
            "MEDIARIP__ADMIN__PASSWORD": PASSWORD,
        },
    ) as server:
        yield server
        for context in open_contexts:
            context.close()


def _controlled(page: Page) -> None:
    """Wait until the service worker is active and controls the page (a reload hands it over)."""
    page.wait_for_function(
        "navigator.serviceWorker.ready.then(r => !!r.active)", polling=100, timeout=20_000
    )
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("!!navigator.serviceWorker.controller", polling=100, timeout=20_000)


def test_the_manifest_and_service_worker_are_valid_and_the_api_is_never_cached(
    new_context: NewContext, server: AppServer
) -> None:
    context = new_context()
    page = open_app(context, server)
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    assert href == "/manifest.webmanifest"
    manifest: dict[str, Any] = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["name"] == "media-rip" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["theme_color"].startswith("#") and manifest["background_color"].startswith("#")
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:
        response = httpx.get(server.base + icon["src"], timeout=10)
        assert response.status_code == 200, icon
        assert response.headers["content-type"].startswith(icon["type"]), icon
    share = manifest["share_target"]
    assert share["action"] == "/share" and share["method"] == "GET"
    assert share["params"]["url"] == "url" and share["params"]["text"] == "text"

    # Chromium's own view of the worker: registered, active, scoped to the whole app.
    _controlled(page)
    registration = page.evaluate(
        """navigator.serviceWorker.ready.then(r => ({
            scope: r.scope, script: r.active.scriptURL, state: r.active.state }))"""
    )
    assert registration == {
        "scope": server.base + "/",
        "script": server.base + "/sw.js",
        "state": "activated",
    }

    # Under the worker, the API and the event stream go to the network untouched; the
    # built assets come from its cache.
    responses: list[tuple[str, bool]] = []
    page.on("response", lambda r: responses.append((r.url, r.from_service_worker)))
    page.reload()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
    page.evaluate("fetch('/api/health').then(r => r.json())")
    api = [(url, sw) for url, sw in responses if "/api/" in url]
    assert api and not any(sw for _, sw in api), api
    assets = [(url, sw) for url, sw in responses if "/assets/" in url]
    assert assets and all(sw for _, sw in assets), assets

    # Offline, the installed app still opens: the shell comes from the worker's cache.
    context.set_offline(True)
    try:
        page.reload()
        expect(page.get_by_role("heading", name="media-rip")).to_be_visible()
        expect(page.get_by_test_id("url-input")).to_be_visible()
    finally:
        context.set_offline(False)


def test_a_shared_link_opens_the_form_with_its_preview(
    new_context: NewContext, server: AppServer, media_server: MediaServer
) -> None:
    page = new_context().new_page()
    link = media_server.url("/media/video.mp4")
    # Phones often put the link inside the shared text.
    page.goto(f"{server.base}/share?title=A+video&text={quote('Look at this ' + link)}")
    expect(page.get_by_test_id("url-input")).to_have_value(link)
    expect(page.get_by_test_id("preview")).to_be_visible()
    assert page.evaluate("location.pathname") == "/"
    # Nothing was queued: the person decides.
    expect(page.locator('[data-testid="job-row"]')).to_have_count(0)


def test_the_bookmarklet_on_another_origins_page_queues_the_link(
    new_context: NewContext, share_server: AppServer, media_server: MediaServer
) -> None:
    context = new_context()
    page = context.new_page()
    page.goto(share_server.base + "/add-anywhere")
    code = page.get_by_test_id("bookmarklet").get_attribute("href")
    assert code and code.startswith("javascript:")
    screenshot(page, "bookmarklet-page")

    # A page of another origin (the media server's), as the bookmarklet would find it.
    other = context.new_page()
    other.goto(media_server.url("/page.html"))
    with context.expect_page() as opened:
        other.evaluate(code.removeprefix("javascript:"))
    app = opened.value
    expect(app.get_by_test_id("added")).to_contain_text("Added to the queue")
    expect(app.locator('[data-testid="job-row"]').first).to_be_visible()
    assert app.evaluate("location.pathname") == "/"
    # The page holds two videos: a playlist, whose row the queue shows with its items.
    listed = json.loads(app.evaluate("fetch('/api/downloads').then(r => r.text())"))["jobs"]
    top = [j for j in listed if j["parent_id"] is None]
    assert [j["url"] for j in top] == [media_server.url("/page.html")]
    row = app.locator(f'[data-testid="job-row"][data-job-id="{top[0]["id"]}"]')
    expect(row).to_have_attribute("data-status", "completed", timeout=60_000)


def test_cors_lets_a_named_origin_call_with_the_key_and_no_other(
    tmp_path: Path, web_dist: Path, new_context: NewContext, media_server: MediaServer
) -> None:
    named = media_server.url("/").rstrip("/")  # http://127.0.0.1:<port>
    unnamed = named.replace("127.0.0.1", "localhost")  # the same server, another origin
    with running_server(
        tmp_path / "app",
        {"MEDIARIP__SERVER__API_KEY": KEY, "MEDIARIP__SERVER__CORS_ORIGINS": f"[{named}]"},
    ) as server:
        context = new_context()
        call = """async ([base, key]) => {
            try {
                const r = await fetch(base + '/api/downloads', {
                    method: 'POST',
                    headers: {'Authorization': 'Bearer ' + key, 'Content-Type': 'application/json'},
                    body: JSON.stringify({url: 'https://example.invalid/v'}),
                });
                return {status: r.status, body: await r.json()};
            } catch (e) { return {error: String(e)}; }
        }"""
        page = context.new_page()
        page.goto(named + "/page.html")
        allowed = page.evaluate(call, [server.base, KEY])
        assert allowed.get("status") == 201, allowed
        assert allowed["body"]["url"] == "https://example.invalid/v"

        page.goto(unnamed + "/page.html")
        refused = page.evaluate(call, [server.base, KEY])
        assert "error" in refused, refused  # the preflight was refused: nothing was sent
        jobs = httpx.get(
            server.base + "/api/downloads", headers={"X-API-Key": KEY}, timeout=10
        ).json()["jobs"]
        assert len(jobs) == 1
        context.close()


def _admin_context(new_context: NewContext, server: AppServer, **options: Any) -> BrowserContext:
    context = new_context(**options)
    response = context.request.post(
        server.base + "/api/admin/login",
        data={"username": "admin", "password": PASSWORD},
        headers={"X-API-Key": KEY},
    )
    assert response.ok, response.text()
    return context


def test_the_admin_adds_a_webhook_and_sends_a_test(
    new_context: NewContext, share_server: AppServer
) -> None:
    with Receiver() as receiver:
        page = _admin_context(new_context, share_server).new_page()
        page.goto(share_server.base + "/admin/notifications")
        expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
        page.get_by_test_id("admin-notification-name").fill("Jellyfin on the LAN")
        page.get_by_test_id("admin-notification-url").fill(receiver.url + "/hook")
        page.get_by_test_id("admin-notification-event-new_items").check()
        page.get_by_test_id("admin-notification-save").click()
        target = page.get_by_test_id("admin-notification-target")
        expect(target).to_have_count(1)
        expect(target).to_contain_text("Jellyfin on the LAN")
        target.get_by_test_id("admin-notification-test").click()
        expect(target.get_by_test_id("admin-notification-result")).to_have_text("Delivered.")
        assert receiver.received and json.loads(receiver.received[0].body)["event"] == "test"
        screenshot(page, "notification-target")


@at_each_size_and_scheme
def test_the_new_pages_have_no_serious_accessibility_violations(
    new_context: NewContext, share_server: AppServer, axe_source: str, size: str, scheme: str
) -> None:
    context = _admin_context(new_context, share_server, **context_options(size, scheme))
    context.request.post(
        share_server.base + "/api/admin/notifications",
        data={"name": "ntfy", "kind": "apprise", "url": "ntfy://ntfy.example.com/media"},
        headers={"X-API-Key": KEY},
    )
    page = context.new_page()
    axe = Axe(page, axe_source)
    page.goto(share_server.base + "/add-anywhere")
    expect(page.get_by_test_id("bookmarklet")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-mode", scheme)
    axe.check("add-anywhere")
    page.goto(share_server.base + "/admin/notifications")
    expect(page.get_by_test_id("admin-notification-target")).to_have_count(1)
    axe.check("notifications")
    axe.assert_clean(f"{size} {scheme}")


def test_open_app_still_works_under_the_worker(new_context: NewContext, server: AppServer) -> None:
    """Other tests' pages: once the worker controls a context, the app still connects."""
    context = new_context()
    page = open_app(context, server)
    _controlled(page)
    page2 = open_app(context, server)
    expect(page2.get_by_test_id("connection")).to_have_attribute("data-state", "open")
