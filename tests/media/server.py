"""A loopback HTTP server for the test media, with slow and broken routes (SPEC §10).

yt-dlp runs for real in the tests, so it needs a real web server: one that speaks HTTP/1.1 with
exact ``Content-Length``s, answers ``Range`` requests with 206 (yt-dlp resumes with them), sends the
right ``Content-Type`` (yt-dlp's generic extractor decides what a URL is from it), and can also be
slow, drop a connection, lie about a length or stall, so that progress, cancellation and error
handling can be watched. The routes are listed in ``README.md`` next to this file.

It runs in its own process (``python -m tests.media.server --dir DIR``, or :class:`MediaServer`
from a fixture) so that the throttled and stalled responses, which sleep, never share a GIL or an
event loop with the code under test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import mimetypes
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape, quoteattr

__all__ = ["REPO_ROOT", "MediaServer", "main"]

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Set to 1 to log every request to stderr.
LOG_ENV = "MEDIA_SERVER_LOG"

STALL_AFTER = 64 * 1024
STALL_SECONDS = 60.0
CHUNK = 64 * 1024

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mpd": "application/dash+xml",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".vtt": "text/vtt; charset=utf-8",
    ".jpg": "image/jpeg",
}

#: The three enclosures of ``/feed.rss``: (title, media path, MIME type).
FEED_ITEMS = (
    ("Feed item 1 (mp4)", "video.mp4", "video/mp4"),
    ("Feed item 2 (webm)", "video.webm", "video/webm"),
    ("Feed item 3 (m4a)", "audio.m4a", "audio/mp4"),
)
FEED_TITLE = "Mediarip test feed"
PAGE_TITLE = "Mediarip test page"

PAGE_HTML = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{PAGE_TITLE}</title></head>
<body>
<h1>Two embedded videos</h1>
<video src="/media/video.mp4" controls width="320" height="240"></video>
<video controls width="320" height="240">
  <source src="/media/video.webm" type="video/webm">
</video>
</body>
</html>
"""

#: An ordinary web page: text and a link, no video or audio anywhere.
PLAIN_HTML = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Just words</title></head>
<body><h1>Just words</h1><p>Nothing to watch or hear here. <a href="/page.html">A page with
videos</a>.</p></body>
</html>
"""


RICH_TITLE = "Rich test video"
RICH_UPLOADER = "Test Uploader"
#: The rich page's chapters: (title, start, end) in seconds.
RICH_CHAPTERS = (("Opening", 0, 4), ("Middle", 4, 8), ("Ending", 8, 12))


def rich_page(base: str) -> str:
    """A page describing a video in JSON-LD (title, uploader, date, description, thumbnail and
    ``hasPart`` clips, which yt-dlp reads as chapters) whose ``contentUrl`` is the player page.

    yt-dlp's generic extractor reads JSON-LD only when a page has no ``<video>`` of its own, and
    reads ``<track>`` subtitles only from ``<video>`` tags: so the metadata is here and the video
    (with its subtitles and poster) on ``/rich-player.html``; yt-dlp follows ``contentUrl`` and
    merges the two (``url_transparent``), giving one video with all of it."""
    parts = [
        {"@type": "Clip", "name": name, "startOffset": start, "endOffset": end}
        for name, start, end in RICH_CHAPTERS
    ]
    data = {
        "@context": "https://schema.org",
        "@type": "VideoObject",
        "name": RICH_TITLE,
        "description": "A test video with chapters, subtitles and a poster",
        "author": {"@type": "Person", "name": RICH_UPLOADER},
        "uploadDate": "2026-11-30T12:00:00Z",
        "duration": "PT12S",
        "thumbnailUrl": f"{base}/media/poster.jpg",
        "contentUrl": f"{base}/rich-player.html",
        "hasPart": parts,
    }
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{RICH_TITLE}</title>
<script type="application/ld+json">{json.dumps(data)}</script></head>
<body><p>{RICH_TITLE}</p></body>
</html>
"""


RICH_PLAYER_HTML = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Rich player</title></head>
<body>
<video controls poster="/media/poster.jpg" width="320" height="240">
  <source src="/media/chapters.mp4" type="video/mp4">
  <track kind="subtitles" srclang="en" label="English" src="/media/subs.en.vtt">
  <track kind="subtitles" srclang="fr" label="Français" src="/media/subs.fr.vtt">
