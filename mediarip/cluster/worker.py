"""``mediarip worker``: a process that only downloads (issue 16).

A worker serves no HTTP. It claims queued jobs from PostgreSQL (:mod:`mediarip.store._leases`)
up to its own ``downloads.max_concurrent``, runs them with the same download service as a
single box, renews its leases while they run and lets go of them when they end. Its job events
go to the web nodes over the cluster's bus (:mod:`.bus`); from them it hears when jobs wait to
be claimed, when one of its jobs is to stop (cancel, delete, pause), and when settings changed.

Its tasks (claiming, renewing, the bus) are supervised in one nursery: each loop survives a
failed round (PostgreSQL restarting: logged, tried again), and all of them end with the worker.

Shutdown (SIGTERM, SIGINT): it claims nothing more, stops its jobs as a single box does on
shutdown (back to ``queued``, partial files kept), then gives their leases up at once, so that
another worker resumes them without waiting for the leases to run out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import attrs
import trio

from ..auth import without_plaintext
from ..config import Settings
from ..engine import DownloadService
from ..engine.events import JobEvent
from ..engine.progress import StopReason
from ..engine.tasks import RunHooks
from ..models import Job
from ..overrides import LiveSettings
from ..reports import error_log_writer
from ..roles import NeedsPostgreSQL
from ..signals import stop_on_signal
from ..store import Store, open_store
from .bus import Bus, Message
from .codec import encode_event
from .node import CHANGED, ENDED, SETTINGS, STOP, WAKE, node_name

__all__ = ["WorkerHandle", "run_worker", "work"]

log = logging.getLogger("mediarip.cluster")

#: Seconds between claims when nothing wakes the worker (a lease that ran out is seen so).
CLAIM_POLL = 1.0
#: Seconds a stop asked for a job this worker has not started yet is kept for it.
PENDING_STOP_SECONDS = 60.0
#: Seconds the jobs get to stop on shutdown before their leases are given up anyway.
SHUTDOWN_GRACE = 30.0


@attrs.define
class WorkerHandle:
    """What :func:`work` reports once it claims jobs: its name and a way to stop it."""

    node: str
    _stop: trio.Event

    def stop(self) -> None:
        self._stop.set()


class _Worker:
    def __init__(self, store: Store, config: LiveSettings, bus: Bus) -> None:
        self.store = store
        self.config = config
        self.bus = bus
        self.node = bus.node
        self.lease = float(config.current.database.lease_seconds)
        self.service: DownloadService | None = None
        self.wake = trio.Event()
        #: Set when the last run has ended (on shutdown).
        self.idle = trio.Event()
        self.accepting = True
        self.ended: set[str] = set()
        #: Stops asked for jobs not started here yet: job id -> (reason, when).
        self.pending: dict[str, tuple[StopReason, float]] = {}

    # -- hooks of the download service ----------------------------------------------------------

    def on_event(self, event: JobEvent) -> None:
        self.bus.publish(*encode_event(event))

    def hooks(self) -> RunHooks:
        async def before_children(children: list[Job]) -> None:
            await self.store.lease_jobs(self.node, [child.id for child in children], self.lease)

        def run_ended(job: Job, again: bool) -> None:
            self.bus.publish(ENDED, {"id": job.id, "again": again})
            self.ended.add(job.id)
            self.wake.set()  # a slot is free
            if self.service is not None and not self.service.running_ids:
                self.idle.set()

        return RunHooks(before_children, run_ended)

    # -- the loops -----------------------------------------------------------------------------

    async def claim_loop(self) -> None:
        """Claim as many jobs as there are free slots, whenever woken or every
        :data:`CLAIM_POLL` seconds."""
        assert self.service is not None
        while self.accepting:
            free = self.config.current.downloads.max_concurrent - len(self.service.running_ids)
            if free > 0:
                try:
                    jobs = await self.store.claim_jobs(self.node, free, self.lease)
                except Exception as exc:
                    log.warning("claiming jobs failed (%s); trying again", exc)
                    jobs = []
                if jobs and self.accepting:
                    log.info(
                        "%s claimed %d job(s): %s",
                        self.node,
                        len(jobs),
                        " ".join(job.id for job in jobs),
                    )
                    await self._adopt(jobs)
                    continue
            with trio.move_on_after(CLAIM_POLL):
                await self.wake.wait()
            self.wake = trio.Event()

    async def _adopt(self, jobs: Sequence[Job]) -> None:
        assert self.service is not None
        await self.service.adopt(jobs)
        now = trio.current_time()
        for job in jobs:
            asked = self.pending.pop(job.id, None)
            if asked is not None and now - asked[1] < PENDING_STOP_SECONDS:
                await self.service.stop_here([job.id], asked[0])

    async def renew_loop(self) -> None:
        """Renew the leases of the jobs running here every third of a lease; stop the runs
        whose lease another worker has taken; give up the leases of runs that ended."""
        assert self.service is not None
        while True:
            await trio.sleep(self.lease / 3)
            try:
                await self._renew()
            except Exception as exc:
                log.warning("renewing leases failed (%s); trying again", exc)

    async def _renew(self) -> None:
        assert self.service is not None
        running = self.service.running_ids
        lost = await self.store.renew_leases(self.node, running, self.lease)
        if lost:
            log.warning("%s lost its lease on %s: another worker has them", self.node, lost)
            await self.service.stop_here(lost, StopReason.LOST)
        ended, self.ended = self.ended - set(running), self.ended & set(running)
        await self.store.release_leases(self.node, ended)

    async def on_message(self, message: Message) -> None:
        assert self.service is not None
        if message.kind == WAKE:
            self.wake.set()
        elif message.kind == STOP:
            reason = StopReason(message.body["reason"])
            ids = [str(i) for i in message.body["ids"]]
            running = set(self.service.running_ids)
            here = [i for i in ids if i in running]
            for job_id in ids:
                if job_id not in running:
                    self.pending[job_id] = (reason, trio.current_time())
            if here:
                # Its own task: a stop waits for the threads, the bus must go on meanwhile.
                self._nursery.start_soon(self.service.stop_here, here, reason)
        elif message.kind == CHANGED and message.body.get("what") == SETTINGS:
            await self.config.reload()

    async def resync(self) -> None:
        """After the listener was cut off: the settings may have changed, jobs may wait."""
        await self.config.reload()
        self.wake.set()

    async def shut_down(self) -> None:
        """Stop claiming, stop the jobs (back to ``queued``), give their leases up."""
        assert self.service is not None
        self.accepting = False
        self.wake.set()
        held = self.service.running_ids
        if not held:
            self.idle.set()
        self.service.stop_all()
        with trio.move_on_after(SHUTDOWN_GRACE):
            await self.idle.wait()
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            await self.store.release_leases(self.node, [*held, *self.ended])
        log.info("%s stopped; its %d job(s) are free for other workers", self.node, len(held))

    _nursery: trio.Nursery


async def work(
    settings: Settings,
    *,
    handle_signals: bool = True,
    task_status: trio.TaskStatus[WorkerHandle] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run a worker until SIGTERM/SIGINT (or :meth:`WorkerHandle.stop`)."""
    stop = trio.Event()
    async with open_store(settings) as store:
        if store.dialect != "postgresql":
            raise NeedsPostgreSQL("worker")
        config = await LiveSettings.load(without_plaintext(settings), store)
        bus = Bus(store, node_name("worker"))
        worker = _Worker(store, config, bus)
        await trio.Path(config.current.downloads.output_dir).mkdir(parents=True, exist_ok=True)
        async with DownloadService.open(
            store,
            worker.on_event,
            config.current,
            on_failure=error_log_writer(store),
            hooks=worker.hooks(),
        ) as service:
            worker.service = service
            config.subscribe(service.apply_settings)
            async with trio.open_nursery() as nursery:
                worker._nursery = nursery
                if handle_signals:
                    nursery.start_soon(stop_on_signal, stop.set)
                nursery.start_soon(bus.send_loop, name="cluster sender")
                await nursery.start(bus.listen, worker.on_message, worker.resync)
                nursery.start_soon(worker.claim_loop, name="claims")
                nursery.start_soon(worker.renew_loop, name="leases")
                log.info("%s is claiming jobs", bus.node)
                task_status.started(WorkerHandle(bus.node, stop))
                await stop.wait()
                await worker.shut_down()
                # The last events (jobs back to queued) go out before the bus closes.
                bus.close()
                with trio.move_on_after(2):
                    await bus.sent.wait()
                nursery.cancel_scope.cancel()


def run_worker(settings: Settings) -> int:
    """The ``mediarip worker`` command."""
    trio.run(work, settings)
    return 0
