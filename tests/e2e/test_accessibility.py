"""axe-core, injected into the page, finds no serious or critical accessibility problem: at
desktop size and at 360 px, in light and dark mode, with a preview and a queue on screen."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
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

BLOCKING = ("serious", "critical")


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


def _axe(page: Page, source: str) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=source)
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document);
            return {
                version: axe.version,
                violations: r.violations,
                passes: r.passes.length,
                incomplete: r.incomplete.map(i => `${i.id} (${i.nodes.length})`),
            };
        }"""
    )
    # axe really looked: dozens of rules pass on a page like this one.
    assert result["passes"] >= 20, result
    print(
        f"axe {result['version']}: {result['passes']} rules passed; to check by hand: "
        f"{', '.join(result['incomplete']) or 'nothing'}"
    )
    return list(result["violations"])


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:5]]
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])}x) {targets}")
        for node in v["nodes"][:2]:
            lines.append(f"    {node.get('failureSummary', '').strip()}".replace("\n", " "))
    return "\n".join(lines)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_no_serious_or_critical_accessibility_violations(
    new_context: NewContext,
    queue_server: AppServer,
    media: MediaServer,
    axe_source: str,
    size: str,
    scheme: str,
) -> None:
    phone = size == "phone"
    context = new_context(
        viewport=PHONE if phone else DESKTOP,
        is_mobile=phone,
        has_touch=phone,
        color_scheme=scheme,
        bypass_csp=True,  # only so that axe's script can be injected
    )
    page = open_app(context, queue_server)
    expect(page.locator("html")).to_have_attribute("data-mode", scheme)
    expect(page.locator('[data-testid="job-row"]')).to_have_count(6)  # video, 404, feed + 3

    # The add view with a playlist's preview.
    paste(page, media.url("/feed.rss"))
    expect(page.get_by_test_id("playlist-item")).to_have_count(3)
    found = {"add": _axe(page, axe_source)}
    if phone:
        page.get_by_test_id("tab-queue").click()
        expect(page.get_by_role("heading", name="Queue")).to_be_visible()
        found["queue"] = _axe(page, axe_source)
    screenshot(page, f"a11y-{size}-{scheme}")

    report = "\n".join(f"{view}:\n{_describe(v) or '    none'}" for view, v in found.items())
    print(f"axe, {size} {scheme}:\n{report}")
    blocking = [v for vs in found.values() for v in vs if v["impact"] in BLOCKING]
    assert not blocking, (
        f"axe found serious/critical violations:\n{_describe(blocking)}\n"
        + json.dumps([n["html"] for v in blocking for n in v["nodes"][:3]], indent=1)
    )
