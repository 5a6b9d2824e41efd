"""The engine's events as browsers see them: the names and JSON of the SSE events.

The engine says which job changed and how (:mod:`mediarip.engine.events`); this module turns
that into ``job_update`` (``{"job": {...}}``: the whole job, or its id and the fields that
changed) and ``job_removed`` (``{"id": ...}``) frames on the broker, and makes the ``init``
frame a stream starts with. A job's private fields never leave the server
(:func:`~mediarip.models.job_to_api`).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..broker import Broker, encode_frame
from ..engine.events import EventSink, JobChanged, JobEvent
from ..models import Job, converter, job_to_api

__all__ = ["INIT", "JOB_REMOVED", "JOB_UPDATE", "PING", "init_frame", "job_events_to", "ping_frame"]

INIT = "init"
JOB_UPDATE = "job_update"
JOB_REMOVED = "job_removed"
PING = "ping"


def job_events_to(broker: Broker) -> EventSink:
    """The sink that publishes the engine's events on ``broker``, in their wire form."""

    def publish(event: JobEvent) -> None:
        job = event.job
        if not isinstance(event, JobChanged):
            broker.publish(JOB_REMOVED, {"id": job.id}, session_id=job.session_id, job_id=job.id)
            return
        if event.changes is None:
            data = job_to_api(job)
        else:
            data = {"id": job.id, **{k: converter.unstructure(v) for k, v in event.changes.items()}}
        broker.publish(
            JOB_UPDATE,
            {"job": data},
            session_id=job.session_id,
            job_id=job.id,
            coalesce=event.progress_only,
        )

    return publish


def init_frame(event_id: str | None, jobs: Iterable[Job]) -> bytes:
    """The frame a stream starts with (and resyncs with): every job in the reader's scope."""
    return encode_frame(INIT, event_id, {"jobs": [job_to_api(job) for job in jobs]})


def ping_frame(event_id: str | None) -> bytes:
    """What a quiet stream sends every so often, so that proxies keep it open."""
    return encode_frame(PING, event_id, {})
