"""Fixtures shared by the backend tests.

Every test runs the real thing: a real Hypercorn server on 127.0.0.1 with the real app, a real
SQLite file in a temporary folder, real yt-dlp and ffmpeg downloading from the loopback media
server (``tests/media``), made once per machine with ffmpeg.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import pytest

from mediarip.config import Settings, load_settings
from tests.media import MediaServer, ensure_media
from tests.support import RunningApp, running_app

REPO_ROOT = Path(__file__).resolve().parents[1]

# Servers that tests start as subprocesses inherit this: no daily yt-dlp check reaching PyPI.
os.environ.setdefault("MEDIARIP__YTDLP__CHECK_UPDATES", "false")


@pytest.fixture(scope="session")
def media_dir() -> Path:
    return ensure_media(REPO_ROOT / ".cache" / "test-media")


@pytest.fixture(scope="session")
def media(media_dir: Path) -> Iterator[MediaServer]:
    with MediaServer(media_dir) as server:
        yield server


def make_settings(root: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Test settings: folders under ``root``, private networks allowed (the media server is
    on loopback), plus ``env`` as ``MEDIARIP__...`` variables would give them."""
    environ = {
        "MEDIARIP__SERVER__PORT": "0",
        "MEDIARIP__SERVER__DATA_DIR": str(root / "data"),
        "MEDIARIP__DOWNLOADS__OUTPUT_DIR": str(root / "downloads"),
        "MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS": "true",
        "MEDIARIP__DOWNLOADS__SOCKET_TIMEOUT": "10",
        "MEDIARIP__YTDLP__CHECK_UPDATES": "false",  # never ask PyPI from a test
        **(env or {}),
    }
    return load_settings(environ=environ, cwd=root)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[RunningApp]:
    async with running_app(settings) as running:
        yield running
