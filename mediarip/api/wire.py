"""The engine's events as browsers see them: the names and JSON of the SSE events.

The engine says which job changed and how (:mod:`mediarip.engine.events`); this module turns
that into ``job_update`` (``{"job": {...}}``: the whole job, or its id and the fields that
changed) and ``job_removed`` (``{"id": ...}``) frames on the broker, and makes the ``init``
frame a stream starts with. The subscription checker's events become ``subscription_update``
(``{"subscription": {...}}``), ``subscription_checked`` (``{"id", "result"}``) and
``subscription_removed`` (``{"id": ...}``). A job's private fields never leave the server
(:func:`~mediarip.models.job_to_api`).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..broker import Broker, encode_frame
from ..engine.events import EventSink, JobChanged, JobEvent
from ..models import Job, converter, job_to_api
from ..subscriptions.events import (
    SubscriptionChanged,
    SubscriptionChecked,
    SubscriptionEvent,
    SubscriptionSink,
)
from ..subscriptions.models import subscription_to_api

__all__ = [
    "INIT",
    "JOB_REMOVED",
    "JOB_UPDATE",
    "PING",
    "SUBSCRIPTION_CHECKED",
    "SUBSCRIPTION_REMOVED",
    "SUBSCRIPTION_UPDATE",
    "init_frame",
    "job_events_to",
    "ping_frame",
    "subscription_events_to",
]

INIT = "init"
JOB_UPDATE = "job_update"
JOB_REMOVED = "job_removed"
PING = "ping"
SUBSCRIPTION_UPDATE = "subscription_update"
SUBSCRIPTION_CHECKED = "subscription_checked"
SUBSCRIPTION_REMOVED = "subscription_removed"


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


def subscription_events_to(broker: Broker) -> SubscriptionSink:
    """The sink that publishes the checker's events on ``broker``, in their wire form."""

    def publish(event: SubscriptionEvent) -> None:
        if isinstance(event, SubscriptionChanged | SubscriptionChecked):
            sub = event.subscription
            data = {"subscription": subscription_to_api(sub)}
            broker.publish(SUBSCRIPTION_UPDATE, data, session_id=sub.session_id)
            if isinstance(event, SubscriptionChecked):
                result = converter.unstructure(event.result)
                broker.publish(
                    SUBSCRIPTION_CHECKED,
                    {"id": sub.id, "result": result},
                    session_id=sub.session_id,
                )
            return
        broker.publish(SUBSCRIPTION_REMOVED, {"id": event.id}, session_id=event.session_id)

    return publish


def init_frame(event_id: str | None, jobs: Iterable[Job]) -> bytes:
    """The frame a stream starts with (and resyncs with): every job in the reader's scope."""
    return encode_frame(INIT, event_id, {"jobs": [job_to_api(job) for job in jobs]})


def ping_frame(event_id: str | None) -> bytes:
    """What a quiet stream sends every so often, so that proxies keep it open."""
    return encode_frame(PING, event_id, {})
