"""``/api/subscriptions`` and ``/api/archive``: channels, playlists and feeds checked on a
schedule, and the download archive in yt-dlp's ``--download-archive`` format.

Handlers stay thin: read input, call one method of
:class:`~mediarip.subscriptions.checker.Subscriptions`, shape the answer. Subscriptions are
scoped like jobs: in ``isolated`` mode a session sees its own (another's is a plain 404), in
``shared`` and ``open`` mode everyone sees all; the admin sees all of them at
``/api/admin/subscriptions`` (where the admin cookie goes). The archive is scoped the same way.

A subscription's body is a download request's body (``POST /api/downloads``) plus the
subscription's own fields, so it is read as a JSON object and split and checked by
:func:`~mediarip.subscriptions.models.settings_from_body` (a 422 naming the field).
"""

from __future__ import annotations

from typing import Any

import attrs
import cattrs
from quart import Blueprint, Response, request

from ..engine import AddressBlocked, Conflict, ProbeFailed
from ..engine.archive import format_archive, parse_archive
from ..models import utcnow
from ..presets import PresetRefused
from ..rules import rules
from ..store import ArchiveEntry
from ..subscriptions.checker import Preview, SubscriptionNotFound
from ..subscriptions.models import (
    CheckRecord,
    CheckResult,
    SubscriptionPatch,
    SubscriptionRequest,
    SubscriptionSettings,
    SubscriptionView,
    settings_from_body,
    settings_patched,
    subscription_to_api,
)
from .admin import ADMIN
from .body import flag, is_set
from .context import services, sessions
from .contract import Answer, endpoint, json_response
from .errors import InvalidArchive, InvalidRequest, validation_message

__all__ = ["blueprint"]

blueprint = Blueprint("subscriptions", __name__)

MAX_HISTORY = 50
MAX_ARCHIVE_LINES = 200_000
_NOT_FOUND = (SubscriptionNotFound,)


@attrs.frozen
class SubscriptionList:
    #: Each as :func:`subscription_to_api` shows it (the ``Subscription`` schema).
    subscriptions: list[dict[str, Any]] = attrs.field(
        metadata=rules(items={"$ref": "#/components/schemas/Subscription"})
    )


@attrs.frozen
class CheckList:
    checks: list[CheckRecord]


@attrs.frozen
class SubscriptionRemoved:
    removed_jobs: int


@attrs.frozen
class Imported:
    read: int
    added: int


@attrs.frozen
class HistoryQuery:
    limit: int = attrs.field(default=MAX_HISTORY, metadata=rules(minimum=1, maximum=MAX_HISTORY))


@attrs.frozen
class DeleteQuery:
    remove_downloads: str = flag("true: also remove its jobs and their files")


def _settings(parse: Any, *args: Any) -> SubscriptionSettings:
    try:
        settings: SubscriptionSettings = parse(*args)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        raise InvalidRequest(validation_message(exc)) from None
    return settings


def _api(sub: Any) -> Response:
    return json_response(subscription_to_api(sub))


_SUBSCRIPTION = "The subscription: its settings, state and schedule"
_REFUSED_SETTINGS = (AddressBlocked, PresetRefused)


@blueprint.post("/api/subscriptions")
@endpoint(
    "Subscribe to a channel, playlist or feed; its first check runs at once. The body is a "
    "download request's (POST /api/downloads, but playlist_items) with the subscription's own "
    "fields: url, interval_minutes or cron, filters {title_include, title_exclude, "
    "min_duration, max_duration, published_after}, max_items_per_check, first_check "
    "(new_only | latest), first_count",
    body=SubscriptionRequest,
    raw_body=True,  # read by settings_from_body, which holds the rules
    answers={201: Answer(_SUBSCRIPTION, SubscriptionView)},
    refuses=_REFUSED_SETTINGS,
)
async def create(body: dict[str, Any]) -> Response:
    settings = _settings(settings_from_body, body)
    session_id = await sessions().current()
    sub = await services().subscriptions.create(session_id, settings)
    response = _api(sub)
    response.status_code = 201
    return response


@blueprint.post("/api/subscriptions/preview")
@endpoint(
    "What the first check of this subscription would take now (nothing is stored); the body "
    "is POST /api/subscriptions's",
    body=SubscriptionRequest,
    raw_body=True,
    answers={
        200: Answer("The feed's title, how many items it lists, and each item's fate", Preview)
    },
    refuses=(AddressBlocked, ProbeFailed),
)
async def preview(body: dict[str, Any]) -> Preview:
    settings = _settings(settings_from_body, body)
    session_id = await sessions().current()
    return await services().subscriptions.preview(session_id, settings)


@blueprint.get("/api/subscriptions")
@endpoint(
    "Subscriptions in your scope, newest first", answers={200: Answer("Them", SubscriptionList)}
)
async def list_all() -> SubscriptionList:
    subs = await services().subscriptions.all(await sessions().scope())
    return SubscriptionList([subscription_to_api(s) for s in subs])


