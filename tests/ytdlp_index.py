"""A loopback package index for the yt-dlp update tests (no internet).

:func:`bumped_wheel` repacks the installed yt-dlp distribution's own files into a wheel with a
higher version number (its ``yt_dlp/version.py`` says so too, so the running server reports
it); :class:`PackageIndex` serves a folder as a PEP 503 simple index on 127.0.0.1, holding
such wheels, a broken one, or a wheel whose download stalls (to cancel an update mid-way).
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import http.server
import importlib.metadata
import re
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

from mediarip.ytdlp.release import release_date

INSTALLED = importlib.metadata.version("yt-dlp")


def next_version(days: int = 1) -> str:
    """A yt-dlp version ``days`` after the installed one, written the way yt-dlp writes it."""
    day = release_date(INSTALLED)
    assert day is not None
    later = day + dt.timedelta(days=days)
    return f"{later.year}.{later.month:02d}.{later.day:02d}"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _build(path: Path, version: str) -> None:
    dist = importlib.metadata.distribution("yt-dlp")
    info = f"yt_dlp-{version}.dist-info"
    entries: dict[str, bytes] = {}
    for file in dist.files or []:
        name = file.as_posix()
        if "__pycache__" in name or name.endswith(".pyc"):
            continue
        if name.startswith("yt_dlp/"):
            data = Path(str(file.locate())).read_bytes()
            if name == "yt_dlp/version.py":
                text = re.sub(
                    r"(__version__|_pkg_version) = '[^']*'", rf"\1 = '{version}'", data.decode()
                )
                data = text.encode()
            entries[name] = data
        elif ".dist-info/" in name:
            base = name.split(".dist-info/", 1)[1]
            if base in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                continue
            data = Path(str(file.locate())).read_bytes()
            if base == "METADATA":
                data = re.sub(rb"(?m)^Version: .*$", f"Version: {version}".encode(), data, count=1)
            entries[f"{info}/{base}"] = data
    record = [_record_line(name, data) for name, data in entries.items()]
    record.append(f"{info}/RECORD,,")
    entries[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    partial = path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as wheel:
        for name, data in entries.items():
            wheel.writestr(name, data)
    partial.rename(path)


def bumped_wheel(cache: Path, version: str) -> Path:
    """The installed yt-dlp as a wheel of ``version`` (made once, kept in ``cache``)."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"yt_dlp-{version}-py3-none-any.whl"
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            _build(path, version)
    return path


class _Handler(http.server.SimpleHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.path.startswith("/stall/"):
            # A wheel that never finishes downloading: a little, then nothing for a minute.
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(10_000_000))
            self.end_headers()
            self.wfile.write(b"PK" + b"\0" * 65534)
            self.wfile.flush()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not self.server.stopping.is_set():
                time.sleep(0.1)
            return
        super().do_GET()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        self.stopping = threading.Event()
        super().__init__(
            ("127.0.0.1", 0),
            lambda *args: _Handler(*args, directory=str(root)),  # type: ignore[misc]
        )


class PackageIndex:
    """``root`` served as ``http://127.0.0.1:<port>/``: ``simple/yt-dlp/`` lists the files
    added with :meth:`add` (PEP 503), ``files/`` holds them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "simple" / "yt-dlp").mkdir(parents=True, exist_ok=True)
        (root / "files").mkdir(exist_ok=True)
        self._links: list[str] = []
        self._write()
        self._server = _Server(root)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/simple/"

    @property
    def requests(self) -> list[str]:
        return self._server.requests

    def add(self, wheel: Path) -> None:
        (self.root / "files" / wheel.name).write_bytes(wheel.read_bytes())
        self._links.append(f'<a href="../../files/{wheel.name}">{wheel.name}</a>')
        self._write()

    def add_broken(self, version: str) -> None:
        name = f"yt_dlp-{version}-py3-none-any.whl"
        (self.root / "files" / name).write_bytes(b"this is not a zip file\n" * 100)
        self._links.append(f'<a href="../../files/{name}">{name}</a>')
        self._write()

    def add_stalling(self, version: str) -> None:
        name = f"yt_dlp-{version}-py3-none-any.whl"
        self._links.append(f'<a href="/stall/{name}">{name}</a>')
        self._write()

    def _write(self) -> None:
        body = "<!DOCTYPE html><html><body>\n" + "\n".join(self._links) + "\n</body></html>\n"
        (self.root / "simple" / "yt-dlp" / "index.html").write_text(body)

    def close(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> PackageIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
