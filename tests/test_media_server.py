"""Prove the test-media fixture: the server behaves as documented and real yt-dlp accepts it.

Everything else in the suite trusts these routes to be slow, broken or well-formed on purpose, so
the claims are checked here once, with plain sockets where HTTP details matter and with yt-dlp's
own API (never mocked) where its reading of a route matters.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yt_dlp

from tests.media import MediaServer, ensure_media
from tests.media.generate import MANIFEST_NAME
from tests.media.server import FEED_TITLE, PAGE_TITLE, STALL_AFTER

CACHE_DIR = Path(__file__).resolve().parents[1] / ".cache" / "test-media"


@pytest.fixture(scope="session")
def media_dir() -> Path:
    return ensure_media(CACHE_DIR)


@pytest.fixture(scope="module")
def srv(media_dir: Path) -> Iterator[MediaServer]:
    with MediaServer(media_dir) as server:
        yield server


def _conn(srv: MediaServer, timeout: float = 10) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)


def _get(
    srv: MediaServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a fresh connection; returns status, headers and the whole body."""
    conn = _conn(srv)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def _ydl(tmp_path: Path, **params: Any) -> yt_dlp.YoutubeDL:
    """A quiet YoutubeDL writing into ``tmp_path``, failing fast instead of retrying for long."""
    base: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "outtmpl": str(tmp_path / "%(title)s.%(ext)s"),
        "socket_timeout": 10,
        "retries": 1,
        "fragment_retries": 1,
    }
    return yt_dlp.YoutubeDL({**base, **params})


