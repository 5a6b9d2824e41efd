"""Themes: the nine built-ins meet WCAG AA, the loader takes good folders and skips broken ones
with one warning each, and the API lists and serves them without ever showing a server path.

The contrast check reads each built-in ``theme.css`` as shipped and pairs its custom properties the
way the web app uses them together (:data:`PAIRS`, taken from ``web/src/styles/base.css`` and the
components' styles; :func:`test_every_text_colour_of_the_web_app_is_checked` keeps the list honest
by reading the web app's CSS).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

from mediarip.themes import (
    BUILTIN_DARK,
    BUILTIN_DIR,
    BUILTIN_LIGHT,
    MAX_CSS_BYTES,
    TOKENS,
    Catalogue,
    ThemeError,
    css_fault,
    load_catalogue,
    load_custom,
    load_theme,
)
from tests.conftest import make_settings
from tests.support import running_app

REPO_ROOT = Path(__file__).resolve().parents[1]
WEB_SRC = REPO_ROOT / "web" / "src"
TOKENS_CSS = WEB_SRC / "styles" / "tokens.css"
ALL_BUILTINS = (*BUILTIN_DARK, *BUILTIN_LIGHT)

# --- colours and contrast (WCAG 2.x) ---------------------------------------------------------------

RGB = tuple[float, float, float]


def parse_colour(value: str) -> tuple[RGB, float]:
    """``#rgb``, ``#rrggbb``, ``rgb(r g b / a)`` or ``rgb(r, g, b)`` / ``rgba(...)``: (rgb, alpha)."""
    value = value.strip().lower()
    if match := re.fullmatch(r"#([0-9a-f]{3}|[0-9a-f]{6})", value):
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)), 1.0
    if match := re.fullmatch(
        r"rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)\s*(?:[/,]\s*([\d.]+)(%?))?\s*\)", value
    ):
        r, g, b, alpha, percent = match.groups()
        a = 1.0 if alpha is None else float(alpha) / (100 if percent else 1)
        return (float(r), float(g), float(b)), a
    raise ValueError(f"not a colour this test reads: {value!r}")


def luminance(rgb: RGB) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_matches_known_values() -> None:
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((255, 255, 255), (255, 255, 255)) == pytest.approx(1.0)
    # #767676 on white is the classic "just passes 4.5:1" grey.
    assert contrast(parse_colour("#767676")[0], parse_colour("#fff")[0]) == pytest.approx(
        4.54, abs=0.01
    )


# --- which tokens are used together ----------------------------------------------------------------

TEXT = 4.5  # WCAG 1.4.3: body text and text on buttons and controls
NON_TEXT = 3.0  # WCAG 1.4.11: control boundaries, focus indicators, state and graphics


@attrs.frozen
class Pair:
    foreground: str
    background: str
    minimum: float
    where: str


