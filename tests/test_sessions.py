"""Sessions (SPEC §4): who sees and manages which jobs, and the cookie that says who is who.

Each "browser" is its own HTTP client with its own cookie jar, against one real server.
"""

from __future__ import annotations

import json
import re
import secrets
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import trio

from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, open_events, running_app

COOKIE = "mrip_session"
# 96 KiB at 16 KiB/s: about six seconds, long enough to act on a running job.
SLOW_VIDEO = "/slow/16000/video.mp4"


def session_cookie(response: httpx.Response) -> Morsel[str] | None:
    """The ``mrip_session`` cookie the response sets, if any."""
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if COOKIE in jar:
            return jar[COOKIE]
    return None


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "job_not_found", response.text


def mentions(events: list[tuple[str, Any]], job_id: str) -> list[tuple[str, Any]]:
    return [(name, data) for name, data in events if job_id in json.dumps(data)]


# -- isolated (the default) -------------------------------------------------------------------


async def test_a_second_browser_cannot_see_the_first_ones_jobs(
    app: RunningApp, media: MediaServer
) -> None:
    done = await app.submit(media.url("/media/video.mp4"))
    await app.wait_for(done["id"])
    async with app.new_client() as other:
        listing = await other.get("/api/downloads")
        assert listing.status_code == 200
        assert listing.json() == {"jobs": []}
        completed = await other.get("/api/downloads", params={"status": "completed"})
        assert completed.json() == {"jobs": []}
        assert_not_found(await other.get(f"/api/downloads/{done['id']}"))
    mine = (await app.client.get("/api/downloads")).json()["jobs"]
    assert [j["id"] for j in mine] == [done["id"]]


async def test_a_second_browser_cannot_touch_the_first_ones_jobs(
    app: RunningApp, media: MediaServer
) -> None:
    completed = await app.submit(media.url("/media/video.mp4"))
    failed = await app.submit(media.url("/fail/404"))
    completed = await app.wait_for(completed["id"])
    failed = await app.wait_for(failed["id"])
    assert (completed["status"], failed["status"]) == ("completed", "failed")
    path = app.downloads_dir / completed["filename"]
    assert path.is_file()

    async with app.new_client() as other:
        for job in (completed, failed):
            assert_not_found(await other.get(f"/api/downloads/{job['id']}"))
            assert_not_found(await other.get(f"/api/downloads/{job['id']}/file"))
            assert_not_found(await other.post(f"/api/downloads/{job['id']}/cancel"))
            assert_not_found(await other.post(f"/api/downloads/{job['id']}/retry"))
            assert_not_found(await other.delete(f"/api/downloads/{job['id']}"))
        # The same answers as for a job that never existed: nothing leaks its existence.
        missing = await other.get("/api/downloads/00000000-0000-4000-8000-000000000000")
        assert missing.json() == (await other.get(f"/api/downloads/{completed['id']}")).json()

    await trio.sleep(0.3)  # a retry would have re-queued and started the failed job by now
    assert await app.job(completed["id"]) == completed
    assert await app.job(failed["id"]) == failed
    assert path.is_file()
    saved = await app.client.get(f"/api/downloads/{completed['id']}/file")
    assert saved.content == (media.media_dir / "video.mp4").read_bytes()


