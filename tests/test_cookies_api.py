"""``/api/cookies`` (SPEC §5, §7): a session's cookies.txt, checked, kept private, and used.

The loopback media server records every request it gets (``/_requests``), so whether yt-dlp
really sends an uploaded cookie is observed where it lands, not inferred.
"""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.media import MediaServer
from tests.support import RunningApp, open_events

EXPIRY = 2_000_000_000  # 2033: far enough ahead not to expire during a test


def cookies_txt(value: str, *, domain: str = "127.0.0.1", name: str = "mrip_test") -> bytes:
    return (
        "# Netscape HTTP Cookie File\n"
        "# exported for a test\n"
        "\n"
        f"{domain}\tFALSE\t/\tFALSE\t{EXPIRY}\t{name}\t{value}\n"
        f"#HttpOnly_.example.com\tTRUE\t/\tTRUE\t{EXPIRY}\tother\tsomething\n"
    ).encode()


async def upload(client: httpx.AsyncClient, data: bytes, field: str = "file") -> httpx.Response:
    return await client.post("/api/cookies", files={field: ("cookies.txt", data, "text/plain")})


async def has_cookies(client: httpx.AsyncClient) -> bool:
    response = await client.get("/api/cookies")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"has_cookies"}  # never the contents
    return body["has_cookies"]  # type: ignore[no-any-return]


def data_dir(app: RunningApp) -> Path:
    return Path(app.settings.server.data_dir)


def stored_files(app: RunningApp) -> list[Path]:
    folder = data_dir(app) / "cookies"
    return sorted(folder.glob("*.txt")) if folder.is_dir() else []


def assert_refused(response: httpx.Response, code: str, *words: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] == code, error
    for word in words:
        assert word.lower() in error["message"].lower(), f"{word!r} not in {error['message']!r}"


async def requests_for(media: MediaServer, marker: str) -> list[dict[str, Any]]:
    """What the media server received for paths containing ``marker``."""
    async with httpx.AsyncClient() as client:
        recent = (await client.get(media.url("/_requests"))).json()
    return [r for r in recent if marker in r["path"]]


def cookie_header(request: dict[str, Any]) -> str:
    return next((v for k, v in request["headers"].items() if k.lower() == "cookie"), "")


# -- upload, ask, remove ----------------------------------------------------------------------


async def test_an_uploaded_cookies_txt_is_kept_private_in_the_data_folder(
    app: RunningApp,
) -> None:
    secret = "s3cret-" + uuid.uuid4().hex
    assert await has_cookies(app.client) is False

    response = await upload(app.client, cookies_txt(secret))
    assert response.status_code == 200, response.text
    assert response.json() == {"has_cookies": True}
    assert await has_cookies(app.client) is True

    [path] = stored_files(app)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0  # the folder is private too
    assert secret in path.read_text()
    assert path.parent == data_dir(app) / "cookies"
    assert not any(secret in p.read_text(errors="ignore") for p in _files(app.downloads_dir))


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []


async def test_no_endpoint_gives_the_cookies_back(app: RunningApp) -> None:
    secret = "s3cret-" + uuid.uuid4().hex
    assert (await upload(app.client, cookies_txt(secret))).status_code == 200
    [path] = stored_files(app)
    relative = path.relative_to(data_dir(app)).as_posix()
    for url in (
        "/api/cookies",
        "/api/downloads",
        "/api/health",
        "/api/config/public",
        "/api/openapi.json",
        f"/{relative}",
        f"/data/{relative}",
        f"/api/{relative}",
        f"/api/downloads/{path.stem}",
        f"/api/downloads/{path.stem}/file",
        f"/%2e%2e/{data_dir(app).name}/{relative}",
        f"/assets/..%2f..%2f{relative}",
    ):
        response = await app.client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        assert secret not in response.text, url
        assert "mrip_test" not in response.text, url
    async with open_events(app.client) as events:
        _, init = await events.next()
        assert secret not in json.dumps(init)


async def test_removing_the_cookies_deletes_the_file(app: RunningApp) -> None:
    assert (await upload(app.client, cookies_txt("gone-soon"))).status_code == 200
    assert stored_files(app)
    response = await app.client.delete("/api/cookies")
    assert response.status_code == 204
    assert response.content == b""
    assert await has_cookies(app.client) is False
    assert stored_files(app) == []
    # Removing what is not there is not an error.
    assert (await app.client.delete("/api/cookies")).status_code == 204


async def test_a_new_upload_replaces_the_previous_cookies(app: RunningApp) -> None:
    assert (await upload(app.client, cookies_txt("first-value"))).status_code == 200
    assert (await upload(app.client, cookies_txt("second-value"))).status_code == 200
    [path] = stored_files(app)
    text = path.read_text()
    assert "second-value" in text and "first-value" not in text


