"""What makes the web app installable, and what Prometheus reads: ``/manifest.webmanifest``
and ``/metrics``.

The manifest is made per request from the settings, so its colours follow the admin's default
theme (``ui.theme_default_mode``'s theme; the light one for ``system``), and it declares the
share target: sharing a link to the installed app opens ``/share?url=…&text=…&title=…``, which
the web app reads (phones often put the link in ``text``). The icons and the service worker
(``/sw.js``) are static files of the built web app.

``/metrics`` exists only with ``metrics.enabled``; with ``metrics.token`` set it also needs
``Authorization: Bearer <token>``. Neither path is under ``/api``: both are for other programs
(a browser's installer, a Prometheus server), which expect them at these names.
"""

from __future__ import annotations

import hmac
import json
import re

from quart import Blueprint, Response, request

from ..metrics import CONTENT_TYPE
from .context import services
from .themes import catalogue

__all__ = ["SHARE_PATH", "blueprint", "manifest"]

blueprint = Blueprint("webapp", __name__)

SHARE_PATH = "/share"
_COLOUR = r"\s*:\s*(#[0-9a-fA-F]{3,8})\b"
_FALLBACK = {"bg": "#f4f5f8", "surface": "#ffffff"}
_ICONS = [
    {"src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
    {"src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
    {
        "src": "/icons/icon-maskable-512.png",
        "sizes": "512x512",
        "type": "image/png",
        "purpose": "maskable",
    },
    {"src": "/icons/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
]


async def manifest() -> dict[str, object]:
    """The web app manifest, with the default theme's colours."""
    settings = services().settings
    themes = await catalogue()
    defaults = themes.defaults(settings.ui)
    mode = "dark" if settings.ui.theme_default_mode == "dark" else "light"
    theme = themes.get(defaults[mode])
    css = theme.css.decode("utf-8", "replace") if theme is not None else ""
    colours = {
        name: (found.group(1) if (found := re.search(rf"--{name}{_COLOUR}", css)) else fallback)
        for name, fallback in _FALLBACK.items()
    }
    return {
        "id": "/",
        "name": "media-rip",
        "short_name": "media-rip",
        "description": "Download video and audio from the web to your own server.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": colours["bg"],
        "theme_color": colours["surface"],
        "icons": _ICONS,
        "share_target": {
            "action": SHARE_PATH,
            "method": "GET",
            "params": {"title": "title", "text": "text", "url": "url"},
        },
    }


@blueprint.get("/manifest.webmanifest")
async def web_manifest() -> Response:
    body = json.dumps(await manifest(), indent=1)
    return Response(
        body,
        content_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@blueprint.get("/metrics")
async def metrics() -> Response:
    svc = services()
    settings = svc.settings.metrics
    if not settings.enabled:
        return Response("Not found: metrics are off (metrics.enabled).\n", status=404)
    if settings.token is not None:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), settings.token.encode()
        ):
            return Response(
                "Unauthorized: send the metrics token as 'Authorization: Bearer <token>'.\n",
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="media-rip metrics"'},
            )
    await svc.metrics.refresh(svc)
    return Response(
        svc.metrics.text(), content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )
