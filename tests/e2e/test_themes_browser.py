"""Themes in a real browser: picking one recolours the page and survives a reload, the admin's
default reaches a visitor who never picked, none of it trips the Content-Security-Policy, and
axe-core finds no contrast problem in any of the nine built-ins on a page with a preview, a
finished job, a failed one and a playlist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from mediarip.themes import BUILTIN_DARK, BUILTIN_DIR, BUILTIN_LIGHT
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


def background_of(theme_id: str) -> str:
    """The theme's ``--bg`` as the browser reports a computed colour: ``rgb(r, g, b)``."""
    css = (BUILTIN_DIR / theme_id / "theme.css").read_text()
    match = re.search(r"--bg:\s*#([0-9a-f]{6});", css)
    assert match, theme_id
    r, g, b = (int(match.group(1)[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({r}, {g}, {b})"


def csp_violations(page: Page) -> list[str]:
    found: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            found.append(message.text)

    page.on("console", note)
    return found


def expect_theme(page: Page, theme_id: str) -> None:
    expect(page.locator("html")).to_have_attribute("data-theme", theme_id)
    expect(page.locator("body")).to_have_css("background-color", background_of(theme_id))


def choose(page: Page, family: str, theme_id: str) -> None:
    button = page.get_by_test_id("theme-button")
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    select = page.get_by_test_id(f"theme-select-{family}")
    expect(select.locator(f'option[value="{theme_id}"]')).to_have_count(1)
    select.select_option(theme_id)


@pytest.fixture
def dark_context(new_context: NewContext) -> Iterator[BrowserContext]:
    yield new_context(color_scheme="dark")


def test_picking_a_theme_recolours_the_page_and_survives_a_reload(
    dark_context: BrowserContext, server: AppServer
) -> None:
    page = dark_context.new_page()
    violations = csp_violations(page)
    page.goto(server.base + "/")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")

    # A fresh visitor on a dark system gets the configured default dark theme (cyberpunk).
    expect_theme(page, "cyberpunk")
    choose(page, "dark", "midnight")
    expect_theme(page, "midnight")
    assert page.get_by_test_id("theme-select-dark").input_value() == "midnight"
    screenshot(page, "theme-midnight")

    page.reload()
    expect_theme(page, "midnight")

    # The light family is separate: switching the mode shows the light choice, which is kept too.
    page.get_by_test_id("mode-light").click()
    expect_theme(page, "light")
    choose(page, "light", "paper")
    expect_theme(page, "paper")
    page.reload()
    expect_theme(page, "paper")
    page.get_by_test_id("mode-dark").click()
    expect_theme(page, "midnight")
    # Each theme came from the API as a stylesheet: no inline style, nothing the CSP refused.
    hrefs = page.eval_on_selector_all(
        "link[rel=stylesheet][data-theme-css]", "links => links.map(l => l.getAttribute('href'))"
    )
    assert "/api/themes/midnight/theme.css" in hrefs
    assert violations == []


def test_the_picker_works_from_the_keyboard(
    dark_context: BrowserContext, server: AppServer
) -> None:
    page = open_app(dark_context, server)
    expect_theme(page, "cyberpunk")
    button = page.get_by_test_id("theme-button")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    select = page.get_by_test_id("theme-select-dark")
    expect(select).to_be_focused()
    expect(page.get_by_label("Dark mode theme")).to_have_value("cyberpunk")
    page.keyboard.press("ArrowDown")  # the next dark theme: "dark"
    expect_theme(page, "dark")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("theme-panel")).to_have_count(0)
    expect(button).to_be_focused()


def test_the_admins_default_applies_to_a_fresh_visitor(
    tmp_path: Path, web_dist: Path, new_context: NewContext
) -> None:
    with running_server(
        tmp_path / "app",
        {"MEDIARIP__UI__THEME_DARK": "midnight", "MEDIARIP__UI__THEME_LIGHT": "arctic"},
    ) as server:
        context = new_context(color_scheme="dark")
        page = context.new_page()
        violations = csp_violations(page)
        page.goto(server.base + "/")
        expect_theme(page, "midnight")
        page.get_by_test_id("theme-button").click()
        expect(page.get_by_test_id("theme-select-dark")).to_have_value("midnight")
        expect(page.get_by_test_id("theme-select-light")).to_have_value("arctic")

        light = new_context(color_scheme="light").new_page()
        light.goto(server.base + "/")
        expect_theme(light, "arctic")
        assert violations == []
        context.close()
        light.context.close()


@pytest.fixture(scope="module")
def busy_server(
    tmp_path_factory: pytest.TempPathFactory, web_dist: Path, media: MediaServer
) -> Iterator[AppServer]:
    """A ``shared`` server whose queue holds a finished job, a failed one and a playlist."""
    root = tmp_path_factory.mktemp("themes") / "app"
    with running_server(root, {"MEDIARIP__SESSION__MODE": "shared"}) as server:
        fill_with_one_of_each(server, media)
        yield server


def contrast_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    result: dict[str, Any] = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: ['color-contrast']});
            return {violations: r.violations, passes: r.passes.length};
        }"""
    )
    assert result["passes"] == 1, result  # the rule ran and found text to check
    return [
        {"target": node["target"], "summary": node.get("failureSummary", "")}
        for violation in result["violations"]
        for node in violation["nodes"]
    ]


@pytest.mark.parametrize("family", ["dark", "light"])
def test_axe_finds_no_contrast_problem_in_any_builtin_theme(
    family: str,
    new_context: NewContext,
    busy_server: AppServer,
    media: MediaServer,
    axe_source: str,
) -> None:
    context = new_context(color_scheme=family, bypass_csp=True)  # only to inject axe
    page = open_app(context, busy_server)
    expect(page.locator('[data-testid="job-row"]')).to_have_count(6)
    paste(page, media.url("/feed.rss"))
    expect(page.get_by_test_id("playlist-item")).to_have_count(3)
    page.get_by_test_id("theme-button").click()
    found = {}
    for theme_id in BUILTIN_DARK if family == "dark" else BUILTIN_LIGHT:
        page.get_by_test_id(f"theme-select-{family}").select_option(theme_id)
        expect_theme(page, theme_id)
        found[theme_id] = contrast_violations(page, axe_source)
        screenshot(page, f"theme-{theme_id}")
    bad = {theme_id: nodes for theme_id, nodes in found.items() if nodes}
    assert not bad, bad
