"""The web app on PostgreSQL: the everyday flows, run in a real browser against a server whose
store is a real PostgreSQL database instead of the SQLite file.

The rest of the browser suite runs on SQLite only (CI's time budget); these flows are the ones
that touch the most of the store: live progress written and read back, a restart mid-download
that resumes from the database, removal with its undo, bulk retry and clear of failed and
cancelled jobs, and two browsers' isolated queues. The tests are the SQLite suite's own,
collected here a second time: this module's ``server`` fixture overrides the conftest's, and
pytest resolves a test's fixtures from the module that collects it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from playwright.sync_api import BrowserContext

from tests.e2e import test_add_and_save, test_everyday_page, test_server_restart, test_sessions
from tests.e2e.conftest import AppServer, serving_pages
from tests.media import MediaServer
from tests.postgres import TEMPLATE, Cluster

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(
    tmp_path: Path, web_dist: Path, open_contexts: list[BrowserContext], postgres: Cluster
) -> Iterator[AppServer]:
    """The real server, its store a fresh PostgreSQL database (kept across a restart)."""
    env = {"MEDIARIP__DATABASE__URL": postgres.new_database(TEMPLATE)}
    yield from serving_pages(tmp_path / "app", open_contexts, env)


def test_the_server_really_runs_on_postgresql(server: AppServer, media_server: MediaServer) -> None:
    """The premise of this module: a job added to a server given a PostgreSQL URL is a row in
    that database, and there is no SQLite file."""
    with httpx.Client(base_url=server.base, timeout=30) as client:
        answer = client.post("/api/downloads", json={"url": media_server.url("/fail/404")})
        assert answer.status_code == 201, answer.text
    with psycopg.connect(server.env["MEDIARIP__DATABASE__URL"]) as connection:
        row = connection.execute("SELECT id FROM jobs").fetchall()
    assert row == [(answer.json()["id"],)]
    assert not list(server.data_dir.glob("*.sqlite3*"))


test_download_with_live_progress_and_save_on_postgresql = (
    test_add_and_save.test_paste_preview_download_and_save_the_file
)
test_restart_mid_download_on_postgresql = (
    test_server_restart.test_the_page_recovers_by_itself_when_the_server_restarts_mid_download
)
test_removal_and_undo_on_postgresql = (
    test_everyday_page.test_removing_keeps_the_file_unless_asked_and_undo_brings_the_row_back
)
test_failed_and_cancelled_in_bulk_on_postgresql = (
    test_everyday_page.test_failed_and_cancelled_are_counted_apart_and_handled_in_bulk
)
test_isolated_queues_on_postgresql = (
    test_sessions.test_two_browsers_in_isolated_mode_see_only_their_own_jobs
)
