"""``POST /api/url-info`` and ``GET /api/formats``: look at a URL before downloading it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

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
T = TypeVar("T")


async def _timed(kind: str, probe: Callable[[str, Path], Awaitable[T]], url: str) -> T:
    """Run a probe for the caller's session, its duration counted (failed ones too)."""
    session_id = await sessions().current()
    svc = services()
    started = time.monotonic()
    try:
        return await probe(url, svc.downloads.cookie_file(session_id))
    finally:
        svc.metrics.observe_probe(kind, time.monotonic() - started)


@blueprint.post("/api/url-info")
@endpoint(
    "What a URL holds: one video, or a playlist's items",
    body=UrlRequest,
    answers={200: Answer("What the URL holds", UrlInfo)},
    refuses=_REFUSES,
)
async def url_info(body: UrlRequest) -> UrlInfo:
    return await _timed("url_info", services().downloads.probe, body.url)


@blueprint.get("/api/formats")
@endpoint(
    "The formats a URL offers",
    query=UrlRequest,
    answers={200: Answer("Formats, and the subtitle languages", Formats)},
    refuses=_REFUSES,
)
async def formats(query: UrlRequest) -> Formats:
    return await _timed("formats", services().downloads.formats, query.url)
