"""Themes: the nine built-ins shipped with the package and the admin's custom ones, checked once.

A theme is a folder holding ``metadata.json`` and ``theme.css`` (and, optionally, a preview
image). The built-ins live in ``mediarip/builtin_themes/<id>/`` (package data, not a Python
package); custom themes in ``ui.themes_dir``, one folder per theme, the folder's name being the
theme's id. Both go through the same checks, so a built-in is served exactly as a custom theme.

``metadata.json``::

    {"name": "Midnight", "mode": "dark", "description": "...", "author": "...",
     "preview": "preview.png"}

``name`` (non-empty) and ``mode`` (``dark`` or ``light``) are required; ``description``,
``author`` and ``preview`` (a file name in the theme's folder, png/jpg/webp) are optional. Without
``preview``, a ``preview.png``, ``preview.jpg``, ``preview.jpeg`` or ``preview.webp`` in the folder
is used when there is one.

``theme.css`` sets the custom properties of ``web/src/styles/tokens.css`` (:data:`TOKENS`) inside
``:root[data-theme="<id>"] { ... }``, so that several theme stylesheets can be loaded at once and
the page switches between them by changing ``data-theme`` on ``<html>``. It is served to every
visitor from this origin, so it may not reach anywhere else: at most :data:`MAX_CSS_BYTES` of
UTF-8, and no ``@import``, no ``url(...)`` other than ``data:`` URLs, no other function that
loads a resource (``image()``, ``image-set()``, ``src()``), no ``expression(``, no
``javascript:``, no ``</style``. CSS escapes are decoded before the check, so ``u\\72l(`` is
caught as ``url(``.

A custom theme that breaks a rule is skipped with one warning naming its folder and the fault;
the others load. A custom theme may not take a built-in's id. A configured default
(``ui.theme_dark`` / ``ui.theme_light``) that is not a theme of that mode falls back to the
built-in ``dark`` / ``light``, with a warning.

Loading reads files and blocks: call :func:`load_catalogue` from a worker thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

import attrs

from .config import UiSettings
from .rules import rules

__all__ = [
    "BUILTIN_DARK",
    "BUILTIN_DIR",
    "BUILTIN_LIGHT",
    "FALLBACK",
    "MAX_CSS_BYTES",
    "MAX_PREVIEW_BYTES",
    "THEME_ID",
    "TOKENS",
    "Catalogue",
    "Theme",
    "ThemeError",
    "ThemeMode",
    "ThemeSummary",
    "css_fault",
    "load_builtin",
    "load_catalogue",
    "load_custom",
    "load_theme",
]

log = logging.getLogger("mediarip.themes")

ThemeMode = Literal["dark", "light"]

BUILTIN_DIR: Final = Path(__file__).resolve().parent / "builtin_themes"
BUILTIN_DARK: Final = ("cyberpunk", "dark", "midnight", "hacker", "neon")
BUILTIN_LIGHT: Final = ("light", "paper", "arctic", "solarized")
#: What a configured default that is not a theme of its mode falls back to.
FALLBACK: Final[Mapping[ThemeMode, str]] = MappingProxyType({"dark": "dark", "light": "light"})

THEME_ID: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
MAX_CSS_BYTES: Final = 256 * 1024
MAX_METADATA_BYTES: Final = 64 * 1024
MAX_PREVIEW_BYTES: Final = 1024 * 1024
MAX_NAME: Final = 60
MAX_DESCRIPTION: Final = 500
MAX_AUTHOR: Final = 100

#: The custom properties a theme sets: those of ``web/src/styles/tokens.css``. A theme may leave
#: some out (tokens.css then supplies them for the mode); ``--font-heading`` is optional.
TOKENS: Final = (
    "--bg",
    "--surface",
    "--surface-2",
    "--surface-hover",
    "--text",
    "--text-muted",
    "--border",
    "--border-strong",
    "--accent",
    "--accent-hover",
    "--accent-text",
    "--accent-soft",
    "--accent-soft-text",
    "--focus-ring",
    "--danger",
    "--danger-soft",
    "--danger-soft-text",
    "--success",
    "--success-soft",
    "--success-soft-text",
    "--warning-soft",
    "--warning-soft-text",
    "--neutral-soft",
    "--neutral-soft-text",
    "--progress-track",
    "--progress-fill",
    "--progress-done",
    "--progress-failed",
    "--shadow",
    "--backdrop",
)

_PREVIEW_TYPES: Final = MappingProxyType(
    {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
)
_PREVIEW_NAMES: Final = ("preview.png", "preview.jpg", "preview.jpeg", "preview.webp")


class ThemeError(Exception):
    """A theme folder that cannot be used; the message says why, for the log."""


@attrs.frozen
class Theme:
    """One checked theme, its stylesheet and preview held in memory (what was checked is what is
    served, whatever happens to the files later)."""

    id: str
    name: str
    mode: ThemeMode
    description: str
    author: str
    builtin: bool
    css: bytes = attrs.field(repr=False)
    preview: bytes | None = attrs.field(default=None, repr=False)
    preview_type: str | None = None

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.css).hexdigest()[:32]

    @property
    def preview_etag(self) -> str | None:
        return None if self.preview is None else hashlib.sha256(self.preview).hexdigest()[:32]

    def summary(self) -> ThemeSummary:
        """The theme as ``GET /api/themes`` lists it: no path, no contents."""
        return ThemeSummary(
            id=self.id,
            name=self.name,
            mode=self.mode,
            description=self.description,
            author=self.author,
            builtin=self.builtin,
            has_preview=self.preview is not None,
        )


@attrs.frozen
class ThemeSummary:
    """A theme as the catalogue lists it."""

    __schema_name__ = "Theme"

    id: str = attrs.field(metadata=rules(pattern=f"^{THEME_ID.pattern}$"))
    name: str
    mode: ThemeMode
    description: str
    author: str
    builtin: bool
    has_preview: bool


# --- checking a stylesheet -----------------------------------------------------------------------

_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})(?:\r\n|[ \t\r\n\f])?|(.))", re.DOTALL)
_URL = re.compile(r"(?<![a-z0-9_-])url\(")
_FORBIDDEN: Final = (
    (re.compile(r"@import"), "uses @import"),
    (re.compile(r"(?<![a-z0-9_-])(?:-webkit-)?image-set\("), "uses image-set(), loading images"),
    (re.compile(r"(?<![a-z0-9_-])image\("), "uses image(), which loads images"),
    (re.compile(r"(?<![a-z0-9_-])src\("), "uses src(), which loads resources"),
    (re.compile(r"expression\("), "uses expression()"),
    (re.compile(r"javascript:"), "mentions javascript:"),
    (re.compile(r"-moz-binding|(?<![a-z0-9_-])behavior\s*:"), "uses a binding (behavior)"),
    (re.compile(r"</style"), "contains </style"),
)


def _unescape(match: re.Match[str]) -> str:
    hex_digits, char = match.groups()
    if hex_digits is not None:
        code = int(hex_digits, 16)
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
    return "" if char == "\n" else char


def css_fault(text: str) -> str | None:
    """What makes ``text`` unfit to serve as a theme, or None when it is fine.

    Escapes are decoded and the text lowercased first, and the whole text is searched, comments
    and strings included: a forbidden word in a comment is refused too (that is harmless to a
    theme's author and leaves no way to hide one from this check).
    """
    if "\x00" in text:
        return "theme.css contains a NUL character"
    plain = _ESCAPE.sub(_unescape, text).lower()
    for match in _URL.finditer(plain):
        if not plain[match.end() :].lstrip(" \t\r\n\f\"'").startswith("data:"):
            return "theme.css loads a resource with url(...); only data: URLs are allowed"
    for pattern, fault in _FORBIDDEN:
        if pattern.search(plain):
            return f"theme.css {fault}"
    return None


# --- loading one folder --------------------------------------------------------------------------


def _read_limited(path: Path, limit: int, what: str) -> bytes:
    if not path.is_file():
        raise ThemeError(f"{what} is missing")
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        raise ThemeError(f"{what} cannot be read ({error.strerror or error})") from None
    if len(data) > limit:
        raise ThemeError(f"{what} is larger than {limit // 1024} KiB")
    return data


def _text_field(metadata: Mapping[str, Any], key: str, limit: int, *, required: bool) -> str:
    value = metadata.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        expected = "a non-empty string" if required else "a string"
        raise ThemeError(f'metadata.json: "{key}" must be {expected}')
    value = " ".join(value.split())
    if len(value) > limit:
        raise ThemeError(f'metadata.json: "{key}" is longer than {limit} characters')
    return value


def _read_metadata(folder: Path) -> dict[str, Any]:
    raw = _read_limited(folder / "metadata.json", MAX_METADATA_BYTES, "metadata.json")
    try:
        metadata = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ThemeError("metadata.json is not UTF-8") from None
    except json.JSONDecodeError as error:
        raise ThemeError(
            f"metadata.json is not valid JSON ({error.msg}, line {error.lineno})"
        ) from None
    if not isinstance(metadata, dict):
        raise ThemeError("metadata.json must hold a JSON object")
    return metadata


def _image_matches(data: bytes, content_type: str) -> bool:
    if content_type == "image/png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if content_type == "image/jpeg":
        return data.startswith(b"\xff\xd8\xff")
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def _read_preview(folder: Path, named: object) -> tuple[bytes | None, str | None]:
    if named is not None:
        if (
            not isinstance(named, str)
            or not named
            or named != Path(named).name
            or named.startswith(".")
        ):
            raise ThemeError('metadata.json: "preview" must be a file name in the theme folder')
        candidates: Iterable[str] = (named,)
    else:
        candidates = (name for name in _PREVIEW_NAMES if (folder / name).is_file())
    for name in candidates:
        content_type = _PREVIEW_TYPES.get(Path(name).suffix.lower())
        if content_type is None:
            raise ThemeError(f"preview {name} is not a .png, .jpg or .webp file")
        data = _read_limited(folder / name, MAX_PREVIEW_BYTES, f"preview {name}")
        if not _image_matches(data, content_type):
            raise ThemeError(f"preview {name} is not a {content_type.split('/')[1].upper()} image")
        return data, content_type
    return None, None


def load_theme(folder: Path, *, builtin: bool = False) -> Theme:
    """Check one theme folder (its name is the id) and load it, or raise :class:`ThemeError`."""
    theme_id = folder.name
    if not THEME_ID.fullmatch(theme_id):
        raise ThemeError(
            "the folder name is not a theme id (lowercase letters, digits, - and _, starting "
            "with a letter or digit, at most 40 characters)"
        )
    metadata = _read_metadata(folder)
    name = _text_field(metadata, "name", MAX_NAME, required=True)
    mode = metadata.get("mode")
    if mode not in ("dark", "light"):
        raise ThemeError('metadata.json: "mode" must be "dark" or "light"')
    description = _text_field(metadata, "description", MAX_DESCRIPTION, required=False)
    author = _text_field(metadata, "author", MAX_AUTHOR, required=False)
    css = _read_limited(folder / "theme.css", MAX_CSS_BYTES, "theme.css")
    try:
        text = css.decode("utf-8")
    except UnicodeDecodeError:
        raise ThemeError("theme.css is not UTF-8") from None
    fault = css_fault(text)
    if fault is not None:
        raise ThemeError(fault)
    preview, preview_type = _read_preview(folder, metadata.get("preview"))
    return Theme(
        id=theme_id,
        name=name,
        mode=mode,
        description=description,
        author=author,
        builtin=builtin,
        css=css.removeprefix(b"\xef\xbb\xbf"),
        preview=preview,
        preview_type=preview_type,
    )


# --- the catalogue ---------------------------------------------------------------------------


@attrs.frozen
class Catalogue:
    """Every usable theme by id: the built-ins in their order, then the custom ones by name."""

    themes: Mapping[str, Theme]
    _warned: set[tuple[str, str]] = attrs.field(factory=set, init=False, eq=False, repr=False)

    def get(self, theme_id: str) -> Theme | None:
        return self.themes.get(theme_id)

    def summaries(self) -> list[ThemeSummary]:
        return [theme.summary() for theme in self.themes.values()]

    def listing(self) -> list[dict[str, object]]:
        """The summaries as plain data."""
        return [attrs.asdict(summary) for summary in self.summaries()]

    def resolve(self, mode: ThemeMode, wanted: str) -> str:
        """``wanted`` if it is a theme of ``mode``, else the built-in fallback for ``mode``."""
        theme = self.themes.get(wanted)
        if theme is not None and theme.mode == mode:
            return wanted
        return FALLBACK[mode]

    def defaults(self, ui: UiSettings) -> dict[str, str]:
        """The admin's defaults as the web app applies them (bad ones replaced, warned once)."""
        self.check_defaults(ui)
        return {
            "dark": self.resolve("dark", ui.theme_dark),
            "light": self.resolve("light", ui.theme_light),
            "mode": ui.theme_default_mode,
        }

    def check_defaults(self, ui: UiSettings) -> None:
        """Log a warning for a configured default that is not a theme of its mode (once each)."""
        configured: tuple[tuple[ThemeMode, str], ...] = (
            ("dark", ui.theme_dark),
            ("light", ui.theme_light),
        )
        for mode, wanted in configured:
            if self.resolve(mode, wanted) == wanted or (mode, wanted) in self._warned:
                continue
            self._warned.add((mode, wanted))
            theme = self.themes.get(wanted)
            why = "there is no such theme" if theme is None else f"it is a {theme.mode} theme"
            log.warning(
                "ui.theme_%s is %r, but %s; using %r instead", mode, wanted, why, FALLBACK[mode]
            )


def load_builtin(folder: Path = BUILTIN_DIR) -> list[Theme]:
    """The built-in themes, dark family then light family. A broken one is a bug: it raises."""
    themes = []
    for theme_id in (*BUILTIN_DARK, *BUILTIN_LIGHT):
        try:
            themes.append(load_theme(folder / theme_id, builtin=True))
        except ThemeError as error:
            raise RuntimeError(f"the built-in theme {theme_id} is broken: {error}") from error
    return themes


def load_custom(themes_dir: Path, taken: Iterable[str] = ()) -> list[Theme]:
    """The usable themes in ``themes_dir``, by name; each broken one is skipped with a warning.

    Hidden entries and plain files are ignored. ``taken`` holds ids that may not be reused (the
    built-ins').
    """
    taken = set(taken)
    try:
        entries = sorted(themes_dir.iterdir())
    except FileNotFoundError:
        log.warning("themes folder %s does not exist; no custom themes loaded", themes_dir)
        return []
    except OSError as error:
        log.warning(
            "themes folder %s cannot be read (%s); no custom themes loaded",
            themes_dir,
            error.strerror or error,
        )
        return []
    themes = []
    for folder in entries:
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            if folder.name in taken:
                raise ThemeError(f"{folder.name!r} is a built-in theme's id; rename the folder")
            theme = load_theme(folder)
        except ThemeError as error:
            log.warning("custom theme in %s skipped: %s", folder, error)
            continue
        themes.append(theme)
        log.info("custom theme %s (%s) loaded from %s", theme.id, theme.mode, folder)
    return sorted(themes, key=lambda t: (t.name.casefold(), t.id))


def load_catalogue(themes_dir: Path | None, builtin_dir: Path = BUILTIN_DIR) -> Catalogue:
    """The built-ins and the custom themes of ``themes_dir`` (None: built-ins only). Blocks."""
    themes = {theme.id: theme for theme in load_builtin(builtin_dir)}
    if themes_dir is not None:
        for theme in load_custom(themes_dir, taken=themes):
            themes[theme.id] = theme
    return Catalogue(MappingProxyType(themes))
