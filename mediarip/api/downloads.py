"""``/api/downloads``: create, list, inspect, cancel, retry, delete jobs and fetch their files.

Handlers stay thin: read input, call one service method, shape the answer. Every job lookup
is scoped to the caller's session (in ``isolated`` mode), and a job outside the scope is a
plain 404, indistinguishable from one that does not exist.
"""

from __future__ import annotations

import json
from collections import OrderedDict

from quart import Blueprint, Response, current_app, request

from ..engine.paths import PathEscapeError, confine
from ..models import JobStatus, NewJob, job_to_api
from .body import read_model
from .context import services, sessions
from .errors import ApiError
from .files import file_response

__all__ = ["blueprint"]

blueprint = Blueprint("downloads", __name__)

MAX_LIMIT = 1000


def _json(data: object, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


@blueprint.post("/api/downloads")
async def create() -> Response:
    new = await read_model(NewJob)
    session_id = await sessions().current()
    job = await services().downloads.submit(session_id, new)
    return _json(job_to_api(job), 201)


class _ListingCache:
    """Encoded job listings, valid while the service's revision has not moved.

    Serialising 100 jobs costs more than the framework's whole request (see STACK-NOTES): a
    list endpoint near the framework's ceiling must reuse the bytes until something changes."""

    def __init__(self, size: int = 256) -> None:
        self._entries: OrderedDict[tuple[object, ...], tuple[int, bytes]] = OrderedDict()
        self._size = size

    def get(self, key: tuple[object, ...], revision: int) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != revision:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: tuple[object, ...], revision: int, body: bytes) -> None:
        self._entries[key] = (revision, body)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


def _listings() -> _ListingCache:
    """This app's cache (one per app: two servers in one process must not share it)."""
    cache = current_app.extensions.get("mediarip.listings")
    if cache is None:
        cache = current_app.extensions["mediarip.listings"] = _ListingCache()
    return cache


def _list_params() -> tuple[tuple[JobStatus, ...] | None, int, str | None]:
    statuses: tuple[JobStatus, ...] | None = None
    if raw := request.args.get("status"):
        try:
            statuses = tuple(JobStatus(part.strip()) for part in raw.split(",") if part.strip())
        except ValueError:
            allowed = ", ".join(s.value for s in JobStatus)
            raise ApiError(
                422, "invalid_request", f"status: {raw!r} is not one of {allowed}"
            ) from None
    raw_limit = request.args.get("limit", str(MAX_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise ApiError(422, "invalid_request", f"limit: a whole number from 1 to {MAX_LIMIT}")
    before = request.args.get("before") or None
    return statuses, int(raw_limit), before


@blueprint.get("/api/downloads")
async def list_jobs() -> Response:
    statuses, limit, before = _list_params()
    scope = await sessions().scope()
    downloads = services().downloads
    key = (scope, statuses, limit, before)
    revision = downloads.revision
    listings = _listings()
    body = listings.get(key, revision)
    if body is None:
        jobs = await downloads.list_jobs(scope, statuses=statuses, limit=limit, before=before)
        body = json.dumps({"jobs": [job_to_api(job) for job in jobs]}).encode()
        listings.put(key, revision, body)
    return Response(body, content_type="application/json")


@blueprint.get("/api/downloads/<job_id>")
async def get_job(job_id: str) -> Response:
    job = await services().downloads.get(job_id, await sessions().scope())
    return _json(job_to_api(job))


@blueprint.post("/api/downloads/<job_id>/cancel")
async def cancel(job_id: str) -> Response:
    job = await services().downloads.cancel(job_id, await sessions().scope())
    return _json(job_to_api(job))


@blueprint.post("/api/downloads/<job_id>/retry")
async def retry(job_id: str) -> Response:
    job = await services().downloads.retry(job_id, await sessions().scope())
    return _json(job_to_api(job))


@blueprint.delete("/api/downloads/<job_id>")
async def delete(job_id: str) -> Response:
    await services().downloads.delete(job_id, await sessions().scope())
    return Response(b"", status=204)


@blueprint.get("/api/downloads/<job_id>/file")
async def file(job_id: str) -> Response:
    downloads = services().downloads
    job = await downloads.get(job_id, await sessions().scope())
    if job.status is not JobStatus.COMPLETED or not job.filename:
        raise ApiError(409, "not_ready", f"The job has no file to save yet (it is {job.status}).")
    try:
        path = confine(downloads.downloads_dir, job.filename)
    except PathEscapeError:
        raise ApiError(404, "file_missing", "The file is not in the downloads folder.") from None
    if not path.is_file():
        raise ApiError(404, "file_missing", "The file is gone from the downloads folder.")
    return await file_response(request, path, attachment_name=path.name)