PAIRS = (
    # Text on the page's layers.
    Pair("--text", "--bg", TEXT, "body text"),
    Pair("--text", "--surface", TEXT, "cards, header, inputs, selects, buttons, chips"),
    Pair("--text", "--surface-2", TEXT, "playlist items, the preview card"),
    Pair("--text", "--surface-hover", TEXT, "a hovered button or expander"),
    Pair("--text-muted", "--bg", TEXT, "the footer"),
    Pair("--text-muted", "--surface", TEXT, "job details, hints, placeholders, filter tabs"),
    Pair("--text-muted", "--surface-2", TEXT, "details in playlist items and the preview"),
    Pair("--text-muted", "--surface", TEXT, "bottom tab bar (phones), inactive tab"),
    Pair("--text-muted", "--surface", TEXT, "a disabled button's words"),
    # The accent as text.
    Pair("--accent", "--surface", TEXT, "links, link buttons, the skip link"),
    Pair("--accent", "--surface-2", TEXT, "link buttons in playlist items"),
    Pair("--accent", "--surface-hover", TEXT, "a hovered link button"),
    Pair("--accent", "--surface", TEXT, "bottom tab bar, selected tab"),
    # Text on filled controls and badges.
    Pair("--accent-text", "--accent", TEXT, "primary button, pressed segment, count badge"),
    Pair("--accent-text", "--accent-hover", TEXT, "a hovered primary button"),
    Pair("--accent-soft-text", "--accent-soft", TEXT, "pressed chip, active badge, welcome"),
    Pair("--danger", "--surface", TEXT, "delete button, error text"),
    Pair("--danger", "--surface-2", TEXT, "error text in a playlist item"),
    Pair("--danger", "--surface-hover", TEXT, "a hovered delete button"),
    Pair("--success", "--surface", TEXT, "'added' confirmation, live dot"),
    Pair("--danger-soft-text", "--danger-soft", TEXT, "failed badge, error banner"),
    Pair("--success-soft-text", "--success-soft", TEXT, "completed badge"),
    Pair("--warning-soft-text", "--warning-soft", TEXT, "cancelled badge, 'reconnecting'"),
    Pair("--neutral-soft-text", "--neutral-soft", TEXT, "queued badge, tab counts"),
    # Boundaries of controls and focus rings (drawn 2 px outside the control).
    Pair("--border-strong", "--surface", NON_TEXT, "buttons, inputs, selects, chips, segments"),
    Pair("--border-strong", "--surface-2", NON_TEXT, "buttons in playlist items and the preview"),
    Pair("--accent", "--surface", NON_TEXT, "an enabled primary button next to a disabled one"),
    Pair("--surface", "--backdrop", 1.0, "a dialog over the dimmed page (no text lies on it)"),
    Pair("--focus-ring", "--bg", NON_TEXT, "focus ring on the page"),
    Pair("--focus-ring", "--surface", NON_TEXT, "focus ring in cards and the header"),
    Pair("--focus-ring", "--surface-2", NON_TEXT, "focus ring in playlist items"),
    Pair("--accent", "--bg", NON_TEXT, "the accent as a state next to the page"),
    # State indicators and graphics.
    Pair("--accent", "--surface", NON_TEXT, "pressed chip border, selected tab line, checkbox"),
    Pair("--progress-fill", "--progress-track", NON_TEXT, "progress bar"),
    Pair("--progress-done", "--progress-track", NON_TEXT, "finished progress bar"),
    Pair("--progress-failed", "--progress-track", NON_TEXT, "cancelled progress bar"),
)
#: A translucent background is judged over each of these (what may show through it).
UNDERLAYS = {"--backdrop": ("--bg", "--surface")}


# --- reading a theme -------------------------------------------------------------------------------


def theme_rules(css: str) -> list[tuple[str, dict[str, str]]]:
    """Each rule of a stylesheet as (selector, {property: value}); comments dropped."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    rules = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = {}
        for declaration in body.split(";"):
            name, sep, value = declaration.partition(":")
            if sep:
                declarations[name.strip()] = value.strip()
        rules.append((" ".join(selector.split()), declarations))
    return rules


def builtin_tokens(theme_id: str) -> dict[str, str]:
    css = (BUILTIN_DIR / theme_id / "theme.css").read_text(encoding="utf-8")
    rules = theme_rules(css)
    assert [selector for selector, _ in rules] == [f":root[data-theme='{theme_id}']"], (
        f"{theme_id}: one rule, scoped to its own data-theme"
    )
    return rules[0][1]


def resolve(tokens: dict[str, str], name: str, under: str | None = None) -> RGB:
    rgb, alpha = parse_colour(tokens[name])
    if alpha < 1:
        assert under is not None, f"{name} is translucent: say what it lies over"
        base = resolve(tokens, under)
        rgb = tuple(alpha * c + (1 - alpha) * b for c, b in zip(rgb, base, strict=True))  # type: ignore[assignment]
    return rgb


def ratios(tokens: dict[str, str]) -> Iterator[tuple[Pair, str | None, float]]:
    for pair in PAIRS:
        for under in UNDERLAYS.get(pair.background, (None,)):
            yield (
                pair,
                under,
                contrast(resolve(tokens, pair.foreground), resolve(tokens, pair.background, under)),
            )


def tokens_css_modes() -> dict[str, dict[str, str]]:
    """tokens.css's values for ``light`` and ``dark``."""
    modes = {}
    for selector, declarations in theme_rules(TOKENS_CSS.read_text(encoding="utf-8")):
        if selector.endswith("[data-mode='light']"):
            modes["light"] = declarations
        elif selector == ":root[data-mode='dark']":
            modes["dark"] = declarations
    assert set(modes) == {"light", "dark"}
    return modes


