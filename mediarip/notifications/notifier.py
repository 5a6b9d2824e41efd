"""The notifier: the admin's targets, and the task that sends them what happened.

Why a queue and a task of its own: a job's end is told to the notifier from the engine's event
sink, in the trio thread, where nothing may block. :meth:`Notifications.observe` only turns the
event into a :class:`Message` and puts it on a bounded memory channel (``send_nowait``); the
sender (:meth:`Notifications.run`, a supervised task in the root nursery) takes messages off it
and starts one delivery per interested target, at most :data:`PARALLEL` at once. So a slow or
dead target holds up only its own delivery: never a download, never the API, never another
target (until :data:`PARALLEL` of them hang, after which the queue fills and new messages are
dropped and counted, rather than piling up in memory). Cancelling the task (shutdown) cancels
every delivery in flight at once.

Which jobs: those at the top of the queue, a single download or a playlist (whose end is its
last item's); a playlist's items are not told one by one. A subscription's check that queued
new items is one message with all of them.

A delivery that fails after its retries goes to the admin's error log, naming the target and
its URL with anything that may be secret cut out (:func:`~.models.mask_url`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import trio

from ..engine.events import JobChanged, JobEvent
from ..models import Job, JobStatus, job_to_api, utcnow
from ..store import ErrorEntry, NameTaken, Store
from ..subscriptions.events import SubscriptionChecked, SubscriptionEvent
from . import delivery
from .models import Delivery, Event, Message, NewTarget, Target, TargetKind, new_secret

if TYPE_CHECKING:
    from ..subscriptions.models import Subscription

__all__ = [
    "PARALLEL",
    "QUEUE_SIZE",
    "Notifications",
    "TargetNameTaken",
    "TargetNotFound",
]

log = logging.getLogger("mediarip.notifications")

QUEUE_SIZE = 256
PARALLEL = 8
ERROR_SESSION = "notifications"

#: Told how each delivery went: (target kind, "sent" | "failed" | "dropped").
OutcomeSink = Callable[[str, str], None]


class TargetNotFound(LookupError):
    """No such notification target: target_not_found."""


class TargetNameTaken(ValueError):
    """Another notification target already has this name: name_taken."""


class Notifications:
    """The targets (for the admin API) and the sender (:meth:`run`, in the root nursery)."""

    def __init__(self, store: Store, on_outcome: OutcomeSink | None = None) -> None:
        self._store = store
        self._on_outcome = on_outcome or (lambda kind, outcome: None)
        self._send, self._receive = trio.open_memory_channel[Message](QUEUE_SIZE)
        self._targets: list[Target] | None = None
        self._slots = trio.Semaphore(PARALLEL)
        self._threads = trio.CapacityLimiter(4)
        #: How deliveries retry; tests shorten the waits.
        self.retries = delivery.RETRIES
        self.backoff: Sequence[float] = delivery.BACKOFF
        self.try_seconds = delivery.TRY_SECONDS
        #: Called after each change of the targets (a cluster's web node tells the others).
        self.on_change: Callable[[], None] = lambda: None

    # -- what happened -------------------------------------------------------------------------

    def observe(self, event: JobEvent) -> None:
        """The engine's event sink (trio thread, never blocks): a top-level job that ended
        completed or failed becomes a message."""
        if not isinstance(event, JobChanged) or not event.changes:
            return
        status = event.changes.get("status")
        job = event.job
        if job.parent_id is not None or status not in (JobStatus.COMPLETED, JobStatus.FAILED):
            return
        self._enqueue(_job_message(job))

    def observe_subscription(self, event: SubscriptionEvent) -> None:
        """The subscription checker's event sink (trio thread, never blocks): a check that
        queued downloads becomes a message."""
        if isinstance(event, SubscriptionChecked) and event.jobs:
            self._enqueue(_items_message(event.subscription, event.jobs))

    def _enqueue(self, message: Message) -> None:
        if self._targets is not None and not any(t.wants(message.event) for t in self._targets):
            return  # nobody listens: not worth a place in the queue
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            log.warning("notification queue full: %s message dropped", message.event)
            self._on_outcome("any", "dropped")

    # -- the sender task ------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Send queued messages until cancelled; deliveries run side by side."""
        async with trio.open_nursery() as nursery:
            task_status.started()
            async for message in self._receive:
                for target in await self._load():
                    if target.wants(message.event):
                        await self._slots.acquire()
                        nursery.start_soon(self._deliver_queued, target, message)

    async def _deliver_queued(self, target: Target, message: Message) -> None:
        try:
            result = await self._deliver(target, message, retries=self.retries)
            if not result.delivered:
                await self._record_failure(target, message, result)
        finally:
            self._slots.release()

    async def _deliver(self, target: Target, message: Message, *, retries: int) -> Delivery:
        result = await delivery.deliver(
            target,
            message,
            self._threads,
            retries=retries,
            backoff=self.backoff,
            try_seconds=self.try_seconds,
        )
        self._on_outcome(target.kind.value, "sent" if result.delivered else "failed")
        if result.delivered:
            log.info("notification %s sent to %s", message.event, target.name)
        return result

    async def _record_failure(self, target: Target, message: Message, result: Delivery) -> None:
        text = (
            f"Notification target {target.name!r} ({target.masked_url}) did not take the "
            f"{message.event} message after {result.attempts} tries: {result.error}"
        )
        log.warning("%s", text)
        entry = ErrorEntry(
            at=utcnow(),
            job_id=message.job_id or "",
            session_id=ERROR_SESSION,
            url=target.masked_url,
            code="notification_failed",
            message=text,
        )
        with trio.CancelScope(shield=True):
            try:
                await self._store.insert_error(entry)
            except Exception:
                log.exception("recording a failed notification failed")

    # -- the targets, for the admin --------------------------------------------------------------

    async def _load(self) -> list[Target]:
        if self._targets is None:
            self._targets = await self._store.list_targets()
        return self._targets

    async def list(self) -> list[Target]:
        return list(await self._load())

    async def get(self, target_id: str) -> Target:
        for target in await self._load():
            if target.id == target_id:
                return target
        raise TargetNotFound(target_id)

    async def create(self, new: NewTarget) -> Target:
        target = Target(
            id=uuid.uuid4().hex[:12],
            name=new.name,
            kind=new.kind,
            url=new.url.strip(),
            events=new.events,
            secret=_secret_for(new),
            enabled=new.enabled,
            created_at=utcnow(),
        )
        await self._saved(self._store.insert_target, target)
        return target

    async def update(self, target_id: str, new: NewTarget) -> Target:
        current = await self.get(target_id)
        target = attrs.evolve(
            current,
            name=new.name,
            kind=new.kind,
            url=new.url.strip(),
            events=new.events,
            secret=_secret_for(new),
            enabled=new.enabled,
        )
        await self._saved(self._store.update_target, target)
        return target

    async def delete(self, target_id: str) -> None:
        await self.get(target_id)
        await self._store.delete_target(target_id)
        self._targets = None
        self.on_change()

    def forget_targets(self) -> None:
        """Read the targets again when next needed (another process changed them)."""
        self._targets = None

    async def test(self, target_id: str) -> Delivery:
        """Send a test message now, once (no retries, so the panel hears back promptly)."""
        target = await self.get(target_id)
        message = _test_message(target)
        result = await self._deliver(target, message, retries=0)
        if not result.delivered:
            await self._record_failure(target, message, result)
        return result

    async def _saved(self, save: Callable[[Target], Any], target: Target) -> None:
        try:
            await save(target)
        except NameTaken:
            raise TargetNameTaken(target.name) from None
        finally:
            self._targets = None  # read again: a failed save may still have raced another
            self.on_change()


