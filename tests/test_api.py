"""The HTTP API of SPEC §5, endpoint by endpoint, as a client of it sees it.

Every test talks to the real server over HTTP. Good input gets the documented answer; bad input
gets the right 4xx with ``{"error": {"code", "message"}}`` whose message names what is wrong,
never a 500 and never the SPA's HTML.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from mediarip.api import create_app
from mediarip.api.openapi import api_routes
from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, running_app, work_folder

JOB_FIELDS = {
    "id",
    "subscription_id",
    "via_api",
    "kind",
    "parent_id",
    "url",
    "title",
    "thumbnail",
    "status",
    "media_type",
    "format_id",
    "quality",
    "output_format",
    "progress",
    "downloaded_bytes",
    "total_bytes",
    "speed",
    "eta",
    "filename",
    "filesize",
    "error",
    "created_at",
    "started_at",
    "finished_at",
    "options",
    "files",
}
HEALTH_FIELDS = {
    "status",
    "version",
    "yt_dlp_version",
    "ffmpeg_version",
    "uptime_s",
    "queue_depth",
    "active",
}
# 96 KiB at 16 KiB/s: about six seconds, long enough to act on a running job.
SLOW_VIDEO = "/slow/16000/video.mp4"


def assert_error(
    response: httpx.Response, status: int, code: str | None = None, *mentions: str
) -> dict[str, str]:
    """The response is a JSON error of ``status`` (and ``code``) whose message says ``mentions``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message"}, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body
    if code is not None:
        assert error["code"] == code, body
    for word in mentions:
        assert word.lower() in error["message"].lower(), f"{word!r} not in {error['message']!r}"
    return error  # type: ignore[no-any-return]


def parse_time(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    assert moment.utcoffset() == dt.timedelta(0), value
    return moment


async def completed_job(app: RunningApp, media: MediaServer, path: str) -> dict[str, Any]:
    job = await app.submit(media.url(path))
    done = await app.wait_for(job["id"])
    assert done["status"] == "completed", done["error"]
    return done


async def failed_job(app: RunningApp, media: MediaServer) -> dict[str, Any]:
    job = await app.submit(media.url("/fail/404"))
    done = await app.wait_for(job["id"])
    assert done["status"] == "failed"
    return done


def walk_refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from walk_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_refs(item)


# -- POST /api/downloads ----------------------------------------------------------------------


async def test_a_new_download_answers_201_with_the_whole_job(
    app: RunningApp, media: MediaServer
) -> None:
    url = media.url("/media/video.mp4")
    response = await app.client.post(
        "/api/downloads", json={"url": url, "media_type": "video", "output_format": "mp4"}
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    job = response.json()
    assert set(job) == JOB_FIELDS  # every field present, nothing private (no session_id)
    assert "session_id" not in response.text
    assert uuid.UUID(job["id"]).version == 4
    assert job["kind"] == "single"
    assert job["parent_id"] is None
    assert job["url"] == url
    assert job["status"] == "queued"
    assert job["media_type"] == "video"
    assert job["output_format"] == "mp4"
    assert job["format_id"] is None and job["quality"] is None
    assert job["progress"] == 0
    assert job["error"] is None and job["filename"] is None and job["finished_at"] is None
    created = parse_time(job["created_at"])
    assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 60

    done = await app.wait_for(job["id"])
    assert done["status"] == "completed", done["error"]
    assert set(done) == JOB_FIELDS
    assert done["progress"] == 100
    assert parse_time(done["started_at"]) <= parse_time(done["finished_at"])


async def test_audio_with_an_audio_output_format_is_accepted(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(
        media.url("/media/audio.m4a"), media_type="audio", output_format="m4a", quality="best"
    )
    assert (job["media_type"], job["output_format"], job["quality"]) == ("audio", "m4a", "best")


async def test_a_download_without_a_body_is_refused_as_400(app: RunningApp) -> None:
    response = await app.client.post("/api/downloads")
    assert_error(response, 400, None, "json")


async def test_a_download_with_broken_json_is_refused_as_400(app: RunningApp) -> None:
    response = await app.client.post(
        "/api/downloads", content=b'{"url": ', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_json", "json")


async def test_a_download_whose_body_is_a_json_array_is_refused(app: RunningApp) -> None:
    response = await app.client.post("/api/downloads", json=[{"url": "https://example.com/v"}])
    assert_error(response, 400, "invalid_json", "object")


async def test_a_download_without_a_url_says_the_url_is_required(app: RunningApp) -> None:
    response = await app.client.post("/api/downloads", json={"media_type": "video"})
    assert_error(response, 422, "invalid_request", "url")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"url": "ftp://example.com/video.mp4"}, "url", id="ftp-url"),
        pytest.param({"url": "https://example.com/" + "a" * 3000}, "url", id="3000-char-url"),
        pytest.param({"url": 42}, "url", id="url-not-a-string"),
        pytest.param(
            {"url": "https://example.com/v", "media_type": "gif"}, "media_type", id="media-type"
        ),
        pytest.param(
            {"url": "https://example.com/v", "output_format": "mp3"},
            "output_format",
            id="mp3-for-video",
        ),
        pytest.param(
            {"url": "https://example.com/v", "media_type": "audio", "output_format": "mkv"},
            "output_format",
            id="mkv-for-audio",
        ),
        pytest.param(
            {"url": "https://example.com/v", "playlist_items": "1-x"},
            "playlist_items",
            id="playlist-items",
        ),
        pytest.param({"url": "https://example.com/v", "quality": "high"}, "quality", id="quality"),
        pytest.param(
            {"url": "https://example.com/v", "format_id": "best; rm -rf"},
            "format_id",
            id="format-id",
        ),
        pytest.param({"url": "https://example.com/v", "colour": "red"}, "colour", id="extra-field"),
    ],
)
async def test_a_bad_download_field_is_refused_with_a_message_naming_it(
    app: RunningApp, body: dict[str, Any], field: str
) -> None:
    response = await app.client.post("/api/downloads", json=body)
    assert_error(response, 422, "invalid_request", field)
    listing = await app.client.get("/api/downloads")
    assert listing.json() == {"jobs": []}  # nothing was created


