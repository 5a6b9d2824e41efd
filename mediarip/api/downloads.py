"""``/api/downloads``: create, list, inspect, cancel, retry, delete jobs and fetch their files.

Handlers stay thin: read input, call one service method, shape the answer. Every job lookup
is scoped to the caller's session (in ``isolated`` mode), and a job outside the scope is a
plain 404, indistinguishable from one that does not exist.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from quart import Blueprint, Response, current_app, request

from ..engine.paths import PathEscapeError, confine
from ..models import Job, JobStatus, NewJob, job_to_api
from ..presets import PresetRefused, apply_preset
from .body import read_json, structure_model
from .context import services, sessions
from .errors import ApiError
from .files import file_response

__all__ = ["blueprint"]

blueprint = Blueprint("downloads", __name__)

MAX_LIMIT = 1000


def _json(data: object, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


async def new_job_from(body: dict[str, Any]) -> NewJob:
    """A job request with its preset applied (named, or the default): 422 naming the field."""
    try:
        preset = await services().presets.for_request(body)
    except PresetRefused as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    return structure_model(apply_preset(preset, body), NewJob)


@blueprint.post("/api/downloads")
async def create() -> Response:
    new = await new_job_from(await read_json())
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


@blueprint.post("/api/downloads/<job_id>/pause")
async def pause(job_id: str) -> Response:
    """Hold it: waiting jobs stay, a running one stops keeping its partial files."""
    job = await services().downloads.pause(job_id, await sessions().scope())
    return _json(job_to_api(job))


@blueprint.post("/api/downloads/<job_id>/start")
async def start(job_id: str) -> Response:
    """A paused job goes back to the queue (and continues from its partial files)."""
    job = await services().downloads.start(job_id, await sessions().scope())
    return _json(job_to_api(job))


@blueprint.get("/api/queue")
async def queue_state() -> Response:
    downloads = services().downloads
    return _json({"paused": downloads.queue_paused(await sessions().scope())})


@blueprint.post("/api/queue/pause")
async def pause_queue() -> Response:
    """Pause your queue: what waits or runs now, and what you add until you start it."""
    held = await services().downloads.pause_queue(await sessions().scope())
    return _json({"paused": True, "jobs": held})


@blueprint.post("/api/queue/start")
async def start_queue() -> Response:
    """Start your queue: every paused job goes back to it ("start all")."""
    started = await services().downloads.start_queue(await sessions().scope())
    return _json({"paused": False, "jobs": started})


@blueprint.delete("/api/downloads/<job_id>")
async def delete(job_id: str) -> Response:
    await services().downloads.delete(job_id, await sessions().scope())
    return Response(b"", status=204)


@blueprint.get("/api/downloads/<job_id>/file")
async def file(job_id: str) -> Response:
    """The job's main file."""
    job = await services().downloads.get(job_id, await sessions().scope())
    return await _serve(job, job.filename)


@blueprint.get("/api/downloads/<job_id>/files/<int:index>")
async def one_of_files(job_id: str, index: int) -> Response:
    """One of the job's files, by its place in ``files`` (chapters, sidecar subtitles)."""
    job = await services().downloads.get(job_id, await sessions().scope())
    if not 0 <= index < len(job.files):
        raise ApiError(404, "file_missing", f"The job has {len(job.files)} file(s); no {index}.")
    return await _serve(job, job.files[index].name)


async def _serve(job: Job, name: str | None) -> Response:
    if job.status is not JobStatus.COMPLETED or not name:
        raise ApiError(409, "not_ready", f"The job has no file to save yet (it is {job.status}).")
    try:
        path = confine(services().downloads.downloads_dir, name)
    except PathEscapeError:
        raise ApiError(404, "file_missing", "The file is not in the downloads folder.") from None
    if not path.is_file():
        raise ApiError(404, "file_missing", "The file is gone from the downloads folder.")
    return await file_response(request, path, attachment_name=path.name)