# -- invalid uploads --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(
            b"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\tname\tvalue\n",
            ("line 2", "7", "fields"),
            id="six-fields",
        ),
        pytest.param(b"session=abc; Path=/; HttpOnly\n", ("line 1", "7"), id="a-set-cookie-line"),
        pytest.param(
            b"127.0.0.1\tMAYBE\t/\tFALSE\t0\tname\tvalue\n", ("TRUE", "FALSE"), id="bad-flag"
        ),
        pytest.param(
            b"127.0.0.1\tFALSE\t/\tFALSE\tsoon\tname\tvalue\n", ("expiry",), id="bad-expiry"
        ),
        pytest.param(bytes(range(256)) * 4, ("text",), id="binary-garbage"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ("text",), id="a-png"),
        pytest.param(b"", ("no cookies",), id="empty"),
        pytest.param(b"# Netscape HTTP Cookie File\n\n# nothing\n", ("no cookies",), id="comments"),
    ],
)
async def test_a_file_that_is_not_a_cookies_txt_is_refused_saying_why(
    app: RunningApp, data: bytes, words: tuple[str, ...]
) -> None:
    response = await upload(app.client, data)
    assert_refused(response, "invalid_cookies", *words)
    assert await has_cookies(app.client) is False
    assert stored_files(app) == []


async def test_a_cookies_txt_over_1_mib_is_refused(app: RunningApp) -> None:
    line = f"127.0.0.1\tFALSE\t/\tFALSE\t{EXPIRY}\tname\t{'v' * 200}\n".encode()
    data = line * (1024 * 1024 // len(line) + 1)
    assert 1024 * 1024 < len(data) < 2 * 1024 * 1024
    response = await upload(app.client, data)
    assert_refused(response, "invalid_cookies", "larger", "KiB")
    assert await has_cookies(app.client) is False


async def test_an_upload_without_the_file_field_is_refused_naming_it(app: RunningApp) -> None:
    response = await upload(app.client, cookies_txt("x"), field="cookies")
    assert_refused(response, "invalid_request", "file")
    no_body = await app.client.post("/api/cookies")
    assert_refused(no_body, "invalid_request", "file")
    assert await has_cookies(app.client) is False


async def test_a_bad_upload_leaves_the_previous_cookies_in_place(app: RunningApp) -> None:
    assert (await upload(app.client, cookies_txt("keep-me"))).status_code == 200
    [path] = stored_files(app)
    before = path.read_bytes()
    assert_refused(await upload(app.client, b"not a cookie file\n"), "invalid_cookies")
    assert await has_cookies(app.client) is True
    assert path.read_bytes() == before


# -- sessions ---------------------------------------------------------------------------------


async def test_another_browser_does_not_get_or_remove_my_cookies(app: RunningApp) -> None:
    assert (await upload(app.client, cookies_txt("mine-only"))).status_code == 200
    async with app.new_client() as other:
        assert await has_cookies(other) is False
        assert (await other.delete("/api/cookies")).status_code == 204
        assert await has_cookies(other) is False
    assert await has_cookies(app.client) is True
    assert len(stored_files(app)) == 1


# -- the cookie is really used ----------------------------------------------------------------


async def test_a_download_sends_the_uploaded_cookie_to_the_site(
    app: RunningApp, media: MediaServer
) -> None:
    secret = "v" + uuid.uuid4().hex
    assert (await upload(app.client, cookies_txt(secret))).status_code == 200
    [stored] = stored_files(app)
    original = stored.read_bytes()

    marker = uuid.uuid4().hex
    job = await app.submit(media.url(f"/media/video.mp4?mine={marker}"))
    done = await app.wait_for(job["id"])
    assert done["status"] == "completed", done["error"]
    seen = await requests_for(media, marker)
    assert seen, "the media server saw no request for the job"
    assert all(f"mrip_test={secret}" in cookie_header(r) for r in seen), seen
    assert all("other=" not in cookie_header(r) for r in seen)  # not for 127.0.0.1

    # Another browser's download carries no cookie of ours.
    other_marker = uuid.uuid4().hex
    async with app.new_client() as other:
        theirs = await app.submit(media.url(f"/media/video.mp4?theirs={other_marker}"), other)
        assert (await app.wait_for(theirs["id"], client=other))["status"] == "completed"
    seen_other = await requests_for(media, other_marker)
    assert seen_other
    assert all(secret not in cookie_header(r) for r in seen_other), seen_other

    # yt-dlp's own writes to its cookie jar never touch the stored file, and no copy is left.
    assert stored.read_bytes() == original
    assert not any(secret in p.read_text(errors="ignore") for p in _files(app.downloads_dir))


async def test_a_url_preview_sends_the_uploaded_cookie_too(
    app: RunningApp, media: MediaServer
) -> None:
    secret = "p" + uuid.uuid4().hex
    assert (await upload(app.client, cookies_txt(secret))).status_code == 200
    marker = uuid.uuid4().hex
    response = await app.client.post(
        "/api/url-info", json={"url": media.url(f"/media/video.mp4?probe={marker}")}
    )
    assert response.status_code == 200, response.text
    seen = await requests_for(media, marker)
    assert seen and all(f"mrip_test={secret}" in cookie_header(r) for r in seen), seen

    assert (await app.client.delete("/api/cookies")).status_code == 204
    after = uuid.uuid4().hex
    response = await app.client.post(
        "/api/url-info", json={"url": media.url(f"/media/video.mp4?probe={after}")}
    )
    assert response.status_code == 200, response.text
    seen_after = await requests_for(media, after)
    assert seen_after and all(secret not in cookie_header(r) for r in seen_after)
