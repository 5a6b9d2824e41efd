"""Attacks on the running server: SSRF, path traversal, cross-site requests, proxies, floods.

Each test plays the attacker against the real server and checks that nothing leaks, nothing is
read or written outside the downloads folder, and the refusal says clearly why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, open_events, running_app

STRICT = {"MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS": "false"}

SSRF_URLS = [
    "http://127.0.0.1/",
    "http://127.0.0.1:8000/api/health",
    "http://localhost/",
    "http://localhost./",
    "http://sub.localhost/",
    "http://[::1]/",
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://127.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[fe80::1]/",
    "http://192.168.0.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://127.0.0.1:8000/x",  # (with user:pass@ it is refused earlier: credentials)
]


@pytest.mark.parametrize("url", SSRF_URLS)
async def test_private_addresses_are_refused_for_downloads_and_previews(
    tmp_path: Path, url: str
) -> None:
    async with running_app(make_settings(tmp_path, STRICT)) as app:
        for response in (
            await app.client.post("/api/downloads", json={"url": url}),
            await app.client.post("/api/url-info", json={"url": url}),
            await app.client.get("/api/formats", params={"url": url}),
        ):
            assert response.status_code == 400, (url, response.text)
            error = response.json()["error"]
            assert error["code"] == "blocked_address"
            assert "allow_private_networks" in error["message"]
        assert (await app.client.get("/api/downloads")).json()["jobs"] == []


@pytest.fixture(scope="module")
def second_media(media_dir: Path) -> Iterator[MediaServer]:
    """Another media server on another loopback address: the redirect's private target."""
    with MediaServer(media_dir, host="127.0.0.2") as server:
        yield server


async def test_a_redirect_to_a_private_address_is_refused(
    tmp_path: Path, media: MediaServer, second_media: MediaServer
) -> None:
    # The first server stands for a public site (allow-listed); it redirects to a private one.
    settings = make_settings(
        tmp_path, {**STRICT, "MEDIARIP__DOWNLOADS__PRIVATE_ALLOWLIST": "127.0.0.1/32"}
    )
    target = second_media.url("/media/video.mp4")
    async with running_app(settings) as app:
        await app.client.get(second_media.url("/_requests?clear"))
        ok = await app.submit(media.url("/media/video.mp4"))
        assert (await app.wait_for(ok["id"]))["status"] == "completed"  # the allow-list works
        job = await app.submit(media.url(f"/redirect?to={target}"))
        done = await app.wait_for(job["id"])
        assert done["status"] == "failed"
        assert done["error"]["code"] == "blocked_address"
        assert "127.0.0.2" in done["error"]["message"]
        info = await app.client.post(
            "/api/url-info", json={"url": media.url(f"/redirect?to={target}")}
        )
        assert info.status_code == 400 and info.json()["error"]["code"] == "blocked_address"
    # The private server never saw a request for its media (only our own /_requests calls).
    async with httpx.AsyncClient() as client:
        seen = (await client.get(second_media.url("/_requests"))).json()
    assert [r["path"] for r in seen if not r["path"].startswith("/_requests")] == []


# -- path traversal -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/downloads/..%2F..%2F..%2Fetc%2Fpasswd/file",
        "/api/downloads/%2e%2e/file",
        "/api/downloads/../../etc/passwd",
        "/assets/..%2F..%2Fpyproject.toml",
        "/..%2F..%2Fpyproject.toml",
        "/assets/%2e%2e/%2e%2e/pyproject.toml",
        "/%2e%2e/%2e%2e/etc/passwd",
    ],
)
async def test_traversal_in_urls_reads_nothing_outside(app: RunningApp, path: str) -> None:
    response = await app.client.get(path)
    assert b"[project]" not in response.content
    assert b"root:" not in response.content
    assert response.status_code in (200, 404, 503)  # 200/503: the web app's own page, nothing else
    if response.status_code == 200:
        assert response.headers["content-type"].startswith("text/html")


async def test_a_finished_file_swapped_for_a_symlink_is_not_served(
    app: RunningApp, media: MediaServer, tmp_path: Path
) -> None:
    job = await app.submit(media.url("/media/video.mp4"))
    done = await app.wait_for(job["id"])
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    path = app.downloads_dir / done["filename"]
    path.unlink()
    path.symlink_to(secret)
    response = await app.client.get(f"/api/downloads/{job['id']}/file")
    assert response.status_code == 404
    assert b"top secret" not in response.content


async def test_a_symlinked_folder_in_downloads_cannot_redirect_writes(
    tmp_path: Path, media: MediaServer
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    settings = make_settings(
        tmp_path, {"MEDIARIP__DOWNLOADS__SOURCE_TEMPLATES": '{"*": "evil/%(title)s.%(ext)s"}'}
    )
    async with running_app(settings) as app:
        (app.downloads_dir / "evil").symlink_to(outside)
        job = await app.submit(media.url("/media/video.mp4"))
        done = await app.wait_for(job["id"])
        assert done["status"] == "failed"
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    "template",
    ["../x.%(ext)s", "/etc/x.%(ext)s", "~/x.%(ext)s", "a/../../x.%(ext)s", "..\\\\x.%(ext)s"],
)
def test_templates_that_leave_the_folder_stop_startup(tmp_path: Path, template: str) -> None:
    from mediarip.config import ConfigError

    with pytest.raises(ConfigError, match="source_templates"):
        make_settings(tmp_path, {"MEDIARIP__DOWNLOADS__SOURCE_TEMPLATES": f'{{"*": "{template}"}}'})


