"""Jobs that run in other processes: the web node's side of a cluster (issue 16).

In a cluster, a web node (``mediarip serve``) runs no download: it stores jobs ``queued`` and
workers (``mediarip worker``) claim them from the database (:mod:`mediarip.store._leases`).
The service keeps working as on a single box because :class:`RemoteTasks` answers what
:class:`~.tasks.JobTasks` answers there:

- ``runs`` holds every job waiting or running anywhere in the cluster, with its newest state
  as the workers report it (:meth:`RemoteTasks.observe`), so listings overlay live progress and
  "is it busy" means the same as on one box;
- :meth:`RemoteTasks.start` wakes the workers;
- :meth:`RemoteTasks.stop_and_wait` stops jobs wherever they are. A job no worker holds is
  stopped here, under a lease taken for the purpose (so no worker can claim it meanwhile); a
  held one is asked of its worker, and the call returns once that worker says its run ended
  (:meth:`RemoteTasks.ended`): "cancelled" in an answer still means the worker has stopped and
  the partial files are gone. If the worker dies instead, its lease runs out and the job is
  stopped here.

What travels between processes (and how) is the cluster's business (:mod:`mediarip.cluster`):
this module sees it only through :class:`Dispatch`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import attrs
import trio

from ..config import Settings
from ..models import ACTIVE_STATUSES, Job, JobKind, JobStatus, utcnow
from ..store import Store
from . import paths
from .events import EventSink, JobChanged
from .progress import StopReason

__all__ = ["Dispatch", "RemoteRun", "RemoteTasks"]

log = logging.getLogger("mediarip.engine")

#: How often a stop that waits for a worker checks that the worker still holds the job.
HOLDER_CHECK_INTERVAL = 1.0


class Dispatch(Protocol):
    """How a web node reaches the workers."""

    #: This node's name (its leases are held under it).
    node: str

    def wake_workers(self) -> None:
        """Tell the workers that jobs wait to be claimed."""

    def ask_to_stop(self, job_ids: list[str], reason: StopReason) -> None:
        """Ask whichever worker runs ``job_ids`` to stop them for ``reason``."""


class RemoteRun:
    """A job waiting or running somewhere in the cluster, as this node last heard of it."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.done = trio.Event()
        #: Set by a caller that writes the job's new status itself (a paused queue).
        self.settled = False


class _NoUnwritten:
    """A web node keeps no job's unwritten changes: the workers write their own."""

    def __init__(self) -> None:
        self.unwritten: dict[str, Any] = {}

    async def retry_loop(self) -> None:
        await trio.sleep_forever()


class RemoteTasks:
    def __init__(
        self,
        store: Store,
        emit: EventSink,
        settings: Callable[[], Settings],
        dispatch: Dispatch,
        lease_seconds: float,
    ) -> None:
        self._store = store
        self._emit = emit
        self._settings = settings
        self._dispatch = dispatch
        self._lease_seconds = lease_seconds
        self.runs: dict[str, RemoteRun] = {}
        self.progress = _NoUnwritten()

    @property
    def downloads_dir(self) -> Path:
        return Path(self._settings().downloads.output_dir)

    def set_max_concurrent(self, value: int) -> None:
        """Each worker has its own ``downloads.max_concurrent``."""

    async def report_failure(self, job: Job, detail: str | None = None) -> None:
        """The worker that ran the job records its failure."""

    async def load(self) -> None:
        """Hear of every job waiting or running in the cluster (at start, and after this
        node's listener lost messages): what ended meanwhile is let go."""
        active = await self._store.list_jobs(statuses=ACTIVE_STATUSES)
        singles = {job.id: job for job in active if job.kind is JobKind.SINGLE}
        for job_id in [i for i in self.runs if i not in singles]:
            self._let_go(job_id)
        for job in singles.values():
            self.observe(job)

    def observe(self, job: Job) -> None:
        """A job's newest state, from this node or another."""
        if job.kind is not JobKind.SINGLE:
            return
        if job.status in ACTIVE_STATUSES:
            run = self.runs.get(job.id)
            if run is None:
                self.runs[job.id] = RemoteRun(job)
            else:
                run.job = job
        else:
            self._let_go(job.id)

    def ended(self, job_id: str, *, again: bool = False) -> None:
        """A worker's run of the job has ended: the job finished or was stopped, or (``again``)
        its worker shut down and it waits in the queue for another."""
        run = self.runs.get(job_id)
        if run is None:
            return
        if not again:
            self._let_go(job_id)
            return
        run.job = attrs.evolve(run.job, status=JobStatus.QUEUED, speed=None, eta=None)
        run.done.set()  # a stop waiting for that worker stops it here now (see below)
        run.done = trio.Event()

    def _let_go(self, job_id: str) -> None:
        run = self.runs.pop(job_id, None)
        if run is not None:
            run.done.set()

    def start(self, job: Job) -> None:
        self.observe(job)
        self._dispatch.wake_workers()

    async def stop_and_wait(self, job_ids: Iterable[str], reason: StopReason) -> None:
        runs = [self.runs[i] for i in job_ids if i in self.runs]
        elsewhere = []
        for run in runs:
            if await self._store.take_lease(self._dispatch.node, run.job.id, self._lease_seconds):
                await self._stop_here(run, reason)
            else:
                elsewhere.append(run)
        if elsewhere:
            self._dispatch.ask_to_stop([run.job.id for run in elsewhere], reason)
        for run in elsewhere:
            await self._wait_for_worker(run, reason)

    async def _wait_for_worker(self, run: RemoteRun, reason: StopReason) -> None:
        """Until the worker says the run ended for good. If it dies first (its lease runs out)
        or shuts down (the job is queued again), the job is stopped here; if another worker
        has claimed it meanwhile, that one is asked."""
        job_id = run.job.id
        while True:
            done = run.done
            with trio.move_on_after(HOLDER_CHECK_INTERVAL):
                await done.wait()
            if self.runs.get(job_id) is not run:
                return  # let go: it ended, or was stopped
            if await self._store.take_lease(self._dispatch.node, job_id, self._lease_seconds):
                log.info("job %s: no worker runs it any more; stopping it here", job_id)
                await self._stop_here(run, reason)
                return
            if done.is_set():  # its worker shut down and another has claimed it since
                self._dispatch.ask_to_stop([job_id], reason)

    async def _stop_here(self, run: RemoteRun, reason: StopReason) -> None:
        """Stop a job nobody runs, under this node's lease (shielded: all of it or none)."""
        job = run.job
        with trio.CancelScope(shield=True):
            try:
                if reason is StopReason.PAUSE and not run.settled:
                    await self._settle(job, status=JobStatus.PAUSED, speed=None, eta=None)
                elif reason is StopReason.CANCEL:
                    await trio.to_thread.run_sync(
                        paths.remove_work_dir, paths.work_dir_for(self.downloads_dir, job.id)
                    )
                    await self._settle(
                        job,
                        status=JobStatus.CANCELLED,
                        finished_at=utcnow(),
                        speed=None,
                        eta=None,
                    )
                elif reason is StopReason.DELETE:
                    await trio.to_thread.run_sync(
                        paths.remove_work_dir, paths.work_dir_for(self.downloads_dir, job.id)
                    )
            finally:
                await self._store.release_leases(self._dispatch.node, [job.id])
                self._let_go(job.id)

    async def _settle(self, job: Job, **changes: Any) -> None:
        await self._store.update_job(job.id, **changes)
        self._emit(JobChanged(attrs.evolve(job, **changes), changes))
