"""Attacks on the API key (SPEC §5, §7; mediarip/api/guard.py), against the real server.

With a key set, a change must carry it (``Authorization: Bearer`` or ``X-API-Key``) or come from
the server's own web app: its session cookie with that session's CSRF token (``mrip_csrf``,
an HMAC of the session id under the server's secret) echoed in ``X-CSRF-Token``. Everything
else that a client can simply send (headers, a token it made up, a token of another session,
a cookie it set itself, an admin cookie) proves nothing and is a 401. Key clients share one
queue, ``api``; in ``isolated`` mode a browser's queue stays its own.

Each test runs twice: with the key from the config (``server.api_key``, 32 characters) and
with a key generated in the admin panel.
"""

from __future__ import annotations

import base64
import secrets
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import bcrypt
import httpx
import pytest
import trio

from mediarip.models import Job
from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, running_app

KEY = secrets.token_hex(16)  # 32 characters
PASSWORD = "correct horse battery"
# A cheap hash (cost 4) keeps the many logins below fast; the config accepts any bcrypt hash.
PASSWORD_HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
SOURCES = ["configured", "generated"]
_TLS = ssl.create_default_context()  # made once: plain http here, but httpx builds one per client
FAILING = "/fail/404"
# Where a change that wrongly got through would point yt-dlp: loopback, where nothing listens.
NOWHERE = "http://127.0.0.1:9/never.mp4"
SLOW_VIDEO = "/slow/16000/video.mp4"  # about six seconds
COOKIES_TXT = b"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t2000000000\tmrip_test\tv\n"


@attrs.define
class Keyed:
    """A running server with an API key, an admin client and a failed job in the key queue."""

    app: RunningApp
    source: str
    key: str
    admin: httpx.AsyncClient  # logged in, and holding the key for its changes
    job: Job  # failed, in the key clients' queue: retry and delete would show

    @property
    def base_url(self) -> str:
        return self.app.base_url

    def client(
        self,
        headers: dict[str, str] | dict[str, bytes] | None = None,
        cookies: dict[str, str] | None = None,
    ) -> httpx.AsyncClient:
        """A fresh client: nothing but what it is given."""
        return httpx.AsyncClient(
            base_url=self.base_url, headers=headers, cookies=cookies, timeout=30, verify=_TLS
        )

    async def job_as_stored(self, job_id: str) -> Job:
        """The job as the server holds it (not through the API: see the shared-queue test)."""
        return await self.app.handle.services.downloads.get(job_id)

    async def wait_for(self, job_id: str, *statuses: str, timeout: float = 60) -> Job:
        with trio.fail_after(timeout):
            while (job := await self.job_as_stored(job_id)).status.value not in statuses:
                await trio.sleep(0.05)
        return job

    def with_key(self, how: str = "bearer") -> httpx.AsyncClient:
        if how == "bearer":
            return self.client({"Authorization": f"Bearer {self.key}"})
        return self.client({"X-API-Key": self.key})


@pytest.fixture(params=SOURCES)
async def keyed(
    request: pytest.FixtureRequest, tmp_path: Path, media: MediaServer
) -> AsyncIterator[Keyed]:
    source: str = request.param
    # No job rate limit: every key client is the one session "api", and the limiter's buckets
    # outlive a server within the process (guard._job_rate), so other tests would spend them.
    env = {
        "MEDIARIP__ADMIN__PASSWORD_HASH": PASSWORD_HASH,
        "MEDIARIP__DOWNLOADS__MAX_JOBS_PER_MINUTE": "0",
    }
    if source == "configured":
        env["MEDIARIP__SERVER__API_KEY"] = KEY
    async with running_app(make_settings(tmp_path, env)) as app, app.new_client() as admin:
        login = await admin.post(
            "/api/admin/login",
            json={"username": "admin", "password": PASSWORD},
            headers={"X-API-Key": KEY} if source == "configured" else {},
        )
        assert login.status_code == 200, login.text
        key = KEY
        if source == "generated":
            generated = await admin.post("/api/admin/api-key")
            assert generated.status_code == 201, generated.text
            key = generated.json()["key"]
        admin.headers["X-API-Key"] = key
        created = await app.submit(media.url(FAILING), client=admin)
        keyed = Keyed(
            app, source, key, admin, await app.handle.services.downloads.get(created["id"])
        )
        keyed.job = await keyed.wait_for(created["id"], "failed")
        assert keyed.job.session_id == "api"
        yield keyed


