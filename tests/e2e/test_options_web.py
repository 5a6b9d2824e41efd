"""What a person asks of their downloads in the web app: a preset, subtitles in the link's
languages, several links at once, and a queue that waits until they start it; checked with
axe in light and dark, at desktop size and at 360 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.axe import Axe, at_each_size_and_scheme, context_options
from tests.e2e.conftest import (
    AppServer,
    NewContext,
    job_rows,
    open_app,
    paste,
    running_server,
    screenshot,
    single_row,
    wait_for_status,
)
from tests.media import MediaServer
from tests.test_download_options import has_cover_art, probe

pytestmark = pytest.mark.e2e


def _jobs(server: AppServer) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.base}/api/downloads", timeout=10)
    return response.json()["jobs"]  # type: ignore[no-any-return]


def _presets(server: AppServer) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.base}/api/presets", timeout=10)
    return response.json()["presets"]  # type: ignore[no-any-return]


@pytest.fixture
def shared_server(tmp_path: Path, web_dist: Path) -> Iterator[AppServer]:
    """``shared`` mode, so the test can read the queue over the API as the browser sees it."""
    with running_server(tmp_path / "app", {"MEDIARIP__SESSION__MODE": "shared"}) as server:
        yield server


def test_a_preset_subtitles_and_three_pasted_links_make_three_jobs(
    new_context: NewContext, shared_server: AppServer, media: MediaServer
) -> None:
    page = open_app(new_context(), shared_server)
    page.get_by_test_id("preset-select").select_option(label="Audio: mp3 with cover art")

    # The link's subtitle languages are offered once it is looked at; French, beside the file.
    paste(page, media.url("/rich.html"))
    page.get_by_test_id("options-panel").locator("summary").click()
    expect(page.get_by_test_id("opt-thumbnail")).to_be_checked()  # the preset's
    page.get_by_test_id("opt-subtitles").check()
    expect(page.get_by_test_id("opt-lang-en")).to_be_visible()
    page.get_by_test_id("opt-lang-fr").check()
    page.get_by_test_id("opt-subtitle-mode").select_option("sidecar")
    page.get_by_test_id("url-input").fill("")

    urls = [media.url("/rich.html"), media.url("/media/video.mp4"), media.url("/media/audio.m4a")]
    page.get_by_test_id("batch").locator("summary").click()
    page.get_by_test_id("batch-input").fill("\n".join(urls))
    expect(page.get_by_test_id("batch-submit")).to_have_text("Add 3 links")
    page.get_by_test_id("batch-submit").click()
    expect(page.get_by_test_id("batch-status")).to_contain_text("Added 3 to the queue")
    expect(job_rows(page)).to_have_count(3)
    screenshot(page, "desktop-batch-with-options")

    for row in job_rows(page).all():
        assert wait_for_status(row, "completed", "failed") == "completed", row.inner_text()
    jobs = {j["url"]: j for j in _jobs(shared_server)}
    assert set(jobs) == set(urls)
    for job in jobs.values():
        assert job["media_type"] == "audio" and job["output_format"] == "mp3"  # the preset's
        assert job["options"]["embed_thumbnail"] is True  # the preset's
        assert job["options"]["subtitles"] == {
            "languages": ["fr"],
            "auto": False,
            "mode": "sidecar",
            "format": None,
        }
    rich = jobs[urls[0]]
    names = [f["name"] for f in rich["files"]]
    assert names[0].endswith(".mp3") and names[1].endswith(".fr.vtt"), names
    assert has_cover_art(probe(shared_server.downloads / names[0]))
    vtt = (shared_server.downloads / names[1]).read_text(encoding="utf-8")
    assert "Bonjour de la page de test" in vtt


def test_a_paused_job_waits_until_started_from_its_row(
    new_context: NewContext, tmp_path: Path, web_dist: Path, media: MediaServer
) -> None:
    env = {"MEDIARIP__DOWNLOADS__AUTOSTART": "false"}
    with running_server(tmp_path / "app", env) as server:
        page = open_app(new_context(), server)
        paste(page, media.url("/media/video.mp4"))
        page.get_by_test_id("url-input").press("Enter")
        _, row = single_row(page)
        expect(row).to_have_attribute("data-status", "paused")
        expect(row.get_by_test_id("job-status")).to_have_text("Paused")
        row.get_by_test_id("job-start").click()
        assert wait_for_status(row, "completed", "failed") == "completed", row.inner_text()


@at_each_size_and_scheme
def test_the_options_and_batch_panels_pass_axe(
    new_context: NewContext,
    shared_server: AppServer,
    media: MediaServer,
    axe_source: str,
    size: str,
    scheme: str,
) -> None:
    page = open_app(new_context(**context_options(size, scheme)), shared_server)
    paste(page, media.url("/rich.html"))
    page.get_by_test_id("options-panel").locator("summary").click()
    page.get_by_test_id("opt-subtitles").check()
    expect(page.get_by_test_id("opt-lang-en")).to_be_visible()
    page.get_by_test_id("batch").locator("summary").click()
    page.get_by_test_id("batch-input").fill(media.url("/media/video.mp4"))
    axe = Axe(page, axe_source)
    axe.check("options")
    screenshot(page, f"options-{size}-{scheme}")
    axe.assert_clean(f"{size} {scheme}")


def test_the_admin_adds_a_default_preset_and_the_add_form_starts_with_it(
    new_context: NewContext, tmp_path: Path, web_dist: Path, media: MediaServer
) -> None:
    from tests.e2e.test_admin_panel import PASSWORD, go, log_in, open_admin

    env = {"MEDIARIP__ADMIN__PASSWORD": PASSWORD, "MEDIARIP__SESSION__MODE": "shared"}
    with running_server(tmp_path / "app", env) as server:
        context = new_context()
        admin = open_admin(context, server)
        log_in(admin)
        go(admin, "presets")
        expect(admin.get_by_test_id("admin-preset")).to_have_count(2)  # the built-in two
        admin.get_by_test_id("admin-preset-name").fill("Talks: m4a in a folder")
        admin.get_by_test_id("admin-preset-media").select_option("audio")
        admin.get_by_test_id("admin-preset-output").select_option("m4a")
        admin.get_by_test_id("admin-preset-folder").fill("talks")
        admin.get_by_test_id("admin-preset-make-default").check()
        admin.get_by_test_id("admin-preset-save").click()
        expect(admin.get_by_test_id("admin-presets-done")).to_contain_text("Talks: m4a")
        made = admin.get_by_test_id("admin-preset").filter(has_text="Talks: m4a in a folder")
        expect(made.get_by_test_id("admin-preset-default")).to_be_visible()
        screenshot(admin, "admin-presets")

        # Edit it: the form takes its fields, a change is saved.
        made.get_by_test_id("admin-preset-edit").click()
        expect(admin.get_by_test_id("admin-preset-name")).to_have_value("Talks: m4a in a folder")
        admin.get_by_test_id("admin-preset-folder").fill("talks/2026")
        admin.get_by_test_id("admin-preset-filename").fill("%(title)s excerpt")
        admin.get_by_test_id("admin-preset-clip-start").fill("0:01")
        admin.get_by_test_id("admin-preset-clip-end").fill("0:02")
        admin.get_by_test_id("admin-preset-sponsorblock").select_option("mark")
        admin.get_by_test_id("admin-preset-sponsor-categories").fill("intro, outro")
        admin.get_by_test_id("admin-preset-save").click()
        expect(made).to_contain_text("folder talks/2026")
        expect(made).to_contain_text("clip")
        expect(made).to_contain_text("SponsorBlock mark")
        stored = next(p for p in _presets(server) if p["name"] == "Talks: m4a in a folder")
        assert stored["options"]["sponsorblock"] == {
            "action": "mark",
            "categories": ["intro", "outro"],
        }
        assert stored["options"]["filename"] == "%(title)s excerpt"
        # SponsorBlock's server is not on loopback: the job below goes without it.
        made.get_by_test_id("admin-preset-edit").click()
        admin.get_by_test_id("admin-preset-sponsorblock").select_option("")
        admin.get_by_test_id("admin-preset-save").click()
        expect(made).not_to_contain_text("SponsorBlock")

        page = open_app(context, server)
        select = page.get_by_test_id("preset-select")
        expect(select.locator("option:checked")).to_have_text("Talks: m4a in a folder")
        paste(page, media.url("/media/video.mp4"))
        page.get_by_test_id("url-input").press("Enter")
        _, row = single_row(page)
        assert wait_for_status(row, "completed", "failed") == "completed", row.inner_text()
        (job,) = _jobs(server)
        assert job["output_format"] == "m4a" and job["filename"].startswith("talks/2026/")
        assert job["filename"].endswith(" excerpt.m4a"), job["filename"]
        assert job["options"]["clip"]["start"] == 1 and job["options"]["clip"]["end"] == 2

        # Deleting it (after the in-page confirmation) takes it out of the list.
        admin.bring_to_front()
        made.get_by_test_id("admin-preset-delete").click()
        admin.get_by_test_id("confirm-ok").click()
        expect(admin.get_by_test_id("admin-preset")).to_have_count(2)
