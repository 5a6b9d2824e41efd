"""The everyday page, as a person meets it in the first hour: removing without losing files,
undo, failed and cancelled jobs apart and handled in bulk, a wrong link that says so, a format
picker that offers only what the link has, a steady add row, and jobs added with the API key."""

from __future__ import annotations

import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.axe import Axe, at_each_size_and_scheme, context_options
from tests.e2e.conftest import (
    PHONE,
    AppServer,
    NewContext,
    job_rows,
    open_app,
    paste,
    row_for,
    running_server,
    screenshot,
    single_row,
    wait_for_status,
)
from tests.e2e.test_accessibility import queue_server  # noqa: F401
from tests.media import MediaServer

pytestmark = pytest.mark.e2e

KEY = secrets.token_hex(16)


def _paste_over(page: Page, url: str) -> None:
    """Empty the link field, then paste ``url`` into it."""
    page.get_by_test_id("url-input").fill("")
    paste(page, url)


def _add(page: Page, url: str) -> Locator:
    """Paste ``url``, press Enter, and return the new (newest) row once it has ended."""
    before = job_rows(page).count()
    paste(page, url)
    page.get_by_test_id("url-input").press("Enter")
    expect(job_rows(page)).to_have_count(before + 1, timeout=20_000)
    job_id = job_rows(page).first.get_attribute("data-job-id")
    row = row_for(page, str(job_id))
    wait_for_status(row, "completed", "failed", "cancelled")
    return row


def test_removing_keeps_the_file_unless_asked_and_undo_brings_the_row_back(
    page: Page, server: AppServer, media_server: MediaServer
) -> None:
    paste(page, media_server.url("/media/video.mp4"))
    page.get_by_test_id("url-input").press("Enter")
    job_id, row = single_row(page)
    assert wait_for_status(row, "completed", "failed") == "completed"
    [file] = server.files()

    row.get_by_test_id("job-delete").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("file stays")
    expect(page.get_by_test_id("confirm-option")).not_to_be_checked()  # the default: keep it
    screenshot(page, "remove-dialog")
    page.get_by_test_id("confirm-ok").click()
    expect(row).to_have_count(0)
    assert file.is_file(), "removing from the list deleted the file"
    expect(page.get_by_test_id("undo-message")).to_contain_text("the file is kept")
    screenshot(page, "remove-undo")

    page.get_by_test_id("undo-button").click()
    expect(row).to_have_attribute("data-status", "completed")
    expect(page.get_by_test_id("undo-toast")).to_have_count(0)
    saved = page.request.get(f"{server.base}/api/downloads/{job_id}/file")
    assert saved.status == 200 and saved.body() == file.read_bytes()

    # Asked for, the file goes too (and there is nothing to undo).
    row.get_by_test_id("job-delete").click()
    page.get_by_test_id("confirm-option").check()
    page.get_by_test_id("confirm-ok").click()
    expect(row).to_have_count(0)
    expect(page.get_by_test_id("undo-toast")).to_have_count(0)
    assert not file.exists()


def test_clear_finished_keeps_the_files_by_default(
    page: Page, server: AppServer, media_server: MediaServer
) -> None:
    _add(page, media_server.url("/media/video.mp4"))
    _add(page, media_server.url("/media/audio.m4a"))
    files = server.files()
    assert len(files) == 2
    page.get_by_test_id("clear-finished").click()
    expect(page.get_by_test_id("confirm-dialog")).to_contain_text("2 downloads leave the list")
    page.get_by_test_id("confirm-ok").click()
    expect(job_rows(page)).to_have_count(0)
    expect(page.get_by_test_id("live-region")).to_contain_text("the files are kept")
    assert server.files() == files