@asynccontextmanager
async def web_app_session(keyed: Keyed) -> AsyncIterator[httpx.AsyncClient]:
    """A browser running the web app: it loads the app and gets its session and CSRF cookies."""
    async with keyed.app.new_client() as browser:
        response = await browser.get("/api/config/public")
        assert response.status_code == 200
        assert browser.cookies.get("mrip_session") and browser.cookies.get("mrip_csrf")
        yield browser


def csrf_headers(browser: httpx.AsyncClient) -> dict[str, str]:
    """What the web app sends with a change: its CSRF cookie's value, echoed."""
    return {"X-CSRF-Token": browser.cookies["mrip_csrf"]}


# -- the changes, and what a client without the key may try -------------------------------------


@attrs.frozen
class Change:
    method: str
    path: str  # "{job}" stands for the key queue's failed job
    json: Any = None
    files: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    async def send(
        self, client: httpx.AsyncClient, keyed: Keyed, params: dict[str, str] | None = None
    ) -> httpx.Response:
        kwargs: dict[str, Any] = {"params": params}
        if self.json is not None:
            kwargs["json"] = self.json
        if self.files:
            kwargs["files"] = {"file": ("cookies.txt", COOKIES_TXT, "text/plain")}
        path = self.path.format(job=keyed.job.id)
        return await client.request(self.method, path, **kwargs)


def changes(media_url: str) -> list[Change]:
    return [
        Change("POST", "/api/downloads", json={"url": media_url}),
        Change("POST", "/api/url-info", json={"url": media_url}),
        Change("POST", "/api/downloads/{job}/cancel"),
        Change("POST", "/api/downloads/{job}/retry"),
        Change("DELETE", "/api/downloads/{job}"),
        Change("POST", "/api/cookies", files=True),
        Change("DELETE", "/api/cookies"),
        Change("POST", "/api/admin/setup", json={"token": "guess", "password": "x" * 12}),
        Change("POST", "/api/admin/login", json={"username": "admin", "password": PASSWORD}),
        Change("POST", "/api/admin/logout"),
        Change("POST", "/api/admin/password", json={"current": PASSWORD, "new": "y" * 12}),
        Change("POST", "/api/admin/purge"),
        Change("PATCH", "/api/admin/settings", json={"ui.welcome_message": "pwned"}),
        Change("DELETE", "/api/admin/settings/ui.welcome_message"),
        Change("POST", "/api/admin/api-key"),
        Change("DELETE", "/api/admin/api-key"),
        Change("DELETE", "/api/admin/errors"),
    ]


@attrs.frozen
class Attempt:
    """What a client without the right key sends, and the refusal it must get."""

    headers: dict[str, str] = attrs.Factory(dict)
    cookies: dict[str, str] = attrs.Factory(dict)
    params: dict[str, str] = attrs.Factory(dict)
    code: str = "api_key_required"


async def _sessions(keyed: Keyed) -> tuple[dict[str, str], dict[str, str]]:
    """The cookies of two web-app sessions: the attacker's own, and another one."""
    jars = []
    for _ in range(2):
        async with web_app_session(keyed) as browser:
            jars.append({c: browser.cookies[c] for c in ("mrip_session", "mrip_csrf")})
    return jars[0], jars[1]


Builder = Callable[[Keyed, dict[str, str], dict[str, str]], Attempt]

