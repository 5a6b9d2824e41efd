"""A playlist URL becomes a parent job with one child per item; the parent follows them."""

from __future__ import annotations

from tests.media import MediaServer
from tests.support import RunningApp, open_events


async def _children(app: RunningApp, parent_id: str) -> list[dict[str, object]]:
    jobs = (await app.client.get("/api/downloads")).json()["jobs"]
    return [j for j in jobs if j["parent_id"] == parent_id]


async def test_a_feed_becomes_a_parent_with_a_child_per_item(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url("/feed.rss"))
    parent = await app.wait_for(job["id"])
    assert parent["kind"] == "playlist"
    assert parent["status"] == "completed"
    assert parent["progress"] == 100
    assert parent["title"] == "Mediarip test feed"
    children = await _children(app, job["id"])
    assert len(children) == 3
    assert all(c["status"] == "completed" for c in children)
    assert {c["title"] for c in children} == {
        "Feed item 1 (mp4)",
        "Feed item 2 (webm)",
        "Feed item 3 (m4a)",
    }


async def test_playlist_items_selects_some(app: RunningApp, media: MediaServer) -> None:
    job = await app.submit(media.url("/feed.rss"), playlist_items="1,3")
    await app.wait_for(job["id"])
    children = await _children(app, job["id"])
    assert sorted(str(c["title"]) for c in children) == ["Feed item 1 (mp4)", "Feed item 3 (m4a)"]


async def test_a_playlist_with_no_matching_items_fails_clearly(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url("/feed.rss"), playlist_items="7-9")
    done = await app.wait_for(job["id"])
    assert done["status"] == "failed"
    assert done["error"]["code"] == "empty_playlist"


async def test_the_parent_shows_its_childrens_progress_and_status_live(
    app: RunningApp, media: MediaServer
) -> None:
    async with open_events(app.client) as events:
        await events.next()  # init
        job = await app.submit(media.url("/slowfeed/400000.rss"))
        seen = await events.until(
            lambda name, data: (
                name == "job_update"
                and data["job"]["id"] == job["id"]
                and data["job"].get("status") == "completed"
            ),
            timeout=60,
        )
    parent_updates = [
        d["job"] for n, d in seen if n == "job_update" and d["job"]["id"] == job["id"]
    ]
    statuses = [u["status"] for u in parent_updates if "status" in u]
    assert "downloading" in statuses and statuses[-1] == "completed"
    progress = [u["progress"] for u in parent_updates if "progress" in u]
    assert progress == sorted(progress), "the parent's progress never goes backwards"
    assert any(0 < p < 100 for p in progress)


async def test_cancelling_a_playlist_cancels_its_items_and_retry_brings_them_back(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url("/slowfeed/100000.rss"))
    await app.wait_for(
        job["id"], lambda j: j["kind"] == "playlist" and j["status"] == "downloading"
    )
    response = await app.client.post(f"/api/downloads/{job['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    children = await _children(app, job["id"])
    assert {c["status"] for c in children} == {"cancelled"}
    retried = await app.client.post(f"/api/downloads/{job['id']}/retry")
    assert retried.status_code == 200
    assert retried.json()["status"] in ("queued", "downloading", "extracting")


async def test_deleting_a_playlist_deletes_its_items_and_files(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url("/feed.rss"))
    await app.wait_for(job["id"])
    children = await _children(app, job["id"])
    files = [app.downloads_dir / str(c["filename"]) for c in children]
    assert all(f.is_file() for f in files)
    response = await app.client.delete(f"/api/downloads/{job['id']}")
    assert response.status_code == 204
    assert not any(f.exists() for f in files)
    assert (await app.client.get("/api/downloads")).json()["jobs"] == []
