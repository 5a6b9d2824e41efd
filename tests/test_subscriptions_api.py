"""``/api/subscriptions`` and ``/api/archive`` on the real server (issue 12's Contract), with a
growing channel on the loopback media server, real yt-dlp, and yt-dlp itself reading the
exported archive."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import yt_dlp

from mediarip.config import Settings
from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, open_events
from tests.test_subscriptions import Channel

PASSWORD = "correct horse battery"
LONG_AGO = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

SUBSCRIPTION_FIELDS = {
    "id",
    "url",
    "interval_minutes",
    "cron",
    "filters",
    "max_items_per_check",
    "first_check",
    "first_count",
    "media_type",
    "paused",
    "title",
    "created_at",
    "last_check_at",
    "next_check_at",
    "last_error",
    "failures",
    "checks",
    "schedule",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, {"MEDIARIP__ADMIN__PASSWORD": PASSWORD})


def old_channel(media: MediaServer, *titles: str) -> Channel:
    channel = Channel(media)
    for n, title in enumerate(titles):
        channel.add(title, published=LONG_AGO + dt.timedelta(days=n))
    return channel


async def subscribe(app: RunningApp, client: httpx.AsyncClient | None = None, **body: Any) -> Any:
    response = await (client or app.client).post("/api/subscriptions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def wait_checked(
    app: RunningApp, sub_id: str, checks: int = 1, client: httpx.AsyncClient | None = None
) -> Any:
    with trio.fail_after(30):
        while True:
            response = await (client or app.client).get(f"/api/subscriptions/{sub_id}")
            sub = response.json()
            if sub["checks"] >= checks or sub["failures"]:
                return sub
            await trio.sleep(0.05)


async def jobs_of(app: RunningApp, sub_id: str) -> list[dict[str, Any]]:
    jobs = (await app.client.get("/api/downloads")).json()["jobs"]
    return [job for job in jobs if job["subscription_id"] == sub_id]


async def test_subscribe_check_and_see_the_history(app: RunningApp, media: MediaServer) -> None:
    channel = old_channel(media, "Old 1", "Old 2")
    sub = await subscribe(app, url=channel.url, interval_minutes=30, media_type="audio")
    assert set(sub) >= SUBSCRIPTION_FIELDS and "session_id" not in sub
    assert sub["first_check"] == "new_only" and sub["paused"] is False
    assert sub["media_type"] == "audio" and sub["schedule"] == "every 30 min"
    checked = await wait_checked(app, sub["id"])
    assert checked["title"] == f"Channel {channel.name}" and checked["last_error"] is None
    assert checked["next_check_at"] > checked["last_check_at"]
    assert await jobs_of(app, sub["id"]) == []

    channel.add("New episode", published=dt.datetime.now(dt.UTC))
    response = await app.client.post(f"/api/subscriptions/{sub['id']}/check")
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["found"], result["queued"], result["skipped"]) == (1, 1, 0)
    [job] = await jobs_of(app, sub["id"])
    assert job["title"] == "New episode" and job["media_type"] == "audio"
    done = await app.wait_for(job["id"])
    assert done["status"] == "completed", done["error"]
    assert done["filename"].endswith(".mp3")

    again = (await app.client.post(f"/api/subscriptions/{sub['id']}/check")).json()
    assert (again["found"], again["queued"]) == (0, 0)

    history = (await app.client.get(f"/api/subscriptions/{sub['id']}/history")).json()
    checks = history["checks"]
    assert [c["result"]["queued"] for c in checks] == [0, 1, 0]  # newest first
    first = checks[-1]
    assert [i["outcome"] for i in first["items"]] == ["skipped", "skipped"]
    assert "before the subscription" in first["items"][0]["reason"]
    assert checks[1]["items"][0]["job_id"] == job["id"]
    limited = await app.client.get(f"/api/subscriptions/{sub['id']}/history?limit=1")
    assert len(limited.json()["checks"]) == 1
    bad = await app.client.get(f"/api/subscriptions/{sub['id']}/history?limit=0")
    assert bad.status_code == 422


async def test_preview_shows_what_the_first_check_would_take(
    app: RunningApp, media: MediaServer
) -> None:
    channel = old_channel(media, "One", "Two", "Three")
    response = await app.client.post(
        "/api/subscriptions/preview",
        json={"url": channel.url, "first_check": "latest", "first_count": 2},
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["title"] == f"Channel {channel.name}" and preview["listed"] == 3
    taken = [i["title"] for i in preview["items"] if i["outcome"] == "queued"]
    assert taken == ["Three", "Two"]
    assert (await app.client.get("/api/subscriptions")).json()["subscriptions"] == []
    assert (await app.client.get("/api/downloads")).json()["jobs"] == []


async def test_edit_pause_resume_and_bad_input(app: RunningApp, media: MediaServer) -> None:
    channel = old_channel(media, "Only")
    sub = await subscribe(app, url=channel.url)
    sub_id = sub["id"]
    response = await app.client.patch(
        f"/api/subscriptions/{sub_id}",
        json={"cron": "0 6 * * *", "filters": {"title_include": "talk"}, "max_items_per_check": 3},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["cron"] == "0 6 * * *" and changed["interval_minutes"] is None
    assert changed["filters"] == {
        "title_include": "talk",
        "title_exclude": None,
        "min_duration": None,
        "max_duration": None,
        "published_after": None,
    }
    assert changed["max_items_per_check"] == 3

    paused = (await app.client.post(f"/api/subscriptions/{sub_id}/pause")).json()
    assert paused["paused"] is True and paused["next_check_at"] is None
    resumed = (await app.client.post(f"/api/subscriptions/{sub_id}/resume")).json()
    assert resumed["paused"] is False and resumed["next_check_at"] is not None

    for body, words in [
        ({"url": channel.url, "interval_minutes": 30, "cron": "* * * * *"}, "not both"),
        ({"url": channel.url, "cron": "every day"}, "cron"),
        ({"url": channel.url, "interval_minutes": 1}, "interval_minutes"),
        ({"url": channel.url, "filters": {"title_include": "("}}, "filters.title_include"),
        ({"url": channel.url, "filters": {"min_duration": 60, "max_duration": 10}}, "min_dur"),
        ({"url": channel.url, "filters": {"published_after": "yesterday"}}, "published_after"),
        ({"url": channel.url, "first_check": "everything"}, "first_check"),
        ({"url": channel.url, "output_format": "mp3"}, "output_format"),
        ({"url": channel.url, "playlist_items": "1-3"}, "playlist_items"),
        ({"url": channel.url, "colour": "red"}, "colour"),
        ({"url": "ftp://example.com/feed"}, "url"),
        ({"interval_minutes": 30}, "url"),
    ]:
        response = await app.client.post("/api/subscriptions", json=body)
        assert response.status_code == 422, (body, response.text)
        assert words in response.json()["error"]["message"], (body, response.text)
    response = await app.client.patch(f"/api/subscriptions/{sub_id}", json={"cron": "nope"})
    assert response.status_code == 422
    assert (await app.client.get("/api/subscriptions/nope")).status_code == 404
    assert (await app.client.post("/api/subscriptions/nope/check")).status_code == 404
    bad = await app.client.delete(f"/api/subscriptions/{sub_id}?remove_downloads=maybe")
    assert bad.status_code == 422


async def test_subscriptions_are_private_to_their_session_and_the_admin_sees_all(
    app: RunningApp, media: MediaServer
) -> None:
    channel = old_channel(media, "Mine")
    mine = await subscribe(app, url=channel.url)
    async with app.new_client() as other:
        await other.get("/api/config/public")
        theirs = await subscribe(app, other, url=channel.url)
        listed = (await other.get("/api/subscriptions")).json()["subscriptions"]
        assert [s["id"] for s in listed] == [theirs["id"]]
        for method, path in [
            ("GET", f"/api/subscriptions/{mine['id']}"),
            ("POST", f"/api/subscriptions/{mine['id']}/check"),
            ("POST", f"/api/subscriptions/{mine['id']}/pause"),
            ("GET", f"/api/subscriptions/{mine['id']}/history"),
            ("DELETE", f"/api/subscriptions/{mine['id']}"),
        ]:
            response = await other.request(method, path)
            assert response.status_code == 404, (method, path)
    async with app.new_client() as admin:
        assert (await admin.get("/api/admin/subscriptions")).status_code == 401
        login = await admin.post(
            "/api/admin/login", json={"username": "admin", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        everyone = (await admin.get("/api/admin/subscriptions")).json()["subscriptions"]
        assert {s["id"] for s in everyone} == {mine["id"], theirs["id"]}


async def test_events_tell_of_changes_and_ended_checks(app: RunningApp, media: MediaServer) -> None:
    channel = old_channel(media, "Something")
    await app.client.get("/api/config/public")
    async with open_events(app.client) as events:
        await events.until(lambda name, _: name == "init")
        sub = await subscribe(app, url=channel.url)
        seen = await events.until(lambda name, data: name == "subscription_checked")
        names = [name for name, _ in seen]
        assert "subscription_update" in names
        checked = seen[-1][1]
        assert checked["id"] == sub["id"] and checked["result"]["found"] == 1
        await app.client.post(f"/api/subscriptions/{sub['id']}/pause")
        _, update = (await events.until(lambda name, _: name == "subscription_update"))[-1]
        assert update["subscription"]["paused"] is True
        await app.client.delete(f"/api/subscriptions/{sub['id']}")
        _, removed = (await events.until(lambda name, _: name == "subscription_removed"))[-1]
        assert removed == {"id": sub["id"]}


async def test_delete_asks_whether_to_remove_the_downloads(
    app: RunningApp, media: MediaServer
) -> None:
    channel = old_channel(media, "Keep or not")
    sub = await subscribe(app, url=channel.url, first_check="latest", first_count=1)
    await wait_checked(app, sub["id"])
    [job] = await jobs_of(app, sub["id"])
    await app.wait_for(job["id"])
    response = await app.client.delete(f"/api/subscriptions/{sub['id']}")
    assert response.status_code == 200 and response.json() == {"removed_jobs": 0}
    assert (await app.job(job["id"]))["status"] == "completed"  # kept

    again = await subscribe(app, url=old_channel(media, "Gone").url, first_check="latest")
    await wait_checked(app, again["id"])
    [other] = await jobs_of(app, again["id"])
    await app.wait_for(other["id"])
    response = await app.client.delete(f"/api/subscriptions/{again['id']}?remove_downloads=true")
    assert response.json() == {"removed_jobs": 1}
    assert (await app.client.get(f"/api/downloads/{other['id']}")).status_code == 404


async def test_archive_export_is_what_yt_dlp_reads_and_import_is_honoured(
    app: RunningApp, media: MediaServer, tmp_path: Path
) -> None:
    channel = old_channel(media, "Downloaded here", "Imported", "Left for yt-dlp")
    # A download by hand (item 1 of the channel, as the feed lists it) is archived too.
    response = await app.client.post(
        "/api/subscriptions/preview",
        json={"url": channel.url, "first_check": "latest", "first_count": 3},
    )
    items = {i["title"]: i for i in response.json()["items"]}
    job = await app.submit(items["Downloaded here"]["url"])
    assert (await app.wait_for(job["id"]))["status"] == "completed"
    exported = await app.client.get("/api/archive/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/plain")
    assert exported.text == f"generic {channel.name}-1\n"

    # Import another item's key, as a yt-dlp archive file would carry it.
    imported = await app.client.post(
        "/api/archive/import",
        content=f"generic {channel.name}-2\n\n",
        headers={"Content-Type": "text/plain"},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"read": 1, "added": 1}
    bad = await app.client.post("/api/archive/import", content="generic ok\nno-id-on-this-line\n")
    assert bad.status_code == 422 and "line 2" in bad.json()["error"]["message"]

    # A subscription skips both, and takes the third.
    sub = await subscribe(app, url=channel.url, first_check="latest", first_count=3)
    await wait_checked(app, sub["id"])
    [taken] = await jobs_of(app, sub["id"])
    assert taken["title"] == "Left for yt-dlp"
    await app.wait_for(taken["id"])
    text = (await app.client.get("/api/archive/export")).text
    assert sorted(text.split("\n")) == sorted(
        ["", *(f"generic {channel.name}-{n}" for n in (1, 2, 3))]
    )

    # yt-dlp itself, given the exported file, downloads nothing from the channel...
    archive = tmp_path / "archive.txt"
    archive.write_text(text)
    out = tmp_path / "yt-dlp"
    params = {
        "quiet": True,
        "no_warnings": True,
        "download_archive": str(archive),
        "outtmpl": str(out / "%(id)s.%(ext)s"),
    }
    await trio.to_thread.run_sync(_yt_dlp_download, params, channel.url)
    assert not out.exists() or list(out.iterdir()) == []
    # ...and, without the line of item 2, downloads exactly that one.
    archive.write_text("".join(f"generic {channel.name}-{n}\n" for n in (1, 3)))
    await trio.to_thread.run_sync(_yt_dlp_download, params, channel.url)
    assert [p.name for p in out.iterdir()] == [f"{channel.name}-2.mp4"]
    assert f"generic {channel.name}-2" in archive.read_text()


def _yt_dlp_download(params: dict[str, Any], url: str) -> None:
    with yt_dlp.YoutubeDL(params) as ydl:
        ydl.download([url])