ATTEMPTS: dict[str, Builder] = {
    "nothing": lambda k, own, other: Attempt(),
    "wrong-x-api-key": lambda k, own, other: Attempt(
        {"X-API-Key": secrets.token_hex(16)}, code="invalid_api_key"
    ),
    "wrong-bearer": lambda k, own, other: Attempt(
        {"Authorization": f"Bearer {secrets.token_hex(16)}"}, code="invalid_api_key"
    ),
    "key-minus-a-character": lambda k, own, other: Attempt(
        {"X-API-Key": k.key[:-1]}, code="invalid_api_key"
    ),
    "key-plus-a-character": lambda k, own, other: Attempt(
        {"Authorization": f"Bearer {k.key}0"}, code="invalid_api_key"
    ),
    "key-in-another-case": lambda k, own, other: Attempt(
        {"X-API-Key": k.key.upper() if k.key.upper() != k.key else k.key.lower() + "A"},
        code="invalid_api_key",
    ),
    "wrong-bearer-with-the-right-x-api-key": lambda k, own, other: Attempt(
        {"Authorization": "Bearer not-the-key", "X-API-Key": k.key}, code="invalid_api_key"
    ),
    "key-as-basic-credentials": lambda k, own, other: Attempt(
        {"Authorization": "Basic " + base64.b64encode(f"api:{k.key}".encode()).decode()}
    ),
    "empty-bearer": lambda k, own, other: Attempt({"Authorization": "Bearer"}),
    "key-in-a-made-up-header": lambda k, own, other: Attempt(
        {"X-Auth-Token": k.key, "Api-Key": k.key}
    ),
    "key-in-the-query": lambda k, own, other: Attempt(params={"api_key": k.key, "key": k.key}),
    "key-in-a-cookie": lambda k, own, other: Attempt(cookies={"api_key": k.key}),
    "x-requested-with": lambda k, own, other: Attempt({"X-Requested-With": "XMLHttpRequest"}),
    "sec-fetch-site-same-origin": lambda k, own, other: Attempt({"Sec-Fetch-Site": "same-origin"}),
    "origin-of-the-server": lambda k, own, other: Attempt({"Origin": k.base_url}),
    "made-up-csrf-token": lambda k, own, other: Attempt(
        {"X-CSRF-Token": secrets.token_hex(20)}, cookies={"mrip_session": own["mrip_session"]}
    ),
    "csrf-token-of-another-session": lambda k, own, other: Attempt(
        {"X-CSRF-Token": other["mrip_csrf"]}, cookies={"mrip_session": own["mrip_session"]}
    ),
    "session-cookie-without-the-token": lambda k, own, other: Attempt(cookies=own),
    "token-without-the-session-cookie": lambda k, own, other: Attempt(
        {"X-CSRF-Token": own["mrip_csrf"]}, cookies={"mrip_csrf": own["mrip_csrf"]}
    ),
    "forged-double-submit-cookie": lambda k, own, other: Attempt(
        {"X-CSRF-Token": "f" * 40},
        cookies={"mrip_session": own["mrip_session"], "mrip_csrf": "f" * 40},
    ),
    "made-up-session-with-made-up-token": lambda k, own, other: Attempt(
        {"X-CSRF-Token": "a" * 40}, cookies={"mrip_session": "b" * 32, "mrip_csrf": "a" * 40}
    ),
    "every-browser-header-at-once": lambda k, own, other: Attempt(
        {
            "X-Requested-With": "XMLHttpRequest",
            "Sec-Fetch-Site": "same-origin",
            "Sec-Fetch-Mode": "cors",
            "Origin": k.base_url,
            "Referer": k.base_url + "/",
            "X-CSRF-Token": other["mrip_csrf"],
        },
        cookies={"mrip_session": own["mrip_session"], "mrip_csrf": other["mrip_csrf"]},
    ),
    # Header values arrive as latin-1: a token or key that is not ASCII must be a plain 401.
    "non-ascii-csrf-token-with-a-session": lambda k, own, other: Attempt(
        {"X-CSRF-Token": "\u00e9t\u00e9"}, cookies={"mrip_session": own["mrip_session"]}
    ),
    "non-ascii-api-key": lambda k, own, other: Attempt(
        {"X-API-Key": k.key[:-1] + "\u00e9"}, code="invalid_api_key"
    ),
    "admin-cookie-without-the-key": lambda k, own, other: Attempt(
        cookies={"mrip_admin": k.admin.cookies["mrip_admin"]}
    ),
}


async def snapshot(keyed: Keyed) -> dict[str, Any]:
    """What a change that got through would have changed, as the admin and the key see it."""
    admin = keyed.admin
    status = (await admin.get("/api/admin/status")).json()
    settings = (await admin.get("/api/admin/settings")).json()["settings"]
    cookies_dir = Path(keyed.app.settings.server.data_dir) / "cookies"
    return {
        "job": await keyed.job_as_stored(keyed.job.id),
        "jobs": (await admin.get("/api/admin/storage")).json()["jobs"],
        "errors": len((await admin.get("/api/admin/errors")).json()["errors"]),
        "welcome": settings["ui.welcome_message"]["value"],
        "api_key": (await admin.get("/api/admin/api-key")).json(),
        "admin_logged_in": status["logged_in"],
        "setup_required": status["setup_required"],
        "cookie_files": sorted(p.name for p in cookies_dir.glob("*")),
        "key_matches": keyed.app.handle.services.auth.api_key_matches(keyed.key),
    }