# --- the built-in themes ---------------------------------------------------------------------------


@pytest.mark.parametrize("theme_id", ALL_BUILTINS)
def test_builtin_theme_meets_wcag_aa(theme_id: str) -> None:
    tokens = builtin_tokens(theme_id)
    failures = [
        f"{pair.foreground} on {pair.background}{f' over {under}' if under else ''}: "
        f"{ratio:.2f} < {pair.minimum} ({pair.where})"
        for pair, under, ratio in ratios(tokens)
        if ratio < pair.minimum
    ]
    assert not failures, f"{theme_id}:\n" + "\n".join(failures)


@pytest.mark.parametrize("theme_id", ALL_BUILTINS)
def test_builtin_theme_sets_every_token(theme_id: str) -> None:
    tokens = builtin_tokens(theme_id)
    assert set(TOKENS) <= set(tokens), set(TOKENS) - set(tokens)
    mode = json.loads((BUILTIN_DIR / theme_id / "metadata.json").read_text())["mode"]
    assert tokens["color-scheme"] == mode
    assert mode == ("dark" if theme_id in BUILTIN_DARK else "light")
    unknown = {name for name in tokens if name.startswith("--")} - {*TOKENS, "--font-heading"}
    assert not unknown, f"{theme_id} sets properties the web app does not use: {unknown}"


def test_the_token_list_is_the_web_apps() -> None:
    for mode, declarations in tokens_css_modes().items():
        assert sorted(n for n in declarations if n.startswith("--")) == sorted(TOKENS), mode


@pytest.mark.parametrize("theme_id", ["dark", "light"])
def test_dark_and_light_builtins_are_the_web_apps_own_colours(theme_id: str) -> None:
    """Nothing changes by default: the page looks the same before and after a theme loads."""
    expected = tokens_css_modes()[theme_id]
    tokens = builtin_tokens(theme_id)
    assert {n: tokens[n] for n in TOKENS} == {n: expected[n] for n in TOKENS}


def test_every_text_colour_of_the_web_app_is_checked() -> None:
    """Each token the web app's CSS uses as a text colour is a foreground in :data:`PAIRS`, and
    each one it uses as a background is in some pair; a new use makes this fail until the pair
    list says what it lies on."""
    foregrounds = {p.foreground for p in PAIRS}
    everything = foregrounds | {p.background for p in PAIRS}
    sources = [*WEB_SRC.rglob("*.vue"), *WEB_SRC.rglob("*.css")]
    assert sources
    text_colours: set[str] = set()
    backgrounds: set[str] = set()
    for source in sources:
        css = source.read_text(encoding="utf-8")
        text_colours |= set(re.findall(r"(?<![-\w])color:\s*var\((--[\w-]+)\)", css))
        backgrounds |= set(re.findall(r"background(?:-color)?:\s*var\((--[\w-]+)\)", css))
    assert text_colours and backgrounds
    assert text_colours <= foregrounds, text_colours - foregrounds
    assert backgrounds <= everything, backgrounds - everything


def test_the_builtins_load_in_their_families_order() -> None:
    catalogue = load_catalogue(None)
    listing = catalogue.listing()
    assert [t["id"] for t in listing] == list(ALL_BUILTINS)
    for theme in listing:
        assert theme["builtin"] is True
        assert theme["name"] and theme["description"] and theme["author"]
        assert theme["mode"] == ("dark" if theme["id"] in BUILTIN_DARK else "light")


# --- the loader ------------------------------------------------------------------------------------

