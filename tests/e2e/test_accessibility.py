"""axe-core, injected into the page, finds no serious or critical accessibility problem: at
desktop size and at 360 px, in light and dark mode, with a preview and a queue on screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import Axe, at_each_size_and_scheme, context_options
from tests.e2e.conftest import (
    AppServer,
    NewContext,
    fill_with_one_of_each,
    open_app,
    paste,
    running_server,
    screenshot,
)
from tests.media import MediaServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def queue_server(
    tmp_path_factory: pytest.TempPathFactory, web_dist: Path, media: MediaServer
) -> Iterator[AppServer]:
    """A server in ``shared`` mode whose queue holds a finished job, a failed one and a
    playlist, so every browser context sees rows of each kind."""
    root = tmp_path_factory.mktemp("a11y") / "app"
    with running_server(root, {"MEDIARIP__SESSION__MODE": "shared"}) as server:
        fill_with_one_of_each(server, media)
        yield server


@at_each_size_and_scheme
def test_no_serious_or_critical_accessibility_violations(
    new_context: NewContext,
    queue_server: AppServer,
    media: MediaServer,
    axe_source: str,
    size: str,
    scheme: str,
) -> None:
    page = open_app(new_context(**context_options(size, scheme)), queue_server)
    expect(page.locator("html")).to_have_attribute("data-mode", scheme)
    expect(page.locator('[data-testid="job-row"]')).to_have_count(6)  # video, 404, feed + 3

    # The add view with a playlist's preview.
    paste(page, media.url("/feed.rss"))
    expect(page.get_by_test_id("playlist-item")).to_have_count(3)
    axe = Axe(page, axe_source)
    axe.check("add")
    if size == "phone":
        page.get_by_test_id("tab-queue").click()
        expect(page.get_by_role("heading", name="Queue")).to_be_visible()
        axe.check("queue")
    screenshot(page, f"a11y-{size}-{scheme}")
    axe.assert_clean(f"{size} {scheme}")
