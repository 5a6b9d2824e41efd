"""Serving the built web app: hashed assets cached for a year, ``index.html`` never cached, and
``index.html`` for every other non-API path so the app's own routes survive a reload."""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, g, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import PathConverter

from ..engine.paths import PathEscapeError, confine
from .files import file_response

__all__ = ["SpaPath", "blueprint", "find_web_dist"]

blueprint = Blueprint("spa", __name__)

_PACKAGE_DIST = Path(__file__).resolve().parents[1] / "web_dist"
_SOURCE_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>media-rip</title>
<h1>media-rip is running, but its web app is not built</h1>
<p>Start it with <code>./dev run</code>, which builds the web app, or run
<code>npm ci && npm run build</code> in <code>web/</code>. The API is at <code>/api</code>.</p>
"""


def find_web_dist() -> Path | None:
    """The built SPA: inside the installed package (a wheel) or, in a checkout, web/dist."""
    for candidate in (_PACKAGE_DIST, _SOURCE_DIST):
        if (candidate / "index.html").is_file():
            return candidate
    return None


async def _index(dist: Path | None) -> Response:
    # The page gives the browser its session before the app's first calls run: they run at
    # once, in parallel, and each would otherwise be given a session of its own. The browser
    # keeps whichever cookie came last, so the event stream could watch one session while the
    # page's changes were made in another (a subscription's first check never showed).
    g.serves_web_app = True
    if dist is None:
        return Response(_NOT_BUILT, status=503, content_type="text/html; charset=utf-8")
    return await file_response(request, dist / "index.html", cache_control="no-cache")


@blueprint.get("/")
async def index() -> Response:
    return await _index(find_web_dist())


class SpaPath(PathConverter):
    """Any path except ``/api`` and below: those are the API's, and must get its JSON 404 or
    405 rather than the web app."""

    regex = r"(?!api(?:/|$))[^/].*?"


@blueprint.get("/<spa:path>")
async def anything(path: str) -> Response:
    dist = find_web_dist()
    if dist is not None:
        try:
            target = confine(dist, path)
        except PathEscapeError:
            raise NotFound() from None
        if target.is_file():
            cache = IMMUTABLE if path.startswith("assets/") else "no-cache"
            return await file_response(request, target, cache_control=cache)
        if path.startswith("assets/"):
            raise NotFound()  # a missing asset is a 404, not the app
    return await _index(dist)