GOOD_CSS = """/* Ocean */
:root[data-theme='ocean'] {
  color-scheme: dark;
  --bg: #01141f;
  --text: #e6f6ff;
  --accent: #4cc9f0;
  --shadow: 0 1px 2px rgb(0 0 0 / 0.4);
  --pattern: url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E");
}
"""
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def make_theme(
    root: Path,
    theme_id: str = "ocean",
    *,
    metadata: object | None = None,
    css: str | bytes | None = GOOD_CSS,
    raw_metadata: bytes | None = None,
    files: dict[str, bytes] | None = None,
) -> Path:
    folder = root / theme_id
    folder.mkdir(parents=True)
    if raw_metadata is not None:
        (folder / "metadata.json").write_bytes(raw_metadata)
    else:
        meta = {"name": "Ocean", "mode": "dark", "description": "Deep sea", "author": "Ann"}
        (folder / "metadata.json").write_text(json.dumps(meta if metadata is None else metadata))
    if css is not None:
        data = css.encode() if isinstance(css, str) else css
        (folder / "theme.css").write_bytes(data)
    for name, content in (files or {}).items():
        (folder / name).write_bytes(content)
    return folder


def test_a_good_custom_theme_loads(tmp_path: Path) -> None:
    make_theme(tmp_path, files={"preview.png": PNG})
    [theme] = load_custom(tmp_path)
    assert (theme.id, theme.name, theme.mode) == ("ocean", "Ocean", "dark")
    assert (theme.description, theme.author, theme.builtin) == ("Deep sea", "Ann", False)
    assert theme.css == GOOD_CSS.encode()
    assert (theme.preview, theme.preview_type) == (PNG, "image/png")


def test_optional_metadata_and_a_named_preview(tmp_path: Path) -> None:
    webp = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16
    make_theme(tmp_path, metadata={"name": "Sand", "mode": "light", "preview": "shot.webp"},
               files={"shot.webp": webp})  # fmt: skip
    [theme] = load_custom(tmp_path)
    assert (theme.name, theme.mode, theme.description, theme.author) == ("Sand", "light", "", "")
    assert theme.preview_type == "image/webp"


def test_hidden_entries_and_plain_files_are_ignored_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "README.txt").write_text("my themes")
    (tmp_path / ".git").mkdir()
    make_theme(tmp_path)
    with caplog.at_level(logging.WARNING, logger="mediarip.themes"):
        assert [t.id for t in load_custom(tmp_path)] == ["ocean"]
    assert not caplog.records


