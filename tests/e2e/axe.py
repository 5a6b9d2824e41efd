"""axe-core in the browser, for every e2e test that checks a page's accessibility.

A test runs once per size (desktop, a 360 px phone) and colour scheme (light, dark):
``@at_each_size_and_scheme`` makes the four, ``context_options(size, scheme)`` is the browser
context for one of them. In it the test brings each view it cares about on screen and calls
``axe.check(name)``; ``axe.assert_clean(label)`` at the end prints what axe found in every
view and fails on any serious or critical violation, all views named at once.

axe's script is injected into the page, so the context bypasses the Content-Security-Policy:
the only tests that do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import DESKTOP, PHONE

BLOCKING = ("serious", "critical")

Test = TypeVar("Test", bound=Callable[..., None])


def at_each_size_and_scheme(test: Test) -> Test:
    """Run ``test`` with ``size`` in desktop, phone and ``scheme`` in light, dark."""
    by_size = pytest.mark.parametrize("size", ["desktop", "phone"])(test)
    return pytest.mark.parametrize("scheme", ["light", "dark"])(by_size)  # type: ignore[no-any-return]


def context_options(size: str, scheme: str) -> dict[str, Any]:
    """A browser context's options for one size and colour scheme."""
    phone = size == "phone"
    return {
        "viewport": PHONE if phone else DESKTOP,
        "is_mobile": phone,
        "has_touch": phone,
        "color_scheme": scheme,
        "bypass_csp": True,  # only so that axe's script can be injected
    }


class Axe:
    """One test's axe runs on one page, kept by the name of the view each was run on."""

    def __init__(self, page: Page, source: str) -> None:
        self.page = page
        self.source = source
        self.found: dict[str, list[dict[str, Any]]] = {}

    def check(self, name: str, *, dialog: bool = False) -> None:
        """Run axe on the page as it is now. Dozens of rules pass on a page of this app, so
        fewer than 20 means axe did not really look; with a modal ``dialog`` open everything
        behind it is inert and 10 is enough."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(content=self.source)
        result = self.page.evaluate(
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
        assert result["passes"] >= (10 if dialog else 20), result
        print(
            f"axe {result['version']}, {name}: {result['passes']} rules passed; to check by "
            f"hand: {', '.join(result['incomplete']) or 'nothing'}"
        )
        self.found[name] = list(result["violations"])

    def assert_clean(self, label: str) -> None:
        """Print every view's violations; fail if any is serious or critical."""
        report = "\n".join(
            f"{view}:\n{describe(v) or '    none'}" for view, v in self.found.items()
        )
        print(f"axe, {label}:\n{report}")
        blocking = [v for vs in self.found.values() for v in vs if v["impact"] in BLOCKING]
        assert not blocking, (
            f"axe found serious/critical violations:\n{describe(blocking)}\n"
            + json.dumps([n["html"] for v in blocking for n in v["nodes"][:3]], indent=1)
        )


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:5]]
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])}x) {targets}")
        for node in v["nodes"][:2]:
            lines.append(f"    {node.get('failureSummary', '').strip()}".replace("\n", " "))
    return "\n".join(lines)
