"""A job event as a cluster message and back (:mod:`.bus`).

A message carries the whole job (the receivers route it by its owner, and overlay it on their
listings) and the names of the fields that changed. A job too big for NOTIFY (a long
description in its options, many files) is sent as its id alone and read from the database by
the receiver, where the sender has written it before publishing (the engine publishes a change
after writing it, except progress, which the receiver then shows a moment late)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import attrs

from ..engine.events import JobChanged, JobEvent, JobRemoved
from ..models import Job, converter
from ..store import Store
from ..subscriptions.events import (
    SubscriptionChanged,
    SubscriptionChecked,
    SubscriptionEvent,
    SubscriptionRemoved,
)
from .bus import MAX_PAYLOAD

__all__ = [
    "JOB",
    "REMOVED",
    "SUBSCRIPTION",
    "decode_event",
    "decode_subscription_event",
    "encode_event",
    "encode_subscription_event",
]

JOB = "job"
REMOVED = "removed"
SUBSCRIPTION = "subscription"
_SUBSCRIPTION_EVENTS: dict[str, type[SubscriptionEvent]] = {
    cls.__name__: cls for cls in (SubscriptionChanged, SubscriptionChecked, SubscriptionRemoved)
}
#: Room left in a payload for the envelope (kind, sender) around the body.
_ENVELOPE = 200


def encode_event(event: JobEvent) -> tuple[str, dict[str, Any]]:
    """The message kind and body of ``event``."""
    job = converter.unstructure(event.job)
    if isinstance(event, JobRemoved):
        body: dict[str, Any] = {"job": job}
        kind = REMOVED
    else:
        changed = None if event.changes is None else sorted(event.changes)
        body = {"job": job, "changed": changed, "progress_only": event.progress_only}
        kind = JOB
    if len(json.dumps(body).encode()) > MAX_PAYLOAD - _ENVELOPE:
        del body["job"]
        body["id"] = event.job.id
    return kind, body


async def decode_event(kind: str, body: Mapping[str, Any], store: Store) -> JobEvent | None:
    """The event a message tells of; None if its job is gone already (sent by id)."""
    if "job" in body:
        job: Job | None = converter.structure(body["job"], Job)
    else:
        job = await store.get_job(str(body["id"]))
    if job is None:
        return None
    if kind == REMOVED:
        return JobRemoved(job)
    changed = body.get("changed")
    changes = None if changed is None else {name: getattr(job, name) for name in changed}
    return JobChanged(job, changes, progress_only=bool(body.get("progress_only")))


log = logging.getLogger("mediarip.cluster")


def encode_subscription_event(event: SubscriptionEvent) -> dict[str, Any] | None:
    """The body of a subscription event's message, without the jobs a check queued (the
    other nodes hear of those as job events); None if it would still not fit."""
    if isinstance(event, SubscriptionChecked):
        event = attrs.evolve(event, jobs=())
    body = {"type": type(event).__name__, "event": converter.unstructure(event)}
    if len(json.dumps(body).encode()) > MAX_PAYLOAD - _ENVELOPE:
        log.warning("a %s event is too big for the other nodes", type(event).__name__)
        return None
    return body


def decode_subscription_event(body: Mapping[str, Any]) -> SubscriptionEvent:
    cls = _SUBSCRIPTION_EVENTS[str(body["type"])]
    event: SubscriptionEvent = converter.structure(body["event"], cls)
    return event
