"""Adding downloads the way a person does: paste a link, look at the preview, press Enter, watch
the queue, save the file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    AppServer,
    job_rows,
    open_app,
    paste,
    screenshot,
    single_row,
    wait_for_status,
)
from tests.media import MediaServer
from tests.support import ffprobe_streams

pytestmark = pytest.mark.e2e

# ~7.6 MiB at 1 MB/s: about 8 s of download, with a progress event about every second.
SLOW_RATE = 1_000_000


def test_paste_preview_download_and_save_the_file(
    page: Page, media_server: MediaServer, media_dir: Path
) -> None:
    paste(page, media_server.url(f"/slow/{SLOW_RATE}/big.mp4"))
    expect(page.get_by_test_id("preview-title")).to_have_text("big")
    expect(page.get_by_test_id("submit")).to_be_enabled()

    page.get_by_test_id("url-input").press("Enter")
    expect(page.get_by_test_id("added")).to_contain_text("big")
    expect(page.get_by_test_id("url-input")).to_have_value("")
    job_id, row = single_row(page)
    expect(row.get_by_test_id("job-title")).to_have_text("big")

    # The bar moves: sample it until the job ends.
    progress = row.get_by_test_id("progress")
    seen: list[int] = []
    statuses: set[str] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = row.get_attribute("data-status")
        value = progress.get_attribute("aria-valuenow")
        assert status is not None and value is not None
        statuses.add(status)
        if not seen or seen[-1] != int(value):
            seen.append(int(value))
            if len([v for v in seen if 1 <= v <= 99]) == 3:
                screenshot(page, "desktop-downloading")
        if status in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.05)
    assert status == "completed", row.inner_text()
    between = {v for v in seen if 1 <= v <= 99}
    assert len(between) >= 2, f"the progress bar took the values {seen}"
    assert seen == sorted(seen), f"the progress bar went backwards: {seen}"
    assert "downloading" in statuses
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(row.get_by_test_id("job-percent")).to_have_text("100%")
    expect(row.get_by_test_id("job-status")).to_have_text("Finished")
    expect(page.get_by_test_id("filter-completed")).to_have_attribute("data-count", "1")

    with page.expect_download() as info:
        row.get_by_test_id("job-save").click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(".mp4")
    assert Path(download.path()).read_bytes() == (media_dir / "big.mp4").read_bytes()
    assert f"/api/downloads/{job_id}/file" in download.url


def test_an_audio_download_is_saved_as_mp3_and_the_choice_is_remembered(
    page: Page, server: AppServer, media_server: MediaServer
) -> None:
    page.get_by_test_id("media-audio").click()
    expect(page.get_by_test_id("media-audio")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("media-video")).to_have_attribute("aria-pressed", "false")
    page.get_by_test_id("output-format-mp3").click()
    expect(page.get_by_test_id("output-format-mp3")).to_have_attribute("aria-pressed", "true")

    paste(page, media_server.url("/media/video.mp4"))
    expect(page.get_by_test_id("preview-title")).to_have_text("video")
    page.get_by_test_id("url-input").press("Enter")
    _, row = single_row(page)
    assert wait_for_status(row, "completed", "failed", "cancelled") == "completed", row.inner_text()

    with page.expect_download() as info:
        row.get_by_test_id("job-save").click()
    saved = Path(info.value.path())
    assert info.value.suggested_filename.endswith(".mp3")
    assert saved.stat().st_size > 0
    streams = ffprobe_streams(saved)
    assert [s["codec_type"] for s in streams] == ["audio"], streams
    assert streams[0]["codec_name"] == "mp3"
    assert [p.suffix for p in server.files()] == [".mp3"]

    # Video/audio and the output format are remembered between visits.
    again = open_app(page.context, server)
    expect(again.get_by_test_id("media-audio")).to_have_attribute("aria-pressed", "true")
    expect(again.get_by_test_id("output-format-mp3")).to_have_attribute("aria-pressed", "true")


def test_choose_two_of_three_playlist_items(page: Page, media_server: MediaServer) -> None:
    paste(page, media_server.url("/feed.rss"))
    preview = page.get_by_test_id("preview")
    expect(preview).to_have_attribute("data-type", "playlist")
    expect(page.get_by_test_id("preview-title")).to_have_text("Mediarip test feed")
    expect(page.get_by_test_id("preview-count")).to_contain_text("3 items")
    items = page.get_by_test_id("playlist-item")
    expect(items).to_have_count(3)
    for i in range(3):
        expect(items.nth(i)).to_be_checked()
    expect(page.get_by_test_id("playlist-selected-count")).to_have_text("3 of 3 selected")

    page.locator('[data-testid="playlist-item"][data-index="2"]').uncheck()
    expect(page.get_by_test_id("playlist-selected-count")).to_have_text("2 of 3 selected")
    page.get_by_test_id("submit").click()

    group = page.locator('[data-testid="job-row"][data-kind="playlist"]')
    expect(group).to_have_count(1)
    expect(group.get_by_test_id("job-title").first).to_have_text("Mediarip test feed")
    children = group.locator('[data-testid="job-row"]')
    expect(children).to_have_count(2)
    expect(group.get_by_test_id("group-summary")).to_have_text("2 of 2 finished", timeout=60_000)
    for i in range(2):
        expect(children.nth(i)).to_have_attribute("data-status", "completed")
    expect(group).to_have_attribute("data-status", "completed")
    # The group and its two items, nothing else.
    expect(job_rows(page)).to_have_count(3)
    screenshot(page, "desktop-playlist")
    # Items 1 and 3 of the feed, in the playlist's order; item 2 (the webm) was left out.
    expect(children.get_by_test_id("job-title")).to_have_text(
        ["Feed item 1 (mp4)", "Feed item 3 (m4a)"]
    )