async def test_a_download_from_loopback_is_refused_when_private_networks_are_off(
    tmp_path: Path, media: MediaServer
) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS": "false"})
    async with running_app(settings) as app:
        response = await app.client.post(
            "/api/downloads", json={"url": media.url("/media/video.mp4")}
        )
        assert_error(response, 400, "blocked_address", "127.0.0.1")
        assert (await app.client.get("/api/downloads")).json() == {"jobs": []}
        probe = await app.client.post("/api/url-info", json={"url": media.url("/media/video.mp4")})
        assert_error(probe, 400, "blocked_address", "127.0.0.1")


# -- GET /api/downloads -----------------------------------------------------------------------


async def test_the_job_list_is_newest_first_and_filters_and_pages(
    app: RunningApp, media: MediaServer
) -> None:
    first = await completed_job(app, media, "/media/video.mp4")
    second = await completed_job(app, media, "/media/audio.m4a")
    third = await failed_job(app, media)

    response = await app.client.get("/api/downloads")
    assert response.status_code == 200
    jobs = response.json()["jobs"]
    assert [j["id"] for j in jobs] == [third["id"], second["id"], first["id"]]
    assert all(set(j) == JOB_FIELDS for j in jobs)

    completed = (await app.client.get("/api/downloads", params={"status": "completed"})).json()
    assert [j["id"] for j in completed["jobs"]] == [second["id"], first["id"]]
    failed = (await app.client.get("/api/downloads", params={"status": "failed"})).json()
    assert [j["id"] for j in failed["jobs"]] == [third["id"]]
    both = await app.client.get("/api/downloads", params={"status": "failed,completed"})
    assert len(both.json()["jobs"]) == 3

    newest = (await app.client.get("/api/downloads", params={"limit": "1"})).json()
    assert [j["id"] for j in newest["jobs"]] == [third["id"]]
    older = await app.client.get("/api/downloads", params={"before": third["id"]})
    assert [j["id"] for j in older.json()["jobs"]] == [second["id"], first["id"]]
    page = await app.client.get("/api/downloads", params={"before": second["id"], "limit": "1"})
    assert [j["id"] for j in page.json()["jobs"]] == [first["id"]]
    last = await app.client.get("/api/downloads", params={"before": first["id"]})
    assert last.json() == {"jobs": []}