def _stream_types(path: Path) -> list[str]:
    """The codec types (video/audio) ffprobe finds in a file."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(s["codec_type"] for s in json.loads(out)["streams"])


def _only_file(folder: Path) -> Path:
    files = [p for p in folder.iterdir() if p.is_file()]
    assert len(files) == 1, files
    return files[0]


# --- the generated media -------------------------------------------------------------------------


def test_media_is_complete_and_reused(media_dir: Path) -> None:
    manifest = json.loads((media_dir / MANIFEST_NAME).read_text())
    for name in ("video.mp4", "video.webm", "audio.m4a", "audio.mp3", "big.mp4", "long.wav"):
        assert manifest["files"][name] > 10_000, name
    assert 7_000_000 < manifest["files"]["big.mp4"] < 9_500_000
    assert sum(1 for name in manifest["files"] if name.startswith("hls/seg")) >= 6
    assert sum(1 for name in manifest["files"] if name.startswith("hls_big/seg")) >= 25
    started = time.monotonic()
    assert ensure_media(CACHE_DIR) == media_dir
    assert time.monotonic() - started < 1


def test_expected_streams(media_dir: Path) -> None:
    assert _stream_types(media_dir / "video.mp4") == ["audio", "video"]
    assert _stream_types(media_dir / "video.webm") == ["audio", "video"]
    assert _stream_types(media_dir / "video_only.mp4") == ["video"]
    assert _stream_types(media_dir / "audio_only.m4a") == ["audio"]


@pytest.mark.slow
def test_parallel_builders_share_one_result(tmp_path: Path) -> None:
    """Two concurrent callers (as with pytest-xdist) get the same complete folder."""
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_media(tmp_path))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0] == results[1]
    assert (results[0] / MANIFEST_NAME).is_file()
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [results[0].name]


# --- HTTP behaviour ------------------------------------------------------------------------------


def test_server_lifecycle(media_dir: Path) -> None:
    with MediaServer(media_dir) as server:
        assert server.port > 0
        assert server.base == f"http://127.0.0.1:{server.port}"
        assert server.url("media/x") == server.url("/media/x") == f"{server.base}/media/x"
        proc = server._proc
        assert proc is not None and proc.poll() is None
    assert proc.poll() is not None


def test_full_get_and_head(srv: MediaServer, media_dir: Path) -> None:
    data = (media_dir / "video.mp4").read_bytes()
    status, headers, body = _get(srv, "/media/video.mp4")
    assert (status, headers["Content-Type"], body) == (200, "video/mp4", data)
    assert headers["Accept-Ranges"] == "bytes"
    conn = _conn(srv)
    conn.request("HEAD", "/media/video.mp4")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.headers["Content-Length"] == str(len(data))
    assert resp.read() == b""
    conn.close()


def test_range_returns_206_with_the_right_bytes(srv: MediaServer, media_dir: Path) -> None:
    data = (media_dir / "big.mp4").read_bytes()
    status, headers, body = _get(srv, "/media/big.mp4", {"Range": "bytes=1000-1999"})
    assert (status, body) == (206, data[1000:2000])
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    status, _, body = _get(srv, "/media/big.mp4", {"Range": "bytes=-500"})
    assert (status, body) == (206, data[-500:])
    status, _, body = _get(srv, "/media/big.mp4", {"Range": f"bytes={len(data) - 10}-"})
    assert (status, body) == (206, data[-10:])
    status, headers, _ = _get(srv, "/media/big.mp4", {"Range": f"bytes={len(data)}-"})
    assert (status, headers["Content-Range"]) == (416, f"bytes */{len(data)}")


@pytest.mark.parametrize(
    ("path", "ctype"),
    [
        ("/media/video.webm", "video/webm"),
        ("/media/audio.m4a", "audio/mp4"),
        ("/media/audio.mp3", "audio/mpeg"),
        ("/media/long.wav", "audio/wav"),
        ("/media/hls/index.m3u8", "application/vnd.apple.mpegurl"),
        ("/media/hls/seg000.ts", "video/mp2t"),
        ("/media/merge.mpd", "application/dash+xml"),
    ],
)
def test_content_types(srv: MediaServer, path: str, ctype: str) -> None:
    conn = _conn(srv)
    conn.request("HEAD", path)
    assert conn.getresponse().headers["Content-Type"] == ctype
    conn.close()


@pytest.mark.parametrize(
    "path", ["/media/../../../etc/passwd", "/media/%2e%2e/%2e%2e/etc/passwd", "/media/", "/nope"]
)
def test_not_found_and_no_escape(srv: MediaServer, path: str) -> None:
    assert _get(srv, path)[0] == 404


def test_throttled_route_is_slow(srv: MediaServer, media_dir: Path) -> None:
    data = (media_dir / "big.mp4").read_bytes()
    started = time.monotonic()
    status, _, body = _get(srv, "/slow/50000/big.mp4", {"Range": "bytes=0-99999"})
    elapsed = time.monotonic() - started
    assert (status, body) == (206, data[:100_000])
    assert 1.5 <= elapsed < 4, elapsed


def test_throttled_hls_segments_stay_throttled(srv: MediaServer, tmp_path: Path) -> None:
    """Relative segment URIs keep yt-dlp on the /slow route for every fragment."""
    _get(srv, "/_requests?clear")
    with _ydl(tmp_path) as ydl:
        assert ydl.download([srv.url("/slow/4000000/hls/index.m3u8")]) == 0
    _, _, body = _get(srv, "/_requests")
    segments = [r["path"] for r in json.loads(body) if r["path"].endswith(".ts")]
    assert segments and all(p.startswith("/slow/4000000/hls/seg") for p in segments)


def test_drop_cuts_the_body_at_half(srv: MediaServer, media_dir: Path) -> None:
    size = (media_dir / "video.mp4").stat().st_size
    conn = _conn(srv)
    conn.request("GET", "/fail/drop/video.mp4")
    resp = conn.getresponse()
    assert resp.headers["Content-Length"] == str(size)
    with pytest.raises(http.client.IncompleteRead) as caught:
        resp.read()
    assert len(caught.value.partial) == size // 2
    conn.close()


def test_wrong_length_overstates(srv: MediaServer, media_dir: Path) -> None:
    size = (media_dir / "video.mp4").stat().st_size
    conn = _conn(srv)
    conn.request("GET", "/fail/wrong-length/video.mp4")
    resp = conn.getresponse()
    assert int(resp.headers["Content-Length"]) > size + 100
    with pytest.raises(http.client.IncompleteRead) as caught:
        resp.read()
    assert len(caught.value.partial) == size
    conn.close()


def test_stall_sends_64k_then_nothing(srv: MediaServer) -> None:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=1.0) as sock:
        sock.sendall(b"GET /stall/big.mp4 HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        with pytest.raises(TimeoutError):
            while chunk := sock.recv(65536):
                received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0]
    assert len(body) == STALL_AFTER


@pytest.mark.parametrize(("path", "status"), [("/fail/404", 404), ("/fail/500", 500)])
def test_failing_statuses(srv: MediaServer, path: str, status: int) -> None:
    assert _get(srv, path)[0] == status


def test_redirect_and_headers(srv: MediaServer) -> None:
    status, headers, _ = _get(srv, "/redirect?to=/media/video.mp4")
    assert (status, headers["Location"]) == (302, "/media/video.mp4")
    with urllib.request.urlopen(srv.url("/redirect?to=/headers")) as resp:
        echoed = json.loads(resp.read())
    assert echoed["Host"] == f"127.0.0.1:{srv.port}"
    assert "User-Agent" in echoed


def test_feeds_use_the_host_header(srv: MediaServer) -> None:
    _, _, body = _get(srv, "/feed.rss", {"Host": "example.test:1234"})
    channel = ET.fromstring(body).find("channel")
    assert channel is not None and channel.findtext("title") == FEED_TITLE
    urls = [e.get("url") for e in channel.iter("enclosure")]
    assert urls == [
        "http://example.test:1234/media/video.mp4",
        "http://example.test:1234/media/video.webm",
        "http://example.test:1234/media/audio.m4a",
    ]
    _, _, body = _get(srv, "/slowfeed/20000.rss")
    urls = [e.get("url") for e in ET.fromstring(body).iter("enclosure")]
    assert urls == [srv.url(f"/slow/20000/{n}") for n in ("video.mp4", "video.webm", "audio.m4a")]


# --- what real yt-dlp makes of the routes --------------------------------------------------------


def test_ytdlp_downloads_mp4_byte_identical(
    srv: MediaServer, media_dir: Path, tmp_path: Path
) -> None:
    with _ydl(tmp_path) as ydl:
        assert ydl.download([srv.url("/media/video.mp4")]) == 0
    out = _only_file(tmp_path)
    assert out.name == "video.mp4"
    assert out.read_bytes() == (media_dir / "video.mp4").read_bytes()


def test_ytdlp_reads_the_feed_as_a_playlist(srv: MediaServer, tmp_path: Path) -> None:
    with _ydl(tmp_path) as ydl:
        info = ydl.extract_info(srv.url("/feed.rss"), download=False, process=False)
    assert info["_type"] == "playlist" and info["title"] == FEED_TITLE
    entries = list(info["entries"])
    assert [e["_type"] for e in entries] == ["url_transparent"] * 3
    assert [e["url"] for e in entries] == [
        srv.url(f"/media/{n}") for n in ("video.mp4", "video.webm", "audio.m4a")
    ]
    assert [e["title"] for e in entries] == [
        "Feed item 1 (mp4)",
        "Feed item 2 (webm)",
        "Feed item 3 (m4a)",
    ]


def test_ytdlp_reads_the_page_through_html5(srv: MediaServer, tmp_path: Path) -> None:
    with _ydl(tmp_path) as ydl:
        info = ydl.extract_info(srv.url("/page.html"), download=False)
    assert info["_type"] == "playlist"
    got = [(e["id"], e["title"], e["ext"], e["url"]) for e in info["entries"]]
    assert got == [
        ("page-1", f"{PAGE_TITLE} (1)", "mp4", srv.url("/media/video.mp4")),
        ("page-2", f"{PAGE_TITLE} (2)", "webm", srv.url("/media/video.webm")),
    ]


def test_ytdlp_downloads_hls_natively(srv: MediaServer, tmp_path: Path) -> None:
    progress: list[dict[str, Any]] = []
    with _ydl(tmp_path, progress_hooks=[progress.append]) as ydl:
        info = ydl.extract_info(srv.url("/media/hls/index.m3u8"), download=True)
    assert info["protocol"] == "m3u8_native"
    assert max(p.get("fragment_count") or 0 for p in progress) == 8
    assert progress[-1]["status"] == "finished"
    assert _stream_types(_only_file(tmp_path)) == ["audio", "video"]


def test_ytdlp_merges_the_dash_pair(srv: MediaServer, tmp_path: Path) -> None:
    with _ydl(tmp_path, format="bestvideo+bestaudio") as ydl:
        info = ydl.extract_info(srv.url("/media/merge.mpd"), download=True)
    formats = {f["format_id"]: f for f in info["formats"]}
    assert formats["video-h264"]["acodec"] == "none"
    assert formats["video-h264"]["vcodec"].startswith("avc1.")
    assert formats["audio-aac"]["vcodec"] == "none"
    assert formats["audio-aac"]["acodec"] == "mp4a.40.2"
    assert info["format_id"] == "video-h264+audio-aac"
    out = _only_file(tmp_path)
    assert out.name == "merge.mp4"
    assert _stream_types(out) == ["audio", "video"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/fail/404", "HTTP Error 404"),
        ("/fail/500", "HTTP Error 500"),
        ("/fail/drop/video.mp4", "Did not get any data blocks|bytes read, \\d+ more expected"),
        ("/fail/wrong-length/video.mp4", "HTTP Error 416|bytes read, \\d+ more expected"),
    ],
)
def test_ytdlp_fails_on_broken_routes(
    srv: MediaServer, tmp_path: Path, path: str, message: str
) -> None:
    with _ydl(tmp_path) as ydl, pytest.raises(yt_dlp.utils.DownloadError, match=message):
        ydl.download([srv.url(path)])


def test_ytdlp_times_out_on_a_stall(srv: MediaServer, tmp_path: Path) -> None:
    started = time.monotonic()
    with (
        _ydl(tmp_path, socket_timeout=1, retries=0) as ydl,
        pytest.raises(yt_dlp.utils.DownloadError, match="timed out"),
    ):
        ydl.download([srv.url("/stall/big.mp4")])
    assert time.monotonic() - started < 10