@blueprint.get("/api/admin/subscriptions")
@endpoint(
    "Every session's subscriptions (admin)",
    answers={200: Answer("Them", SubscriptionList)},
    requires=ADMIN,
)
async def admin_list() -> SubscriptionList:
    subs = await services().subscriptions.all(None)
    return SubscriptionList([subscription_to_api(s) for s in subs])


@blueprint.get("/api/subscriptions/<sub_id>")
@endpoint(
    "One subscription", answers={200: Answer(_SUBSCRIPTION, SubscriptionView)}, refuses=_NOT_FOUND
)
async def get_one(sub_id: str) -> Response:
    return _api(await services().subscriptions.get(sub_id, await sessions().scope()))


@blueprint.patch("/api/subscriptions/<sub_id>")
@endpoint(
    "Change some of a subscription's settings (null clears one); validated whole again",
    body=SubscriptionPatch,
    raw_body=True,
    answers={200: Answer(_SUBSCRIPTION, SubscriptionView)},
    refuses=(*_NOT_FOUND, *_REFUSED_SETTINGS),
)
async def change(sub_id: str, body: dict[str, Any]) -> Response:
    scope = await sessions().scope()
    subscriptions = services().subscriptions
    current = await subscriptions.get(sub_id, scope)
    settings = _settings(settings_patched, current.settings, body)
    return _api(await subscriptions.change(sub_id, scope, settings))


@blueprint.delete("/api/subscriptions/<sub_id>")
@endpoint(
    "Unsubscribe: its check stops, its history goes; its downloads stay unless "
    "remove_downloads=true (the archive keeps its items either way)",
    query=DeleteQuery,
    answers={200: Answer("How many jobs went with it", SubscriptionRemoved)},
    refuses=_NOT_FOUND,
)
async def delete(sub_id: str, query: DeleteQuery) -> SubscriptionRemoved:
    removed = await services().subscriptions.delete(
        sub_id, await sessions().scope(), remove_downloads=is_set(query.remove_downloads)
    )
    return SubscriptionRemoved(removed)


@blueprint.post("/api/subscriptions/<sub_id>/pause")
@endpoint(
    "No more scheduled checks ('check now' still works)",
    answers={200: Answer(_SUBSCRIPTION, SubscriptionView)},
    refuses=_NOT_FOUND,
)
async def pause(sub_id: str) -> Response:
    return _api(await services().subscriptions.set_paused(sub_id, await sessions().scope(), True))


@blueprint.post("/api/subscriptions/<sub_id>/resume")
@endpoint(
    "Back on schedule", answers={200: Answer(_SUBSCRIPTION, SubscriptionView)}, refuses=_NOT_FOUND
)
async def resume(sub_id: str) -> Response:
    sub = await services().subscriptions.set_paused(sub_id, await sessions().scope(), False)
    return _api(sub)


@blueprint.post("/api/subscriptions/<sub_id>/check")
@endpoint(
    "Check now; answers when the check has ended: new items found, queued, skipped (and the "
    "error, if the feed could not be read)",
    answers={200: Answer("What the check did", CheckResult)},
    refuses=(*_NOT_FOUND, Conflict),
)
async def check(sub_id: str) -> CheckResult:
    return await services().subscriptions.check_now(sub_id, await sessions().scope())


@blueprint.get("/api/subscriptions/<sub_id>/history")
@endpoint(
    "The last checks, newest first, with what each did with each new item and why",
    query=HistoryQuery,
    answers={200: Answer("Its checks", CheckList)},
    refuses=_NOT_FOUND,
)
async def history(sub_id: str, query: HistoryQuery) -> CheckList:
    records = await services().subscriptions.history(sub_id, await sessions().scope(), query.limit)
    return CheckList(records)


# -- the archive ---------------------------------------------------------------------------------


@blueprint.get("/api/archive/export")
@endpoint(
    "The download archive as yt-dlp's --download-archive file",
    answers={200: Answer("One '<extractor> <id>' line per item", str, media=("text/plain",))},
)
async def export_archive() -> Response:
    keys = await services().store.archive_keys(await sessions().scope())
    return Response(
        "".join(format_archive(keys)),
        content_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="mediarip-archive.txt"'},
    )


@blueprint.post("/api/archive/import")
@endpoint(
    "Add a yt-dlp archive file's items to the archive: subscriptions skip them from now on",
    body=str,
    body_media="text/plain",
    answers={200: Answer("Lines read, and items new to the archive", Imported)},
    refuses=(InvalidArchive,),
)
async def import_archive() -> Imported:
    raw = await request.get_data(cache=False, as_text=False, parse_form_data=False)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArchive("The archive must be UTF-8 text.") from None
    keys, problems = parse_archive(text)
    if problems:
        shown = "; ".join(problems[:5]) + (" …" if len(problems) > 5 else "")
        raise InvalidArchive(f"Not a yt-dlp archive file: {shown}")
    if len(keys) > MAX_ARCHIVE_LINES:
        raise InvalidArchive(f"At most {MAX_ARCHIVE_LINES} lines at a time.")
    session_id = await sessions().current()
    now = utcnow()
    added = await services().store.add_to_archive(
        ArchiveEntry(session_id=session_id, key=key, url=None, at=now) for key in keys
    )
    return Imported(len(keys), added)
