"""``POST /api/downloads/batch``: many URLs at once, one job each, with the same fields.

The body is a single add's body with ``urls`` (a list) instead of ``url``. The shared fields
(and the preset) are checked once: a bad one refuses the whole batch with a 422, as it would
refuse each job. Each URL is then checked on its own; a bad or blocked one is reported in
``refused`` with its error while the others are queued. The job rate limit
(``downloads.max_jobs_per_minute``) counts the jobs a batch would make: a batch larger than
what is left of it is refused whole (429), saying how many would fit, so that a person never
has to work out which lines went in.
"""

from __future__ import annotations

import json
import math
from typing import Any

import attrs
from quart import Blueprint, Response

from ..engine import ProbeFailed
from ..models import Job, JobError, NewJob
from ..presets import PresetRefused
from ..rules import rules
from .body import structure_model
from .context import services, sessions, state
from .contract import Answer, endpoint
from .downloads import new_job_from
from .errors import InvalidRequest, TooManyJobs

__all__ = ["MAX_BATCH", "blueprint"]

blueprint = Blueprint("batch", __name__)

MAX_BATCH = 5000


@attrs.frozen
class NewBatch:
    """The body: a single add's fields (``preset`` included), with ``urls`` for ``url``."""

    urls: list[str] = attrs.field(metadata=rules(minItems=1, maxItems=MAX_BATCH))
    media_type: str | None = None
    format_id: str | None = None
    quality: str | None = None
    output_format: str | None = None
    playlist_items: str | None = None
    preset: str | None = None
    options: dict[str, Any] | None = None
    paused: bool | None = None


@attrs.frozen
class Refusal:
    url: Any
    error: JobError


@attrs.frozen
class BatchResult:
    jobs: list[Job]
    refused: list[Refusal]


def _urls(body: dict[str, Any]) -> list[Any]:
    urls = body.pop("urls", None)
    if "url" in body:
        raise InvalidRequest("url: a batch takes urls (a list), not url")
    if not isinstance(urls, list) or not urls:
        raise InvalidRequest("urls: a list of at least one URL")
    if len(urls) > MAX_BATCH:
        raise InvalidRequest(f"urls: at most {MAX_BATCH} in one batch (got {len(urls)})")
    return urls


def _refusal(url: Any, code: str, message: str) -> Refusal:
    return Refusal(url, JobError(code, message))


@blueprint.post("/api/downloads/batch")
@endpoint(
    "One job per URL, all with the same fields (and preset)",
    body=NewBatch,
    raw_body=True,
    answers={201: Answer("The jobs made, and the lines refused with why", BatchResult)},
    refuses=(PresetRefused, TooManyJobs),
)
async def create_batch(body: dict[str, Any]) -> Response | BatchResult:
    urls = _urls(body)
    # The shared fields, once, with a stand-in URL: their errors are everybody's.
    template = await new_job_from({**body, "url": "https://batch.invalid/"})
    shared = {
        "media_type": template.media_type.value,
        "format_id": template.format_id,
        "quality": template.quality,
        "output_format": template.output_format,
        "playlist_items": template.playlist_items,
    }
    downloads = services().downloads
    accepted: list[NewJob] = []
    refused: list[Refusal] = []
    seen: set[str] = set()
    for url in urls:
        if not isinstance(url, str) or not url.strip():
            refused.append(_refusal(url, "invalid_request", "url: a URL is required"))
            continue
        try:
            new = structure_model({**shared, "url": url}, NewJob)
        except InvalidRequest as exc:
            refused.append(_refusal(url, "invalid_request", exc.message))
            continue
        try:
            downloads.check_address(new.url)  # no DNS: cheap for every line
        except ProbeFailed as exc:  # AddressBlocked
            refused.append(_refusal(url, exc.error.code, exc.error.message))
            continue
        if new.url in seen:
            refused.append(_refusal(url, "duplicate", "url: already in this batch"))
            continue
        seen.add(new.url)
        accepted.append(
            NewJob(**{**_fields(new), "options": template.options, "paused": template.paused})
        )
    session_id = await sessions().current()
    per_minute = services().settings.downloads.max_jobs_per_minute
    if accepted:
        fits = state().job_rate.take_many(session_id, len(accepted), per_minute)
        if fits is not None:
            wait = math.ceil(60.0 / per_minute) if per_minute else 1
            body_out = {
                "error": {
                    "code": "too_many_jobs",
                    "message": (
                        f"This batch would add {len(accepted)} jobs, but only {fits} fit in the "
                        f"job rate limit now (at most {per_minute} a minute). Send at most "
                        f"{fits}, or wait and try again."
                    ),
                    "fits": fits,
                }
            }
            return Response(
                json.dumps(body_out),
                status=429,
                content_type="application/json",
                headers={"Retry-After": str(wait)},
            )
    jobs = await downloads.submit_many(session_id, accepted)
    return BatchResult(jobs, refused)


def _fields(new: NewJob) -> dict[str, Any]:
    return {
        "url": new.url,
        "media_type": new.media_type,
        "format_id": new.format_id,
        "quality": new.quality,
        "output_format": new.output_format,
        "playlist_items": new.playlist_items,
    }