def assert_refused(response: httpx.Response, code: str, what: str) -> None:
    assert response.status_code == 401, (what, response.status_code, response.text)
    assert response.json()["error"]["code"] == code, (what, response.text)
    assert response.headers.get("connection", "").lower() == "close", what
    assert "mrip_admin" not in response.headers.get("set-cookie", ""), what
    if code == "api_key_required":
        assert response.headers["www-authenticate"] == 'Bearer realm="media-rip"', what


@pytest.mark.parametrize("attempt", list(ATTEMPTS))
async def test_a_change_without_the_key_is_refused_and_changes_nothing(
    keyed: Keyed, media: MediaServer, attempt: str
) -> None:
    before = await snapshot(keyed)
    own, other = await _sessions(keyed)
    tried = ATTEMPTS[attempt](keyed, own, other)
    headers = {name: value.encode("latin-1") for name, value in tried.headers.items()}
    wrong: list[str] = []
    for change in changes(media.url(FAILING)):
        async with keyed.client(headers, tried.cookies) as client:
            response = await change.send(client, keyed, tried.params)
        try:
            assert_refused(response, tried.code, f"{attempt}: {change}")
        except AssertionError:
            wrong.append(f"{change} -> {response.status_code} {response.text[:80]}")
    assert not wrong, f"{attempt}: {len(wrong)} of 17 changes not refused as they must be: {wrong}"
    assert await snapshot(keyed) == before


async def test_a_401_for_a_wrong_key_names_the_scheme_it_wants(keyed: Keyed) -> None:
    """RFC 9110 §15.5.2: a 401 MUST carry WWW-Authenticate; the wrong-key 401 has none."""
    async with keyed.client({"X-API-Key": "not-the-key"}) as client:
        response = await client.post("/api/downloads", json={"url": NOWHERE})
    assert response.status_code == 401
    assert response.headers.get("www-authenticate", "").startswith("Bearer"), response.headers


# -- what the key, and the web app's session, may do --------------------------------------------