async def test_a_second_browser_cannot_stop_a_running_job(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url(SLOW_VIDEO))
    await app.wait_for(job["id"], lambda j: j["status"] == "downloading")
    async with app.new_client() as other:
        assert_not_found(await other.post(f"/api/downloads/{job['id']}/cancel"))
        assert_not_found(await other.delete(f"/api/downloads/{job['id']}"))
    assert (await app.job(job["id"]))["status"] == "downloading"
    cancelled = await app.client.post(f"/api/downloads/{job['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"


async def test_a_second_browsers_live_events_show_nothing_of_the_first_ones_jobs(
    app: RunningApp, media: MediaServer
) -> None:
    earlier = await app.submit(media.url("/media/audio.m4a"))
    await app.wait_for(earlier["id"])
    other = app.new_client()
    async with other, open_events(other) as theirs, open_events(app.client) as mine:
        name, data = await theirs.next()
        assert name == "init"
        assert data == {"jobs": []}
        name, data = await mine.next()
        assert name == "init"
        assert [j["id"] for j in data["jobs"]] == [earlier["id"]]

        job = await app.submit(media.url("/media/video.mp4"))
        # The owner sees the new job through to its end (the events do flow) ...
        await mine.until(
            lambda n, d: (
                n == "job_update"
                and d["job"]["id"] == job["id"]
                and d["job"].get("status") == "completed"
            )
        )
        # ... and the other browser, once its own job has ended, has seen none of it.
        own = await app.submit(media.url("/media/audio.m4a"), client=other)
        seen = await theirs.until(
            lambda n, d: (
                n == "job_update"
                and d["job"]["id"] == own["id"]
                and d["job"].get("status") == "completed"
            )
        )
        assert mentions(seen, job["id"]) == []
        assert mentions(seen, earlier["id"]) == []
        assert all(name != "init" for name, _ in seen)


async def test_the_session_cookie_is_private_long_and_expires(app: RunningApp) -> None:
    async with app.new_client() as browser:
        response = await browser.get("/api/downloads")
        cookie = session_cookie(response)
        assert cookie is not None, response.headers
        assert cookie["httponly"] is True
        assert cookie["samesite"].lower() == "lax"
        assert int(cookie["max-age"]) == int(app.settings.session.timeout_hours * 3600)
        assert int(cookie["max-age"]) > 0
        assert not cookie["secure"]  # plain http: a Secure cookie would never come back
        assert cookie["path"] == "/"
        # At least 128 random bits: 22+ characters of url-safe base64.
        assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", cookie.value), cookie.value
        # A browser that has its cookie is not given another one.
        again = await browser.get("/api/downloads")
        assert session_cookie(again) is None
    async with app.new_client() as other:
        second = session_cookie(await other.get("/api/downloads"))
        assert second is not None and second.value != cookie.value


async def _get_into(browser: httpx.AsyncClient, path: str, answers: list[httpx.Response]) -> None:
    answers.append(await browser.get(path))


async def test_every_page_of_the_web_app_gives_its_session_before_the_apps_calls(
    app: RunningApp,
) -> None:
    """Opened at any of its pages, the web app makes its first calls at once and in parallel
    (settings, lists, the event stream). If the page did not bring the session, each call would
    be given a different one and the event stream could watch another session than the one the
    page then changes: a subscription made from /subscriptions never showed its first check."""
    for page in ("/", "/subscriptions", "/add-anywhere", "/admin", "/a/route/of/the/app"):
        async with app.new_client() as browser:
            response = await browser.get(page)
            assert response.status_code == 200, (page, response.status_code)
            given = session_cookie(response)
            assert given is not None, page
            assert browser.cookies.get("mrip_csrf"), page
            answers: list[httpx.Response] = []
            async with trio.open_nursery() as nursery:
                for path in ("/api/config/public", "/api/downloads", "/api/subscriptions"):
                    nursery.start_soon(_get_into, browser, path, answers)
            assert [session_cookie(a) for a in answers] == [None, None, None], page
            assert browser.cookies.get(COOKIE) == given.value


async def test_a_forged_session_cookie_is_replaced_never_adopted(
    app: RunningApp, media: MediaServer
) -> None:
    for forged in (secrets.token_urlsafe(24), "admin", "x" * 200, "../../etc/passwd"):
        async with httpx.AsyncClient(base_url=app.base_url, timeout=30) as browser:
            headers = {"Cookie": f"{COOKIE}={forged}"}
            first = await browser.get("/api/downloads", headers=headers)
            given = session_cookie(first)
            assert given is not None, forged
            assert given.value != forged
            # Sent again, the forged value is still unknown: it was not stored as a session.
            second = await browser.get("/api/downloads", headers=headers)
            again = session_cookie(second)
            assert again is not None and again.value not in (forged, given.value)

    # A job made under a forged cookie is not visible to someone else using that value.
    forged = secrets.token_urlsafe(24)
    async with httpx.AsyncClient(base_url=app.base_url, timeout=30) as maker:
        response = await maker.post(
            "/api/downloads",
            json={"url": media.url("/media/audio.m4a")},
            headers={"Cookie": f"{COOKIE}={forged}"},
        )
        assert response.status_code == 201
        job_id = response.json()["id"]
    async with httpx.AsyncClient(base_url=app.base_url, timeout=30) as guesser:
        headers = {"Cookie": f"{COOKIE}={forged}"}
        assert (await guesser.get("/api/downloads", headers=headers)).json() == {"jobs": []}
        assert_not_found(await guesser.get(f"/api/downloads/{job_id}", headers=headers))


# -- shared -----------------------------------------------------------------------------------


async def test_in_shared_mode_everyone_sees_and_can_cancel_every_job(
    tmp_path: Path, media: MediaServer
) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__SESSION__MODE": "shared"})
    async with running_app(settings) as app, app.new_client() as other:
        job = await app.submit(media.url(SLOW_VIDEO))
        await app.wait_for(job["id"], lambda j: j["status"] == "downloading")

        listing = (await other.get("/api/downloads")).json()["jobs"]
        assert [j["id"] for j in listing] == [job["id"]]
        seen = await app.job(job["id"], client=other)
        assert seen["url"] == job["url"]
        async with open_events(other) as events:
            name, data = await events.next()
            assert name == "init"
            assert [j["id"] for j in data["jobs"]] == [job["id"]]

        response = await other.post(f"/api/downloads/{job['id']}/cancel")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "cancelled"
        assert (await app.job(job["id"]))["status"] == "cancelled"

        # The other browser's own jobs are the first one's too, and it may delete them.
        theirs = await app.submit(media.url("/media/audio.m4a"), client=other)
        await app.wait_for(theirs["id"])
        assert (await app.client.delete(f"/api/downloads/{theirs['id']}")).status_code == 204
        assert_not_found(await other.get(f"/api/downloads/{theirs['id']}"))
        # Browsers still get a session cookie (for their own cookies.txt).
        async with app.new_client() as third:
            assert session_cookie(await third.get("/api/downloads")) is not None


# -- open -------------------------------------------------------------------------------------


async def test_in_open_mode_there_is_no_cookie_and_everyone_sees_everything(
    tmp_path: Path, media: MediaServer
) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__SESSION__MODE": "open"})
    async with running_app(settings) as app, app.new_client() as other:
        responses = [
            await app.client.get("/api/downloads"),
            await app.client.post("/api/downloads", json={"url": media.url("/media/video.mp4")}),
            await app.client.get("/api/cookies"),
            await app.client.get("/api/health"),
        ]
        for response in responses:
            assert response.status_code in (200, 201), response.text
            assert "set-cookie" not in response.headers, response.headers
        job = responses[1].json()
        assert not app.client.cookies and not other.cookies

        done = await app.wait_for(job["id"], client=other)
        assert done["status"] == "completed", done["error"]
        listing = await other.get("/api/downloads")
        assert "set-cookie" not in listing.headers
        assert [j["id"] for j in listing.json()["jobs"]] == [job["id"]]
        saved = await other.get(f"/api/downloads/{job['id']}/file")
        assert saved.content == (media.media_dir / "video.mp4").read_bytes()
        assert (await other.delete(f"/api/downloads/{job['id']}")).status_code == 204
        assert (await app.client.get("/api/downloads")).json() == {"jobs": []}
