"""``/api/admin/ytdlp``: the running yt-dlp, the newest one, updating and rolling back.

Admin only, like the rest of ``/api/admin`` (the same gate and cookie). The work is
:class:`~mediarip.ytdlp.updater.YtdlpUpdater`'s; update and rollback answer 202 at once and
the panel follows ``update`` in ``GET`` (the server restarts when it is done).
"""

from __future__ import annotations

import json
from typing import Any

from quart import Blueprint, Response, request

from ..models import converter
from ..ytdlp.updater import UpdateRefused
from .admin import admin_enabled, admin_only
from .body import read_json
from .context import services
from .errors import ApiError, error_response

__all__ = ["blueprint"]

blueprint = Blueprint("ytdlp", __name__, url_prefix="/api/admin/ytdlp")
blueprint.before_request(admin_enabled)

CHANNELS = ("stable", "nightly")


def _json(data: object, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def _status() -> dict[str, Any]:
    body: dict[str, Any] = converter.unstructure(services().ytdlp.status())
    return body


@blueprint.errorhandler(UpdateRefused)
async def refused(error: UpdateRefused) -> Response:
    return error_response(409, "update_refused", error.message)


@blueprint.get("")
@admin_only
async def status() -> Response:
    return _json(_status())


@blueprint.post("/check")
@admin_only
async def check() -> Response:
    """Ask the index now; the answer (or why it failed) is in ``latest`` / ``check_error``."""
    await services().ytdlp.check()
    return _json(_status())


@blueprint.post("/update")
@admin_only
async def update() -> Response:
    raw = await request.get_data(cache=True, as_text=False, parse_form_data=False)
    body = await read_json() if raw.strip() else {}
    unknown = sorted(set(body) - {"channel"})
    if unknown:
        raise ApiError(422, "invalid_request", f"unknown field(s): {', '.join(unknown)}")
    channel = body.get("channel")
    if channel is not None and channel not in CHANNELS:
        raise ApiError(422, "invalid_request", "channel: stable or nightly")
    services().ytdlp.start_update(channel)
    return _json(_status(), 202)


@blueprint.post("/rollback")
@admin_only
async def rollback() -> Response:
    await services().ytdlp.rollback()
    return _json(_status(), 202)