def test_failed_and_cancelled_are_counted_apart_and_handled_in_bulk(
    page: Page, server: AppServer, media_server: MediaServer
) -> None:
    failed = _add(page, media_server.url("/fail/404"))
    assert failed.get_attribute("data-status") == "failed"
    # Small print says where each job comes from: two rows called "video" are told apart.
    expect(failed.get_by_test_id("job-source")).to_contain_text(f"127.0.0.1:{media_server.port}")
    expect(failed.get_by_test_id("job-source")).to_have_attribute(
        "title", media_server.url("/fail/404")
    )

    paste(page, media_server.url("/slow/100000/big.mp4"))
    page.get_by_test_id("url-input").press("Enter")
    expect(job_rows(page)).to_have_count(2, timeout=20_000)
    running = row_for(page, str(job_rows(page).first.get_attribute("data-job-id")))
    wait_for_status(running, "downloading", timeout=30_000)
    running.get_by_test_id("job-cancel").click()
    expect(running).to_have_attribute("data-status", "cancelled")

    expect(page.get_by_test_id("filter-failed")).to_have_attribute("data-count", "1")
    expect(page.get_by_test_id("filter-cancelled")).to_have_attribute("data-count", "1")
    page.get_by_test_id("filter-cancelled").click()
    expect(job_rows(page)).to_have_count(1)
    expect(job_rows(page).first).to_have_attribute("data-status", "cancelled")
    page.get_by_test_id("filter-all").click()
    screenshot(page, "failed-and-cancelled")

    # "Retry failed" runs the failed one again (the link being dead, it fails again).
    hits_before = _requests_for(media_server, "/fail/404")
    page.get_by_test_id("retry-failed").click()
    expect(page.get_by_test_id("live-region")).to_contain_text("Retrying 1 failed download")
    wait_for_status(failed, "failed")
    _wait_until(lambda: _requests_for(media_server, "/fail/404") > hits_before)
    expect(running).to_have_attribute("data-status", "cancelled")

    page.get_by_test_id("clear-failed").click()
    page.get_by_test_id("confirm-ok").click()
    expect(failed).to_have_count(0)
    expect(running).to_have_count(1)
    expect(page.get_by_test_id("filter-failed")).to_have_attribute("data-count", "0")


def _requests_for(media: MediaServer, path: str) -> int:
    log = httpx.get(media.url("/_requests"), timeout=10).json()
    return sum(1 for r in log if r["path"] == path)


