"""``POST /api/url-info`` and ``GET /api/formats``: look at a URL before downloading it."""

from __future__ import annotations

import attrs
from quart import Blueprint

from ..engine import AddressBlocked, ProbeFailed
from ..models import Formats, UrlInfo, url_field
from .context import services, sessions
from .contract import Answer, endpoint

__all__ = ["blueprint"]

blueprint = Blueprint("probes", __name__)


@attrs.frozen
class UrlRequest:
    """A URL to look at, by the same rules as a download's."""

    url: str = url_field()


_REFUSES = (AddressBlocked, ProbeFailed)


@blueprint.post("/api/url-info")
@endpoint(
    "What a URL holds: one video, or a playlist's items",
    body=UrlRequest,
    answers={200: Answer("What the URL holds", UrlInfo)},
    refuses=_REFUSES,
)
async def url_info(body: UrlRequest) -> UrlInfo:
    session_id = await sessions().current()
    svc = services().downloads
    return await svc.probe(body.url, svc.cookie_file(session_id))


@blueprint.get("/api/formats")
@endpoint(
    "The formats a URL offers",
    query=UrlRequest,
    answers={200: Answer("Formats, and the subtitle languages", Formats)},
    refuses=_REFUSES,
)
async def formats(query: UrlRequest) -> Formats:
    session_id = await sessions().current()
    svc = services().downloads
    return await svc.formats(query.url, svc.cookie_file(session_id))
