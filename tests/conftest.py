"""Fixtures shared by the backend tests.

Every test runs the real thing: a real Hypercorn server on 127.0.0.1 with the real app, a real
SQLite file in a temporary folder, real yt-dlp and ffmpeg downloading from the loopback media
server (``tests/media``), made once per machine with ffmpeg. Tests of the store take the
``database`` (or ``store``) fixture and run twice: on a SQLite file and on a fresh database of
a real PostgreSQL cluster the session starts (``tests/postgres.py``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from mediarip.config import Settings, load_settings
from mediarip.store import Store
from mediarip.store._migrate import upgrade
from tests.media import MediaServer, ensure_media
from tests.postgres import TEMPLATE, Cluster, running_cluster
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


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A PostgreSQL cluster for the session (one per xdist worker), with a migrated template
    database each test's database is copied from."""
    with running_cluster() as cluster:
        cluster.execute(f'CREATE DATABASE "{TEMPLATE}"')
        engine = create_engine(cluster.url(TEMPLATE).replace("://", "+psycopg://", 1))
        with engine.connect() as connection:
            upgrade(connection)
        engine.dispose()  # CREATE DATABASE … TEMPLATE wants no one connected to it
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a test's store lives: a SQLite file, or a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return tmp_path / "db.sqlite3"
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.new_database(TEMPLATE)


@pytest.fixture
async def store(database: Path | str) -> AsyncIterator[Store]:
    async with Store.open(database) as opened:
        yield opened


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
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The app's settings. With ``MEDIARIP_TEST_ENGINE=postgresql`` in the environment, the
    app's database is a fresh PostgreSQL database instead of the SQLite file (a way to run the
    API's tests on PostgreSQL too: ``MEDIARIP_TEST_ENGINE=postgresql ./dev test tests/...``)."""
    if os.environ.get("MEDIARIP_TEST_ENGINE") == "postgresql":
        cluster: Cluster = request.getfixturevalue("postgres")
        url = cluster.new_database(TEMPLATE)
        return make_settings(tmp_path, {"MEDIARIP__DATABASE__URL": url})
    return make_settings(tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[RunningApp]:
    async with running_app(settings) as running:
        yield running


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``MEDIARIP_TEST_ENGINE=postgresql``, only the tests whose app gets its database
    from the ``settings`` fixture run (on PostgreSQL): the others do not depend on the
    engine, or run on both already (the ``database`` and ``store`` fixtures, the cluster)."""
    if os.environ.get("MEDIARIP_TEST_ENGINE") != "postgresql":
        return
    kept = [item for item in items if "settings" in getattr(item, "fixturenames", ())]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept
