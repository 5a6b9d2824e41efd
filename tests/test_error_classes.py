"""Errors that say what happened: each kind produced for real against the loopback media server,
at preview time (``POST /api/url-info``, no job exists) and at download time (a failed job)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, running_app


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that refuses connections: bound (so nobody else gets it) but never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def _preview_refused(app: RunningApp, url: str) -> dict[str, str]:
    response = await app.client.post("/api/url-info", json={"url": url})
    assert response.status_code == 422, response.text
    error: dict[str, str] = response.json()["error"]
    assert "Traceback" not in error["message"] and len(error["message"]) < 400
    # No job exists at preview time: nothing may tell the person to retry one.
    assert "the job" not in error["message"].lower(), error
    return error


async def _failed(app: RunningApp, url: str) -> dict[str, object]:
    job = await app.submit(url)
    done = await app.wait_for(job["id"])
    assert done["status"] == "failed", done
    assert "Traceback" not in done["error"]["message"]
    return done


async def test_a_page_without_media_is_refused_at_preview_as_no_media(
    app: RunningApp, media: MediaServer
) -> None:
    error = await _preview_refused(app, media.url("/plain.html"))
    assert error["code"] == "no_media"
    assert "No video or audio" in error["message"]


async def test_a_json_document_is_no_media_at_preview_and_at_download(
    app: RunningApp, media: MediaServer
) -> None:
    error = await _preview_refused(app, media.url("/data.json"))
    assert error["code"] == "no_media"
    assert "JSON document" in error["message"]
    formats = await app.client.get("/api/formats", params={"url": media.url("/data.json")})
    assert formats.status_code == 422 and formats.json()["error"]["code"] == "no_media"
    done = await _failed(app, media.url("/data.json"))
    assert done["error"]["code"] == "no_media"  # type: ignore[index]
    assert done["progress"] == 0  # refused before downloading, not at 100 % by ffmpeg
    assert not [p for p in app.downloads_dir.rglob("*") if p.is_file()]


async def test_a_closed_port_is_connection_refused_not_a_broken_download(
    app: RunningApp, closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}/video.mp4"
    error = await _preview_refused(app, url)
    assert error["code"] == "connection_refused"
    assert f"127.0.0.1:{closed_port}" in error["message"]
    assert "broke" not in error["message"]
    done = await _failed(app, url)
    assert done["error"]["code"] == "connection_refused"  # type: ignore[index]


async def test_a_missing_page_says_the_http_status(app: RunningApp, media: MediaServer) -> None:
    error = await _preview_refused(app, media.url("/fail/404"))
    assert error["code"] == "not_found" and "HTTP 404" in error["message"]


async def test_https_to_a_plain_http_server_is_a_tls_error(
    app: RunningApp, media: MediaServer
) -> None:
    error = await _preview_refused(app, f"https://127.0.0.1:{media.port}/media/video.mp4")
    assert error["code"] == "tls_error"
    assert "https" in error["message"]


async def test_a_truncated_file_fails_as_a_broken_connection_to_retry(
    app: RunningApp, media: MediaServer
) -> None:
    done = await _failed(app, media.url("/fail/drop/video.webm"))
    assert done["error"]["code"] == "network_error"  # type: ignore[index]
    assert "Retry" in done["error"]["message"]  # type: ignore[index]


async def test_a_silent_server_times_out_at_preview_and_at_download(
    tmp_path: Path, media: MediaServer
) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__DOWNLOADS__SOCKET_TIMEOUT": "2"})
    async with running_app(settings) as app:
        error = await _preview_refused(app, media.url("/stall-page.html"))
        assert error["code"] == "timeout"
        done = await _failed(app, media.url("/stall/video.mp4"))
        assert done["error"]["code"] == "timeout"  # type: ignore[index]


def test_a_name_that_does_not_resolve_is_a_dns_failure() -> None:
    # Resolving a name for real could leave the machine; the text is yt-dlp's own, verbatim.
    from mediarip.engine.errors import describe_failure

    exc = Exception(
        "ERROR: [generic] x: Unable to download webpage: HTTPConnection(host='media.example', "
        "port=80): Failed to resolve 'media.example' ([Errno -2] Name or service not known)"
    )
    exc.__cause__ = socket.gaierror(-2, "Name or service not known")
    error = describe_failure(exc, preview=True)
    assert error.code == "dns_failed"
    assert "media.example could not be found" in error.message
