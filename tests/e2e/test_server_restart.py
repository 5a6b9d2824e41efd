"""The server restarts mid-download; the open page notices, reconnects by itself and shows the
true state again, without a reload."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AppServer, paste, screenshot, single_row, wait_for_status
from tests.media import MediaServer

pytestmark = pytest.mark.e2e


def test_the_page_recovers_by_itself_when_the_server_restarts_mid_download(
    page: Page, server: AppServer, media_server: MediaServer, media_dir: Path
) -> None:
    paste(page, media_server.url("/slow/1000000/big.mp4"))
    page.get_by_test_id("url-input").press("Enter")
    _, row = single_row(page)
    progress = row.get_by_test_id("progress")
    deadline = time.monotonic() + 30
    while int(progress.get_attribute("aria-valuenow") or 0) < 5:
        assert time.monotonic() < deadline, row.inner_text()
        time.sleep(0.05)
    # Marks that a reload, or the row being rebuilt, would wipe out.
    page.evaluate("window.__marker = 1")
    row.evaluate("el => { el.__marker = 1 }")
    connection = page.get_by_test_id("connection")
    expect(connection).to_have_attribute("data-state", "open")
    assert row.get_attribute("data-status") == "downloading"

    server.stop(signal.SIGTERM)
    expect(connection).to_have_attribute("data-state", "connecting", timeout=10_000)
    expect(connection).to_contain_text("Reconnecting")
    screenshot(page, "desktop-reconnecting")
    server.start()  # the same port, the same folders

    expect(connection).to_have_attribute("data-state", "open", timeout=30_000)
    assert wait_for_status(row, "completed", "failed", "cancelled") == "completed", row.inner_text()
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
    assert row.evaluate("el => el.__marker") == 1, "the row was rebuilt, not patched"
    expect(progress).to_have_attribute("aria-valuenow", "100")

    # The download went on after the restart, and the file is whole.
    with page.expect_download() as info:
        row.get_by_test_id("job-save").click()
    assert Path(info.value.path()).read_bytes() == (media_dir / "big.mp4").read_bytes()
