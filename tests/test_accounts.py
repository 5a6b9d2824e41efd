"""Accounts (issue 14): the login wall, users on every device, the admin's users, API keys.

Each "device" is its own HTTP client with its own cookie jar against one real server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio

from tests.accounts_support import ADMIN, local_app, log_in, make_user, user_client
from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, open_events, running_app

ALICE = ("alice", "alice-password-1")
BOB = ("bob", "bob-password-12")


@pytest.fixture
async def local(tmp_path: Path) -> RunningApp:  # type: ignore[misc]
    async with local_app(tmp_path) as app:
        assert (await log_in(app.client, *ADMIN)).status_code == 200
        await make_user(app.client, *ALICE)
        await make_user(app.client, *BOB)
        yield app


async def test_mode_none_has_no_users_and_changes_nothing(app: RunningApp) -> None:
    me = await app.client.get("/api/auth/me")
    assert me.json() == {"mode": "none", "user": None}
    for path in ("/api/auth/keys", "/api/admin/users"):
        assert (await app.client.get(path)).status_code in (401, 404)
    assert (await app.client.get("/api/downloads")).status_code == 200
    config = (await app.client.get("/api/config/public")).json()
    assert config["auth_mode"] == "none"


async def test_without_a_login_every_api_route_but_the_open_ones_says_login_required(
    local: RunningApp,
) -> None:
    async with local.new_client() as stranger:
        for method, path in [
            ("GET", "/api/downloads"),
            ("POST", "/api/downloads"),
            ("GET", "/api/events"),
            ("GET", "/api/cookies"),
            ("GET", "/api/presets"),
            ("GET", "/api/subscriptions"),
            ("GET", "/api/auth/me"),
            ("GET", "/api/auth/keys"),
            ("POST", "/api/auth/logout"),
            ("GET", "/api/openapi.json"),
        ]:
            response = await stranger.request(method, path, json={} if method == "POST" else None)
            assert response.status_code == 401, (path, response.text)
            assert response.json()["error"]["code"] == "login_required", path
        for path in ("/api/health", "/api/config/public", "/api/themes", "/"):
            assert (await stranger.get(path)).status_code == 200, path
        config = (await stranger.get("/api/config/public")).json()
        assert config["auth_mode"] == "local"
        assert config["accounts_setup_required"] is False


async def test_the_configured_admin_is_the_first_user_and_can_log_in(local: RunningApp) -> None:
    me = (await local.client.get("/api/auth/me")).json()
    assert me["mode"] == "local"
    assert me["user"]["username"] == "admin"
    assert me["user"]["role"] == "admin"
    # A user with the admin role is logged in to the admin panel too.
    status = (await local.client.get("/api/admin/status")).json()
    assert status["logged_in"] is True
    users = (await local.client.get("/api/admin/users")).json()["users"]
    assert [u["username"] for u in users] == ["admin", "alice", "bob"]
    assert all("password_hash" not in u and "$2b$" not in str(u) for u in users)


async def test_wrong_names_and_passwords_are_refused_alike(local: RunningApp) -> None:
    async with local.new_client() as client:
        wrong_password = await log_in(client, "alice", "not-her-password")
        unknown_name = await log_in(client, "nobody", "not-her-password")
    for response in (wrong_password, unknown_name):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "bad_credentials"
        assert "mrip_user" not in response.headers.get("set-cookie", "")
    assert wrong_password.json() == unknown_name.json()


async def test_user_names_are_checked_and_look_alikes_refused(local: RunningApp) -> None:
    for name in ("Alice", "a1ice", "al.ice", "b0b"):
        response = await local.client.post(
            "/api/admin/users", json={"username": name, "password": "long-enough-1"}
        )
        assert response.status_code == 409, name
        assert response.json()["error"]["code"] == "username_taken"
    for name in ("", " bob2", "x" * 65, "name with space", "ünïcode", "-dash"):
        response = await local.client.post(
            "/api/admin/users", json={"username": name, "password": "long-enough-1"}
        )
        assert response.status_code == 422, name
    short = await local.client.post("/api/admin/users", json={"username": "carol", "password": "x"})
    assert short.status_code == 422


async def test_a_user_sees_one_queue_on_every_device_and_others_see_none_of_it(
    local: RunningApp, media: MediaServer
) -> None:
    async with (
        user_client(local, *ALICE) as phone,
        user_client(local, *ALICE) as laptop,
        user_client(local, *BOB) as bob,
    ):
        job = await local.submit(media.url("/media/video.mp4"), phone)
        done = await local.wait_for(job["id"], client=laptop)
        assert done["status"] == "completed"
        for device in (phone, laptop):
            listing = (await device.get("/api/downloads")).json()["jobs"]
            assert [j["id"] for j in listing] == [job["id"]]
        saved = await laptop.get(f"/api/downloads/{job['id']}/file")
        assert saved.status_code == 200
        # Bob: nothing of it, and every way in is a plain 404.
        assert (await bob.get("/api/downloads")).json() == {"jobs": []}
        for method, path in [
            ("GET", f"/api/downloads/{job['id']}"),
            ("GET", f"/api/downloads/{job['id']}/file"),
            ("POST", f"/api/downloads/{job['id']}/cancel"),
            ("POST", f"/api/downloads/{job['id']}/retry"),
            ("DELETE", f"/api/downloads/{job['id']}"),
        ]:
            response = await bob.request(method, path)
            assert response.status_code == 404, (path, response.text)
            assert response.json()["error"]["code"] == "job_not_found"
        # The admin's own queue is the admin's, not everyone's.
        assert (await local.client.get("/api/downloads")).json() == {"jobs": []}
        assert (await local.job(job["id"], phone))["status"] == "completed"


async def test_live_events_reach_every_device_of_the_user_and_no_other_user(
    local: RunningApp, media: MediaServer
) -> None:
    async with (
        user_client(local, *ALICE) as phone,
        user_client(local, *ALICE) as laptop,
        user_client(local, *BOB) as bob,
        open_events(laptop) as laptop_events,
        open_events(bob) as bob_events,
    ):
        assert (await laptop_events.next())[0] == "init"
        assert (await bob_events.next())[0] == "init"
        job = await local.submit(media.url("/media/video.mp4"), phone)
        seen = await laptop_events.until(
            lambda name, data: (
                name == "job_update"
                and data["job"]["id"] == job["id"]
                and data["job"].get("status") == "completed"
            )
        )
        assert seen
        # Bob's stream: only pings could come; nothing of Alice's job within the download.
        with trio.move_on_after(0.5):
            name, data = await bob_events.next()
            assert job["id"] not in str(data), name


async def test_cookies_files_belong_to_the_user(local: RunningApp) -> None:
    cookies = b"# Netscape HTTP Cookie File\n.example.com\tTRUE\t/\tFALSE\t0\tname\tvalue\n"
    async with user_client(local, *ALICE) as phone, user_client(local, *ALICE) as laptop:
        up = await phone.post("/api/cookies", files={"file": ("cookies.txt", cookies)})
        assert up.status_code == 200, up.text
        assert (await laptop.get("/api/cookies")).json() == {"has_cookies": True}
        async with user_client(local, *BOB) as bob:
            assert (await bob.get("/api/cookies")).json() == {"has_cookies": False}


async def test_logging_out_ends_the_login_on_the_server(local: RunningApp) -> None:
    async with user_client(local, *ALICE) as device:
        token = device.cookies["mrip_user"]
        assert (await device.post("/api/auth/logout")).status_code == 204
        async with local.new_client() as thief:
            thief.cookies.set("mrip_user", token)
            response = await thief.get("/api/downloads")
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "login_required"


async def test_logins_survive_a_restart(tmp_path: Path) -> None:
    async with local_app(tmp_path) as app:
        assert (await log_in(app.client, *ADMIN)).status_code == 200
        token = app.client.cookies["mrip_user"]
    async with local_app(tmp_path) as app:
        app.client.cookies.set("mrip_user", token)
        me = await app.client.get("/api/auth/me")
        assert me.status_code == 200
        assert me.json()["user"]["username"] == "admin"


async def test_a_password_change_ends_every_other_login_and_its_streams(
    local: RunningApp,
) -> None:
    async with user_client(local, *ALICE) as phone, user_client(local, *ALICE) as laptop:
        async with open_events(laptop) as stream:
            assert (await stream.next())[0] == "init"
            changed = await phone.post(
                "/api/auth/password", json={"current": ALICE[1], "new": "a-new-password-2"}
            )
            assert changed.status_code == 200, changed.text
            with pytest.raises(EOFError):
                while True:
                    await stream.next(timeout=10)
        assert (await laptop.get("/api/downloads")).status_code == 401
        phone.headers["X-CSRF-Token"] = phone.cookies["mrip_csrf"]
        assert (await phone.get("/api/downloads")).status_code == 200
        wrong = await phone.post(
            "/api/auth/password", json={"current": "not-it-at-all", "new": "another-one-3"}
        )
        assert wrong.status_code == 403
    async with local.new_client() as client:
        assert (await log_in(client, *ALICE)).status_code == 401
        assert (await log_in(client, "alice", "a-new-password-2")).status_code == 200


async def test_a_disabled_users_streams_end_at_once_and_logins_and_keys_die(
    local: RunningApp,
) -> None:
    async with user_client(local, *ALICE) as alice:
        key = (await alice.post("/api/auth/keys", json={"name": "phone"})).json()["key"]
        users = (await local.client.get("/api/admin/users")).json()["users"]
        alice_id = next(u["id"] for u in users if u["username"] == "alice")
        async with open_events(alice) as stream:
            assert (await stream.next())[0] == "init"
            disabled = await local.client.patch(
                f"/api/admin/users/{alice_id}", json={"disabled": True}
            )
            assert disabled.status_code == 200
            assert disabled.json()["disabled"] is True
            with pytest.raises(EOFError):
                while True:
                    await stream.next(timeout=10)
        assert (await alice.get("/api/downloads")).status_code == 401
        by_key = await local.client.get(
            "/api/downloads", headers={"Authorization": f"Bearer {key}"}
        )
        assert by_key.status_code == 401
        assert by_key.json()["error"]["code"] == "invalid_api_key"
        async with local.new_client() as client:
            assert (await log_in(client, *ALICE)).status_code == 401
        # Enabled again: the password works, the old login stays dead.
        await local.client.patch(f"/api/admin/users/{alice_id}", json={"disabled": False})
        assert (await alice.get("/api/downloads")).status_code == 401
        async with user_client(local, *ALICE):
            pass


async def test_a_deleted_users_logins_keys_and_jobs_are_gone(
    local: RunningApp, media: MediaServer
) -> None:
    async with user_client(local, *BOB) as bob:
        key = (await bob.post("/api/auth/keys")).json()["key"]
        job = await local.submit(media.url("/media/video.mp4"), bob)
        done = await local.wait_for(job["id"], client=bob)
        path = local.downloads_dir / done["filename"]
        assert path.is_file()
        users = (await local.client.get("/api/admin/users")).json()["users"]
        bob_id = next(u["id"] for u in users if u["username"] == "bob")
        assert (await local.client.delete(f"/api/admin/users/{bob_id}")).status_code == 204
        assert (await bob.get("/api/downloads")).status_code == 401
        assert (
            await local.client.get("/api/downloads", headers={"X-API-Key": key})
        ).status_code == 401
        assert not path.exists()
        # A new user of the same name is a new owner: nothing of the old Bob's comes back.
        await make_user(local.client, *BOB)
        async with user_client(local, *BOB) as new_bob:
            assert (await new_bob.get("/api/downloads")).json() == {"jobs": []}
            assert (await new_bob.get(f"/api/downloads/{job['id']}")).status_code == 404


async def test_api_keys_act_as_their_user_are_shown_once_and_can_be_revoked(
    local: RunningApp, media: MediaServer
) -> None:
    async with user_client(local, *ALICE) as alice, user_client(local, *BOB) as bob:
        made = await alice.post("/api/auth/keys", json={"name": "Shortcut"})
        assert made.status_code == 201
        key, key_id = made.json()["key"], made.json()["id"]
        assert key.startswith("mrk_") and made.json()["masked"] == "…" + key[-4:]
        listed = (await alice.get("/api/auth/keys")).json()["keys"]
        assert [k["id"] for k in listed] == [key_id]
        assert key not in str(listed)
        assert (await bob.get("/api/auth/keys")).json() == {"keys": []}
        # The key adds to Alice's queue, from anywhere (no cookie, no CSRF token).
        async with httpx.AsyncClient(base_url=local.base_url) as script:
            created = await script.post(
                "/api/downloads",
                json={"url": media.url("/media/video.mp4")},
                headers={"Authorization": f"Bearer {key}", "Origin": "https://elsewhere.example"},
            )
            assert created.status_code == 201, created.text
        listing = (await alice.get("/api/downloads")).json()["jobs"]
        assert [j["id"] for j in listing] == [created.json()["id"]]
        # Bob cannot revoke Alice's key; Alice can.
        assert (await bob.delete(f"/api/auth/keys/{key_id}")).status_code == 404
        assert (await alice.delete(f"/api/auth/keys/{key_id}")).status_code == 204
        refused = await local.client.get("/api/downloads", headers={"X-API-Key": key})
        assert refused.status_code == 401


async def test_the_admin_can_list_and_revoke_any_users_keys(local: RunningApp) -> None:
    async with user_client(local, *ALICE) as alice:
        key = (await alice.post("/api/auth/keys", json={"name": "ext"})).json()
        alice_id = (await alice.get("/api/auth/me")).json()["user"]["id"]
        keys = (await local.client.get(f"/api/admin/users/{alice_id}/keys")).json()["keys"]
        assert [k["id"] for k in keys] == [key["id"]]
        revoked = await local.client.delete(f"/api/admin/users/{alice_id}/keys/{key['id']}")
        assert revoked.status_code == 204
        assert (await alice.get("/api/auth/keys")).json() == {"keys": []}
        # A plain user is not the admin.
        assert (await alice.get("/api/admin/users")).status_code == 401


async def test_the_server_wide_api_key_keeps_working(tmp_path: Path) -> None:
    env = {"MEDIARIP__SERVER__API_KEY": "server-wide-key-0123456789"}
    async with local_app(tmp_path, env) as app:
        headers = {"Authorization": "Bearer server-wide-key-0123456789"}
        assert (await app.client.get("/api/downloads", headers=headers)).status_code == 200
        # A logged-in browser still changes things with its CSRF token.
        async with user_client(app, *ADMIN) as admin:
            made = await admin.post("/api/auth/keys", json={"name": "x"})
            assert made.status_code == 201, made.text


async def test_brute_force_logins_are_throttled(local: RunningApp) -> None:
    async with local.new_client() as attacker:
        answers = [
            (await log_in(attacker, "alice", f"guess-{n:04d}")).status_code for n in range(8)
        ]
    assert answers[:5] == [401] * 5
    assert 429 in answers[5:]
    async with local.new_client() as attacker:
        locked = await log_in(attacker, *ALICE)  # even the right password waits its turn
        assert locked.status_code == 429
        assert locked.json()["error"]["code"] == "too_many_attempts"
        assert int(locked.headers["Retry-After"]) >= 1


async def test_a_planted_login_cookie_is_worth_nothing_after_login(local: RunningApp) -> None:
    planted = "attacker-chose-this-value-0123456789abcdef"
    async with local.new_client() as victim:
        victim.cookies.set("mrip_user", planted)
        assert (await victim.get("/api/downloads")).status_code == 401
        login = await log_in(victim, *ALICE)
        assert login.status_code == 200
        given = login.cookies["mrip_user"]
        assert given != planted and len(given) >= 43
    async with local.new_client() as attacker:
        attacker.cookies.set("mrip_user", planted)
        assert (await attacker.get("/api/downloads")).status_code == 401


async def test_a_users_changes_need_the_csrf_token_and_same_site(local: RunningApp) -> None:
    async with user_client(local, *ALICE) as alice:
        token = alice.headers.pop("X-CSRF-Token")
        no_token = await alice.post("/api/auth/keys", json={"name": "x"})
        assert no_token.status_code == 401
        assert no_token.json()["error"]["code"] == "api_key_required"
        cross = await alice.post(
            "/api/auth/keys",
            json={"name": "x"},
            headers={"X-CSRF-Token": token, "Origin": "https://evil.example"},
        )
        # A foreign origin's request never has its cookies read (server.cors_origins, issue
        # 13): without its login it is refused at the login wall.
        assert cross.status_code == 401
        assert cross.json()["error"]["code"] == "login_required"
        assert (await alice.get("/api/auth/keys")).json()["keys"] == []
        ok = await alice.post("/api/auth/keys", json={"name": "x"}, headers={"X-CSRF-Token": token})
        assert ok.status_code == 201


async def test_the_last_admin_cannot_be_removed(local: RunningApp) -> None:
    me = (await local.client.get("/api/auth/me")).json()["user"]
    for response in (
        await local.client.patch(f"/api/admin/users/{me['id']}", json={"role": "user"}),
        await local.client.patch(f"/api/admin/users/{me['id']}", json={"disabled": True}),
        await local.client.delete(f"/api/admin/users/{me['id']}"),
    ):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "last_admin"


async def test_an_admin_renames_and_resets_a_password(local: RunningApp) -> None:
    users = (await local.client.get("/api/admin/users")).json()["users"]
    bob_id = next(u["id"] for u in users if u["username"] == "bob")
    async with user_client(local, *BOB) as bob:
        changed = await local.client.patch(
            f"/api/admin/users/{bob_id}", json={"username": "robert", "password": "reset-pass-99"}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["username"] == "robert"
        assert (await bob.get("/api/downloads")).status_code == 401
    async with local.new_client() as client:
        assert (await log_in(client, "robert", "reset-pass-99")).status_code == 200
    clash = await local.client.patch(f"/api/admin/users/{bob_id}", json={"username": "ALICE"})
    assert clash.status_code == 409
    missing = await local.client.patch("/api/admin/users/9999", json={"disabled": True})
    assert missing.status_code == 404


async def test_logging_out_of_the_admin_panel_ends_the_admin_users_login(
    local: RunningApp,
) -> None:
    assert (await local.client.get("/api/admin/status")).json()["logged_in"] is True
    assert (await local.client.post("/api/admin/logout")).status_code == 204
    local.client.cookies.delete("mrip_user")  # what the answer's expired cookie does
    assert (await local.client.get("/api/admin/status")).json()["logged_in"] is False
    assert (await local.client.get("/api/downloads")).status_code == 401


async def test_preferences_are_the_users_on_every_device_and_bounded(local: RunningApp) -> None:
    async with user_client(local, *ALICE) as phone, user_client(local, *ALICE) as laptop:
        assert (await phone.get("/api/auth/preferences")).json() == {"preferences": {}}
        chosen = {"mode": "dark", "theme": {"dark": "midnight"}, "mediaType": "audio"}
        saved = await phone.put("/api/auth/preferences", json=chosen)
        assert saved.status_code == 200, saved.text
        assert (await laptop.get("/api/auth/preferences")).json() == {"preferences": chosen}
        async with user_client(local, *BOB) as bob:
            assert (await bob.get("/api/auth/preferences")).json() == {"preferences": {}}
        too_big = await phone.put("/api/auth/preferences", json={"x": "y" * 20_000})
        assert too_big.status_code == 422
        too_many = await phone.put("/api/auth/preferences", json={str(n): n for n in range(60)})
        assert too_many.status_code == 422
        assert (await laptop.get("/api/auth/preferences")).json() == {"preferences": chosen}


async def test_a_fresh_local_install_makes_its_first_user_at_the_admins_setup(
    tmp_path: Path,
) -> None:
    async with running_app(make_settings(tmp_path, {"MEDIARIP__AUTH__MODE": "local"})) as app:
        config = (await app.client.get("/api/config/public")).json()
        assert config["accounts_setup_required"] is True
        assert (await log_in(app.client, "admin", "whatever-it-is")).status_code == 401
        token = app.handle.services.auth.setup_token
        setup = await app.client.post(
            "/api/admin/setup",
            json={"token": token, "username": "root", "password": "root-password-1"},
            headers={"X-CSRF-Token": app.client.cookies.get("mrip_csrf") or ""},
        )
        assert setup.status_code == 200, setup.text
        # Setup logged the new admin in as a user too.
        app.client.headers["X-CSRF-Token"] = app.client.cookies["mrip_csrf"]
        me = (await app.client.get("/api/auth/me")).json()["user"]
        assert (me["username"], me["role"]) == ("root", "admin")
        config = (await app.client.get("/api/config/public")).json()
        assert config["accounts_setup_required"] is False
        async with app.new_client() as other:
            assert (await log_in(other, "root", "root-password-1")).status_code == 200


async def test_an_invite_link_makes_one_account_and_only_one(local: RunningApp) -> None:
    made = await local.client.post("/api/admin/users/invites", json={"role": "user"})
    assert made.status_code == 201, made.text
    invite = made.json()["invite"]
    assert made.json()["path"] == f"/register?invite={invite}"
    async with local.new_client() as newcomer:
        await newcomer.get("/api/config/public")
        csrf = {"X-CSRF-Token": newcomer.cookies.get("mrip_csrf") or ""}
        taken = await newcomer.post(
            "/api/auth/register",
            json={"invite": invite, "username": "ALICE", "password": "dana-password-1"},
            headers=csrf,
        )
        assert taken.status_code == 409  # the name is taken; the invite is still good
        joined = await newcomer.post(
            "/api/auth/register",
            json={"invite": invite, "username": "dana", "password": "dana-password-1"},
            headers=csrf,
        )
        assert joined.status_code == 200, joined.text
        assert joined.json()["user"]["username"] == "dana"
        newcomer.headers["X-CSRF-Token"] = newcomer.cookies["mrip_csrf"]
        assert (await newcomer.get("/api/downloads")).status_code == 200
    async with local.new_client() as second:
        again = await second.post(
            "/api/auth/register",
            json={"invite": invite, "username": "erin", "password": "erin-password-1"},
        )
        assert again.status_code == 403
        assert again.json()["error"]["code"] == "invalid_invite"
    async with user_client(local, *ALICE) as alice:  # a plain user makes no invites
        assert (await alice.post("/api/admin/users/invites", json={})).status_code == 401