async def test_an_unknown_status_filter_is_refused_naming_the_parameter(app: RunningApp) -> None:
    response = await app.client.get("/api/downloads", params={"status": "bogus"})
    error = assert_error(response, 422, "invalid_request", "status", "bogus")
    assert "completed" in error["message"]  # says what would have been valid


@pytest.mark.parametrize("limit", ["0", "abc", "-1", "1001"])
async def test_a_bad_limit_is_refused_naming_the_parameter(app: RunningApp, limit: str) -> None:
    response = await app.client.get("/api/downloads", params={"limit": limit})
    assert_error(response, 422, "invalid_request", "limit")


# -- GET /api/downloads/{id} ------------------------------------------------------------------


async def test_an_unknown_job_is_a_json_404(app: RunningApp) -> None:
    for job_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = await app.client.get(f"/api/downloads/{job_id}")
        assert_error(response, 404, "job_not_found", "job")


async def test_a_job_can_be_fetched_by_id(app: RunningApp, media: MediaServer) -> None:
    job = await app.submit(media.url("/media/audio.m4a"), media_type="audio")
    response = await app.client.get(f"/api/downloads/{job['id']}")
    assert response.status_code == 200
    assert set(response.json()) == JOB_FIELDS
    assert response.json()["id"] == job["id"]
    await app.wait_for(job["id"])


# -- cancel, retry ----------------------------------------------------------------------------


async def test_cancelling_or_retrying_a_completed_job_is_a_409_that_says_why(
    app: RunningApp, media: MediaServer
) -> None:
    done = await completed_job(app, media, "/media/video.mp4")
    cancel = await app.client.post(f"/api/downloads/{done['id']}/cancel")
    assert_error(cancel, 409, None, "completed")
    retry = await app.client.post(f"/api/downloads/{done['id']}/retry")
    assert_error(retry, 409, None, "completed")
    assert await app.job(done["id"]) == done  # nothing changed
    assert (app.downloads_dir / done["filename"]).is_file()


async def test_cancel_and_retry_of_an_unknown_job_are_404(app: RunningApp) -> None:
    missing = str(uuid.uuid4())
    for action in ("cancel", "retry"):
        response = await app.client.post(f"/api/downloads/{missing}/{action}")
        assert_error(response, 404, "job_not_found")


async def test_a_failed_job_retried_goes_back_to_queued_and_fails_the_same_way(
    app: RunningApp, media: MediaServer
) -> None:
    failed = await failed_job(app, media)
    assert failed["error"]["code"] == "not_found"
    assert failed["error"]["message"]
    assert failed["finished_at"] is not None

    response = await app.client.post(f"/api/downloads/{failed['id']}/retry")
    assert response.status_code == 200, response.text
    retried = response.json()
    assert retried["id"] == failed["id"]
    assert retried["status"] == "queued"
    assert retried["error"] is None and retried["finished_at"] is None

    again = await app.wait_for(failed["id"])
    assert again["status"] == "failed"
    assert again["error"] == failed["error"]


