"""``/api/downloads``: create, list, inspect, cancel, retry, delete jobs and fetch their files.

Handlers stay thin: read input, call one service method, shape the answer. Every job lookup
is scoped to the caller's session (in ``isolated`` mode), and a job outside the scope is a
plain 404, indistinguishable from one that does not exist.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
from quart import Blueprint, Response, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from ..engine import AddressBlocked, Conflict, JobNotFound
from ..engine.lifecycle import RETRYABLE_STATUSES
from ..engine.paths import PathEscapeError, confine
from ..models import TERMINAL_STATUSES, Job, JobStatus, NewJob, job_to_api
from ..presets import PresetRefused, apply_preset
from ..rules import rules
from ..store import StorageFull
from .body import flag, is_set, structure_model
from .context import services, sessions, state
from .contract import Answer, endpoint
from .errors import FileMissing, FileNotReady, InvalidApiKey, InvalidRequest
from .files import file_response
from .guard import JOB_RATE

__all__ = ["blueprint"]

blueprint = Blueprint("downloads", __name__)

MAX_LIMIT = 1000


@attrs.frozen
class JobList:
    jobs: list[Job]


@attrs.frozen
class ListQuery:
    status: tuple[JobStatus, ...] | None = attrs.field(
        default=None, metadata=rules(description="comma-separated statuses")
    )
    limit: int = attrs.field(default=MAX_LIMIT, metadata=rules(minimum=1, maximum=MAX_LIMIT))
    before: str | None = attrs.field(
        default=None, metadata=rules(description="a job id: list jobs older than it")
    )


_NOT_FOUND = (JobNotFound,)


async def new_job_from(body: dict[str, Any]) -> NewJob:
    """A job request with its preset applied (named, or the default), structured strictly: a
    422 naming the field (``preset`` for one that does not exist)."""
    preset = await services().presets.for_request(body)
    return structure_model(apply_preset(preset, body), NewJob)


@blueprint.post("/api/downloads")
@endpoint(
    "Create a download job",
    body=NewJob,
    raw_body=True,  # the preset applies under the fields given, before they are structured
    answers={201: Answer("The job, queued (or paused)", Job)},
    refuses=(AddressBlocked, PresetRefused, StorageFull),
    requires=(JOB_RATE,),
)
async def create(body: dict[str, Any]) -> Job:
    new = await new_job_from(body)
    session_id = await sessions().current()
    return await services().downloads.submit(session_id, new)


@blueprint.get("/api/downloads")
@endpoint(
    "List jobs in your scope, newest first", query=ListQuery, answers={200: Answer("Jobs", JobList)}
)
async def list_jobs(query: ListQuery) -> Response:
    statuses, limit, before = query.status, query.limit, query.before or None
    scope = await sessions().job_scope()
    downloads = services().downloads
    key = (scope, statuses, limit, before)
    revision = downloads.revision
    listings = state().listings
    body = listings.get(key, revision)
    if body is None:
        jobs = await downloads.list_jobs(scope, statuses=statuses, limit=limit, before=before)
        body = json.dumps({"jobs": [job_to_api(job) for job in jobs]}).encode()
        listings.put(key, revision, body)
    return Response(body, content_type="application/json")


@blueprint.get("/api/downloads/<job_id>")
@endpoint("A job", answers={200: Answer("The job", Job)}, refuses=_NOT_FOUND)
async def get_job(job_id: str) -> Job:
    return await services().downloads.get(job_id, await sessions().job_scope())


@blueprint.post("/api/downloads/<job_id>/cancel")
@endpoint(
    "Stop a job and remove its partial files",
    answers={200: Answer("The cancelled job", Job)},
    refuses=(JobNotFound, Conflict),
)
async def cancel(job_id: str) -> Job:
    return await services().downloads.cancel(job_id, await sessions().job_scope())


@blueprint.post("/api/downloads/<job_id>/retry")
@endpoint(
    "Queue a failed or cancelled job again",
    answers={200: Answer("The re-queued job", Job)},
    refuses=(JobNotFound, Conflict),
)
async def retry(job_id: str) -> Job:
    return await services().downloads.retry(job_id, await sessions().job_scope())


@blueprint.post("/api/downloads/<job_id>/pause")
@endpoint(
    "Hold a job: a waiting one stays, a running one stops keeping its partial files",
    answers={200: Answer("The paused job", Job)},
    refuses=(JobNotFound, Conflict),
)
async def pause(job_id: str) -> Job:
    return await services().downloads.pause(job_id, await sessions().job_scope())


@blueprint.post("/api/downloads/<job_id>/start")
@endpoint(
    "A paused job goes back to the queue (continuing from its partial files)",
    answers={200: Answer("The queued job", Job)},
    refuses=(JobNotFound, Conflict),
)
async def start(job_id: str) -> Job:
    return await services().downloads.start(job_id, await sessions().job_scope())


@attrs.frozen
class QueueState:
    paused: bool
    #: How many jobs the change held or started (absent on a read).
    jobs: int | None = None
    #: Whether this browser sees the jobs added with the API key (absent on a change).
    api_jobs: bool | None = None


@blueprint.get("/api/queue")
@endpoint(
    "Whether your queue is paused, and whether it shows the jobs added with the API key",
    answers={200: Answer("The queue", QueueState)},
)
async def queue_state() -> QueueState:
    paused = services().downloads.queue_paused(await sessions().scope())
    return QueueState(paused, api_jobs=await sessions().sees_api_jobs())


@attrs.frozen
class ApiKeyProof:
    """The API key, proving the browser may see what the key's clients added."""

    key: str = attrs.field(metadata=rules(maxLength=512))