async def test_the_key_in_either_header_may_change_everything(
    keyed: Keyed, media: MediaServer
) -> None:
    bearer, x_api_key = keyed.with_key("bearer"), keyed.with_key("x-api-key")
    async with bearer, x_api_key:
        job = (await bearer.post("/api/downloads", json={"url": media.url(SLOW_VIDEO)})).json()
        await keyed.wait_for(job["id"], "downloading")
        cancelled = await x_api_key.post(f"/api/downloads/{job['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        retried = await bearer.post(f"/api/downloads/{job['id']}/retry")
        assert retried.status_code == 200, retried.text
        deleted = await x_api_key.delete(f"/api/downloads/{job['id']}")
        assert deleted.status_code == 204, deleted.text
        info = await bearer.post("/api/url-info", json={"url": media.url("/media/video.mp4")})
        assert info.status_code == 200, info.text
        uploaded = await x_api_key.post(
            "/api/cookies", files={"file": ("cookies.txt", COOKIES_TXT, "text/plain")}
        )
        assert uploaded.status_code == 200, uploaded.text
        assert (await bearer.delete("/api/cookies")).status_code == 204
        login = await x_api_key.post(
            "/api/admin/login", json={"username": "admin", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
    # The scheme is case-insensitive and blanks before the value do not count.
    async with keyed.client({"Authorization": f"bearer   {keyed.key}"}) as loose:
        response = await loose.post("/api/downloads", json={"url": media.url(FAILING)})
        assert response.status_code == 201, response.text


def _ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {job["id"] for job in response.json()["jobs"]}


async def test_key_clients_share_one_queue_for_changes_that_browsers_cannot_reach(
    keyed: Keyed, media: MediaServer
) -> None:
    bearer, x_api_key = keyed.with_key("bearer"), keyed.with_key("x-api-key")
    async with bearer, x_api_key, web_app_session(keyed) as browser:
        mine = await keyed.app.submit(media.url(SLOW_VIDEO), client=bearer)
        browsers = await browser.post(
            "/api/downloads", json={"url": media.url(FAILING)}, headers=csrf_headers(browser)
        )
        assert browsers.status_code == 201, browsers.text
        theirs = browsers.json()["id"]
        assert (await keyed.job_as_stored(mine["id"])).session_id == "api"
        assert (await keyed.job_as_stored(theirs)).session_id not in ("api", "open")
        # The browser (isolated mode) neither sees nor touches the key queue ...
        assert _ids(await browser.get("/api/downloads")) == {theirs}
        assert (await browser.get(f"/api/downloads/{mine['id']}")).status_code == 404
        for method, path in [("POST", "cancel"), ("POST", "retry"), ("DELETE", "")]:
            url = f"/api/downloads/{mine['id']}/{path}".rstrip("/")
            response = await browser.request(method, url, headers=csrf_headers(browser))
            assert response.status_code == 404, (method, url, response.text)
            # ... nor does a key client touch the browser's queue.
            url = f"/api/downloads/{theirs}/{path}".rstrip("/")
            assert (await x_api_key.request(method, url)).status_code == 404, (method, url)
        # Another key client manages the first one's job: one queue.
        await keyed.wait_for(mine["id"], "downloading")
        cancelled = await x_api_key.post(f"/api/downloads/{mine['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert (await bearer.post(f"/api/downloads/{mine['id']}/retry")).status_code == 200
        assert (await x_api_key.delete(f"/api/downloads/{mine['id']}")).status_code == 204
        # A key client that also carries a browser's session cookie is a key client.
        async with keyed.client(
            {"X-API-Key": keyed.key}, {"mrip_session": browser.cookies["mrip_session"]}
        ) as both:
            response = await both.delete(f"/api/downloads/{theirs}")
            assert response.status_code == 404, response.text
        assert (await keyed.wait_for(theirs, "failed")).session_id != "api"  # still there


async def test_key_clients_read_their_shared_queue(keyed: Keyed, media: MediaServer) -> None:
    """What the docstring of guard.py promises ("so that they can find their jobs again"): a
    key client's reads see the key queue, as its changes do."""
    bearer, x_api_key = keyed.with_key("bearer"), keyed.with_key("x-api-key")
    async with bearer, x_api_key:
        mine = await keyed.app.submit(media.url(FAILING), client=bearer)
        uploaded = await bearer.post(
            "/api/cookies", files={"file": ("cookies.txt", COOKIES_TXT, "text/plain")}
        )
        assert uploaded.status_code == 200, uploaded.text
        key_queue = {keyed.job.id, mine["id"]}
        # The job listings are cached per (scope, parameters, revision) in a module-global
        # (api/downloads.py, _listings): another server in this process with the same scope
        # "api" at the same revision would answer for this one. A limit of this test's own
        # keeps its listing apart.
        own = {"limit": str(2 + secrets.randbelow(998))}
        found = {
            "GET /api/downloads (Bearer)": (
                _ids(await bearer.get("/api/downloads", params=own)) == key_queue
            ),
            "GET /api/downloads (X-API-Key)": (
                _ids(await x_api_key.get("/api/downloads", params=own)) == key_queue
            ),
            "GET /api/downloads/{id}": (
                (await x_api_key.get(f"/api/downloads/{mine['id']}")).status_code == 200
            ),
            "GET /api/cookies": (await x_api_key.get("/api/cookies")).json()["has_cookies"],
        }
    missing = [what for what, ok in found.items() if not ok]
    assert not missing, f"a key client's reads do not see the key queue: {missing}"


async def test_the_web_app_changes_things_with_its_session_and_csrf_token(
    keyed: Keyed, media: MediaServer
) -> None:
    async with web_app_session(keyed) as browser:
        cookie = next(c for c in browser.cookies.jar if c.name == "mrip_csrf")
        # Readable by the web app (not HttpOnly), never sent by another site (Strict).
        assert cookie.path == "/" and not cookie.has_nonstandard_attr("HttpOnly")
        assert cookie.get_nonstandard_attr("SameSite") == "Strict"
        headers = csrf_headers(browser)
        job = await browser.post(
            "/api/downloads", json={"url": media.url(SLOW_VIDEO)}, headers=headers
        )
        assert job.status_code == 201, job.text
        job_id = job.json()["id"]
        await keyed.wait_for(job_id, "downloading")
        for method, path, status in [
            ("POST", f"/api/downloads/{job_id}/cancel", 200),
            ("POST", f"/api/downloads/{job_id}/retry", 200),
            ("DELETE", f"/api/downloads/{job_id}", 204),
            ("DELETE", "/api/cookies", 204),
            ("POST", "/api/admin/logout", 401),  # through the guard; not an admin
        ]:
            response = await browser.request(method, path, headers=headers)
            assert response.status_code == status, (method, path, response.text)
        uploaded = await browser.post(
            "/api/cookies",
            files={"file": ("cookies.txt", COOKIES_TXT, "text/plain")},
            headers=headers,
        )
        assert uploaded.status_code == 200, uploaded.text
        info = await browser.post(
            "/api/url-info", json={"url": media.url("/media/video.mp4")}, headers=headers
        )
        assert info.status_code == 200, info.text
        login = await browser.post(
            "/api/admin/login", json={"username": "admin", "password": PASSWORD}, headers=headers
        )
        assert login.status_code == 200, login.text
        # Each session has its own token.
        async with web_app_session(keyed) as other:
            assert other.cookies["mrip_csrf"] != browser.cookies["mrip_csrf"]


async def test_the_key_works_from_another_origin_and_nothing_else_does(keyed: Keyed) -> None:
    """A browser extension's fetch carries its own Origin: with the right key it may change
    things (a forging page cannot know the key); without it, cross-site is refused."""
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ):
        async with keyed.client({"X-API-Key": keyed.key, **headers}) as client:
            response = await client.post("/api/downloads", json={"url": NOWHERE})
        assert response.status_code == 201, (headers, response.text)
        async with keyed.client(headers) as client:
            response = await client.post("/api/downloads", json={"url": NOWHERE})
        assert response.status_code == 403, (headers, response.text)
        assert response.json()["error"]["code"] == "cross_site"


READS = [
    "/api/health",
    "/api/config/public",
    "/api/openapi.json",
    "/api/themes",
    "/api/downloads",
    "/api/cookies",
    "/api/admin/status",
]


@pytest.mark.parametrize("path", READS)
async def test_reads_need_no_key_but_a_key_shown_must_be_right(keyed: Keyed, path: str) -> None:
    async with keyed.client() as anonymous, keyed.with_key("x-api-key") as right:
        assert (await anonymous.get(path)).status_code == 200, path
        assert (await right.get(path)).status_code == 200, path
        for wrong in ({"X-API-Key": "not-the-key"}, {"Authorization": "Bearer not-the-key"}):
            async with keyed.client(wrong) as client:
                response = await client.get(path)
            assert response.status_code == 401, (path, wrong, response.text)
            assert response.json()["error"]["code"] == "invalid_api_key"
            assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_read_without_the_key_is_not_a_key_client(keyed: Keyed) -> None:
    async with keyed.client() as anonymous:
        assert (await anonymous.get("/api/downloads")).json() == {"jobs": []}
        assert (await anonymous.get(f"/api/downloads/{keyed.job.id}")).status_code == 404


# -- the key does not leak ----------------------------------------------------------------------


async def test_the_key_never_appears_in_a_response(
    keyed: Keyed, caplog: pytest.LogCaptureFixture
) -> None:
    near_miss = keyed.key[:-1]
    responses: list[httpx.Response] = []
    async with (
        keyed.client() as anonymous,
        keyed.with_key() as client,
        web_app_session(keyed) as browser,
    ):
        for path in READS:
            responses.append(await anonymous.get(path))
            responses.append(await client.get(path))
        for path in ("/api/admin/settings", "/api/admin/api-key", "/api/admin/storage"):
            responses.append(await keyed.admin.get(path))
        responses.append(await anonymous.post("/api/downloads", json={"url": NOWHERE}))
        async with keyed.client({"X-API-Key": near_miss}) as wrong:
            responses.append(await wrong.post("/api/downloads", json={"url": NOWHERE}))
        responses.append(await browser.get("/api/config/public"))
        responses.append(await browser.get("/"))
    assert len(responses) == 2 * len(READS) + 7
    for response in responses:
        where = f"{response.request.method} {response.request.url.path}"
        assert keyed.key not in response.text, where
        assert near_miss not in response.text, where  # a presented key is not echoed
        for name, value in response.headers.multi_items():
            assert keyed.key not in value and near_miss not in value, (where, name)
    masked = (await keyed.admin.get("/api/admin/api-key")).json()["masked"]
    assert masked == "…" + keyed.key[-4:]
    assert keyed.key not in caplog.text


# -- a key that is replaced or revoked ----------------------------------------------------------


async def test_a_replaced_or_revoked_key_opens_nothing(keyed: Keyed, media: MediaServer) -> None:
    old = keyed.key
    if keyed.source == "configured":
        # Pinned by the config: the panel can neither replace nor revoke it.
        for method in ("POST", "DELETE"):
            response = await keyed.admin.request(method, "/api/admin/api-key")
            assert response.status_code == 409, response.text
        assert keyed.app.handle.services.auth.api_key_matches(old)
        return
    replaced = await keyed.admin.post("/api/admin/api-key")
    assert replaced.status_code == 201, replaced.text
    new = replaced.json()["key"]
    assert new != old
    async with keyed.client({"X-API-Key": old}) as stale, keyed.client({"X-API-Key": new}) as ok:
        assert_refused(
            await stale.post("/api/downloads", json={"url": media.url(FAILING)}),
            "invalid_api_key",
            "the replaced key",
        )
        assert (
            await ok.post("/api/downloads", json={"url": media.url(FAILING)})
        ).status_code == 201
    revoked = await keyed.admin.delete("/api/admin/api-key", headers={"X-API-Key": new})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {"configured": False, "pinned": False, "masked": None}
    # With no key set the server is as open as one that never had a key (SPEC §5: the key is
    # needed "when one is configured"); the revoked key is just an unknown header now: it no
    # longer opens the key clients' queue.
    auth = keyed.app.handle.services.auth
    assert not auth.api_key_required and not auth.api_key_matches(new)
    async with keyed.client({"X-API-Key": new}) as revoked_client:
        assert (await revoked_client.get("/api/downloads")).json() == {"jobs": []}
        response = await revoked_client.get(f"/api/downloads/{keyed.job.id}")
        assert response.status_code == 404


# -- a refusal does not wedge the connection ----------------------------------------------------


async def test_after_a_401_the_same_client_goes_on(keyed: Keyed, media: MediaServer) -> None:
    """httpx keeps connections alive and honours the refusal's ``Connection: close``."""
    async with keyed.client() as client:
        for _ in range(3):
            refused = await client.post("/api/downloads", json={"url": media.url(FAILING)})
            assert_refused(refused, "api_key_required", "no key")
            with trio.fail_after(5):
                assert (await client.get("/api/health")).status_code == 200
        with trio.fail_after(5):
            allowed = await client.post(
                "/api/downloads",
                json={"url": media.url(FAILING)},
                headers={"X-API-Key": keyed.key},
            )
        assert allowed.status_code == 201, allowed.text


async def _read_head(stream: trio.SocketStream) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(65536)
        assert chunk, f"closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(v)
            for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])
            if k.strip().lower() == b"content-length"
        ),
        0,
    )
    while len(body) < length:
        body += await stream.receive_some(65536)
    return head