def _secret_for(new: NewTarget) -> str | None:
    if new.kind is not TargetKind.WEBHOOK:
        return None
    return new.secret or new_secret()


def _job_message(job: Job) -> Message:
    event = Event.COMPLETED if job.status is JobStatus.COMPLETED else Event.FAILED
    name = job.title or job.url
    if event is Event.COMPLETED:
        title = f"Downloaded: {name}"
        text = f"{name}\n{job.url}" + (f"\nSaved as {job.filename}" if job.filename else "")
    else:
        title = f"Download failed: {name}"
        reason = job.error.message if job.error else "The job failed."
        text = f"{name}\n{job.url}\n{reason}"
    body = {"event": event.value, "job": job_to_api(job)}
    return Message(event, body, title, text, job_id=job.id)


def _items_message(sub: Subscription, jobs: Sequence[Job]) -> Message:
    name = sub.title or sub.settings.url
    count = len(jobs)
    title = f"{name}: {count} new item{'' if count == 1 else 's'}"
    lines = [job.title or job.url for job in jobs[:20]]
    if count > 20:
        lines.append(f"… and {count - 20} more")
    body = {
        "event": Event.NEW_ITEMS.value,
        "subscription": {"id": sub.id, "title": sub.title, "url": sub.settings.url},
        "jobs": [job_to_api(job) for job in jobs],
    }
    return Message(Event.NEW_ITEMS, body, title, "\n".join(lines))


def _test_message(target: Target) -> Message:
    body = {
        "event": Event.TEST.value,
        "job": None,
        "message": f"A test from media-rip to the target {target.name!r}.",
    }
    text = f"If you can read this, media-rip can reach {target.name!r}."
    return Message(Event.TEST, body, "media-rip: a test notification", text)
