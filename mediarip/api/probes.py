"""``POST /api/url-info`` and ``GET /api/formats``: look at a URL before downloading it."""

from __future__ import annotations

import json

from quart import Blueprint, Response, request

from ..models import NewJob, converter
from .body import read_json
from .context import services, sessions
from .errors import ApiError

__all__ = ["blueprint"]

blueprint = Blueprint("probes", __name__)


def _url_from(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, "invalid_request", "url: a URL is required")
    url = value.strip()
    try:
        NewJob(url=url)  # the same URL rules as for a download
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    return url


@blueprint.post("/api/url-info")
async def url_info() -> Response:
    body = await read_json()
    unknown = set(body) - {"url"}
    if unknown:
        raise ApiError(422, "invalid_request", f"unknown field(s): {', '.join(sorted(unknown))}")
    url = _url_from(body.get("url"))
    session_id = await sessions().current()
    svc = services().downloads
    info = await svc.probe(url, svc.cookie_file(session_id))
    return Response(json.dumps(converter.unstructure(info)), content_type="application/json")


@blueprint.get("/api/formats")
async def formats() -> Response:
    url = _url_from(request.args.get("url"))
    session_id = await sessions().current()
    svc = services().downloads
    found = await svc.formats(url, svc.cookie_file(session_id))
    return Response(json.dumps(converter.unstructure(found)), content_type="application/json")
