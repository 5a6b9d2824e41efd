"""``/api/cookies``: the caller's session's cookies.txt (upload, ask, remove)."""

from __future__ import annotations

import attrs
import trio
from quart import Blueprint, Response, request

from ..cookies import MAX_BYTES, CookieFileError, remove_cookies, save_cookies, validate
from .context import services, sessions
from .contract import Answer, endpoint
from .errors import InvalidCookies, InvalidRequest

__all__ = ["blueprint"]

blueprint = Blueprint("cookies", __name__)


@attrs.frozen
class CookieUpload:
    """A Netscape cookies.txt, at most 1 MiB, as the multipart field ``file``."""

    file: bytes


@attrs.frozen
class CookieState:
    has_cookies: bool


@blueprint.post("/api/cookies")
@endpoint(
    "Store a cookies.txt for this session's downloads",
    body=CookieUpload,
    body_media="multipart/form-data",
    answers={200: Answer("Stored", CookieState)},
    refuses=(InvalidCookies,),
)
async def upload() -> CookieState:
    files = await request.files
    upload = files.get("file")
    if upload is None:
        raise InvalidRequest("file: send the cookies.txt as the multipart field 'file'")
    data = upload.read(MAX_BYTES + 1)
    try:
        text = validate(data)
    except CookieFileError as exc:
        raise InvalidCookies(f"Not a usable cookies.txt: {exc}.") from None
    session_id = await sessions().current()
    path = services().downloads.cookie_file(session_id)
    with trio.CancelScope(shield=True):  # never leave a half-written file behind
        await trio.to_thread.run_sync(save_cookies, path, text)
    return CookieState(has_cookies=True)


@blueprint.get("/api/cookies")
@endpoint(
    "Whether this session has a cookies.txt (never its contents)",
    answers={200: Answer("Whether this session has cookies", CookieState)},
)
async def status() -> CookieState:
    session_id = await sessions().current()
    path = services().downloads.cookie_file(session_id)
    return CookieState(has_cookies=await trio.to_thread.run_sync(path.is_file))


@blueprint.delete("/api/cookies")
@endpoint("Remove this session's cookies.txt", answers={204: Answer("Removed")})
async def remove() -> Response:
    session_id = await sessions().current()
    path = services().downloads.cookie_file(session_id)
    await trio.to_thread.run_sync(remove_cookies, path)
    return Response(b"", status=204)
