"""Presets: the two that come out of the box, the admin's CRUD and default, and a job made
from a preset with the request's own fields winning."""

from __future__ import annotations

from typing import Any

import httpx

from tests.media import MediaServer
from tests.support import RunningApp, running_app
from tests.test_admin import admin, set_up  # noqa: F401  (the fixture)
from tests.test_download_options import completed, has_cover_art, probe


async def presets_of(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/presets")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_two_presets_exist_out_of_the_box_and_none_is_the_default(
    app: RunningApp,
) -> None:
    listed = await presets_of(app.client)
    assert listed["default"] is None
    by_id = {p["id"]: p for p in listed["presets"]}
    assert by_id["audio-mp3-cover"]["media_type"] == "audio"
    assert by_id["audio-mp3-cover"]["output_format"] == "mp3"
    assert by_id["audio-mp3-cover"]["options"]["embed_thumbnail"] is True
    video = by_id["video-mp4-subs"]
    assert video["output_format"] == "mp4"
    assert video["options"]["subtitles"] == {
        "languages": ["en"],
        "auto": False,
        "mode": "embed",
        "format": None,
    }


async def test_a_job_from_a_preset_gets_its_fields_and_explicit_ones_win(
    app: RunningApp, media: MediaServer
) -> None:
    done = await completed(app, media.url("/rich.html"), preset="audio-mp3-cover")
    assert done["media_type"] == "audio" and done["output_format"] == "mp3"
    assert done["options"]["embed_thumbnail"] and done["options"]["embed_metadata"]
    assert has_cover_art(probe(app.downloads_dir / done["filename"]))

    # Explicit fields win: another output format, and one option switched off.
    job = await app.submit(
        media.url("/rich.html"),
        preset="audio-mp3-cover",
        output_format="m4a",
        options={"embed_thumbnail": False},
    )
    assert job["output_format"] == "m4a"
    assert job["options"]["embed_thumbnail"] is False
    assert job["options"]["embed_metadata"] is True  # kept from the preset
    await app.wait_for(job["id"])

    # Asking for video over an audio preset drops the preset's audio format with it.
    video = await app.submit(
        media.url("/media/video.mp4"), preset="audio-mp3-cover", media_type="video"
    )
    assert video["media_type"] == "video" and video["output_format"] is None
    await app.wait_for(video["id"])


async def test_the_admin_creates_edits_defaults_and_deletes_presets(
    admin: RunningApp,  # noqa: F811
    media: MediaServer,
) -> None:
    client = admin.client
    created = await client.post(
        "/api/admin/presets",
        json={
            "name": "Clips in a folder",
            "options": {"folder": "clips", "clip": {"start": 0, "end": 2}},
            "default": True,
        },
    )
    assert created.status_code == 201, created.text
    preset = created.json()
    listed = await presets_of(client)
    assert listed["default"] == preset["id"]
    assert [p["name"] for p in listed["presets"]][-1] == "Clips in a folder"

    # The default applies to a request that does not mention a preset...
    job = await admin.submit(media.url("/media/video.mp4"))
    assert job["options"]["folder"] == "clips"
    done = await admin.wait_for(job["id"])
    assert done["filename"].startswith("clips/")
    # ...and "preset": null asks for none.
    plain = await admin.submit(media.url("/media/video.mp4"), preset=None)
    assert plain["options"]["folder"] is None
    await admin.wait_for(plain["id"])

    patched = await client.patch(
        f"/api/admin/presets/{preset['id']}",
        json={"name": "Audio clips", "media_type": "audio", "default": False},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Audio clips"
    assert patched.json()["options"]["folder"] == "clips"  # untouched fields stay
    assert (await presets_of(client))["default"] is None

    cleared = await client.patch(f"/api/admin/presets/{preset['id']}", json={"options": None})
    assert cleared.json()["options"] is None

    taken = await client.patch(
        f"/api/admin/presets/{preset['id']}", json={"name": "audio: MP3 with cover art"}
    )
    assert taken.status_code == 409 and "name" in taken.json()["error"]["message"]

    bad = await client.post(
        "/api/admin/presets",
        json={"name": "Bad", "options": {"subtitles": {"languages": ["??"]}}},
    )
    assert bad.status_code == 422
    assert "options.subtitles.languages" in bad.json()["error"]["message"]
    wrong_format = await client.post(
        "/api/admin/presets", json={"name": "Bad", "media_type": "audio", "output_format": "mp4"}
    )
    assert wrong_format.status_code == 422
    assert "output_format" in wrong_format.json()["error"]["message"]

    assert (await client.delete(f"/api/admin/presets/{preset['id']}")).status_code == 204
    assert (await client.delete(f"/api/admin/presets/{preset['id']}")).status_code == 404
    assert preset["id"] not in {p["id"] for p in (await presets_of(client))["presets"]}


async def test_only_the_admin_changes_presets(app: RunningApp) -> None:
    await set_up(app, app.new_client())  # an admin exists, but this client is not logged in
    for method, path in (
        ("POST", "/api/admin/presets"),
        ("PATCH", "/api/admin/presets/audio-mp3-cover"),
        ("DELETE", "/api/admin/presets/audio-mp3-cover"),
    ):
        response = await app.client.request(method, path, json={"name": "x"})
        assert response.status_code == 401, (method, path, response.text)
    assert len((await presets_of(app.client))["presets"]) == 2


async def test_presets_survive_a_restart(tmp_path: Any) -> None:
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    async with running_app(settings) as app:
        await set_up(app)
        made = await app.client.post(
            "/api/admin/presets", json={"name": "Kept", "quality": "720", "default": True}
        )
        assert made.status_code == 201, made.text
    async with running_app(settings) as app:
        listed = await presets_of(app.client)
        assert listed["default"] == made.json()["id"]
        assert any(p["name"] == "Kept" and p["quality"] == "720" for p in listed["presets"])
