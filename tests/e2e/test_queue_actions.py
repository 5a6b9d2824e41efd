"""What a person does to jobs in the queue: cancel one mid-download, retry a failed one, delete
a finished one with its file (asked for in the dialog)."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AppServer, paste, screenshot, single_row, wait_for_status
from tests.media import MediaServer

pytestmark = pytest.mark.e2e

# Words a person should never have to read in an error message.
TECHNICAL = ("Traceback", "ERROR:", "[generic]", "yt_dlp", "Exception", "caused by")


def _record_statuses(page: Page, job_id: str) -> None:
    """Log, in the page, every ``data-status`` the job's row takes from now on."""
    page.evaluate(
        """id => {
            const sel = `[data-testid="job-row"][data-job-id="${id}"]`;
            window.__statuses = [document.querySelector(sel).dataset.status];
            new MutationObserver(() => {
                const row = document.querySelector(sel);
                const s = row && row.dataset.status;
                if (s && window.__statuses.at(-1) !== s) window.__statuses.push(s);
            }).observe(document.body, {
                subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'],
            });
        }""",
        job_id,
    )


def _requests_for(media: MediaServer, path: str) -> int:
    log = httpx.get(media.url("/_requests"), timeout=10).json()
    return sum(1 for r in log if r["path"] == path)


def test_cancel_a_download_midway(page: Page, server: AppServer, media_server: MediaServer) -> None:
    paste(page, media_server.url("/slow/100000/big.mp4"))
    page.get_by_test_id("url-input").press("Enter")
    _, row = single_row(page)
    wait_for_status(row, "downloading", timeout=30_000)
    expect(row.get_by_test_id("job-speed")).to_be_visible()
    expect(page.get_by_test_id("filter-active")).to_have_attribute("data-count", "1")

    row.get_by_test_id("job-cancel").click()
    expect(row).to_have_attribute("data-status", "cancelled")
    expect(row.get_by_test_id("job-status")).to_have_text("Cancelled")
    expect(row.get_by_test_id("job-cancel")).to_have_count(0)
    expect(row.get_by_test_id("job-retry")).to_be_visible()
    expect(row.get_by_test_id("job-save")).to_have_count(0)
    expect(page.get_by_test_id("filter-active")).to_have_attribute("data-count", "0")
    expect(page.get_by_test_id("filter-cancelled")).to_have_attribute("data-count", "1")
    expect(page.get_by_test_id("filter-failed")).to_have_attribute("data-count", "0")
    expect(page.get_by_test_id("live-region")).to_contain_text("Cancelled: big")
    assert server.files() == []


def test_retry_a_failed_download(page: Page, media_server: MediaServer) -> None:
    paste(page, media_server.url("/fail/404"))
    # The probe already says, in words, that there is nothing there.
    probe_error = page.get_by_test_id("probe-error")
    expect(probe_error).to_be_visible()
    assert not any(word in probe_error.inner_text() for word in TECHNICAL), probe_error.inner_text()

    page.get_by_test_id("url-input").press("Enter")
    job_id, row = single_row(page)
    assert wait_for_status(row, "failed", "completed") == "failed"
    error = row.get_by_test_id("job-error")
    expect(error).to_be_visible()
    message = error.inner_text()
    assert "does not exist" in message and "404" in message, message
    assert not any(word in message for word in TECHNICAL), message
    expect(row.get_by_test_id("job-status")).to_have_text("Failed")
    expect(page.get_by_test_id("filter-failed")).to_have_attribute("data-count", "1")
    screenshot(page, "desktop-failed")
    tried = _requests_for(media_server, "/fail/404")
    assert tried >= 1

    _record_statuses(page, job_id)
    row.get_by_test_id("job-retry").click()
    # It runs again: it leaves "failed", asks the site again, and (the link being dead) fails.
    deadline = time.monotonic() + 30
    statuses: list[str] = []
    while time.monotonic() < deadline:
        statuses = page.evaluate("window.__statuses")
        if "failed" in statuses[1:] and statuses[-1] == "failed":
            break
        time.sleep(0.05)
    assert statuses[0] == "failed" and len(statuses) >= 3, f"the row never left failed: {statuses}"
    assert statuses[-1] == "failed", statuses
    expect(row).to_have_attribute("data-status", "failed")
    expect(row.get_by_test_id("job-error")).to_contain_text("404")
    assert _requests_for(media_server, "/fail/404") > tried


def test_delete_a_finished_download_removes_the_row_and_the_file(
    page: Page, server: AppServer, media_server: MediaServer
) -> None:
    paste(page, media_server.url("/media/video.mp4"))
    page.get_by_test_id("url-input").press("Enter")
    job_id, row = single_row(page)
    assert wait_for_status(row, "completed", "failed") == "completed", row.inner_text()
    files = server.files()
    assert len(files) == 1 and files[0].suffix == ".mp4", files

    row.get_by_test_id("job-delete").click()
    page.get_by_test_id("confirm-option").check()  # "Also delete the file from the server"
    page.get_by_test_id("confirm-ok").click()
    expect(row).to_have_count(0)
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    expect(page.get_by_test_id("filter-all")).to_have_attribute("data-count", "0")
    assert not files[0].exists()
    assert server.files() == []
    gone = page.request.get(f"{server.base}/api/downloads/{job_id}")
    assert gone.status == 404