@attrs.frozen
class ApiJobsShown:
    api_jobs: bool


@blueprint.post("/api/queue/api-jobs")
@endpoint(
    "Show the jobs added with the API key in this browser's queue (isolated mode; in the "
    "other modes everyone sees them already)",
    body=ApiKeyProof,
    answers={200: Answer("Shown", ApiJobsShown)},
    refuses=(InvalidApiKey,),
)
async def show_api_jobs(body: ApiKeyProof) -> ApiJobsShown:
    auth = services().auth
    if not auth.api_key_required or not auth.api_key_matches(body.key):
        raise InvalidApiKey("That is not this server's API key.")
    await sessions().show_api_jobs(True)
    return ApiJobsShown(await sessions().sees_api_jobs())


@blueprint.delete("/api/queue/api-jobs")
@endpoint(
    "Stop showing the jobs added with the API key in this browser",
    answers={200: Answer("Hidden (still shown in shared and open mode)", ApiJobsShown)},
)
async def hide_api_jobs() -> ApiJobsShown:
    await sessions().show_api_jobs(False)
    return ApiJobsShown(await sessions().sees_api_jobs())


@blueprint.post("/api/queue/pause")
@endpoint(
    "Pause your queue: what waits or runs now, and what you add until you start it",
    answers={200: Answer("How many jobs were held", QueueState)},
)
async def pause_queue() -> QueueState:
    held = await services().downloads.pause_queue(await sessions().scope())
    return QueueState(True, held)


@blueprint.post("/api/queue/start")
@endpoint(
    "Start your queue and every paused job in it",
    answers={200: Answer("How many jobs were started", QueueState)},
)
async def start_queue() -> QueueState:
    started = await services().downloads.start_queue(await sessions().scope())
    return QueueState(False, started)


@attrs.frozen
class DeleteJobQuery:
    keep_file: str = flag("true: forget the job but leave its file(s) in the downloads folder")


@blueprint.delete("/api/downloads/<job_id>")
@endpoint(
    "Delete a job (cancelling it first) with its files, or with keep_file=true only the job",
    query=DeleteJobQuery,
    answers={204: Answer("Deleted (its files too, unless keep_file=true)")},
    refuses=(JobNotFound, Conflict),
)
async def delete(job_id: str, query: DeleteJobQuery) -> Response:
    keep = is_set(query.keep_file)
    await services().downloads.delete(job_id, await sessions().job_scope(), keep_files=keep)
    return Response(b"", status=204)