</video>
</body>
</html>
"""


def content_type(path: Path) -> str:
    """The MIME type yt-dlp expects for a file: its generic extractor keys on it."""
    known = CONTENT_TYPES.get(path.suffix.lower())
    return known or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


class RangeNotSatisfiableError(ValueError):
    """The requested range starts past the end of the file: answer 416."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse a single ``bytes=`` range against ``size``.

    Returns ``(first, last)`` inclusive, or ``None`` when there is no usable header (serve it all,
    as RFC 9110 says to do with a header one cannot parse); raises
    :class:`RangeNotSatisfiableError` for a range past the end. Multiple ranges are not
    supported; yt-dlp never asks for them.
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_s, sep, last_s = header[len("bytes=") :].strip().partition("-")
    if not sep or not (first_s.isdigit() or last_s.isdigit()):
        return None
    if not first_s:  # suffix range: the last N bytes
        suffix = int(last_s)
        if not suffix or not size:
            raise RangeNotSatisfiableError(header)
        return (max(0, size - suffix), size - 1)
    first = int(first_s)
    if first >= size:
        raise RangeNotSatisfiableError(header)
    last = min(int(last_s), size - 1) if last_s.isdigit() else size - 1
    return (first, last) if last >= first else None


def rss_feed(base: str, media_prefix: str, media_root: Path) -> str:
    """An RSS 2.0 feed whose items enclose media under ``base + media_prefix``.

    yt-dlp's generic extractor turns each ``<enclosure>`` into a ``url_transparent`` playlist
    entry, keeping the item's ``<title>``. URLs are absolute because feeds in the wild are.
    """
    items = []
    for number, (title, name, mime) in enumerate(FEED_ITEMS, start=1):
        file = media_root / name
        length = file.stat().st_size if file.is_file() else 0
        url = f"{base}{media_prefix}{quote(name)}"
        items.append(
            f"""  <item>
    <title>{escape(title)}</title>
    <description>Test enclosure number {number}</description>
    <pubDate>{formatdate(1_700_000_000 + number * 86_400, usegmt=True)}</pubDate>
    <enclosure url={quoteattr(url)} type="{mime}" length="{length}"/>
  </item>"""
        )
    body = "\n".join(items)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
 <channel>
  <title>{FEED_TITLE}</title>
  <link>{escape(base)}/</link>
  <description>Three enclosures served on loopback</description>
{body}
 </channel>
</rss>
"""


def channel_feed(base: str, name: str, items: list[dict[str, Any]]) -> str:
    """A growing "channel": an RSS feed of the items added to it, newest first, each with a
    ``<guid>`` (``<name>-<n>``, which yt-dlp's generic extractor takes as the item's id), a
    publication date, an ``itunes:duration``, and an enclosure under a URL of its own
    (``/as/<file>/<guid><ext>``) that serves one of the media files."""
    entries = []
    for number, item in reversed(list(enumerate(items, start=1))):
        file = str(item.get("file", "video.mp4"))
        guid = f"{name}-{number}"
        url = f"{base}/as/{quote(file)}/{guid}{Path(file).suffix}"
        mime = CONTENT_TYPES.get(Path(file).suffix, "video/mp4")
        duration = item.get("duration")
        extra = f"\n    <itunes:duration>{int(duration)}</itunes:duration>" if duration else ""
        entries.append(
            f"""  <item>
    <title>{escape(str(item.get("title", guid)))}</title>
    <guid isPermaLink="false">{escape(guid)}</guid>
    <pubDate>{formatdate(float(item.get("published", 1_700_000_000)), usegmt=True)}</pubDate>
    <enclosure url={quoteattr(url)} type="{mime}"/>{extra}
  </item>"""
        )
    body = "\n".join(entries)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
 <channel>
  <title>Channel {escape(name)}</title>
  <link>{escape(base)}/</link>
  <description>A test channel that grows</description>
{body}
 </channel>
</rss>
"""


