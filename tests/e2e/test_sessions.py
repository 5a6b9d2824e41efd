"""In ``isolated`` mode (the default) each browser has its own queue."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    AppServer,
    NewContext,
    job_rows,
    open_app,
    paste,
    single_row,
    wait_for_status,
)
from tests.media import MediaServer

pytestmark = pytest.mark.e2e


def _add(page: Page, url: str) -> str:
    paste(page, url)
    page.get_by_test_id("url-input").press("Enter")
    job_id, row = single_row(page)
    assert wait_for_status(row, "completed", "failed", "cancelled") == "completed", row.inner_text()
    return job_id


def test_two_browsers_in_isolated_mode_see_only_their_own_jobs(
    new_context: NewContext, server: AppServer, media_server: MediaServer
) -> None:
    alice = open_app(new_context(), server)
    bob = open_app(new_context(), server)

    alice_job = _add(alice, media_server.url("/media/video.mp4"))
    # Bob's page is live, yet Alice's job never shows up in it.
    expect(bob.get_by_test_id("queue-empty")).to_be_visible()
    expect(job_rows(bob)).to_have_count(0)

    bob_job = _add(bob, media_server.url("/media/audio.m4a"))
    for page, mine, title in ((alice, alice_job, "video"), (bob, bob_job, "audio")):
        expect(job_rows(page)).to_have_count(1)
        assert job_rows(page).first.get_attribute("data-job-id") == mine
        expect(page.get_by_test_id("job-title")).to_have_text(title)
        expect(page.get_by_test_id("filter-all")).to_have_attribute("data-count", "1")

    # A fresh load (the server's list, not just the live stream) says the same.
    for context_page, mine in ((alice, alice_job), (bob, bob_job)):
        again = open_app(context_page.context, server)
        expect(job_rows(again)).to_have_count(1)
        assert job_rows(again).first.get_attribute("data-job-id") == mine

    # Neither can reach the other's job or file by its id.
    for page, other in ((alice, bob_job), (bob, alice_job)):
        assert page.request.get(f"{server.base}/api/downloads/{other}").status == 404
        assert page.request.get(f"{server.base}/api/downloads/{other}/file").status == 404