@blueprint.post("/api/downloads/<job_id>/restore")
@endpoint(
    "Undo a delete made with keep_file=true, within two minutes (the job comes back as it was)",
    answers={200: Answer("The job, back in the list", Job)},
    refuses=_NOT_FOUND,
)
async def restore(job_id: str) -> Job:
    return await services().downloads.restore(job_id, await sessions().job_scope())


def _only(statuses: tuple[JobStatus, ...], allowed: frozenset[JobStatus], words: str) -> None:
    wrong = [str(s) for s in statuses if s not in allowed]
    if not statuses or wrong:
        raise InvalidRequest(f"statuses: {words} ({', '.join(wrong) or 'none given'})")


@attrs.frozen
class ClearRequest:
    """Which finished jobs to remove, and whether their files stay."""

    statuses: tuple[JobStatus, ...] = attrs.field(
        metadata=rules(description="completed, failed and/or cancelled")
    )
    keep_files: bool = False


@attrs.frozen
class JobsCleared:
    removed: int


@blueprint.post("/api/downloads/clear")
@endpoint(
    "Remove every finished job in your scope with one of these statuses (files too, unless "
    "keep_files)",
    body=ClearRequest,
    answers={200: Answer("How many jobs were removed", JobsCleared)},
    refuses=(InvalidRequest,),
)
async def clear(body: ClearRequest) -> JobsCleared:
    _only(body.statuses, TERMINAL_STATUSES, "completed, failed or cancelled")
    scope = await sessions().job_scope()
    removed = await services().downloads.clear(scope, body.statuses, keep_files=body.keep_files)
    return JobsCleared(removed)


@attrs.frozen
class RetryRequest:
    statuses: tuple[JobStatus, ...] = attrs.field(
        default=(JobStatus.FAILED,), metadata=rules(description="failed and/or cancelled")
    )


@attrs.frozen
class JobsRetried:
    retried: int


@blueprint.post("/api/downloads/retry")
@endpoint(
    "Queue again every failed (or cancelled) job in your scope",
    body=RetryRequest,
    answers={200: Answer("How many jobs were queued again", JobsRetried)},
    refuses=(InvalidRequest,),
)
async def retry_all(body: RetryRequest) -> JobsRetried:
    _only(body.statuses, RETRYABLE_STATUSES, "failed or cancelled")
    retried = await services().downloads.retry_all(await sessions().job_scope(), body.statuses)
    return JobsRetried(retried)


@blueprint.get("/api/downloads/<job_id>/file")
@endpoint(
    "Save a finished job's file",
    answers={
        200: Answer("The file as an attachment", bytes, ("application/octet-stream",)),
        206: Answer("A range of the file"),
        304: Answer("Not modified (If-None-Match)"),
    },
    refuses=(JobNotFound, FileNotReady, FileMissing, RequestedRangeNotSatisfiable),
)
async def file(job_id: str) -> Response:
    """The job's main file."""
    job = await services().downloads.get(job_id, await sessions().job_scope())
    return await _serve(job, job.filename)


@blueprint.get("/api/downloads/<job_id>/files/<int:index>")
@endpoint(
    "Save one of a finished job's files, by its place in the job's files (chapters, subtitles)",
    answers={
        200: Answer("The file as an attachment", bytes, ("application/octet-stream",)),
        206: Answer("A range of the file"),
        304: Answer("Not modified (If-None-Match)"),
    },
    refuses=(JobNotFound, FileNotReady, FileMissing, RequestedRangeNotSatisfiable),
)
async def one_of_files(job_id: str, index: int) -> Response:
    job = await services().downloads.get(job_id, await sessions().job_scope())
    if not 0 <= index < len(job.files):
        raise FileMissing(f"The job has {len(job.files)} file(s); there is no number {index}.")
    return await _serve(job, job.files[index].name)


async def _serve(job: Job, name: str | None) -> Response:
    if job.status is not JobStatus.COMPLETED or not name:
        raise FileNotReady(f"The job has no file to save yet (it is {job.status}).")
    try:
        path = confine(services().downloads.downloads_dir, name)
    except PathEscapeError:
        raise FileMissing("The file is not in the downloads folder.") from None
    if not path.is_file():
        raise FileMissing("The file is gone from the downloads folder.")
    return await file_response(request, path, attachment_name=path.name)