class MediaHTTPServer(ThreadingHTTPServer):
    """A threaded server that knows its media folder and keeps a log of recent requests."""

    daemon_threads = True
    block_on_close = False  # a stalled response must not hold up shutdown
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], media_root: Path) -> None:
        super().__init__(address, MediaHandler)
        self.media_root = media_root.resolve()
        self.recent: deque[dict[str, Any]] = deque(maxlen=500)
        #: Channels a test grows: name -> its items, and the status a broken one answers.
        self.channels: dict[str, list[dict[str, Any]]] = {}
        self.channel_failures: dict[str, int] = {}
        self.channel_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-body is the normal case here (cancel tests): stay quiet."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class MediaHandler(BaseHTTPRequestHandler):
    """Routes ``GET``/``HEAD`` requests; see ``README.md`` for the table."""

    protocol_version = "HTTP/1.1"
    server_version = "MediaripTestServer/1"
    timeout = 120  # idle keep-alive connections and blocked writes give up eventually
    server: MediaHTTPServer

    # --- plumbing -------------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        """Silent unless ``MEDIA_SERVER_LOG`` is set; never on stdout, which carries READY."""
        if os.environ.get(LOG_ENV):
            sys.stderr.write(f"media-server: {self.address_string()} {format % args}\n")

    def handle_one_request(self) -> None:
        """A client that hangs up is not an error: end this connection quietly."""
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    @property
    def _is_head(self) -> bool:
        return self.command == "HEAD"

    def _base(self) -> str:
        """``http://host:port`` as the client addressed us, for absolute URLs in the feed."""
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        return f"http://{host}"

    def _send_body(
        self,
        status: int,
        body: bytes,
        ctype: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Send a small in-memory response with an exact Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not self._is_head:
            self.wfile.write(body)

    def _not_found(self) -> None:
        self._send_body(404, b"not found\n", "text/plain; charset=utf-8")

    # --- routing --------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        self.server.recent.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers.items())}
        )
        head, _, rest = path.lstrip("/").partition("/")
        if head == "media":
            self._send_file(rest)
        elif head == "slow":
            self._route_slow(rest)
        elif head == "stall":
            self._send_file(rest, stall=True)
        elif head == "fail":
            self._route_fail(rest)
        elif head == "slowfeed":
            self._route_slowfeed(rest)
        elif head == "channel":
            self._route_channel(rest, split.query)
        elif head == "as":
            file, _, _alias = rest.partition("/")
            self._send_file(file)
        elif path == "/stall-page.html":
            self._route_stall_page()
        elif path == "/page.html":
            self._send_body(200, PAGE_HTML.encode(), CONTENT_TYPES[".html"])
        elif path == "/plain.html":
            self._send_body(200, PLAIN_HTML.encode(), CONTENT_TYPES[".html"])
        elif path == "/data.json":
            self._send_json({"name": "not media", "items": [1, 2, 3]})
        elif path == "/rich.html":
            self._send_body(200, rich_page(self._base()).encode(), CONTENT_TYPES[".html"])
        elif path == "/rich-player.html":
            self._send_body(200, RICH_PLAYER_HTML.encode(), CONTENT_TYPES[".html"])
        elif path == "/feed.rss":
            self._send_feed("/media/")
        elif path == "/redirect":
            self._route_redirect(split.query)
        elif path == "/headers":
            self._send_json(dict(self.headers.items()))
        elif path == "/_requests":
            self._send_json(list(self.server.recent))
            if "clear" in parse_qs(split.query, keep_blank_values=True):
                self.server.recent.clear()
        else:
            self._not_found()

    def _route_slow(self, rest: str) -> None:
        rate, _, name = rest.partition("/")
        if not rate.isdigit() or int(rate) <= 0:
            self._not_found()
            return
        self._send_file(name, rate=int(rate))

    def _route_fail(self, rest: str) -> None:
        kind, _, name = rest.partition("/")
        if kind == "404" and not name:
            self._not_found()
        elif kind == "500" and not name:
            self._send_body(500, b"internal server error (on purpose)\n", "text/plain")
        elif kind == "403" and not name:
            self._send_body(403, b"forbidden (on purpose)\n", "text/plain")
        elif kind == "bot-check" and not name:
            self._send_bot_check()
        elif kind == "drop":
            self._send_file(name, cut_at_half=True)
        elif kind == "wrong-length":
            self._send_file(name, overstate=True)
        else:
            self._not_found()

    def _send_bot_check(self) -> None:
        """A bot check, as an anti-bot service answers one: 403, ``cf-mitigated: challenge``
        and a page asking to confirm you are not a bot."""
        body = (
            b"<!doctype html><html><head><title>Attention Required! | Cloudflare</title></head>"
            b"<body><h1>Sign in to confirm you're not a bot</h1></body></html>"
        )
        self.send_response(403)
        self.send_header("Content-Type", CONTENT_TYPES[".html"])
        self.send_header("Content-Length", str(len(body)))
        self.send_header("cf-mitigated", "challenge")
        self.end_headers()
        if not self._is_head:
            self.wfile.write(body)

    def _route_stall_page(self) -> None:
        """An HTML page whose body stops halfway: the generic extractor, which reads a page to
        the end before it can look for media in it, waits here (to cancel a job "extracting")."""
        head = b"<!doctype html><html><head><title>stalls</title></head><body>"
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPES[".html"])
        self.send_header("Content-Length", str(len(head) * 4))
        self.end_headers()
        self.wfile.write(head)
        self.wfile.flush()
        self._stall()

    def _route_channel(self, rest: str, query: str) -> None:
        """``/channel/<name>.rss``: the feed; ``/channel/<name>/add?title=&file=&published=
        &duration=``: add an item (JSON: the items); ``/channel/<name>/fail?status=500``: make
        the feed answer that status (``0`` heals it)."""
        name, _, action = rest.partition("/")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        server = self.server
        with server.channel_lock:
            if action == "add":
                item: dict[str, Any] = {"title": params.get("title"), "file": "video.mp4"}
                item.update(params)
                server.channels.setdefault(name, []).append(item)
                self._send_json(server.channels[name])
                return
            if action == "fail":
                server.channel_failures[name] = int(params.get("status", "500"))
                self._send_json({"status": server.channel_failures[name]})
                return
            name = name.removesuffix(".rss")
            items = list(server.channels.get(name, ()))
            failure = server.channel_failures.get(name, 0)
        if action or not rest.endswith(".rss") or (not items and not failure):
            self._not_found()
        elif failure:
            self._send_body(failure, b"broken on purpose\n", "text/plain")
        else:
            feed = channel_feed(self._base(), name, items)
            self._send_body(200, feed.encode(), "application/rss+xml; charset=utf-8")

    def _route_slowfeed(self, rest: str) -> None:
        rate = rest.removesuffix(".rss")
        if not rest.endswith(".rss") or not rate.isdigit() or int(rate) <= 0:
            self._not_found()
            return
        self._send_feed(f"/slow/{int(rate)}/")

    def _route_redirect(self, query: str) -> None:
        target = parse_qs(query).get("to", [""])[0]
        if not target:
            self._send_body(400, b"missing ?to=\n", "text/plain")
            return
        self._send_body(302, b"", "text/plain", {"Location": target})

    def _send_json(self, value: object) -> None:
        self._send_body(200, json.dumps(value, indent=1).encode(), CONTENT_TYPES[".json"])

    def _send_feed(self, media_prefix: str) -> None:
        feed = rss_feed(self._base(), media_prefix, self.server.media_root)
        self._send_body(200, feed.encode(), "application/rss+xml; charset=utf-8")

    # --- files ----------------------------------------------------------------------------------

    def _resolve(self, name: str) -> Path | None:
        """The file ``name`` names inside the media folder, or None (also for ``..`` escapes)."""
        root = self.server.media_root
        target = (root / name).resolve()
        if not name or not target.is_relative_to(root) or not target.is_file():
            return None
        return target

    def _send_file(
        self,
        name: str,
        *,
        rate: int | None = None,
        stall: bool = False,
        cut_at_half: bool = False,
        overstate: bool = False,
    ) -> None:
        """Serve a media file, honouring ``Range``, optionally slowly or brokenly.

        ``cut_at_half`` stops at the file's midpoint whatever range was asked for, so resuming
        never completes it and a download fails deterministically. ``overstate`` announces more
        bytes than exist (+25 %, at least 4 KiB, beyond yt-dlp's 100-byte tolerance).
        """
        target = self._resolve(name)
        if target is None:
            self._not_found()
            return
        size = target.stat().st_size
        try:
            wanted = parse_range(self.headers.get("Range"), size)
        except RangeNotSatisfiableError:
            self._send_body(416, b"", "text/plain", {"Content-Range": f"bytes */{size}"})
            return
        first, last = wanted or (0, size - 1)
        length = last - first + 1
        broken = stall or cut_at_half or overstate
        self.send_response(200 if wanted is None else 206)
        self.send_header("Content-Type", content_type(target))
        declared = length + max(4096, length // 4) if overstate else length
        self.send_header("Content-Length", str(declared))
        self.send_header("Accept-Ranges", "bytes")
        if wanted is not None:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        if broken:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self._is_head:
            return
        to_send = length
        if cut_at_half:
            to_send = max(0, min(length, size // 2 - first))
        elif stall:
            to_send = min(length, STALL_AFTER)
        with target.open("rb") as handle:
            handle.seek(first)
            self._copy(handle, to_send, rate)
        if stall:
            self._stall()
        if broken:
            self._hang_up()

    def _copy(self, handle: BinaryIO, count: int, rate: int | None) -> None:
        """Write ``count`` bytes; with ``rate``, in chunks of ~1/20 s paced against a clock started
        at the first byte, so the average holds whatever the scheduling jitter."""
        chunk = CHUNK if rate is None else max(256, min(CHUNK, rate // 20))
        started = time.monotonic()
        sent = 0
        while sent < count:
            data = handle.read(min(chunk, count - sent))
            if not data:
                break
            self.wfile.write(data)
            sent += len(data)
            if rate is not None:
                delay = started + sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

    def _stall(self) -> None:
        """Send nothing for up to a minute, but stop as soon as the client hangs up."""
        sock = self.connection
        deadline = time.monotonic() + STALL_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([sock], [], [], left)
            if readable and not sock.recv(CHUNK):
                return

    def _hang_up(self) -> None:
        """Close the connection now, so the client sees the body end short of Content-Length."""
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


# --- process --------------------------------------------------------------------------------------


def _exit_when_stdin_closes() -> None:
    """Exit once the parent is gone (its end of our stdin closes), even if it died by SIGKILL
    and never sent SIGTERM: no orphaned servers after a crashed test run."""

    def watch() -> None:
        while os.read(0, 4096):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    """Serve ``--dir`` on 127.0.0.1; print ``READY <port>`` once listening; stop on SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path, help="folder with the media files")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--exit-on-stdin-eof", action="store_true", help="stop when stdin closes (fixture use)"
    )
    args = parser.parse_args(argv)
    if not args.dir.is_dir():
        parser.error(f"not a folder: {args.dir}")
    signal.signal(signal.SIGTERM, _on_sigterm)
    server = MediaHTTPServer((args.host, args.port), args.dir)
    if args.exit_on_stdin_eof:
        _exit_when_stdin_closes()
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# --- fixture side ---------------------------------------------------------------------------------


class MediaServer:
    """Run the server in a subprocess for the length of a ``with`` block.

    ``with MediaServer(media_dir) as srv: srv.url("/media/video.mp4")``. A separate process
    keeps its sleeping threads away from the code under test and makes shutdown a plain SIGTERM.
    """

    def __init__(
        self,
        media_dir: Path,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        startup_timeout: float = 15.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.media_dir = Path(media_dir).resolve()
        self.port = port
        self.host = host
        self.startup_timeout = startup_timeout
        self._env = {**os.environ, **(env or {})}
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        """``http://HOST:PORT``, with no trailing slash."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        """An absolute URL for ``path`` (``"/media/video.mp4"``; the leading slash is optional)."""
        return f"{self.base}/{path.lstrip('/')}"

    def start(self) -> None:
        """Start the subprocess and wait for its ``READY <port>`` line."""
        if self._proc is not None:
            raise RuntimeError("MediaServer already started")
        cmd = [sys.executable, "-m", "tests.media.server", "--dir", str(self.media_dir)]
        cmd += ["--port", str(self.port), "--host", self.host, "--exit-on-stdin-eof"]
        self._proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=self._env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        try:
            self.port = self._wait_ready(self._proc)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> int:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], self.startup_timeout)
        line = proc.stdout.readline().decode(errors="replace").strip() if ready else ""
        if not line.startswith("READY "):
            code = proc.poll()
            why = f"exited with {code}" if code is not None else "timed out"
            raise RuntimeError(f"media server {why} before READY (got {line!r})")
        return int(line.split()[1])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not gone within 5 s."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> MediaServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


if __name__ == "__main__":
    main()
