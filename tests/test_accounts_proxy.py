"""``auth.mode: proxy`` (issue 14): the user comes from the trusted reverse proxy's header and
from nowhere else; and upgrading an install from ``none`` to ``local`` keeps its jobs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.accounts_support import ADMIN, local_app, log_in
from tests.conftest import make_settings
from tests.media import MediaServer
from tests.reverse_proxy import ReverseProxy
from tests.support import open_events, running_app


def proxy_settings(root: Path):  # type: ignore[no-untyped-def]
    return make_settings(
        root,
        {
            "MEDIARIP__AUTH__MODE": "proxy",
            "MEDIARIP__SERVER__TRUSTED_PROXIES": "127.0.0.2",
            "MEDIARIP__ADMIN__PASSWORD": ADMIN[1],
        },
    )


def user_from_test_header(headers: dict[str, str]) -> str | None:
    """The proxy's "login": the test names the user in X-Test-User."""
    return next((v for k, v in headers.items() if k.lower() == "x-test-user"), None)


async def test_the_proxys_header_names_the_user_and_the_same_request_sent_directly_is_refused(
    tmp_path: Path, media: MediaServer
) -> None:
    async with running_app(proxy_settings(tmp_path)) as app:
        port = urlsplit(app.base_url).port
        assert port is not None
        with ReverseProxy(port, user_from_test_header) as proxy:
            async with (
                httpx.AsyncClient(
                    base_url=proxy.base_url, headers={"X-Test-User": "carol"}
                ) as carol,
                httpx.AsyncClient(base_url=proxy.base_url, headers={"X-Test-User": "dave"}) as dave,
                httpx.AsyncClient(base_url=proxy.base_url) as nobody,
            ):
                me = await carol.get("/api/auth/me")
                assert me.status_code == 200, me.text
                assert me.json()["mode"] == "proxy"
                assert me.json()["user"]["username"] == "carol"
                assert me.json()["user"]["source"] == "proxy"
                # Without the proxy's header: the login wall.
                wall = await nobody.get("/api/downloads")
                assert wall.status_code == 401
                assert wall.json()["error"]["code"] == "login_required"
                # A client cannot name itself through the proxy either: the proxy replaces it.
                spoof = await nobody.get("/api/auth/me", headers={"Remote-User": "carol"})
                assert spoof.status_code == 401
                # Carol adds a job (her browser's CSRF token, as the web app sends it).
                await carol.get("/api/config/public")
                carol.headers["X-CSRF-Token"] = carol.cookies["mrip_csrf"]
                created = await carol.post(
                    "/api/downloads", json={"url": media.url("/media/video.mp4")}
                )
                assert created.status_code == 201, created.text
                job_id = created.json()["id"]
                assert (await dave.get(f"/api/downloads/{job_id}")).status_code == 404
                assert (await dave.get("/api/downloads")).json() == {"jobs": []}
                async with open_events(carol) as stream:
                    assert (await stream.next())[0] == "init"

            # The same request straight to the app, header and all: refused.
            direct = await app.client.get("/api/auth/me", headers={"Remote-User": "carol"})
            assert direct.status_code == 403
            assert direct.json()["error"]["code"] == "proxy_header_untrusted"
            for path in ("/api/downloads", f"/api/downloads/{job_id}", "/api/events"):
                response = await app.client.get(path, headers={"Remote-User": "carol"})
                assert response.status_code == 403, path
            page = await app.client.get("/", headers={"Remote-User": "carol"})
            assert page.status_code == 403
            # And without it, from the app's own address: no identity.
            assert (await app.client.get("/api/downloads")).status_code == 401
            # A login form has no business here.
            login = await app.client.post(
                "/api/auth/login", json={"username": "carol", "password": "whatever1"}
            )
            assert login.status_code == 409
            assert login.json()["error"]["code"] == "login_at_proxy"


async def test_a_proxy_user_appears_on_first_sight_and_can_be_disabled(tmp_path: Path) -> None:
    async with running_app(proxy_settings(tmp_path)) as app:
        port = urlsplit(app.base_url).port
        assert port is not None
        with ReverseProxy(port, user_from_test_header) as proxy:
            async with httpx.AsyncClient(
                base_url=proxy.base_url, headers={"X-Test-User": "erin@example.org"}
            ) as erin:
                assert (await erin.get("/api/downloads")).status_code == 200
                admin_login = await app.client.post(
                    "/api/admin/login", json={"username": ADMIN[0], "password": ADMIN[1]}
                )
                assert admin_login.status_code == 200
                users = (await app.client.get("/api/admin/users")).json()["users"]
                assert [(u["username"], u["role"]) for u in users] == [("erin@example.org", "user")]
                await app.client.patch(
                    f"/api/admin/users/{users[0]['id']}", json={"disabled": True}
                )
                assert (await erin.get("/api/downloads")).status_code == 401
            async with httpx.AsyncClient(
                base_url=proxy.base_url, headers={"X-Test-User": "bad name!"}
            ) as bad:
                refused = await bad.get("/api/downloads")
                assert refused.status_code == 401


async def test_upgrading_a_none_install_with_jobs_to_local_gives_the_jobs_to_a_user(
    tmp_path: Path, media: MediaServer
) -> None:
    async with running_app(make_settings(tmp_path)) as before:
        first = await before.submit(media.url("/media/video.mp4"))
        async with before.new_client() as other_browser:
            second = await before.submit(media.url("/media/audio.m4a"), other_browser)
            await before.wait_for(second["id"], client=other_browser)
        done = await before.wait_for(first["id"])
        assert done["status"] == "completed"

    async with local_app(tmp_path) as after:
        assert (await log_in(after.client, *ADMIN)).status_code == 200
        assert (await after.client.get("/api/downloads")).json() == {"jobs": []}
        me = (await after.client.get("/api/auth/me")).json()["user"]
        async with open_events(after.client) as stream:
            assert (await stream.next())[0] == "init"
            adopted = await after.client.post(f"/api/admin/users/{me['id']}/adopt", json={})
            assert adopted.status_code == 200, adopted.text
            assert adopted.json() == {"moved": 2}
            name, data = await stream.next()
            assert name == "init"
            assert {j["id"] for j in data["jobs"]} == {first["id"], second["id"]}
        listing = (await after.client.get("/api/downloads")).json()["jobs"]
        assert {j["id"] for j in listing} == {first["id"], second["id"]}
        saved = await after.client.get(f"/api/downloads/{first['id']}/file")
        assert saved.status_code == 200