async def test_a_running_job_can_be_cancelled_and_then_retried(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url(SLOW_VIDEO))
    await app.wait_for(job["id"], lambda j: j["status"] == "downloading" and j["progress"] > 0)

    not_yet = await app.client.get(f"/api/downloads/{job['id']}/file")
    assert_error(not_yet, 409, None, "downloading")

    response = await app.client.post(f"/api/downloads/{job['id']}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert not work_folder(app, job["id"]).exists()  # partial files are gone
    assert (await app.job(job["id"]))["status"] == "cancelled"  # the row stays

    no_file = await app.client.get(f"/api/downloads/{job['id']}/file")
    assert_error(no_file, 409, None, "cancelled")

    retry = await app.client.post(f"/api/downloads/{job['id']}/retry")
    assert retry.status_code == 200, retry.text
    assert retry.json()["status"] == "queued"
    # Deleting a job while it runs stops it and removes it.
    assert (await app.client.delete(f"/api/downloads/{job['id']}")).status_code == 204
    assert_error(await app.client.get(f"/api/downloads/{job['id']}"), 404, "job_not_found")
    assert not work_folder(app, job["id"]).exists()


# -- DELETE -----------------------------------------------------------------------------------


async def test_deleting_a_job_removes_its_file_and_its_row(
    app: RunningApp, media: MediaServer
) -> None:
    done = await completed_job(app, media, "/media/video.mp4")
    path = app.downloads_dir / done["filename"]
    assert path.is_file()

    response = await app.client.delete(f"/api/downloads/{done['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert not path.exists()
    assert_error(await app.client.get(f"/api/downloads/{done['id']}"), 404, "job_not_found")
    assert (await app.client.get("/api/downloads")).json() == {"jobs": []}
    again = await app.client.delete(f"/api/downloads/{done['id']}")
    assert_error(again, 404, "job_not_found")


# -- GET /api/downloads/{id}/file -------------------------------------------------------------


async def test_the_saved_file_is_the_source_as_an_attachment(
    app: RunningApp, media: MediaServer
) -> None:
    done = await completed_job(app, media, "/media/video.mp4")
    source = (media.media_dir / "video.mp4").read_bytes()
    response = await app.client.get(f"/api/downloads/{done['id']}/file")
    assert response.status_code == 200
    assert response.content == source
    assert response.headers["content-type"] == "video/mp4"
    assert int(response.headers["content-length"]) == len(source)
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment")
    name = Path(done["filename"]).name
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_range_of_the_file_is_a_206_with_just_those_bytes(
    app: RunningApp, media: MediaServer
) -> None:
    done = await completed_job(app, media, "/media/video.mp4")
    source = (media.media_dir / "video.mp4").read_bytes()
    response = await app.client.get(
        f"/api/downloads/{done['id']}/file", headers={"Range": "bytes=0-99"}
    )
    assert response.status_code == 206
    assert response.content == source[:100]
    assert response.headers["content-range"] == f"bytes 0-99/{len(source)}"
    assert response.headers["content-length"] == "100"

    tail = await app.client.get(
        f"/api/downloads/{done['id']}/file", headers={"Range": f"bytes={len(source) - 10}-"}
    )
    assert tail.status_code == 206
    assert tail.content == source[-10:]

    past_end = await app.client.get(
        f"/api/downloads/{done['id']}/file", headers={"Range": f"bytes={len(source) + 10}-"}
    )
    assert past_end.status_code == 416


async def test_the_file_of_a_failed_job_is_a_409(app: RunningApp, media: MediaServer) -> None:
    failed = await failed_job(app, media)
    response = await app.client.get(f"/api/downloads/{failed['id']}/file")
    assert_error(response, 409, None, "failed")


async def test_a_file_removed_from_disk_behind_the_servers_back_is_a_404(
    app: RunningApp, media: MediaServer
) -> None:
    done = await completed_job(app, media, "/media/video.mp4")
    (app.downloads_dir / done["filename"]).unlink()
    response = await app.client.get(f"/api/downloads/{done['id']}/file")
    assert_error(response, 404, None, "file")


async def test_the_file_of_an_unknown_job_is_a_404(app: RunningApp) -> None:
    response = await app.client.get(f"/api/downloads/{uuid.uuid4()}/file")
    assert_error(response, 404, "job_not_found")


# -- POST /api/url-info -----------------------------------------------------------------------


async def test_url_info_describes_a_single_video(app: RunningApp, media: MediaServer) -> None:
    response = await app.client.post("/api/url-info", json={"url": media.url("/media/video.mp4")})
    assert response.status_code == 200, response.text
    info = response.json()
    assert set(info) >= {
        "type",
        "title",
        "duration",
        "thumbnail",
        "uploader",
        "is_audio_only",
        "count",
        "entries",
    }
    assert info["type"] == "single"
    assert info["title"] == "video"
    # yt-dlp does not read a bare file's duration; it is null then, never a wrong number.
    assert info["duration"] is None or info["duration"] == pytest.approx(6, abs=0.5)
    assert info["is_audio_only"] is False
    assert info["count"] == 1
    assert info["entries"] == []


async def test_url_info_gives_the_duration_of_an_hls_stream(
    app: RunningApp, media: MediaServer
) -> None:
    response = await app.client.post(
        "/api/url-info", json={"url": media.url("/media/hls/index.m3u8")}
    )
    assert response.status_code == 200, response.text
    info = response.json()
    assert (info["type"], info["title"]) == ("single", "index")
    assert info["duration"] == pytest.approx(8, abs=0.5)
    assert info["is_audio_only"] is False


async def test_url_info_says_an_m4a_is_audio_only(app: RunningApp, media: MediaServer) -> None:
    response = await app.client.post("/api/url-info", json={"url": media.url("/media/audio.m4a")})
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["type"] == "single"
    assert info["is_audio_only"] is True


async def test_url_info_lists_a_feeds_items(app: RunningApp, media: MediaServer) -> None:
    response = await app.client.post("/api/url-info", json={"url": media.url("/feed.rss")})
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["type"] == "playlist"
    assert info["title"] == "Mediarip test feed"
    assert info["count"] == 3
    assert [e["index"] for e in info["entries"]] == [1, 2, 3]
    assert [e["title"] for e in info["entries"]] == [
        "Feed item 1 (mp4)",
        "Feed item 2 (webm)",
        "Feed item 3 (m4a)",
    ]
    assert [e["url"] for e in info["entries"]] == [
        media.url("/media/video.mp4"),
        media.url("/media/video.webm"),
        media.url("/media/audio.m4a"),
    ]
    assert all(set(e) >= {"index", "title", "url", "duration"} for e in info["entries"])


async def test_url_info_of_a_missing_page_says_not_found(
    app: RunningApp, media: MediaServer
) -> None:
    response = await app.client.post("/api/url-info", json={"url": media.url("/fail/404")})
    assert_error(response, 422, "not_found", "404")


async def test_url_info_without_a_url_is_422_naming_it(app: RunningApp) -> None:
    for body in ({}, {"url": ""}, {"url": "ftp://example.com/x"}):
        response = await app.client.post("/api/url-info", json=body)
        assert_error(response, 422, "invalid_request", "url")
    extra = await app.client.post(
        "/api/url-info", json={"url": "https://example.com/v", "depth": 2}
    )
    assert_error(extra, 422, "invalid_request", "depth")
    assert_error(await app.client.post("/api/url-info"), 400, None, "json")


# -- GET /api/formats -------------------------------------------------------------------------


async def test_formats_of_a_dash_manifest_list_video_only_and_audio_only(
    app: RunningApp, media: MediaServer
) -> None:
    response = await app.client.get("/api/formats", params={"url": media.url("/media/merge.mpd")})
    assert response.status_code == 200, response.text
    formats = {f["format_id"]: f for f in response.json()["formats"]}
    fields = {
        "format_id",
        "ext",
        "resolution",
        "height",
        "fps",
        "vcodec",
        "acodec",
        "filesize",
        "tbr",
        "note",
    }
    assert all(set(f) == fields for f in formats.values())
    video, audio = formats["video-h264"], formats["audio-aac"]
    assert video["acodec"] == "none" and video["vcodec"].startswith("avc1")
    assert video["height"] == 240
    assert audio["vcodec"] == "none" and audio["acodec"].startswith("mp4a")


async def test_formats_without_a_url_is_422_naming_it(app: RunningApp) -> None:
    response = await app.client.get("/api/formats")
    assert_error(response, 422, "invalid_request", "url")


# -- health, public config, OpenAPI ---------------------------------------------------------


async def test_health_reports_versions_and_the_queue(app: RunningApp) -> None:
    response = await app.client.get("/api/health")
    assert response.status_code == 200
    health = response.json()
    assert set(health) >= HEALTH_FIELDS
    assert health["status"] == "ok"
    assert isinstance(health["version"], str) and health["version"]
    assert re.match(r"^\d{4}\.\d", health["yt_dlp_version"])
    assert isinstance(health["ffmpeg_version"], str) and health["ffmpeg_version"]
    assert isinstance(health["uptime_s"], int | float) and health["uptime_s"] >= 0
    assert health["queue_depth"] == 0 and health["active"] == 0


async def test_health_counts_a_running_download(app: RunningApp, media: MediaServer) -> None:
    job = await app.submit(media.url(SLOW_VIDEO))
    await app.wait_for(job["id"], lambda j: j["status"] == "downloading")
    health = (await app.client.get("/api/health")).json()
    assert health["active"] == 1 and health["queue_depth"] == 0
    await app.client.post(f"/api/downloads/{job['id']}/cancel")


async def test_public_config_gives_no_secrets(tmp_path: Path) -> None:
    password = "Hunter2-correct-horse-battery"
    api_key = "k3y-" + uuid.uuid4().hex
    settings = make_settings(
        tmp_path,
        {"MEDIARIP__ADMIN__PASSWORD": password, "MEDIARIP__SERVER__API_KEY": api_key},
    )
    async with running_app(settings) as app:
        response = await app.client.get("/api/config/public")
        assert response.status_code == 200
        config = response.json()
        assert config["session_mode"] == "isolated"
        assert config["output_formats"] == {
            "video": ["mp4", "webm", "mkv"],
            "audio": ["mp3", "m4a", "opus", "flac", "wav"],
        }
        assert password not in response.text
        assert api_key not in response.text
        assert "$2b$" not in response.text  # nor the password's hash
        for name in ("password", "password_hash", "api_key"):
            assert name not in response.text


async def test_the_openapi_document_describes_every_endpoint_and_the_job(
    app: RunningApp,
) -> None:
    response = await app.client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] and document["info"]["version"]
    # The app's own route table, not a copy of it (see also tests/test_openapi.py).
    api_paths = api_routes(create_app(app.handle.services))
    for path, views in api_paths.items():
        methods = set(views)
        assert path in document["paths"], path
        assert set(document["paths"][path]) >= methods, path
        for method in methods:
            assert document["paths"][path][method]["responses"], (path, method)
    schemas = document["components"]["schemas"]
    job = schemas["Job"]
    assert set(job["properties"]) == JOB_FIELDS
    assert set(job["required"]) == JOB_FIELDS
    assert job["properties"]["status"]["enum"] == [
        "queued",
        "extracting",
        "downloading",
        "postprocessing",
        "completed",
        "failed",
        "cancelled",
        "paused",
    ]
    assert "url" in schemas["NewJob"]["required"]
    for ref in walk_refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref


# -- the API as a whole -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/nope"),
        ("GET", "/api"),
        ("GET", "/api/downloads/x/y/z"),
        ("POST", "/api/nope"),
        ("DELETE", "/api/nope"),
    ],
)
async def test_an_unknown_api_path_is_a_json_404_not_the_web_app(
    app: RunningApp, method: str, path: str
) -> None:
    response = await app.client.request(method, path)
    assert_error(response, 404, "not_found", path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/downloads"),
        ("PATCH", "/api/health"),
        ("DELETE", "/api/url-info"),
        ("GET", "/api/url-info"),
        ("GET", "/api/downloads/0b0e7c1e-5d55-4a55-9d0e-8d1b2c3d4e5f/cancel"),
    ],
)
async def test_a_wrong_method_on_a_real_endpoint_is_a_json_405(
    app: RunningApp, method: str, path: str
) -> None:
    response = await app.client.request(method, path)
    assert_error(response, 405, "method_not_allowed", method)


async def test_json_responses_carry_the_security_headers(
    app: RunningApp, media: MediaServer
) -> None:
    responses = [
        await app.client.get("/api/health"),
        await app.client.get("/api/nope"),
        await app.client.post("/api/downloads", json={"url": media.url("/media/audio.m4a")}),
        await app.client.post("/api/downloads", json={}),
    ]
    for response in responses:
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in headers  # plain http
    await app.wait_for(responses[2].json()["id"])


async def test_a_body_over_2_mib_is_a_json_413(app: RunningApp) -> None:
    padding = "x" * (2 * 1024 * 1024 + 1)
    body = b'{"url": "https://example.com/' + padding.encode() + b'"}'
    response = await app.client.post(
        "/api/downloads", content=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "body_too_large")
    # The connection stays usable (or is closed): the next request is answered promptly.
    try:
        listing = await app.client.get("/api/downloads", timeout=5)
    except httpx.ReadTimeout:
        pytest.fail("after the 413 the kept-alive connection hangs: the next request never ends")
    assert listing.json() == {"jobs": []}
