"""``/api/subscriptions`` and ``/api/archive``: channels, playlists and feeds checked on a
schedule, and the download archive in yt-dlp's ``--download-archive`` format.

Handlers stay thin: read input, call one method of
:class:`~mediarip.subscriptions.checker.Subscriptions`, shape the answer. Subscriptions are
scoped like jobs: in ``isolated`` mode a session sees its own (another's is a plain 404), in
``shared`` and ``open`` mode everyone sees all; the admin sees all of them at
``/api/admin/subscriptions``. The archive is scoped the same way.
"""

from __future__ import annotations

import json
from typing import Any

import cattrs
from quart import Blueprint, Response, request

from ..engine.archive import format_archive, parse_archive
from ..models import converter, utcnow
from ..store import ArchiveEntry
from ..subscriptions.checker import SubscriptionNotFound
from ..subscriptions.models import (
    CheckRecord,
    settings_from_body,
    settings_patched,
    subscription_to_api,
)
from .admin import admin_only
from .body import read_json
from .context import services, sessions
from .errors import ApiError, error_response, validation_message

__all__ = ["blueprint"]

blueprint = Blueprint("subscriptions", __name__)

MAX_HISTORY = 50
MAX_ARCHIVE_LINES = 200_000


def _json(data: object, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


@blueprint.errorhandler(SubscriptionNotFound)
async def not_found(error: SubscriptionNotFound) -> Response:
    return error_response(404, "subscription_not_found", "No such subscription.")


def _settings(parse: Any, *args: Any) -> Any:
    try:
        return parse(*args)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        raise ApiError(422, "invalid_request", validation_message(exc)) from None


@blueprint.post("/api/subscriptions")
async def create() -> Response:
    settings = _settings(settings_from_body, await read_json())
    session_id = await sessions().current()
    sub = await services().subscriptions.create(session_id, settings)
    return _json(subscription_to_api(sub), 201)


@blueprint.post("/api/subscriptions/preview")
async def preview() -> Response:
    """What the first check of this subscription would take (nothing is stored)."""
    settings = _settings(settings_from_body, await read_json())
    session_id = await sessions().current()
    seen = await services().subscriptions.preview(session_id, settings)
    return _json(converter.unstructure(seen))


@blueprint.get("/api/subscriptions")
async def list_all() -> Response:
    subs = await services().subscriptions.all(await sessions().scope())
    return _json({"subscriptions": [subscription_to_api(s) for s in subs]})


@blueprint.get("/api/admin/subscriptions")
@admin_only
async def admin_list() -> Response:
    if not services().auth.enabled:
        raise ApiError(404, "not_found", f"There is no API endpoint at {request.path}.")
    subs = await services().subscriptions.all(None)
    return _json({"subscriptions": [subscription_to_api(s) for s in subs]})


@blueprint.get("/api/subscriptions/<sub_id>")
async def get_one(sub_id: str) -> Response:
    sub = await services().subscriptions.get(sub_id, await sessions().scope())
    return _json(subscription_to_api(sub))


@blueprint.patch("/api/subscriptions/<sub_id>")
async def change(sub_id: str) -> Response:
    patch = await read_json()
    scope = await sessions().scope()
    subscriptions = services().subscriptions
    current = await subscriptions.get(sub_id, scope)
    settings = _settings(settings_patched, current.settings, patch)
    sub = await subscriptions.change(sub_id, scope, settings)
    return _json(subscription_to_api(sub))


@blueprint.delete("/api/subscriptions/<sub_id>")
async def delete(sub_id: str) -> Response:
    """``?remove_downloads=true`` also removes every job it queued, with their files;
    without it they stay."""
    raw = request.args.get("remove_downloads", "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ApiError(422, "invalid_request", "remove_downloads: true or false")
    removed = await services().subscriptions.delete(
        sub_id, await sessions().scope(), remove_downloads=raw in ("true", "1")
    )
    return _json({"removed_jobs": removed})


@blueprint.post("/api/subscriptions/<sub_id>/pause")
async def pause(sub_id: str) -> Response:
    sub = await services().subscriptions.set_paused(sub_id, await sessions().scope(), True)
    return _json(subscription_to_api(sub))


@blueprint.post("/api/subscriptions/<sub_id>/resume")
async def resume(sub_id: str) -> Response:
    sub = await services().subscriptions.set_paused(sub_id, await sessions().scope(), False)
    return _json(subscription_to_api(sub))


@blueprint.post("/api/subscriptions/<sub_id>/check")
async def check(sub_id: str) -> Response:
    """Check now; answers when the check has ended: ``{found, queued, skipped, ...}``."""
    result = await services().subscriptions.check_now(sub_id, await sessions().scope())
    return _json(converter.unstructure(result))


def _check_to_api(record: CheckRecord) -> dict[str, Any]:
    data: dict[str, Any] = converter.unstructure(record)
    return {**data.pop("result"), **data}


@blueprint.get("/api/subscriptions/<sub_id>/history")
async def history(sub_id: str) -> Response:
    raw = request.args.get("limit", str(MAX_HISTORY))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_HISTORY:
        raise ApiError(422, "invalid_request", f"limit: a whole number from 1 to {MAX_HISTORY}")
    records = await services().subscriptions.history(sub_id, await sessions().scope(), int(raw))
    return _json({"checks": [_check_to_api(r) for r in records]})


# -- the archive ---------------------------------------------------------------------------------


@blueprint.get("/api/archive/export")
async def export_archive() -> Response:
    """yt-dlp's ``--download-archive`` file: one ``"<extractor> <id>"`` line per item."""
    keys = await services().store.archive_keys(await _archive_scope())
    return Response(
        "".join(format_archive(keys)),
        content_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="mediarip-archive.txt"'},
    )


@blueprint.post("/api/archive/import")
async def import_archive() -> Response:
    """The body is yt-dlp archive text; its items count as downloaded from now on (a
    subscription skips them). Answers how many lines were read and how many were new."""
    raw = await request.get_data(cache=False, as_text=False, parse_form_data=False)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_text", "The archive must be UTF-8 text.") from None
    keys, problems = parse_archive(text)
    if problems:
        shown = "; ".join(problems[:5]) + (" …" if len(problems) > 5 else "")
        raise ApiError(422, "invalid_archive", f"Not a yt-dlp archive file: {shown}")
    if len(keys) > MAX_ARCHIVE_LINES:
        raise ApiError(413, "too_many_lines", f"At most {MAX_ARCHIVE_LINES} lines at a time.")
    session_id = await sessions().current()
    now = utcnow()
    added = await services().store.add_to_archive(
        ArchiveEntry(session_id=session_id, key=key, url=None, at=now) for key in keys
    )
    return _json({"read": len(keys), "added": added})


async def _archive_scope() -> str | None:
    return await sessions().scope()
