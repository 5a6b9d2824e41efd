"""``/api/cookies``: the caller's session's cookies.txt (upload, ask, remove)."""

from __future__ import annotations

import json

import trio
from quart import Blueprint, Response, request

from ..cookies import MAX_BYTES, CookieFileError, remove_cookies, save_cookies, validate
from .context import services, sessions
from .errors import ApiError

__all__ = ["blueprint"]

blueprint = Blueprint("cookies", __name__)


def _json(data: object) -> Response:
    return Response(json.dumps(data), content_type="application/json")


@blueprint.post("/api/cookies")
async def upload() -> Response:
    files = await request.files
    upload = files.get("file")
    if upload is None:
        raise ApiError(
            422, "invalid_request", "file: send the cookies.txt as the multipart field 'file'"
        )
    data = upload.read(MAX_BYTES + 1)
    try:
        text = validate(data)
    except CookieFileError as exc:
        raise ApiError(422, "invalid_cookies", f"Not a usable cookies.txt: {exc}.") from None
    session_id = await sessions().current()
    path = services().downloads.cookie_file(session_id)
    with trio.CancelScope(shield=True):  # never leave a half-written file behind
        await trio.to_thread.run_sync(save_cookies, path, text)
    return _json({"has_cookies": True})


@blueprint.get("/api/cookies")
async def status() -> Response:
    session_id = await sessions().current()
    path = services().downloads.cookie_file(session_id)
    exists = await trio.to_thread.run_sync(path.is_file)
    return _json({"has_cookies": exists})


@blueprint.delete("/api/cookies")
async def remove() -> Response:
    session_id = await sessions().current()
    path = services().downloads.cookie_file(session_id)
    await trio.to_thread.run_sync(remove_cookies, path)
    return Response(b"", status=204)
