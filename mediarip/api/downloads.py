"""``/api/downloads``: create, list, inspect, cancel, retry, delete jobs and fetch their files.

Handlers stay thin: read input, call one service method, shape the answer. Every job lookup
is scoped to the caller's session (in ``isolated`` mode), and a job outside the scope is a
plain 404, indistinguishable from one that does not exist.
"""

from __future__ import annotations

import json

import attrs
from quart import Blueprint, Response, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from ..engine import AddressBlocked, Conflict, JobNotFound
from ..engine.paths import PathEscapeError, confine
from ..models import Job, JobStatus, NewJob, job_to_api
from ..rules import rules
from .context import services, sessions, state
from .contract import Answer, endpoint
from .errors import FileMissing, FileNotReady
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


@blueprint.post("/api/downloads")
@endpoint(
    "Create a download job",
    body=NewJob,
    answers={201: Answer("The job, queued", Job)},
    refuses=(AddressBlocked,),
    requires=(JOB_RATE,),
)
async def create(body: NewJob) -> Job:
    session_id = await sessions().current()
    return await services().downloads.submit(session_id, body)


@blueprint.get("/api/downloads")
@endpoint(
    "List jobs in your scope, newest first", query=ListQuery, answers={200: Answer("Jobs", JobList)}
)
async def list_jobs(query: ListQuery) -> Response:
    statuses, limit, before = query.status, query.limit, query.before or None
    scope = await sessions().scope()
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
    return await services().downloads.get(job_id, await sessions().scope())


@blueprint.post("/api/downloads/<job_id>/cancel")
@endpoint(
    "Stop a job and remove its partial files",
    answers={200: Answer("The cancelled job", Job)},
    refuses=(JobNotFound, Conflict),
)
async def cancel(job_id: str) -> Job:
    return await services().downloads.cancel(job_id, await sessions().scope())


@blueprint.post("/api/downloads/<job_id>/retry")
@endpoint(
    "Queue a failed or cancelled job again",
    answers={200: Answer("The re-queued job", Job)},
    refuses=(JobNotFound, Conflict),
)
async def retry(job_id: str) -> Job:
    return await services().downloads.retry(job_id, await sessions().scope())


@blueprint.delete("/api/downloads/<job_id>")
@endpoint(
    "Delete a job with its files (cancelling it first)",
    answers={204: Answer("Deleted with its files")},
    refuses=_NOT_FOUND,
)
async def delete(job_id: str) -> Response:
    await services().downloads.delete(job_id, await sessions().scope())
    return Response(b"", status=204)


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
    downloads = services().downloads
    job = await downloads.get(job_id, await sessions().scope())
    if job.status is not JobStatus.COMPLETED or not job.filename:
        raise FileNotReady(f"The job has no file to save yet (it is {job.status}).")
    try:
        path = confine(downloads.downloads_dir, job.filename)
    except PathEscapeError:
        raise FileMissing("The file is not in the downloads folder.") from None
    if not path.is_file():
        raise FileMissing("The file is gone from the downloads folder.")
    return await file_response(request, path, attachment_name=path.name)
