"""A phone-sized screen, 360 x 740: one view at a time and a bottom tab bar between them."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    PHONE,
    AppServer,
    NewContext,
    open_app,
    paste,
    screenshot,
    single_row,
    wait_for_status,
)
from tests.media import MediaServer

pytestmark = pytest.mark.e2e


def test_a_download_end_to_end_on_a_360_px_screen(
    new_context: NewContext, server: AppServer, media_server: MediaServer, media_dir: Path
) -> None:
    context = new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = open_app(context, server)
    add_tab, queue_tab = page.get_by_test_id("tab-add"), page.get_by_test_id("tab-queue")
    url_input = page.get_by_test_id("url-input")
    queue_heading = page.get_by_role("heading", name="Queue")

    # The tab bar sits at the bottom of the screen; "Add" is shown first.
    expect(add_tab).to_be_visible()
    expect(queue_tab).to_be_visible()
    box = queue_tab.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"] + 1
    assert box["y"] > PHONE["height"] / 2
    expect(add_tab).to_have_attribute("aria-selected", "true")
    expect(url_input).to_be_visible()
    expect(queue_heading).to_be_hidden()

    queue_tab.click()
    expect(queue_tab).to_have_attribute("aria-selected", "true")
    expect(queue_heading).to_be_visible()
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    expect(url_input).to_be_hidden()
    add_tab.click()
    expect(url_input).to_be_visible()
    expect(queue_heading).to_be_hidden()

    paste(page, media_server.url("/slow/40000/video.mp4"))
    expect(page.get_by_test_id("preview-title")).to_have_text("video")
    url_input.press("Enter")
    expect(page.get_by_test_id("added")).to_contain_text("video")
    # While it runs, the Queue tab says how many downloads are active.
    expect(page.get_by_test_id("tab-queue-count")).to_contain_text("1")
    screenshot(page, "phone-add")

    queue_tab.click()
    _, row = single_row(page)
    expect(row).to_be_visible()
    assert wait_for_status(row, "completed", "failed", "cancelled") == "completed", row.inner_text()
    expect(page.get_by_test_id("tab-queue-count")).to_have_count(0)
    page.wait_for_timeout(400)  # let the bar's 0.25 s transition finish before the picture
    screenshot(page, "phone-queue")
    save = row.get_by_test_id("job-save")
    expect(save).to_be_in_viewport()
    with page.expect_download() as info:
        save.tap()
    assert Path(info.value.path()).read_bytes() == (media_dir / "video.mp4").read_bytes()

    # Nothing sticks out sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
