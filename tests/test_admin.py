"""The admin API (/api/admin), as the admin panel and an attacker see it, on the real server.

Setup with the one-time token, login and lock-out, admin sessions that die with a password
change, settings (live, pinned, refused), the API key, the error log, storage, sessions and
"purge now".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from mediarip.models import Job, JobStatus, new_job_id
from mediarip.store import Store
from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, open_events, running_app

PASSWORD = "correct horse battery"
SLOW_VIDEO = "/slow/16000/video.mp4"  # about six seconds
PROTECTED = [
    ("POST", "/api/admin/logout"),
    ("POST", "/api/admin/password"),
    ("GET", "/api/admin/sessions"),
    ("GET", "/api/admin/sessions/0123456789abcdef/jobs"),
    ("GET", "/api/admin/storage"),
    ("GET", "/api/admin/errors"),
    ("DELETE", "/api/admin/errors"),
    ("POST", "/api/admin/purge"),
    ("GET", "/api/admin/settings"),
    ("PATCH", "/api/admin/settings"),
    ("DELETE", "/api/admin/settings/ui.welcome_message"),
    ("GET", "/api/admin/api-key"),
    ("POST", "/api/admin/api-key"),
    ("DELETE", "/api/admin/api-key"),
]


def with_admin_cookie(app: RunningApp, value: str) -> httpx.AsyncClient:
    """Another browser, holding ``value`` as its admin cookie."""
    client = app.new_client()
    client.cookies.set("mrip_admin", value, path="/api/admin")
    return client


def error_of(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.json()["error"]  # type: ignore[no-any-return]


async def set_up(app: RunningApp, client: httpx.AsyncClient | None = None) -> httpx.Response:
    """First-run setup with the token the server printed; logs ``client`` in."""
    token = app.handle.services.auth.setup_token
    response = await (client or app.client).post(
        "/api/admin/setup", json={"token": token, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response


async def log_in(
    client: httpx.AsyncClient, password: str = PASSWORD, username: str = "admin"
) -> httpx.Response:
    return await client.post("/api/admin/login", json={"username": username, "password": password})


@pytest.fixture
async def admin(app: RunningApp) -> RunningApp:
    """The running app with its client logged in as the admin."""
    await set_up(app)
    return app


async def settings_of(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await client.get("/api/admin/settings")
    assert response.status_code == 200, response.text
    return response.json()["settings"]  # type: ignore[no-any-return]


# -- first-run setup ----------------------------------------------------------------------------


async def test_first_run_setup_needs_the_token_from_the_server_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="mediarip.auth"):
        async with running_app(make_settings(tmp_path)) as app:
            status = (await app.client.get("/api/admin/status")).json()
            assert status == {
                "setup_required": True,
                "logged_in": False,
                "username": None,
                "admin_enabled": True,
            }
            token = app.handle.services.auth.setup_token
            assert token is not None
            assert any(
                "First-run setup" in r.getMessage() and token in r.getMessage()
                for r in caplog.records
            )

            without = await app.client.post("/api/admin/setup", json={"password": PASSWORD})
            assert error_of(without, 403)["code"] == "setup_token_required"
            wrong = await app.client.post(
                "/api/admin/setup", json={"token": "not-the-token", "password": PASSWORD}
            )
            assert error_of(wrong, 401)["code"] == "bad_setup_token"
            assert (await app.client.get("/api/admin/status")).json()["setup_required"]

            done = await app.client.post(
                "/api/admin/setup",
                json={"token": token, "username": "boss", "password": PASSWORD},
            )
            assert done.status_code == 200, done.text
            assert done.json() == {
                "setup_required": False,
                "logged_in": True,
                "username": "boss",
                "admin_enabled": True,
            }
            again = await app.new_client().post(
                "/api/admin/setup", json={"token": token, "password": "someone else's"}
            )
            assert error_of(again, 409)["code"] == "setup_done"
            assert app.handle.services.auth.setup_token is None
            assert (await log_in(app.new_client(), username="boss")).status_code == 200


@pytest.mark.parametrize(
    ("password", "words"),
    [("short", "at least 8"), ("ü" * 40, "at most 72 bytes")],
    ids=["too-short", "80-bytes"],
)
async def test_setup_refuses_passwords_bcrypt_cannot_keep(
    app: RunningApp, password: str, words: str
) -> None:
    token = app.handle.services.auth.setup_token
    response = await app.client.post(
        "/api/admin/setup", json={"token": token, "password": password}
    )
    error = error_of(response, 422)
    assert "password" in error["message"] and words in error["message"]
    assert app.handle.services.auth.setup_required  # the token still works


async def test_a_password_from_the_environment_needs_no_setup_and_is_not_kept(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__ADMIN__PASSWORD": PASSWORD})
    async with running_app(settings) as app:
        services = app.handle.services
        assert services.auth.setup_token is None
        status = (await app.client.get("/api/admin/status")).json()
        assert status["setup_required"] is False
        assert services.settings.admin.password is None
        assert PASSWORD not in repr(services.settings)
        assert PASSWORD not in repr(services.config.describe())
        assert (await log_in(app.client)).status_code == 200
        assert PASSWORD not in (await app.client.get("/api/admin/settings")).text
        changed = await app.client.post(
            "/api/admin/password", json={"current": PASSWORD, "new": "another password"}
        )
        assert error_of(changed, 409)["code"] == "pinned"


# -- login, logout, lock-out --------------------------------------------------------------------


async def test_login_and_logout(admin: RunningApp) -> None:
    browser = admin.new_client()
    assert (await browser.get("/api/admin/status")).json()["logged_in"] is False
    response = await log_in(browser)
    assert response.status_code == 200, response.text
    assert response.json()["logged_in"] is True and response.json()["username"] == "admin"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("mrip_admin=")
    lowered = cookie.lower()
    for flag in ("httponly", "samesite=strict", "path=/api/admin", "max-age="):
        assert flag in lowered, cookie
    assert "secure" not in lowered.replace("samesite", "")  # plain http, secure_cookies auto
    value = browser.cookies["mrip_admin"]
    assert len(value) >= 22  # at least 128 bits, URL-safe base64
    assert (await browser.get("/api/admin/sessions")).status_code == 200

    assert (await browser.post("/api/admin/logout")).status_code == 204
    assert "mrip_admin" not in browser.cookies
    assert (await browser.get("/api/admin/status")).json()["logged_in"] is False
    # The old cookie, replayed, is dead.
    async with with_admin_cookie(admin, value) as replay:
        response = await replay.get("/api/admin/sessions")
        assert error_of(response, 401)["code"] == "admin_login_required"


async def test_wrong_credentials_are_refused_alike(admin: RunningApp) -> None:
    browser = admin.new_client()
    wrong_password = await log_in(browser, password="not the password")
    wrong_name = await log_in(browser, username="root")
    assert error_of(wrong_password, 401) == error_of(wrong_name, 401)
    missing = await browser.post("/api/admin/login", json={"username": "admin"})
    assert "password" in error_of(missing, 422)["message"]
    not_text = await browser.post("/api/admin/login", json={"username": "admin", "password": 1})
    assert "password" in error_of(not_text, 422)["message"]


async def test_brute_force_is_locked_out_with_retry_after(admin: RunningApp) -> None:
    attacker = admin.new_client()
    for _ in range(5):
        assert (await log_in(attacker, password="guess")).status_code == 401
    locked = await log_in(attacker, password="guess")
    assert error_of(locked, 429)["code"] == "too_many_attempts"
    retry_after = int(locked.headers["Retry-After"])
    assert 1 <= retry_after <= 900
    # Even the right password is refused while locked out.
    assert (await log_in(attacker)).status_code == 429
    await trio.sleep(retry_after + 0.1)
    assert (await log_in(attacker)).status_code == 200


async def test_every_admin_endpoint_needs_the_admin_cookie(admin: RunningApp) -> None:
    stranger = admin.new_client()
    for method, path in PROTECTED:
        body = {} if method in ("POST", "PATCH") else None
        response = await stranger.request(method, path, json=body)
        assert error_of(response, 401)["code"] == "admin_login_required", (method, path)
        async with with_admin_cookie(admin, "forged-value-of-decent-length") as forger:
            forged = await forger.request(method, path, json=body)
            assert forged.status_code == 401, (method, path)
    # and the connection is still usable after all those refusals
    assert (await stranger.get("/api/admin/status")).status_code == 200


async def test_a_password_change_ends_every_other_admin_session(admin: RunningApp) -> None:
    other = admin.new_client()
    assert (await log_in(other)).status_code == 200
    stale = other.cookies["mrip_admin"]
    mine_before = admin.client.cookies["mrip_admin"]

    wrong = await admin.client.post(
        "/api/admin/password", json={"current": "nope nope", "new": "a brand new one"}
    )
    assert error_of(wrong, 403)["code"] == "wrong_password"
    short = await admin.client.post("/api/admin/password", json={"current": PASSWORD, "new": "x"})
    assert "new" in error_of(short, 422)["message"]

    changed = await admin.client.post(
        "/api/admin/password", json={"current": PASSWORD, "new": "a brand new one"}
    )
    assert changed.status_code == 200, changed.text
    # The one who changed it stays logged in, with a new cookie; every older cookie is dead.
    assert admin.client.cookies["mrip_admin"] != mine_before
    assert (await admin.client.get("/api/admin/sessions")).status_code == 200
    assert error_of(await other.get("/api/admin/sessions"), 401)
    for cookie in (stale, mine_before):
        async with with_admin_cookie(admin, cookie) as replay:
            assert (await replay.get("/api/admin/settings")).status_code == 401
    assert (await log_in(admin.new_client())).status_code == 401
    assert (await log_in(admin.new_client(), password="a brand new one")).status_code == 200


async def test_with_the_admin_off_every_admin_path_is_a_404(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__ADMIN__ENABLED": "false"})
    async with running_app(settings) as app:
        assert app.handle.services.auth.setup_token is None
        for method, path in [
            ("GET", "/api/admin/status"),
            ("POST", "/api/admin/setup"),
            ("POST", "/api/admin/login"),
            *PROTECTED,
        ]:
            response = await app.client.request(method, path, json={"x": 1})
            assert error_of(response, 404)["code"] == "not_found", (method, path)


# -- settings -----------------------------------------------------------------------------------


async def test_settings_are_listed_with_the_pinned_ones_flagged_and_no_secrets(
    admin: RunningApp,
) -> None:
    settings = await settings_of(admin.client)
    assert settings["downloads.max_concurrent"] == {
        "key": "downloads.max_concurrent",
        "value": 3,
        "pinned": False,
        "editable": True,
        "overridden": False,
        "applies": "now",
    }
    # make_settings sets these through the environment
    pinned = settings["downloads.allow_private_networks"]
    assert pinned["pinned"] is True and pinned["editable"] is False and pinned["value"] is True
    assert settings["server.host"]["editable"] is False  # the deployment's business
    assert settings["session.mode"]["applies"] == "restart"
    for secret in ("server.api_key", "admin.password", "admin.password_hash"):
        assert secret not in settings


async def test_max_concurrent_changed_in_the_panel_applies_at_once(
    admin: RunningApp, media: MediaServer
) -> None:
    response = await admin.client.patch("/api/admin/settings", json={"downloads.max_concurrent": 2})
    assert response.status_code == 200, response.text
    changed = response.json()["settings"]["downloads.max_concurrent"]
    assert changed["value"] == 2 and changed["overridden"] is True
    public = (await admin.client.get("/api/config/public")).json()
    assert public["max_concurrent"] == 2

    jobs = [await admin.submit(media.url(SLOW_VIDEO)) for _ in range(3)]
    for job in jobs[:2]:
        await admin.wait_for(job["id"], lambda j: j["status"] == "downloading")
    await trio.sleep(1.0)
    assert (await admin.job(jobs[2]["id"]))["status"] == "queued"
    for job in jobs:
        await admin.client.post(f"/api/downloads/{job['id']}/cancel")


async def test_a_changed_setting_survives_a_restart_and_can_be_reset(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with running_app(settings) as app:
        await set_up(app)
        response = await app.client.patch(
            "/api/admin/settings",
            json={"ui.welcome_message": "Hello there", "purge.max_age_minutes": 90},
        )
        assert response.status_code == 200, response.text
    async with running_app(settings) as app:
        assert app.handle.services.settings.ui.welcome_message == "Hello there"
        assert app.handle.services.settings.purge.max_age_minutes == 90
        assert (await log_in(app.client)).status_code == 200
        reset = await app.client.delete("/api/admin/settings/ui.welcome_message")
        assert reset.status_code == 200, reset.text
        assert reset.json()["settings"]["ui.welcome_message"]["value"] == ""
        public = (await app.client.get("/api/config/public")).json()
        assert public["welcome_message"] == ""


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        pytest.param(
            {"downloads.max_concurrent": 0}, 422, "downloads.max_concurrent", id="bad-value"
        ),
        pytest.param({"downloads.max_concurent": 2}, 422, "downloads.max_concurrent", id="typo"),
        pytest.param({"purge.schedule": "0 0 31 2 *"}, 422, "purge.schedule", id="never-fires"),
        pytest.param({"purge.schedule": "every hour"}, 422, "purge.schedule", id="not-cron"),
        pytest.param({"downloads.allow_private_networks": False}, 409, "environment", id="pinned"),
        pytest.param({"server.port": 9000}, 409, "server.port", id="read-only"),
        pytest.param({"admin.enabled": False}, 409, "admin.enabled", id="admin-section"),
        pytest.param(
            {"downloads.source_templates": {"*": "%(title)999999999s.%(ext)s"}},
            422,
            "width of 999999999 is too big",
            id="template-width",
        ),
        pytest.param(
            {"downloads.source_templates": {"*": "%(titel)s.%(ext)s"}},
            422,
            "'titel' is not a field",
            id="template-field",
        ),
        pytest.param({"server.api_key": "k" * 20}, 409, "server.api_key", id="secret"),
    ],
)
async def test_bad_or_forbidden_setting_changes_are_refused_and_change_nothing(
    admin: RunningApp, change: dict[str, Any], status: int, words: str
) -> None:
    before = await settings_of(admin.client)
    response = await admin.client.patch(
        "/api/admin/settings", json={"ui.welcome_message": "changed?", **change}
    )
    assert words in error_of(response, status)["message"]
    assert await settings_of(admin.client) == before


# -- the API key --------------------------------------------------------------------------------


async def test_an_api_key_is_generated_shown_once_enforced_and_revoked(
    admin: RunningApp, media: MediaServer
) -> None:
    assert (await admin.client.get("/api/admin/api-key")).json() == {
        "configured": False,
        "pinned": False,
        "masked": None,
    }
    generated = await admin.client.post("/api/admin/api-key")
    assert generated.status_code == 201, generated.text
    key = generated.json()["key"]
    assert len(key) >= 32
    shown = (await admin.client.get("/api/admin/api-key")).json()
    assert shown["configured"] is True and shown["masked"].endswith(key[-4:])
    assert key not in json.dumps(shown)
    auth = admin.handle.services.auth
    assert auth.api_key_required and auth.api_key_matches(key) and not auth.api_key_matches("x")

    # Outside clients now need it for changes.
    async with admin.new_client() as curl:
        url = media.url("/media/video.mp4")
        assert (await curl.post("/api/downloads", json={"url": url})).status_code == 401
        with_key = await curl.post("/api/downloads", json={"url": url}, headers={"X-API-Key": key})
        assert with_key.status_code == 201, with_key.text

    revoked = await admin.client.delete("/api/admin/api-key", headers={"X-API-Key": key})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["configured"] is False
    assert not auth.api_key_required and not auth.api_key_matches(key)


async def test_an_api_key_from_the_config_is_pinned(tmp_path: Path) -> None:
    key = "configured-key-0123456789"
    settings = make_settings(
        tmp_path, {"MEDIARIP__SERVER__API_KEY": key, "MEDIARIP__ADMIN__PASSWORD": PASSWORD}
    )
    async with running_app(settings) as app:
        headers = {"X-API-Key": key}
        response = await app.client.post(
            "/api/admin/login", json={"username": "admin", "password": PASSWORD}, headers=headers
        )
        assert response.status_code == 200, response.text
        state = (await app.client.get("/api/admin/api-key")).json()
        assert state == {"configured": True, "pinned": True, "masked": "…" + key[-4:]}
        for method in ("POST", "DELETE"):
            refused = await app.client.request(method, "/api/admin/api-key", headers=headers)
            assert error_of(refused, 409)["code"] == "pinned"
        assert app.handle.services.auth.api_key_matches(key)


# -- the error log, storage, sessions ---------------------------------------------------------


async def test_a_failed_download_lands_in_the_error_log_which_can_be_cleared(
    admin: RunningApp, media: MediaServer
) -> None:
    url = media.url("/fail/404")
    job = await admin.submit(url)
    failed = await admin.wait_for(job["id"])
    assert failed["status"] == "failed"
    with trio.fail_after(5):
        while not (errors := (await admin.client.get("/api/admin/errors")).json()["errors"]):
            await trio.sleep(0.05)
    [entry] = errors
    assert entry["job_id"] == job["id"] and entry["url"] == url
    assert entry["code"] == failed["error"]["code"]
    assert entry["message"] == failed["error"]["message"]
    assert "HTTP Error 404" in entry["detail"]  # the whole text, for the admin only
    assert dt.datetime.fromisoformat(entry["at"]) == dt.datetime.fromisoformat(
        failed["finished_at"]
    )
    session_cookie = admin.client.cookies["mrip_session"]
    assert session_cookie not in json.dumps(errors)
    sessions = (await admin.client.get("/api/admin/sessions")).json()["sessions"]
    assert entry["session_id"] in [s["id"] for s in sessions]

    bad_limit = await admin.client.get("/api/admin/errors", params={"limit": "0"})
    assert "limit" in error_of(bad_limit, 422)["message"]
    cleared = await admin.client.delete("/api/admin/errors")
    assert cleared.json() == {"removed": 1}
    assert (await admin.client.get("/api/admin/errors")).json() == {"errors": []}


async def test_storage_and_sessions_show_what_each_session_holds(
    admin: RunningApp, media: MediaServer
) -> None:
    done = await admin.wait_for((await admin.submit(media.url("/media/video.mp4")))["id"])
    assert done["status"] == "completed"
    async with admin.new_client() as other:
        assert (await other.get("/api/downloads")).status_code == 200  # a session, no jobs

    storage = (await admin.client.get("/api/admin/storage")).json()
    disk = storage["disk"]
    assert disk["total"] > 0 and 0 <= disk["used"] <= disk["total"] and disk["free"] > 0
    assert storage["jobs"] == {"completed": 1}
    assert storage["files_bytes"] == done["filesize"]

    sessions = (await admin.client.get("/api/admin/sessions")).json()["sessions"]
    assert len(sessions) == 2
    busy = next(s for s in sessions if s["jobs"])
    idle = next(s for s in sessions if not s["jobs"])
    assert busy["jobs"] == {"completed": 1} and busy["bytes"] == done["filesize"]
    assert idle["bytes"] == 0 and idle["last_seen"] is not None
    assert {s["id"]: s["bytes"] for s in storage["sessions"]}[busy["id"]] == done["filesize"]
    listing = json.dumps(sessions)
    assert admin.client.cookies["mrip_session"] not in listing

    jobs = (await admin.client.get(f"/api/admin/sessions/{busy['id']}/jobs")).json()["jobs"]
    assert [j["id"] for j in jobs] == [done["id"]]
    assert (await admin.client.get(f"/api/admin/sessions/{idle['id']}/jobs")).json() == {"jobs": []}
    missing = await admin.client.get("/api/admin/sessions/0000000000000000/jobs")
    assert error_of(missing, 404)["code"] == "session_not_found"


# -- purge now ----------------------------------------------------------------------------------


async def test_purge_now_removes_old_jobs_with_their_folders_and_tells_open_pages(
    tmp_path: Path, media: MediaServer
) -> None:
    settings = make_settings(
        tmp_path,
        {"MEDIARIP__DOWNLOADS__SOURCE_TEMPLATES": '{"*": "nested/deeper/%(title)s.%(ext)s"}'},
    )
    async with running_app(settings) as app:
        await set_up(app)
        old = await app.wait_for((await app.submit(media.url("/media/video.mp4")))["id"])
        recent = await app.wait_for((await app.submit(media.url("/media/audio.m4a")))["id"])
        assert old["filename"].startswith("nested/deeper/")
        old_file = app.downloads_dir / old["filename"]
        recent_file = app.downloads_dir / recent["filename"]
        assert old_file.is_file() and recent_file.is_file()
        store = app.handle.services.store
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
        await store.update_job(old["id"], finished_at=long_ago)
        await store.update_job(recent["id"], filename="elsewhere/" + recent_file.name)
        (app.downloads_dir / "elsewhere").mkdir()
        recent_file = recent_file.rename(app.downloads_dir / "elsewhere" / recent_file.name)

        async with open_events(app.client) as events:
            assert (await events.next())[0] == "init"
            response = await app.client.post("/api/admin/purge")
            assert response.status_code == 200, response.text
            assert response.json() == {
                "jobs": 1,
                "files": 1,
                "bytes": old["filesize"],
                "sessions": 0,
                "errors": 0,
            }
            seen = await events.until(lambda name, data: name == "job_removed")
            assert seen[-1][1] == {"id": old["id"]}

        assert not old_file.exists()
        assert not (app.downloads_dir / "nested").exists()  # the folders it left empty
        assert recent_file.is_file()
        assert (await app.client.get(f"/api/downloads/{old['id']}")).status_code == 404
        assert (await app.job(recent["id"]))["status"] == "completed"


async def test_a_new_purge_schedule_takes_effect_at_once(admin: RunningApp) -> None:
    purge = admin.handle.services.purge
    assert purge.next_run is not None and purge.next_run.minute % 15 == 0
    response = await admin.client.patch("/api/admin/settings", json={"purge.schedule": "7 3 * * *"})
    assert response.status_code == 200, response.text
    with trio.fail_after(5):
        while purge.next_run is None or (purge.next_run.hour, purge.next_run.minute) != (3, 7):
            await trio.sleep(0.01)
    await admin.client.patch("/api/admin/settings", json={"purge.enabled": False})
    with trio.fail_after(5):
        while purge.next_run is not None:
            await trio.sleep(0.01)


async def test_jobs_a_crash_interrupted_are_in_the_error_log_when_failed_on_start(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__DOWNLOADS__RECOVER_ON_START": "fail"})
    interrupted = Job(
        id=new_job_id(),
        session_id="s1",
        url="https://example.com/v",
        created_at=dt.datetime.now(dt.UTC),
        status=JobStatus.DOWNLOADING,
    )
    async with Store.open(Path(settings.server.data_dir) / "mediarip.sqlite3") as store:
        await store.insert_jobs([interrupted])
    async with running_app(settings) as app:
        await set_up(app)
        [entry] = (await app.client.get("/api/admin/errors")).json()["errors"]
        assert entry["job_id"] == interrupted.id and entry["code"] == "interrupted"


async def test_setup_with_a_wrong_token_and_a_short_password_says_both(app: RunningApp) -> None:
    response = await app.client.post(
        "/api/admin/setup", json={"token": "not-the-token", "password": "short"}
    )
    error = error_of(response, 401)
    assert error["code"] == "bad_setup_token"
    assert "setup token" in error["message"]
    assert "password: at least 8 characters" in error["message"]


async def test_deployment_keys_from_a_config_file_are_refused_by_their_own_name(
    tmp_path: Path,
) -> None:
    # Nothing pinned by the environment: the port and folders come from config.yaml, so the
    # refusal is "read_only", and it names the key that was sent, on a kept-alive connection.
    from mediarip.config import load_settings

    config = tmp_path / "config.yaml"
    config.write_text(
        f"server:\n  port: 0\n  data_dir: {tmp_path / 'data'}\n"
        f"downloads:\n  output_dir: {tmp_path / 'downloads'}\n"
    )
    settings = load_settings(
        environ={"MEDIARIP_CONFIG": str(config), "MEDIARIP__YTDLP__CHECK_UPDATES": "false"},
        cwd=tmp_path,
    )
    async with running_app(settings) as app:
        await set_up(app)
        for key, value in (("server.port", 9000), ("server.data_dir", "/elsewhere")):
            response = await app.client.patch("/api/admin/settings", json={key: value})
            error = error_of(response, 409)
            assert error["code"] == "read_only" and error["message"].startswith(key)
        changed = await app.client.patch("/api/admin/settings", json={"ui.welcome_message": "hi"})
        assert changed.status_code == 200
