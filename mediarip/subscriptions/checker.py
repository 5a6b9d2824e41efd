"""Subscriptions at run time: their life (create, change, pause, delete) and the checker.

The checker is one supervised task in the root nursery (:meth:`Subscriptions.run`), like the
purge. It keeps, in memory, when each active subscription is due (computed by
:mod:`.schedule`, stored for the API as ``next_check_at``), sleeps until the earliest, and
starts each due check as a task of its own nursery. So:

- one broken subscription never stops the others: a check's failure is caught in its own task,
  recorded on the subscription (``last_error``, in words a person can act on) and backed off;
- a check never takes a download slot: it lists the feed through the download service's probe
  threads, at most :attr:`Subscriptions.max_parallel` checks at once, so a person's previews
  always find a probe thread free; each check has a timeout (:attr:`Subscriptions.timeout`);
- a check is cancel-safe at every point. Until its very end it only reads (the listing runs in
  a worker thread that a cancel interrupts through its token); what it decided is then written
  by :meth:`~mediarip.store.Store.record_check` in one transaction together with the jobs it
  queued, and those jobs are scheduled in the same shielded step
  (:meth:`~mediarip.engine.DownloadService.launch`). A check cancelled before that step left
  nothing behind and simply happens again; after it, it is whole.

New items become single jobs carrying ``subscription_id``, not a playlist parent per check:
each item is its own download that a person can retry, cancel or delete on its own, it lands
in the queue as soon as it is found, and the queue is not filled with one "check at 14:15"
parent per check, most of them empty. (A parent would also make the engine fetch the feed a
second time to expand it, and could then find other items than the check decided on.)

Sleeping is ``trio.sleep`` of the seconds until the next wall-clock time, so trio's mock clock
drives the schedule in tests (which pass a wall clock that follows it), as for the purge.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

import attrs
import trio

from ..config import Settings
from ..engine import Conflict, DownloadService, JobNotFound, ProbeFailed
from ..engine.listing import Listing
from ..models import Job, JobError, utcnow
from ..presets import PresetBook, PresetRefused
from ..store import Store
from .events import (
    SubscriptionChanged,
    SubscriptionChecked,
    SubscriptionEvent,
    SubscriptionRemoved,
    SubscriptionSink,
)
from .models import (
    CheckItem,
    CheckRecord,
    CheckResult,
    Outcome,
    Subscription,
    SubscriptionSettings,
)
from .rules import decide, item_identity
from .schedule import next_check, retry_at

__all__ = ["Preview", "SubscriptionNotFound", "Subscriptions", "SubscriptionsContext"]

log = logging.getLogger("mediarip.subscriptions")

HISTORY_KEPT = 50  # checks per subscription


class SubscriptionNotFound(LookupError):
    pass


class SubscriptionsContext(Protocol):
    """What subscriptions work with (``Services`` is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...

    @property
    def downloads(self) -> DownloadService: ...

    @property
    def presets(self) -> PresetBook: ...

    @property
    def on_subscription_event(self) -> SubscriptionSink: ...


@attrs.frozen
class Preview:
    """What the first check of a subscription would take, before it exists."""

    title: str | None
    listed: int
    items: list[CheckItem]


class _Check:
    """A check in progress: who waits for it, and how to stop it."""

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.done = trio.Event()
        self.result: CheckResult | None = None


class Subscriptions:
    """Create with a context; :meth:`run` is the checker (a task in the root nursery); the
    other methods are for request handlers."""

    def __init__(
        self,
        context: SubscriptionsContext,
        *,
        wall_clock: Callable[[], dt.datetime] = utcnow,
        timeout: float | None = None,
        max_parallel: int | None = None,
    ) -> None:
        self._context = context
        self._now = wall_clock
        self._timeout = timeout
        settings = context.settings
        #: Checks at once (``subscriptions.max_parallel_checks``; by default half the probe
        #: threads, so previews always find one free).
        self.max_parallel = (
            max_parallel
            or settings.subscriptions.max_parallel_checks
            or max(1, settings.downloads.max_probes // 2)
        )
        self._slots = trio.CapacityLimiter(self.max_parallel)
        self._due: dict[str, dt.datetime] = {}
        self._checks: dict[str, _Check] = {}
        self._wake = trio.Event()
        self._nursery: trio.Nursery | None = None
        #: How many checks have ended (any outcome), for tests and the benchmark.
        self.checks_done = 0
        #: A cluster's web node (issue 16): the schedule runs on the leader, which may be
        #: another node; "check now" then runs the check here.
        self.checks_elsewhere = False

    @property
    def timeout(self) -> float:
        """Seconds a check may take (listing included) before it counts as failed: the
        ``subscriptions.check_timeout_seconds`` in force, read at each check."""
        return self._timeout or self._context.settings.subscriptions.check_timeout_seconds

    @property
    def checks_running(self) -> int:
        """Checks under way now (tests wait for none before moving a mock clock, whose jump
        would otherwise count against a running check's timeout)."""
        return len(self._checks)

    # -- the checker task -----------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Check subscriptions when they are due, until cancelled. Reports itself started once
        it knows when each is due."""
        async with trio.open_nursery() as nursery:
            await self._load()
            self._nursery = nursery
            task_status.started()
            try:
                while True:
                    self._wake = trio.Event()
                    now = self._now()
                    for sub_id, due in list(self._due.items()):
                        if due <= now and sub_id not in self._checks:
                            self._spawn(sub_id)
                    waiting = [d for i, d in self._due.items() if i not in self._checks]
                    delay = (min(waiting) - now).total_seconds() if waiting else math.inf
                    with trio.move_on_after(max(delay, 0.0)):
                        await self._wake.wait()
            finally:
                self._nursery = None
                nursery.cancel_scope.cancel()

    async def _load(self) -> None:
        """Work out when each subscription is due. One never checked is due now; others get
        their next time on schedule (a check missed while the server was down is not made up
        in a rush: the spread schedule takes over)."""
        now = self._now()
        store = self._context.store
        for sub in await store.list_subscriptions():
            if sub.paused:
                continue
            if not sub.first_check_done and sub.failures == 0:
                due = now
            elif sub.failures:
                due = max(sub.next_check_at or now, now)
            else:
                due = next_check(sub.settings, sub.id, now)
            self._due[sub.id] = due
            if sub.next_check_at != due:
                await store.update_subscription(attrs.evolve(sub, next_check_at=due))

    def _spawn(self, sub_id: str) -> _Check:
        assert self._nursery is not None
        check = self._checks[sub_id] = _Check()
        self._nursery.start_soon(self._check_task, sub_id, check, name=f"check {sub_id}")
        return check

    async def _check_task(self, sub_id: str, check: _Check) -> None:
        try:
            with check.scope:
                async with self._slots:
                    check.result = await self._check(sub_id)
        except Exception:
            # A bug, not a feed's failure (those are recorded in _check): keep checking the
            # others, and do not retry this one in a tight loop.
            log.exception("the check of subscription %s crashed", sub_id)
            if sub_id in self._due:
                self._due[sub_id] = self._now() + dt.timedelta(hours=1)
        finally:
            self.checks_done += 1
            if self._checks.get(sub_id) is check:
                del self._checks[sub_id]
            check.done.set()
            self._wake.set()

    async def _check(self, sub_id: str) -> CheckResult | None:
        """One check: list, decide, record and queue (one transaction), announce."""
        store = self._context.store
        downloads = self._context.downloads
        sub = await store.get_subscription(sub_id)
        if sub is None:
            self._due.pop(sub_id, None)
            return None
        started = self._now()
        try:
            listing = await downloads.list_playlist(
                sub.settings.url, downloads.cookie_file(sub.session_id), self.timeout
            )
        except ProbeFailed as exc:
            return await self._failed(sub, started, exc.error)
        try:
            preset = await self._context.presets.for_request(sub.settings.download)
        except PresetRefused as exc:
            message = f"{exc} Edit the subscription to choose another preset."
            return await self._failed(sub, started, JobError("invalid_request", message))
        decisions = await self._decide(sub, listing)
        jobs: list[Job] = []
        items: list[CheckItem] = []
        for item in decisions:
            if item.outcome is Outcome.QUEUED:
                try:
                    job = downloads.prepare(
                        sub.session_id,
                        sub.settings.new_job(item.url, preset),
                        title=item.title,
                        subscription_id=sub.id,
                    )
                except ProbeFailed as exc:
                    item = attrs.evolve(item, outcome=Outcome.SKIPPED, reason=exc.error.message)
                except (ValueError, TypeError) as exc:
                    item = attrs.evolve(item, outcome=Outcome.SKIPPED, reason=str(exc))
                else:
                    jobs.append(job)
                    item = attrs.evolve(item, job_id=job.id)
            items.append(item)
        finished = self._now()
        result = _result(listing, items)
        checked = attrs.evolve(
            sub,
            title=sub.title or listing.title,
            last_check_at=finished,
            next_check_at=None if sub.paused else next_check(sub.settings, sub.id, finished),
            last_error=None,
            failures=0,
            checks=sub.checks + 1,
        )
        seen = [
            (_identity(item), item.outcome.value)
            for item in items
            if item.outcome is not Outcome.DEFERRED
        ]
        record = CheckRecord(started, finished, result, items)
        try:
            await downloads.launch(
                jobs,
                lambda js: store.record_check(checked, record, seen, js, keep=HISTORY_KEPT),
            )
        except LookupError:  # deleted while being checked
            self._due.pop(sub_id, None)
            return None
        except Conflict:  # shutting down: nothing was written; the next start checks again
            return None
        self._after_check(checked, result, tuple(jobs))
        if result.queued:
            log.info(
                "subscription %s (%s): %d new item(s) queued",
                sub.id,
                checked.title or sub.settings.url,
                result.queued,
            )
        return result

    async def _decide(self, sub: Subscription, listing: Listing) -> list[CheckItem]:
        store = self._context.store
        seen = await store.seen_items(sub.id)
        fresh = [item for item in listing.items if item_identity(item) not in seen]
        keys, urls = await store.archived(
            self._archive_scope(sub.session_id),
            (item.key for item in fresh if item.key),
            (item.url for item in fresh),
        )
        archived = {item_identity(item) for item in fresh if item.key in keys or item.url in urls}
        return decide(sub, listing.items, seen, archived)

    async def _failed(
        self, sub: Subscription, started: dt.datetime, error: JobError
    ) -> CheckResult:
        finished = self._now()
        failures = sub.failures + 1
        when = retry_at(sub.settings, sub.id, failures, finished)
        message = (
            f"{error.message} (check {failures} in a row that failed; "
            f"next try {when.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC)"
        )
        failed = attrs.evolve(
            sub,
            last_check_at=finished,
            next_check_at=None if sub.paused else when,
            last_error=JobError(error.code, message),
            failures=failures,
        )
        result = CheckResult(found=0, queued=0, skipped=0, error=error)
        record = CheckRecord(started, finished, result, [])
        try:
            with trio.CancelScope(shield=True):
                await self._context.store.record_check(failed, record, [], keep=HISTORY_KEPT)
        except LookupError:
            self._due.pop(sub.id, None)
            return result
        log.info("subscription %s: check failed (%s): %s", sub.id, error.code, error.message)
        self._after_check(failed, result)
        return result

    def _after_check(
        self, sub: Subscription, result: CheckResult, jobs: tuple[Job, ...] = ()
    ) -> None:
        if sub.next_check_at is not None and sub.id in self._due:
            self._due[sub.id] = sub.next_check_at
        self._context.on_subscription_event(SubscriptionChecked(sub, result, jobs))

    def _archive_scope(self, session_id: str) -> str | None:
        """Whose archive counts: the owner's in ``isolated`` mode, everyone's otherwise."""
        return session_id if self._context.settings.session.mode == "isolated" else None

    # -- for request handlers -------------------------------------------------------------------

    async def all(self, scope: str | None) -> list[Subscription]:
        """Subscriptions in ``scope`` (a session id; None: everyone's), newest first."""
        return await self._context.store.list_subscriptions(scope)

    async def get(self, sub_id: str, scope: str | None) -> Subscription:
        sub = await self._context.store.get_subscription(sub_id)
        if sub is None or (scope is not None and sub.session_id != scope):
            raise SubscriptionNotFound(sub_id)
        return sub

    async def create(self, session_id: str, settings: SubscriptionSettings) -> Subscription:
        """Store a subscription; its first check runs at once."""
        await self._refusals(session_id, settings)
        now = self._now()
        sub = Subscription(
            id=str(uuid.uuid4()),
            session_id=session_id,
            settings=settings,
            created_at=now,
            next_check_at=now,
        )
        with trio.CancelScope(shield=True):  # stored means scheduled
            await self._context.store.insert_subscription(sub)
            self._schedule(sub)
            self._announce(sub)
        return sub

    async def preview(self, session_id: str, settings: SubscriptionSettings) -> Preview:
        """What a first check would take now (nothing is stored)."""
        downloads = self._context.downloads
        await self._refusals(session_id, settings)
        sub = Subscription(str(uuid.uuid4()), session_id, settings, self._now())
        async with self._slots:
            listing = await downloads.list_playlist(
                settings.url, downloads.cookie_file(session_id), self.timeout
            )
        items = await self._decide(sub, listing)
        return Preview(listing.title, len(listing.items), items)

    async def change(
        self, sub_id: str, scope: str | None, settings: SubscriptionSettings
    ) -> Subscription:
        sub = await self.get(sub_id, scope)
        await self._refusals(sub.session_id, settings)
        changed = attrs.evolve(sub, settings=settings)
        if not sub.paused:
            changed = attrs.evolve(changed, next_check_at=self._first_due(changed))
        with trio.CancelScope(shield=True):
            await self._context.store.update_subscription(changed)
            self._schedule(changed)
            self._announce(changed)
        return changed

    async def set_paused(self, sub_id: str, scope: str | None, paused: bool) -> Subscription:
        """Pause (no scheduled checks; "check now" still works) or resume."""
        sub = await self.get(sub_id, scope)
        if sub.paused == paused:
            return sub
        changed = attrs.evolve(sub, paused=paused, next_check_at=None)
        if not paused:
            changed = attrs.evolve(changed, next_check_at=self._first_due(changed))
        with trio.CancelScope(shield=True):
            await self._context.store.update_subscription(changed)
            self._schedule(changed)
            self._announce(changed)
        return changed

    async def check_now(self, sub_id: str, scope: str | None) -> CheckResult:
        """Check at once and answer when the check has ended (one already running is waited
        for, and its result answers). The check belongs to the checker, not to the caller: a
        client that goes away does not cut it short."""
        await self.get(sub_id, scope)
        check = self._checks.get(sub_id)
        if check is None and self._nursery is None:
            if not self.checks_elsewhere:
                raise Conflict("The subscription checker is not running; try again in a moment.")
            # A cluster's web node that does not lead: the leader runs the schedule, this node
            # runs the check asked of it (its items are recorded in the same transaction as
            # the leader's would be, so an item is never queued twice).
            check = _Check()
            with trio.CancelScope(shield=True):
                await self._check_task(sub_id, check)
        elif check is None:
            check = self._spawn(sub_id)
        await check.done.wait()
        if check.result is None:
            sub = await self.get(sub_id, scope)
            if sub.last_error is not None:
                return CheckResult(0, 0, 0, error=sub.last_error)
            raise Conflict("The check was stopped before it ended; try again.")
        return check.result

    async def delete(self, sub_id: str, scope: str | None, *, remove_downloads: bool) -> int:
        """Stop its check if one runs, then remove it (its history too); with
        ``remove_downloads``, also every job it queued, with their files. Returns how many
        jobs were removed. The archive keeps its items either way."""
        sub = await self.get(sub_id, scope)
        self._due.pop(sub_id, None)
        check = self._checks.get(sub_id)
        if check is not None:
            check.scope.cancel()
            await check.done.wait()
        removed = 0
        with trio.CancelScope(shield=True):
            await self._context.store.delete_subscription(sub_id)
            self._context.on_subscription_event(SubscriptionRemoved(sub_id, sub.session_id))
            if remove_downloads:
                downloads = self._context.downloads
                jobs = await self._context.store.list_jobs(subscription_id=sub_id)
                for job in jobs:
                    try:
                        await downloads.delete(job.id)
                    except JobNotFound:
                        continue
                    removed += 1
        return removed

    async def history(self, sub_id: str, scope: str | None, limit: int) -> list[CheckRecord]:
        await self.get(sub_id, scope)
        return await self._context.store.check_history(sub_id, limit)

    def due(self, sub_id: str) -> dt.datetime | None:
        """When the checker means to check this subscription next (None: not scheduled)."""
        return self._due.get(sub_id)

    # -- helpers --------------------------------------------------------------------------------

    async def _refusals(self, session_id: str, settings: SubscriptionSettings) -> None:
        """Refuse settings whose items could never be queued, as ``POST /api/downloads`` would
        (:class:`PresetRefused` for a preset that does not exist, the engine's refusals)."""
        preset = await self._context.presets.for_request(settings.download)
        self._context.downloads.prepare(session_id, settings.new_job(settings.url, preset))

    def heard(self, event: SubscriptionEvent) -> None:
        """What another node of a cluster did to a subscription (made, edited, paused,
        resumed, checked, removed): the schedule follows (the leader's is the one that runs)."""
        if isinstance(event, SubscriptionRemoved):
            self._due.pop(event.id, None)
            running = self._checks.get(event.id)
            if running is not None:
                running.scope.cancel()
            self._wake.set()
        elif isinstance(event, SubscriptionChanged) or (
            isinstance(event, SubscriptionChecked) and event.subscription.id not in self._checks
        ):
            self._schedule(event.subscription)

    def _first_due(self, sub: Subscription) -> dt.datetime:
        now = self._now()
        return now if not sub.first_check_done else next_check(sub.settings, sub.id, now)

    def _schedule(self, sub: Subscription) -> None:
        if sub.paused or sub.next_check_at is None:
            self._due.pop(sub.id, None)
        else:
            self._due[sub.id] = sub.next_check_at
        self._wake.set()

    def _announce(self, sub: Subscription) -> None:
        self._context.on_subscription_event(SubscriptionChanged(sub))


def _identity(item: CheckItem) -> str:
    return item.key or f"url {item.url}"


def _result(listing: Listing, items: Sequence[CheckItem]) -> CheckResult:
    count = {outcome: 0 for outcome in Outcome}
    for item in items:
        count[item.outcome] += 1
    return CheckResult(
        found=len(items),
        queued=count[Outcome.QUEUED],
        skipped=count[Outcome.SKIPPED],
        listed=len(listing.items),
        deferred=count[Outcome.DEFERRED],
    )