# -- cross-site requests, proxies, floods -----------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1.evil.example"},
    ],
)
async def test_cross_site_changes_are_refused(
    app: RunningApp, media: MediaServer, headers: dict[str, str]
) -> None:
    job = await app.submit(media.url("/media/video.mp4"))
    await app.wait_for(job["id"])
    attempts = [
        app.client.post(
            "/api/downloads", json={"url": media.url("/media/video.mp4")}, headers=headers
        ),
        app.client.delete(f"/api/downloads/{job['id']}", headers=headers),
        app.client.post(f"/api/downloads/{job['id']}/retry", headers=headers),
        app.client.delete("/api/cookies", headers=headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "cross_site"
    assert len((await app.client.get("/api/downloads")).json()["jobs"]) == 1


async def test_same_origin_browser_requests_pass(app: RunningApp, media: MediaServer) -> None:
    headers = {"Sec-Fetch-Site": "same-origin", "Origin": app.base_url}
    response = await app.client.post(
        "/api/downloads", json={"url": media.url("/media/video.mp4")}, headers=headers
    )
    assert response.status_code == 201


async def test_forwarded_headers_are_ignored_from_untrusted_peers(app: RunningApp) -> None:
    response = await app.client.get("/api/config/public", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in response.headers["set-cookie"].lower()
    assert "strict-transport-security" not in response.headers


async def test_forwarded_headers_are_honoured_from_a_trusted_proxy(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__SERVER__TRUSTED_PROXIES": "127.0.0.1/32"})
    async with running_app(settings) as app:
        response = await app.client.get(
            "/api/config/public",
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
        )
        assert "secure" in response.headers["set-cookie"].lower()
        assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_job_creation_is_rate_limited_per_session(tmp_path: Path, media: MediaServer) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__DOWNLOADS__MAX_JOBS_PER_MINUTE": "3"})
    async with running_app(settings) as app:
        for _ in range(3):
            await app.submit(media.url("/fail/404"))
        response = await app.client.post("/api/downloads", json={"url": media.url("/fail/404")})
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        assert "a minute" in response.json()["error"]["message"]
        # Another browser is not held back by the first one's flood.
        async with app.new_client() as other:
            assert (
                await other.post("/api/downloads", json={"url": media.url("/fail/404")})
            ).status_code == 201


# -- headers everywhere --------------------------------------------------------------------------


def _assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_security_headers_on_html_json_sse_and_files(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url("/media/video.mp4"))
    await app.wait_for(job["id"])
    for path in (
        "/",
        "/some/client/route",
        "/api/health",
        "/api/nope",
        f"/api/downloads/{job['id']}/file",
    ):
        _assert_security_headers(await app.client.get(path))
    async with open_events(app.client) as events:
        _assert_security_headers(events.response)


# -- odd bodies and requests ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "levels deep", id="deep-arrays"),
        pytest.param(
            b'{"url": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_001, "levels deep", id="deep"
        ),
        pytest.param(b'{"url": "https://example.com/\\ud800"}', "body.url", id="lone-surrogate"),
        pytest.param(b'{"url": "https://example.com/\xff"}', "not UTF-8", id="not-utf8"),
        pytest.param('{"url": "https://example.com/"}'.encode("utf-16"), "not UTF-8", id="utf16"),
    ],
)
async def test_odd_json_bodies_get_a_400_that_names_the_problem(
    app: RunningApp, body: bytes, words: str
) -> None:
    for path in ("/api/downloads", "/api/url-info", "/api/downloads/batch"):
        response = await app.client.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        assert words in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        pytest.param({"url": {"href": "https://example.com/"}}, "url", id="nested-url"),
        pytest.param({"url": [["https://example.com/"]]}, "url", id="list-url"),
        pytest.param({"url": "https://me:secret@example.com/v"}, "cookies", id="credentials"),
        pytest.param({"url": "https://me@example.com/v"}, "cookies", id="user-only"),
        pytest.param(
            {"url": "https://example.com/list", "playlist_items": "1-99999"},
            "at most 10,000",
            id="items",
        ),
        pytest.param(
            {"url": "https://example.com/list", "playlist_items": "9-2"}, "9-2", id="backwards"
        ),
    ],
)
async def test_requests_that_cannot_be_run_as_given_are_refused_at_once(
    app: RunningApp, fields: dict[str, object], words: str
) -> None:
    response = await app.client.post("/api/downloads", json=fields)
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert words in message and "secret" not in message
    assert (await app.client.get("/api/downloads")).json()["jobs"] == []


async def test_a_request_with_both_content_length_and_transfer_encoding_closes_the_connection(
    app: RunningApp,
) -> None:
    host, port = app.base_url.removeprefix("http://").split(":")
    stream = await trio.open_tcp_stream(host, int(port))
    body = b'{"url": "https://example.com/x"}'
    await stream.send_all(
        b"POST /api/url-info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
        % (len(body), len(body), body)
    )
    answer = b""
    with trio.fail_after(10):
        while chunk := await stream.receive_some():
            answer += chunk
    # The server answered and then closed (receive_some returned b"").
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"ambiguous_framing" in answer
    await stream.aclose()