def _wait_until(condition: object, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_wrong_link_says_so_at_once_and_errors_say_what_happened(
    page: Page, media_server: MediaServer, closed_port: int
) -> None:
    field = page.get_by_test_id("url-input")
    status = page.locator("#url-status")
    empty_height = status.bounding_box()["height"]  # type: ignore[index]
    field.fill("hello world")
    expect(page.get_by_test_id("link-hint")).to_have_text(
        "That is not a link: links start with http:// or https://."
    )
    expect(field).to_have_attribute("aria-invalid", "true")
    # The line was held for it: nothing below moved.
    assert status.bounding_box()["height"] == empty_height  # type: ignore[index]
    field.press("Enter")
    expect(page.get_by_test_id("form-error")).to_contain_text("not a link")
    expect(job_rows(page)).to_have_count(0)

    _paste_over(page, f"http://127.0.0.1:{closed_port}/video.mp4")
    error = page.get_by_test_id("probe-error")
    expect(error).to_contain_text("connection was refused")
    assert "Retry the job" not in error.inner_text() and "broke" not in error.inner_text()

    _paste_over(page, media_server.url("/plain.html"))
    expect(error).to_contain_text("No video or audio was found at this link")
    _paste_over(page, media_server.url("/data.json"))
    expect(error).to_contain_text("JSON document")
    screenshot(page, "wrong-link")


def _option_texts(page: Page) -> list[str]:
    return [
        t.strip() for t in page.get_by_test_id("format-select").locator("option").all_inner_texts()
    ]


def test_the_format_picker_offers_only_what_the_link_has(
    page: Page, media_server: MediaServer
) -> None:
    paste(page, media_server.url("/media/merge.mpd"))
    hint = page.get_by_test_id("format-hint")
    expect(hint).to_have_text("2 formats found.")
    options = _option_texts(page)
    # One height (240p) exists: no "Up to 2160p (4K)" and friends, and no bare ids.
    assert not [o for o in options if o.startswith("Up to")], options
    assert "video-h264" not in options and "audio-aac" not in options, options
    assert any(o.startswith("240p") for o in options), options

    _paste_over(page, media_server.url("/media/video.mp4"))
    expect(hint).to_have_text("1 format found.")
    options = _option_texts(page)
    assert options == ["Best available", "mp4 file · quality not stated"], options
    page.get_by_test_id("media-audio").click()
    assert _option_texts(page) == ["Best available"]


def test_the_add_row_is_wide_steady_and_its_disabled_state_is_plain(
    new_context: NewContext, server: AppServer, media_server: MediaServer
) -> None:
    page = open_app(new_context(viewport={"width": 1366, "height": 800}), server)
    field = page.get_by_test_id("url-input")
    assert field.bounding_box()["width"] >= 700  # type: ignore[index]
    submit = page.get_by_test_id("submit")
    expect(submit).to_be_disabled()  # nothing typed yet
    disabled = submit.evaluate(
        "el => { const s = getComputedStyle(el); return [s.backgroundColor, s.borderStyle, s.opacity] }"
    )
    surface = page.evaluate(
        "() => { const d = document.createElement('div'); d.style.background = 'var(--surface)';"
        " document.body.append(d); const c = getComputedStyle(d).backgroundColor; d.remove();"
        " return c }"
    )
    assert disabled == [surface, "dashed", "1"], disabled
    field.fill(media_server.url("/media/video.mp4"))
    expect(submit).to_be_enabled()
    assert submit.evaluate("el => getComputedStyle(el).backgroundColor") != surface

    # "Added to the queue" goes once stale.
    field.press("Enter")
    expect(page.get_by_test_id("added")).to_be_visible()
    expect(page.get_by_test_id("added")).to_have_count(0, timeout=15_000)


def test_the_phone_tab_bar_is_opaque(new_context: NewContext, server: AppServer) -> None:
    page = open_app(new_context(viewport=PHONE, is_mobile=True, has_touch=True), server)
    bar = page.locator("nav.bottom-tabs")
    expect(bar).to_be_visible()
    colour = bar.evaluate("el => getComputedStyle(el).backgroundColor")
    assert re.fullmatch(r"rgb\(\d+, \d+, \d+\)", colour), f"see-through: {colour}"


def test_jobs_added_with_the_api_key_show_once_the_key_is_given(
    tmp_path: Path, web_dist: Path, new_context: NewContext, media: MediaServer
) -> None:
    env = {"MEDIARIP__SERVER__API_KEY": KEY}
    with running_server(tmp_path / "app", env) as server:
        with httpx.Client(base_url=server.base, headers={"X-API-Key": KEY}) as script:
            created = script.post("/api/downloads", json={"url": media.url("/media/video.mp4")})
            assert created.status_code == 201, created.text
        context = new_context()
        try:
            page = open_app(context, server)
            expect(job_rows(page)).to_have_count(0)
            page.get_by_test_id("api-jobs").locator("summary").click()
            page.get_by_test_id("api-key-input").fill("wrong-key-wrong-key")
            page.get_by_test_id("api-jobs-show").click()
            expect(page.get_by_test_id("api-jobs-status")).to_contain_text("not this server's")
            page.get_by_test_id("api-key-input").fill(KEY)
            page.get_by_test_id("api-jobs-show").click()
            _, row = single_row(page)
            expect(row.get_by_test_id("job-api")).to_have_text("API")
            wait_for_status(row, "completed")
            expect(row.get_by_test_id("job-save")).to_be_visible()
            # Remembered: a reload still shows them.
            page.reload()
            expect(job_rows(page)).to_have_count(1)
        finally:
            context.close()


@at_each_size_and_scheme
def test_the_dialog_and_the_undo_notice_pass_axe(
    new_context: NewContext,
    queue_server: AppServer,  # noqa: F811
    axe_source: str,
    size: str,
    scheme: str,
) -> None:
    page = open_app(new_context(**context_options(size, scheme)), queue_server)
    if size == "phone":
        page.get_by_test_id("tab-queue").click()
    axe = Axe(page, axe_source)
    page.get_by_test_id("clear-finished").click()
    expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
    axe.check("dialog")
    page.get_by_test_id("confirm-cancel").click()

    failed = page.locator('[data-testid="job-row"][data-status="failed"]').first
    failed_id = failed.get_attribute("data-job-id")
    failed.get_by_test_id("job-delete").click()
    expect(page.get_by_test_id("undo-toast")).to_be_visible()
    axe.check("undo")
    screenshot(page, f"a11y-undo-{size}-{scheme}")
    page.get_by_test_id("undo-button").click()
    expect(page.locator(f'[data-job-id="{failed_id}"]')).to_have_count(1)
    axe.assert_clean(f"{size} {scheme}")
