"""Reach, server side: /metrics (read with prometheus-client's own parser), readiness, CORS for
named origins, and notifications to real loopback receivers (signed webhooks with retries,
Apprise's json:// scheme), never delaying a job."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from mediarip.engine.events import JobChanged
from mediarip.models import JobStatus
from mediarip.notifications.delivery import SIGNATURE_HEADER
from mediarip.notifications.models import mask_url
from mediarip.notifications.notifier import Notifications
from mediarip.store import Store
from tests.conftest import make_settings
from tests.media import MediaServer
from tests.receiver import Receiver
from tests.support import RunningApp, open_events, running_app
from tests.test_admin import set_up

KEY = "reach-test-key-0123456789"
EXTENSION = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
NOWHERE = "https://example.invalid/video"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


async def until(predicate: Any, timeout: float = 30) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.02)


# -- metrics -----------------------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_are_off_by_default(app: RunningApp) -> None:
    response = await app.client.get("/metrics")
    assert response.status_code == 404


async def test_metrics_parse_and_move_as_jobs_run(tmp_path: Path, media: MediaServer) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__METRICS__ENABLED": "true"})
    async with running_app(settings) as app:
        response = await app.client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        before = samples(response.text)
        names = {name for name, _ in before}
        assert all(name.startswith("mediarip_") for name in names if "python" not in name)

        done = await app.wait_for((await app.submit(media.url("/media/video.mp4")))["id"])
        failed = await app.wait_for((await app.submit(media.url("/fail/404")))["id"])
        assert done["status"] == "completed" and failed["status"] == "failed"
        async with open_events(app.new_client()) as events:
            await events.next()  # the stream is open: one SSE client
            after = samples((await app.client.get("/metrics")).text)

    finished = "mediarip_jobs_finished_total"
    assert (
        value(after, finished, status="completed")
        == value(before, finished, status="completed") + 1
    )
    assert value(after, finished, status="failed") == 1
    assert value(after, "mediarip_downloaded_bytes_total") == done["filesize"] > 0
    assert value(after, "mediarip_job_failures_total", error=failed["error"]["code"]) == 1
    assert value(after, "mediarip_download_duration_seconds_count") == 1
    assert value(after, "mediarip_jobs", status="completed") == 1
    assert value(after, "mediarip_jobs", status="failed") == 1
    assert value(after, "mediarip_downloads_running") == 0
    assert value(after, "mediarip_sse_clients") == 1
    assert ("mediarip_sse_backlog_events", ()) in after
    posts = value(
        after, "mediarip_http_requests_total", route="/api/downloads", method="POST", status="201"
    )
    assert posts == 2
    assert (
        value(after, "mediarip_http_requests_total", route="/metrics", method="GET", status="200")
        >= 1
    )


async def test_probe_durations_are_counted(tmp_path: Path, media: MediaServer) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__METRICS__ENABLED": "true"})
    async with running_app(settings) as app:
        response = await app.client.post(
            "/api/url-info", json={"url": media.url("/media/video.mp4")}
        )
        assert response.status_code == 200, response.text
        after = samples((await app.client.get("/metrics")).text)
    assert value(after, "mediarip_probe_duration_seconds_count", kind="url_info") == 1


async def test_a_metrics_token_is_required_when_set(tmp_path: Path) -> None:
    token = "metrics-token-0123456789"
    settings = make_settings(
        tmp_path, {"MEDIARIP__METRICS__ENABLED": "true", "MEDIARIP__METRICS__TOKEN": token}
    )
    async with running_app(settings) as app:
        assert (await app.client.get("/metrics")).status_code == 401
        wrong = await app.client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await app.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200
        assert "mediarip_jobs" in right.text


# -- health and readiness ----------------------------------------------------------------------


async def test_ready_when_database_ffmpeg_and_disk_are(app: RunningApp) -> None:
    assert (await app.client.get("/api/health")).json()["status"] == "ok"
    response = await app.client.get("/api/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ready"] is True
    assert {c["name"]: c["ok"] for c in body["checks"]} == {
        "database": True,
        "ffmpeg": True,
        "disk": True,
    }


async def test_not_ready_says_what_is_wrong(tmp_path: Path) -> None:
    # More free space wanted than any disk here has.
    settings = make_settings(tmp_path, {"MEDIARIP__DOWNLOADS__MIN_FREE_MB": str(10**12)})
    async with running_app(settings) as app:
        response = await app.client.get("/api/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    disk = next(c for c in body["checks"] if c["name"] == "disk")
    assert disk["ok"] is False and "MB free" in disk["detail"]
    assert all(c["ok"] for c in body["checks"] if c["name"] != "disk")


# -- CORS --------------------------------------------------------------------------------------


@pytest.fixture
async def cors_app(tmp_path: Path) -> Any:
    settings = make_settings(
        tmp_path,
        {
            "MEDIARIP__SERVER__CORS_ORIGINS": f"[{EXTENSION}, https://dash.example.com]",
            "MEDIARIP__SERVER__API_KEY": KEY,
        },
    )
    async with running_app(settings) as app:
        yield app


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_preflights_from_named_origins_are_answered_and_others_refused(
    cors_app: RunningApp,
) -> None:
    client = cors_app.new_client()
    for origin in (EXTENSION, "https://dash.example.com"):
        response = await client.options("/api/downloads", headers=preflight(origin))
        assert response.status_code == 204, response.text
        assert response.headers["access-control-allow-origin"] == origin
        allowed = response.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed and "x-api-key" in allowed
        assert "POST" in response.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in response.headers
    for origin in ("https://evil.example", "chrome-extension://someoneelse", "null"):
        response = await cors_app.new_client().options("/api/downloads", headers=preflight(origin))
        assert response.status_code == 403, origin
        assert "access-control-allow-origin" not in response.headers
    await client.aclose()


async def test_key_calls_from_a_named_origin_can_be_read_and_others_cannot(
    cors_app: RunningApp,
) -> None:
    async with cors_app.new_client() as client:
        headers = {"Origin": EXTENSION, "Authorization": f"Bearer {KEY}"}
        created = await client.post("/api/downloads", json={"url": NOWHERE}, headers=headers)
        assert created.status_code == 201, created.text
        assert created.headers["access-control-allow-origin"] == EXTENSION
        assert "Origin" in created.headers["vary"]
        listed = await client.get("/api/downloads", headers=headers)
        assert listed.headers["access-control-allow-origin"] == EXTENSION
        assert [j["id"] for j in listed.json()["jobs"]] == [created.json()["id"]]

        # Another origin gets no CORS headers (its browser hides the answer), and without
        # the key its changes are refused outright.
        other = {"Origin": "https://evil.example"}
        read = await client.get("/api/downloads", headers={**other, "X-API-Key": KEY})
        assert "access-control-allow-origin" not in read.headers
        refused = await client.post("/api/downloads", json={"url": NOWHERE}, headers=other)
        assert refused.status_code == 403
        # A named origin without the key is refused too: the key is what proves it.
        keyless = await client.post(
            "/api/downloads", json={"url": NOWHERE}, headers={"Origin": EXTENSION}
        )
        assert keyless.status_code in (401, 403)


async def test_cookies_are_never_accepted_cross_origin(cors_app: RunningApp) -> None:
    async with cors_app.new_client() as browser:
        # A browser with a session of its own, and a job in it.
        page = await browser.get("/")
        assert "mrip_session" in browser.cookies
        token = browser.cookies["mrip_csrf"]
        mine = await browser.post(
            "/api/downloads",
            json={"url": NOWHERE},
            headers={"X-CSRF-Token": token, "Origin": cors_app.base_url},
        )
        assert mine.status_code == 201, (page.status_code, mine.text)
        # The same cookies sent from a named origin count for nothing: no session, no jobs,
        # no new cookie; the CSRF token alone changes nothing either.
        seen = await browser.get("/api/downloads", headers={"Origin": EXTENSION})
        assert seen.json()["jobs"] == []
        assert "set-cookie" not in seen.headers
        forged = await browser.post(
            "/api/downloads",
            json={"url": NOWHERE},
            headers={"Origin": EXTENSION, "X-CSRF-Token": token},
        )
        assert forged.status_code == 403, forged.text
        assert "access-control-allow-credentials" not in forged.headers


# -- notifications -----------------------------------------------------------------------------


async def add_target(app: RunningApp, **fields: Any) -> dict[str, Any]:
    response = await app.client.post("/api/admin/notifications", json=fields)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def fast(app: RunningApp) -> Notifications:
    notifications = app.handle.services.notifications
    notifications.backoff = (0.05, 0.1, 0.2)
    notifications.try_seconds = 2.0
    return notifications


async def test_targets_are_admin_only(app: RunningApp) -> None:
    for method, path in (
        ("GET", "/api/admin/notifications"),
        ("POST", "/api/admin/notifications"),
        ("PATCH", "/api/admin/notifications/x"),
        ("DELETE", "/api/admin/notifications/x"),
        ("POST", "/api/admin/notifications/x/test"),
    ):
        response = await app.client.request(method, path, json={})
        assert response.status_code == 401, (method, path, response.text)


async def test_the_admin_manages_targets(app: RunningApp, receiver: Receiver) -> None:
    await set_up(app)
    hook = await add_target(app, name="Plex on the LAN", kind="webhook", url=receiver.url + "/hook")
    assert hook["events"] == ["completed", "failed"]
    assert len(hook["secret"]) == 64  # made for it
    ntfy = await add_target(
        app, name="ntfy", kind="apprise", url="ntfy://ntfy.example.com/topic", events=["new_items"]
    )
    assert ntfy["secret"] is None
    listed = (await app.client.get("/api/admin/notifications")).json()
    assert [t["name"] for t in listed["targets"]] == ["Plex on the LAN", "ntfy"]
    assert listed["events"] == ["completed", "failed", "new_items"]

    changed = await app.client.patch(
        f"/api/admin/notifications/{hook['id']}", json={"events": ["failed"], "enabled": False}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == ["failed"] and changed.json()["enabled"] is False
    assert changed.json()["secret"] == hook["secret"]  # kept

    for bad in (
        {"name": "x", "kind": "webhook", "url": "ftp://nope"},
        {"name": "x", "kind": "carrier-pigeon", "url": "https://a.example"},
        {"name": "x", "kind": "webhook", "url": "https://a.example", "events": ["nope"]},
        {"name": "x", "kind": "webhook", "url": "https://a.example", "events": []},
        {"name": "x", "kind": "apprise", "url": "ntfy://a/b", "secret": "0123456789"},
    ):
        response = await app.client.post("/api/admin/notifications", json=bad)
        assert response.status_code == 422, (bad, response.text)
    same = await app.client.post(
        "/api/admin/notifications", json={"name": "NTFY", "kind": "webhook", "url": receiver.url}
    )
    assert same.status_code == 409

    assert (await app.client.delete(f"/api/admin/notifications/{ntfy['id']}")).status_code == 204
    missing = await app.client.delete(f"/api/admin/notifications/{ntfy['id']}")
    assert missing.status_code == 404


async def test_a_webhook_gets_the_job_signed_once_after_two_500s(
    app: RunningApp, media: MediaServer
) -> None:
    await set_up(app)
    fast(app)
    with Receiver([500, 500]) as receiver:
        hook = await add_target(
            app, name="hook", kind="webhook", url=receiver.url + "/in", secret="s3cret-value"
        )
        job = await app.submit(media.url("/media/video.mp4"))
        done = await app.wait_for(job["id"])
        await until(lambda: len(receiver.received) == 3)
        await trio.sleep(0.3)  # a fourth try would have come by now
    assert len(receiver.received) == 3
    for got in receiver.received:
        assert got.path == "/in"
        expected = "sha256=" + hmac.new(b"s3cret-value", got.body, hashlib.sha256).hexdigest()
        assert got.headers[SIGNATURE_HEADER] == expected
        body = json.loads(got.body)
        assert body["event"] == "completed"
        assert body["job"]["id"] == done["id"] and body["job"]["filename"] == done["filename"]
    assert hook["id"]
    errors = (await app.client.get("/api/admin/errors")).json()["errors"]
    assert not [e for e in errors if e["code"] == "notification_failed"]


async def test_a_failed_job_is_told_and_a_dead_target_goes_to_the_error_log(
    app: RunningApp, media: MediaServer
) -> None:
    await set_up(app)
    fast(app)
    with Receiver([500, 500, 500, 500]) as receiver:
        await add_target(
            app, name="always down", kind="webhook", url=receiver.url + "/x?token=SECRET123"
        )
        job = await app.wait_for((await app.submit(media.url("/fail/404")))["id"])
        assert job["status"] == "failed"

        async def logged() -> list[dict[str, Any]]:
            errors = (await app.client.get("/api/admin/errors")).json()["errors"]
            return [e for e in errors if e["code"] == "notification_failed"]

        with trio.fail_after(30):
            while not await logged():
                await trio.sleep(0.05)
        entry = (await logged())[0]
    assert len(receiver.received) == 4  # one try and three retries
    assert json.loads(receiver.received[0].body)["event"] == "failed"
    assert "always down" in entry["message"] and "HTTP 500" in entry["message"]
    assert "SECRET123" not in json.dumps(entry)
    assert entry["job_id"] == job["id"]


async def test_a_hanging_target_never_delays_a_job(app: RunningApp, media: MediaServer) -> None:
    await set_up(app)
    fast(app).try_seconds = 30
    with Receiver(["hang"] * 10) as hanging, Receiver() as healthy:
        await add_target(app, name="hangs", kind="webhook", url=hanging.url)
        await add_target(app, name="healthy", kind="webhook", url=healthy.url)
        async with open_events(app.new_client()) as events:
            await events.next()
            first = await app.submit(media.url("/media/video.mp4"), client=app.client)
            await app.wait_for(first["id"])
            await until(lambda: len(hanging.received) == 1 and len(healthy.received) == 1)
            # The hanging delivery holds its own slot only: the next job ends, its event goes
            # out, and the healthy target hears of it while the first delivery still hangs.
            second = await app.submit(media.url("/media/audio.m4a"))
            await app.wait_for(second["id"])
            await until(lambda: len(healthy.received) == 2)
            assert len(hanging.received) == 2  # its second message is in flight too
        # Shutdown does not wait for the hanging deliveries (the fixture stops the server).


async def test_a_test_message_says_how_it_went(app: RunningApp, receiver: Receiver) -> None:
    await set_up(app)
    fast(app)
    hook = await add_target(app, name="hook", kind="webhook", url=receiver.url)
    response = await app.client.post(f"/api/admin/notifications/{hook['id']}/test")
    assert response.status_code == 200, response.text
    assert response.json() == {"delivered": True, "attempts": 1, "error": None}
    assert json.loads(receiver.received[0].body)["event"] == "test"

    receiver.script = [404]
    response = await app.client.post(f"/api/admin/notifications/{hook['id']}/test")
    assert response.json() == {"delivered": False, "attempts": 1, "error": "HTTP 404"}


async def test_apprise_delivers_for_real_to_a_loopback_json_receiver(
    app: RunningApp, media: MediaServer, receiver: Receiver
) -> None:
    await set_up(app)
    fast(app)
    port = receiver.port
    target = await add_target(
        app, name="apprise", kind="apprise", url=f"json://127.0.0.1:{port}/apprise"
    )
    tested = await app.client.post(f"/api/admin/notifications/{target['id']}/test")
    assert tested.json()["delivered"] is True, tested.text
    job = await app.submit(media.url("/media/video.mp4"))
    done = await app.wait_for(job["id"])
    await until(lambda: len(receiver.received) == 2)
    first, second = (json.loads(r.body) for r in receiver.received)
    assert receiver.received[1].path == "/apprise"
    assert first["title"] == "media-rip: a test notification"
    assert second["title"] == f"Downloaded: {done['title']}"
    assert done["url"] in second["message"]


async def test_the_sender_is_cancelled_promptly_with_deliveries_in_flight(tmp_path: Path) -> None:
    """The sender task ends at once when cancelled, even with a target that hangs."""
    with Receiver(["hang"]) as hanging:
        async with Store.open(tmp_path / "db.sqlite3") as store:
            notifications = Notifications(store)
            from mediarip.notifications.models import NewTarget, TargetKind

            await notifications.create(
                NewTarget(name="hangs", kind=TargetKind.WEBHOOK, url=hanging.url)
            )
            job = _finished_job()
            # The delivery hangs for 60 s and may take 10 s a try: ending within 20 s means
            # the cancel reached it (it takes milliseconds).
            with trio.fail_after(20):
                async with trio.open_nursery() as nursery:
                    await nursery.start(notifications.run)
                    notifications.observe(JobChanged(job, {"status": JobStatus.COMPLETED}))
                    await until(lambda: len(hanging.received) == 1)
                    nursery.cancel_scope.cancel()
            assert nursery.cancel_scope.cancelled_caught


def _finished_job() -> Any:
    from mediarip.models import Job, JobKind, MediaType, new_job_id, utcnow

    return Job(
        id=new_job_id(),
        session_id="s",
        kind=JobKind.SINGLE,
        url="https://example.invalid/v",
        status=JobStatus.COMPLETED,
        media_type=MediaType.VIDEO,
        created_at=utcnow(),
    )


async def test_a_subscriptions_new_items_are_one_message(
    app: RunningApp, media: MediaServer, receiver: Receiver
) -> None:
    await set_up(app)
    fast(app)
    await add_target(app, name="subs", kind="webhook", url=receiver.url, events=["new_items"])
    response = await app.client.post(
        "/api/subscriptions",
        json={"url": media.url("/feed.rss"), "first_check": "latest", "first_count": 3},
    )
    assert response.status_code == 201, response.text
    await until(lambda: len(receiver.received) >= 1, timeout=60)
    body = json.loads(receiver.received[0].body)
    assert body["event"] == "new_items"
    assert body["subscription"]["id"] == response.json()["id"]
    history = await app.client.get(f"/api/subscriptions/{body['subscription']['id']}/history")
    queued = history.json()["checks"][0]["result"]["queued"]
    assert len(body["jobs"]) == queued >= 1
    assert all(j["subscription_id"] == body["subscription"]["id"] for j in body["jobs"])


def test_target_urls_are_masked_for_the_log() -> None:
    assert mask_url("https://hooks.example.com/abc?token=x") == "https://hooks.example.com/…"
    assert mask_url("http://127.0.0.1:8096/library/refresh?api_key=k") == "http://127.0.0.1:8096/…"
    assert mask_url("tgram://123456:ABCDEF/987") == "tgram://…"
    assert mask_url("ntfy://user:pass@ntfy.example.com/topic") == "ntfy://ntfy.example.com/…"
    assert mask_url("ntfys://ntfy.example.com/topic") == "ntfys://ntfy.example.com/…"