@pytest.mark.parametrize("body", ["none", "with-the-headers", "after-the-headers"])
async def test_after_a_401_the_connection_is_closed_or_still_answers(
    keyed: Keyed, body: str
) -> None:
    """A raw client that sends its next request on the same connection: the server must close
    it (it said ``Connection: close``) or answer; it must not leave it hanging."""
    payload = b'{"url": "%s"}' % NOWHERE.encode() if body != "none" else b""
    head = (
        "POST /api/downloads HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    port = int(keyed.base_url.rsplit(":", 1)[1])
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        if body == "after-the-headers":
            await stream.send_all(head)
            await trio.sleep(0.2)
            await stream.send_all(payload)
        else:
            await stream.send_all(head + payload)
        with trio.fail_after(5):
            answer = await _read_head(stream)
        assert answer.startswith(b"HTTP/1.1 401"), answer
        assert b"connection: close" in answer.lower()
        try:
            await stream.send_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        except trio.BrokenResourceError:
            return  # closed: fine
        following = b"<hangs>"
        with trio.move_on_after(3):
            try:
                following = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                following = b""
        assert following != b"<hangs>", (
            "after the 401 the server neither closed the connection nor answered the next "
            "request on it"
        )
        assert following == b"" or following.startswith(b"HTTP/1.1 200"), following[:80]
