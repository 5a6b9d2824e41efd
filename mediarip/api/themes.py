"""``/api/themes``: the theme catalogue, each theme's stylesheet and preview.

The catalogue (:mod:`mediarip.themes`) is loaded once, in a worker thread, before the server
takes its first request (:func:`load_at_startup`), and kept in the app's state
(:class:`~.context.ApiState`). The admin's defaults are read from the settings in force on each
request, so a change in the admin panel applies at once; custom themes are read only at
startup (``ui.themes_dir`` applies on restart).

Stylesheets and previews are served from memory, as they were checked, with a strong ETag and a
short ``max-age``: a browser revalidates within minutes and gets a 304 when nothing changed.
"""

from __future__ import annotations

import attrs
import trio
from quart import Blueprint, Quart, Response, request

from ..config import ThemeMode
from ..themes import Catalogue, Theme, ThemeSummary, load_catalogue
from .context import services, state
from .contract import Answer, endpoint
from .errors import PreviewNotFound, ThemeNotFound

__all__ = ["blueprint", "catalogue", "load_at_startup"]

blueprint = Blueprint("themes", __name__)

CACHE_CONTROL = "public, max-age=300"


def load_at_startup(app: Quart) -> None:
    """Load the catalogue before serving, and warn about configured defaults that do not exist."""

    @app.before_serving
    async def load_themes() -> None:
        await catalogue()


async def catalogue() -> Catalogue:
    """The loaded catalogue (loaded now, in a worker thread, if startup has not done it)."""
    app = state()
    if app.themes is None:
        ui = app.services.settings.ui
        loaded = await trio.to_thread.run_sync(load_catalogue, ui.themes_dir)
        loaded.check_defaults(ui)
        app.themes = loaded
    return app.themes


async def _theme(theme_id: str) -> Theme:
    theme = (await catalogue()).get(theme_id)
    if theme is None:
        raise ThemeNotFound(f"There is no theme {theme_id!r}.")
    return theme


def _cached(body: bytes, content_type: str, etag: str) -> Response:
    if request.if_none_match.contains_weak(etag):
        response = Response(b"", status=304)
    else:
        response = Response(body, content_type=content_type)
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@attrs.frozen
class ThemeDefaults:
    """The admin's defaults, as the web app applies them."""

    dark: str
    light: str
    mode: ThemeMode


@attrs.frozen
class ThemeList:
    themes: list[ThemeSummary]
    defaults: ThemeDefaults


_NOT_MODIFIED = Answer("Not modified (If-None-Match)")


@blueprint.get("/api/themes")
@endpoint(
    "Built-in and custom themes, and the admin's defaults",
    answers={200: Answer("Themes", ThemeList)},
)
async def list_themes() -> ThemeList:
    themes = await catalogue()
    defaults = themes.defaults(services().settings.ui)
    return ThemeList(themes.summaries(), ThemeDefaults(**defaults))  # type: ignore[arg-type]  # mode: a ThemeMode


@blueprint.get("/api/themes/<theme_id>/theme.css")
@endpoint(
    "A theme's stylesheet, scoped to :root[data-theme=<id>]",
    answers={
        200: Answer("The stylesheet (ETag, short max-age)", str, ("text/css",)),
        304: _NOT_MODIFIED,
    },
    refuses=(ThemeNotFound,),
)
async def theme_css(theme_id: str) -> Response:
    theme = await _theme(theme_id)
    return _cached(theme.css, "text/css; charset=utf-8", theme.etag)


@blueprint.get("/api/themes/<theme_id>/preview")
@endpoint(
    "A theme's preview image",
    answers={
        200: Answer(
            "The image (ETag, short max-age)", bytes, ("image/png", "image/jpeg", "image/webp")
        ),
        304: _NOT_MODIFIED,
    },
    refuses=(ThemeNotFound, PreviewNotFound),
)
async def theme_preview(theme_id: str) -> Response:
    theme = await _theme(theme_id)
    if theme.preview is None or theme.preview_type is None or theme.preview_etag is None:
        raise PreviewNotFound(f"The theme {theme_id!r} has no preview.")
    return _cached(theme.preview, theme.preview_type, theme.preview_etag)