BIG = ":root[data-theme='ocean'] { --bg: #000; }\n" + "/* padding */\n" * (MAX_CSS_BYTES // 14)

BROKEN: dict[str, tuple[Callable[[Path], Path], str]] = {
    "bad id": (lambda root: make_theme(root, "My Theme"), "not a theme id"),
    "id too long": (lambda root: make_theme(root, "x" * 41), "not a theme id"),
    "no metadata": (
        lambda root: (p := make_theme(root), (p / "metadata.json").unlink())[0],
        "metadata.json is missing",
    ),
    "metadata not json": (
        lambda root: make_theme(root, raw_metadata=b"{name: ocean"),
        "metadata.json is not valid JSON",
    ),
    "metadata not utf-8": (
        lambda root: make_theme(root, raw_metadata=b'{"name": "\xff"}'),
        "metadata.json is not UTF-8",
    ),
    "metadata not an object": (
        lambda root: make_theme(root, metadata=["Ocean", "dark"]),
        "must hold a JSON object",
    ),
    "no name": (lambda root: make_theme(root, metadata={"mode": "dark"}), '"name" must be'),
    "empty name": (
        lambda root: make_theme(root, metadata={"name": "  ", "mode": "dark"}),
        '"name" must be a non-empty string',
    ),
    "bad mode": (
        lambda root: make_theme(root, metadata={"name": "Ocean", "mode": "dim"}),
        '"mode" must be "dark" or "light"',
    ),
    "description not text": (
        lambda root: make_theme(root, metadata={"name": "O", "mode": "dark", "description": 3}),
        '"description" must be a string',
    ),
    "no css": (lambda root: make_theme(root, css=None), "theme.css is missing"),
    "css not utf-8": (lambda root: make_theme(root, css=b"\xff\xfe:root{}"), "not UTF-8"),
    "css too large": (lambda root: make_theme(root, css=BIG), "larger than 256 KiB"),
    "@import": (
        lambda root: make_theme(root, css="@import 'https://evil.example/x.css';"),
        "@import",
    ),
    "url off-site": (
        lambda root: make_theme(root, css="body{background:url(https://evil.example/p.png)}"),
        "url(",
    ),
    "url on-site": (
        lambda root: make_theme(root, css="body{background:url( '/api/health' )}"),
        "url(",
    ),
    "escaped url": (
        lambda root: make_theme(root, css="body{background:u\\72 l(//evil.example/p.png)}"),
        "url(",
    ),
    "image-set": (
        lambda root: make_theme(root, css='body{background:image-set("//evil.example/a.png" 1x)}'),
        "image-set(",
    ),
    "expression": (
        lambda root: make_theme(root, css="body{width:expression(alert(1))}"),
        "expression()",
    ),
    "closing style tag": (
        lambda root: make_theme(root, css=":root{--x:1}</style><script>alert(1)</script>"),
        "</style",
    ),
    "shadows a built-in": (lambda root: make_theme(root, "midnight"), "built-in"),
    "preview not an image": (
        lambda root: make_theme(root, files={"preview.png": b"GIF89a not a png"}),
        "preview preview.png is not a PNG image",
    ),
    "preview outside the folder": (
        lambda root: make_theme(
            root, metadata={"name": "O", "mode": "dark", "preview": "../x.png"}
        ),
        '"preview" must be a file name',
    ),
    "preview missing": (
        lambda root: make_theme(root, metadata={"name": "O", "mode": "dark", "preview": "a.png"}),
        "preview a.png is missing",
    ),
}


@pytest.mark.parametrize("fault", BROKEN)
def test_a_broken_custom_theme_is_skipped_with_one_warning(
    fault: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    build, message = BROKEN[fault]
    make_theme(tmp_path, "good")  # its neighbour still loads
    folder = build(tmp_path)
    with caplog.at_level(logging.WARNING, logger="mediarip.themes"):
        themes = load_custom(tmp_path, taken=ALL_BUILTINS)
    assert [t.id for t in themes] == ["good"]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    line = warnings[0].getMessage()
    assert str(folder) in line, line
    assert message in line, line


def test_a_missing_themes_folder_is_a_warning_not_a_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="mediarip.themes"):
        catalogue = load_catalogue(tmp_path / "nowhere")
    assert list(catalogue.themes) == list(ALL_BUILTINS)
    [record] = caplog.records
    assert str(tmp_path / "nowhere") in record.getMessage()


def test_load_theme_raises_with_the_fault(tmp_path: Path) -> None:
    folder = make_theme(tmp_path, metadata={"name": "Ocean", "mode": "sepia"})
    with pytest.raises(ThemeError, match='"mode" must be'):
        load_theme(folder)


@pytest.mark.parametrize(
    "css",
    [
        ":root{--bg:#000}",
        ":root{--x:url(data:image/png;base64,AAAA)}",
        ':root{--x:url( "data:image/svg+xml,%3Csvg/%3E" )}',
        "/* a comment */ :root[data-theme='x'] { --font-heading: 'My Font', monospace; }",
        ":root{--curl:#fff; --source:#000}",
    ],
)
def test_css_that_stays_on_the_page_passes(css: str) -> None:
    assert css_fault(css) is None


@pytest.mark.parametrize(
    "css",
    [
        "@IMPORT url(x.css);",
        "@\\69mport 'x.css';",
        "a{b:URL(x.png)}",
        "a{b:url(x.png)}",
        "a{b:url('http://x/y')}",
        "a{b:\\75\\72\\6c(x.png)}",
        'a{b:image("x.png")}',
        "a{b:-webkit-image-set('x.png' 1x)}",
        "@font-face{src: src('x.woff')}",
        "a{b:expression(1)}",
        "a{b:'javascript:alert(1)'}",
        "a{-moz-binding: x}",
        "a{behavior: x}",
        "</STYLE>",
        "a{b:c}\x00",
    ],
)
def test_css_that_reaches_elsewhere_fails(css: str) -> None:
    assert css_fault(css) is not None


def test_configured_defaults_fall_back_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    catalogue = load_catalogue(None)
    ui = make_settings(tmp_path, {"MEDIARIP__UI__THEME_DARK": "nope"}).ui
    ui = attrs.evolve(ui, theme_light="midnight")
    with caplog.at_level(logging.WARNING, logger="mediarip.themes"):
        assert catalogue.defaults(ui) == {"dark": "dark", "light": "light", "mode": "system"}
        assert catalogue.defaults(ui)["dark"] == "dark"  # asked again: no second warning
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "ui.theme_dark is 'nope', but there is no such theme; using 'dark' instead" in messages
    assert "ui.theme_light is 'midnight', but it is a dark theme; using 'light' instead" in messages


def test_good_defaults_are_kept(tmp_path: Path) -> None:
    catalogue: Catalogue = load_catalogue(None)
    ui = attrs.evolve(make_settings(tmp_path).ui, theme_dark="hacker", theme_light="paper")
    assert catalogue.defaults(ui) == {"dark": "hacker", "light": "paper", "mode": "system"}


# --- the API ---------------------------------------------------------------------------------------

THEME_FIELDS = {"id", "name", "mode", "description", "author", "builtin", "has_preview"}


def strings_in(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


async def test_the_api_lists_and_serves_builtin_and_custom_themes(tmp_path: Path) -> None:
    themes_dir = tmp_path / "my-themes"
    make_theme(themes_dir, files={"preview.png": PNG})
    make_theme(themes_dir, "broken", metadata={"name": "Broken", "mode": "purple"})
    settings = make_settings(tmp_path, {"MEDIARIP__UI__THEMES_DIR": str(themes_dir)})
    async with running_app(settings) as app:
        response = await app.client.get("/api/themes")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert set(body) == {"themes", "defaults"}
        assert body["defaults"] == {"dark": "cyberpunk", "light": "light", "mode": "system"}
        assert [t["id"] for t in body["themes"]] == [*ALL_BUILTINS, "ocean"]
        for theme in body["themes"]:
            assert set(theme) == THEME_FIELDS
        ocean = body["themes"][-1]
        assert ocean == {
            "id": "ocean",
            "name": "Ocean",
            "mode": "dark",
            "description": "Deep sea",
            "author": "Ann",
            "builtin": False,
            "has_preview": True,
        }
        # Never a server path: not the temporary folder, the themes folder or the package's.
        for path in (tmp_path, themes_dir, BUILTIN_DIR, REPO_ROOT):
            assert str(path) not in response.text
        assert not [s for s in strings_in(body) if s.startswith(("/", "~")) or "\\" in s]

        for theme_id in ("ocean", "midnight"):
            css = await app.client.get(f"/api/themes/{theme_id}/theme.css")
            assert css.status_code == 200
            assert css.headers["content-type"] == "text/css; charset=utf-8"
            assert css.headers["etag"]
            assert "max-age=" in css.headers["cache-control"]
            assert "no-store" not in css.headers["cache-control"]
            assert css.headers["x-content-type-options"] == "nosniff"
            assert f"[data-theme='{theme_id}']" in css.text
        assert css.text == (BUILTIN_DIR / "midnight" / "theme.css").read_text()

        again = await app.client.get(
            "/api/themes/midnight/theme.css", headers={"If-None-Match": css.headers["etag"]}
        )
        assert again.status_code == 304
        assert again.content == b""

        preview = await app.client.get("/api/themes/ocean/preview")
        assert preview.status_code == 200
        assert preview.headers["content-type"] == "image/png"
        assert preview.content == PNG


@pytest.mark.parametrize(
    "path",
    [
        "/api/themes/nope/theme.css",
        "/api/themes/broken/theme.css",
        "/api/themes/..%2F..%2Fetc/theme.css",
        "/api/themes/Midnight/theme.css",
        "/api/themes/nope/preview",
        "/api/themes/midnight/preview",  # a built-in without a preview
    ],
)
async def test_unknown_themes_are_json_404s(path: str, tmp_path: Path) -> None:
    themes_dir = tmp_path / "t"
    make_theme(themes_dir, "broken", metadata={"name": "Broken", "mode": "purple"})
    async with running_app(
        make_settings(tmp_path, {"MEDIARIP__UI__THEMES_DIR": str(themes_dir)})
    ) as app:
        response = await app.client.get(path)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/json")
        error = response.json()["error"]
        assert error["code"] in {"theme_not_found", "preview_not_found", "not_found"}
        assert error["message"]


async def test_a_bad_configured_default_falls_back_and_is_logged_at_startup(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        tmp_path,
        {"MEDIARIP__UI__THEME_DARK": "nothing", "MEDIARIP__UI__THEME_LIGHT": "hacker"},
    )
    with caplog.at_level(logging.WARNING, logger="mediarip.themes"):
        async with running_app(settings) as app:
            startup = [r.getMessage() for r in caplog.records]
            response = await app.client.get("/api/themes")
            assert response.json()["defaults"] == {
                "dark": "dark",
                "light": "light",
                "mode": "system",
            }
            public = (await app.client.get("/api/config/public")).json()
            assert (public["theme_dark"], public["theme_light"]) == ("dark", "light")
    assert any("ui.theme_dark is 'nothing'" in m for m in startup), startup
    assert any("ui.theme_light is 'hacker', but it is a dark theme" in m for m in startup), startup


async def test_the_openapi_document_describes_the_theme_endpoints(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as app:
        document = (await app.client.get("/api/openapi.json")).json()
    paths = document["paths"]
    assert "get" in paths["/api/themes"]
    assert (
        "text/css"
        in paths["/api/themes/{theme_id}/theme.css"]["get"]["responses"]["200"]["content"]
    )
    assert "404" in paths["/api/themes/{theme_id}/preview"]["get"]["responses"]
    assert set(document["components"]["schemas"]["Theme"]["required"]) == THEME_FIELDS


def test_weakest_pairs_table() -> None:
    """Prints the weakest ratio of each built-in, text and non-text (run with -s to see it)."""
    for theme_id in ALL_BUILTINS:
        tokens = builtin_tokens(theme_id)
        text = min(r for p, _, r in ratios(tokens) if p.minimum == TEXT)
        other = min(r for p, _, r in ratios(tokens) if p.minimum == NON_TEXT)
        print(f"{theme_id:10} text {text:5.2f}:1   controls {other:5.2f}:1")
        assert text >= TEXT and other >= NON_TEXT


def test_a_disabled_button_looks_disabled_in_every_theme() -> None:
    """A disabled button is drawn with the theme's colours, not faded: no fill (the surface),
    muted words, a dashed edge. Faded by opacity, the default theme's disabled Download button
    looked enabled. The pairs it relies on are in :data:`PAIRS` (muted words on the surface, the
    accent fill against the surface), so every theme is checked for them."""
    css = (WEB_SRC / "styles" / "base.css").read_text(encoding="utf-8")
    rules = dict(theme_rules(css))
    disabled = rules[".btn:disabled, .btn-primary:disabled, .btn-danger:disabled"]
    assert "opacity" not in disabled
    assert disabled["background"] == "var(--surface)"
    assert disabled["color"] == "var(--text-muted)"
    assert disabled["border-style"] == "dashed"
    used = {(p.foreground, p.background, p.minimum) for p in PAIRS}
    assert ("--text-muted", "--surface", TEXT) in used
    assert ("--accent", "--surface", NON_TEXT) in used
