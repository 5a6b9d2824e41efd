"""The download service: the engine's public face, from submit to a job's removal.

The service owns one nursery (opened by :meth:`DownloadService.open`), in which every waiting or
running job is a task (:mod:`.tasks`); the job's live copy and its progress are in
:mod:`.progress`, playlist parents in :mod:`.playlists`. Probes (``url-info``, ``formats``) run
in threads under a limiter of their own, so they are never stuck behind downloads. The engine
tells the world what happens with domain events (:mod:`.events`) sent to the sink it is given;
what those look like on the wire is the API's business.

Request handlers call the public coroutines. Each is safe to cancel: the steps that must not be
cut in half (insert a job and schedule it; mark a job queued and schedule it again) run in
shielded scopes, so a client that disconnects leaves either the whole change or none.

The service is one object cut by concern into mixins over :class:`~._core.ServiceCore`: the
paused queue (:mod:`.pausing`), removal and its undo (:mod:`.removal`), probes
(:mod:`.probing`); this module has the rest: opening, submitting, cancel, retry, recovery.

Beyond the engine. The service knows nothing of the admin side; it takes an optional
``on_failure`` callback, called once with each job that ends ``failed`` (the error log), and
``apply_settings`` for settings changed while it runs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio
from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

from ..config import Settings
from ..models import (
    ACTIVE_STATUSES,
    Job,
    JobError,
    JobKind,
    JobStatus,
    NewJob,
    Scope,
    new_job_id,
    utcnow,
)
from ..store import Store
from . import paths
from .events import EventSink, JobChanged, JobEvent
from .lifecycle import RETRYABLE_STATUSES
from .pausing import PausedQueue
from .probing import Probes
from .progress import StopReason
from .refusals import AddressBlocked, Conflict, JobNotFound, ProbeFailed
from .remote import Dispatch, RemoteTasks
from .removal import Removal, Removals
from .tasks import FailureSink, RunHooks

__all__ = [
    "AddressBlocked",
    "Conflict",
    "DownloadService",
    "FailureSink",
    "JobNotFound",
    "ProbeFailed",
    "Removal",
    "StopReason",
]

log = logging.getLogger("mediarip.engine")


class DownloadService(PausedQueue, Removals, Probes):
    """Create with :meth:`open`; everything else is for request handlers and the server."""

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        store: Store,
        on_event: EventSink,
        settings: Settings,
        *,
        on_failure: FailureSink | None = None,
        hooks: RunHooks | None = None,
        dispatch: Dispatch | None = None,
    ) -> AsyncIterator[DownloadService]:
        """Run the service; on exit every job is stopped (left ``queued``) and awaited.

        In a cluster (issue 16), a worker passes ``hooks`` (:class:`~.tasks.RunHooks`) and
        starts the jobs it claims with :meth:`adopt`; a web node passes ``dispatch`` and runs
        no job itself (:mod:`.remote`)."""
        # yt-dlp asks ffmpeg for its version once per process and caches the answer, also a
        # failed one: asked inside a job, a cancel that kills the question would leave the
        # whole process believing there is no ffmpeg. So ask now, outside any job.
        await trio.to_thread.run_sync(FFmpegPostProcessor.get_versions_and_features)
        async with trio.open_nursery() as nursery:
            service = cls(
                store, on_event, settings, nursery, on_failure, hooks=hooks, dispatch=dispatch
            )
            retries = trio.CancelScope()

            async def retry_unwritten() -> None:
                with retries:
                    await service._tasks.progress.retry_loop()

            nursery.start_soon(retry_unwritten, name="unwritten job changes")
            try:
                yield service
            finally:
                service.stop_all()
                retries.cancel()

    # -- the public face ----------------------------------------------------------------------

    @property
    def active_count(self) -> int:
        runs = self._tasks.runs.values()
        return sum(1 for run in runs if run.job.status is not JobStatus.QUEUED)

    @property
    def queued_count(self) -> int:
        return sum(1 for run in self._tasks.runs.values() if run.job.status is JobStatus.QUEUED)

    def set_max_concurrent(self, value: int) -> None:
        self._tasks.set_max_concurrent(value)

    def apply_settings(self, settings: Settings) -> None:
        """Take settings changed while running. The limits change at once (running jobs keep
        their slots), everything else is read per job; the folders stay those the service
        started with, since the files and jobs already there would be lost otherwise."""
        self._settings = attrs.evolve(
            settings,
            server=attrs.evolve(settings.server, data_dir=self._settings.server.data_dir),
            downloads=attrs.evolve(
                settings.downloads, output_dir=self._settings.downloads.output_dir
            ),
        )
        self.set_max_concurrent(settings.downloads.max_concurrent)
        self._probe_threads.total_tokens = settings.downloads.max_probes

    async def submit(self, session_id: str, new: NewJob) -> Job:
        """Create a job and schedule it; answers at once (extraction happens in the job)."""
        job = self.prepare(session_id, new)
        await self.launch([job], self._store.insert_jobs)
        return job

    def prepare(self, session_id: str, new: NewJob, **fields: Any) -> Job:
        """The job ``new`` asks for (not stored yet); ``fields`` sets more of it (a title the
        caller knows, the subscription that asked). Refuses private addresses."""
        if not self._accepting:
            raise Conflict("The server is shutting down; try again in a moment.")
        self._refuse_private(new.url)
        return Job(
            id=new_job_id(),
            session_id=session_id,
            url=new.url,
            created_at=utcnow(),
            media_type=new.media_type,
            format_id=new.format_id,
            quality=new.quality,
            output_format=new.output_format,
            playlist_items=new.playlist_items,
            options=new.options,
            # It waits when asked to, when downloads.autostart is off, or when its queue is
            # paused.
            status=(
                JobStatus.PAUSED
                if new.paused
                or self._queue_paused(session_id)
                or not self._settings.downloads.autostart
                else JobStatus.QUEUED
            ),
            **fields,
        )

    async def launch(
        self, jobs: Sequence[Job], store: Callable[[Sequence[Job]], Awaitable[None]]
    ) -> None:
        """Store prepared jobs with ``store`` (one transaction, which may record more than the
        jobs: a subscription check's whole outcome), then schedule and announce them."""
        if not self._accepting:
            raise Conflict("The server is shutting down; try again in a moment.")
        # Shielded: a caller cancelled now must not leave stored jobs nobody runs.
        with trio.CancelScope(shield=True):
            await store(jobs)
            for job in jobs:
                if job.status is JobStatus.QUEUED:
                    self._tasks.start(job)
                self._emit(JobChanged(job))

    async def submit_many(self, session_id: str, news: Iterable[NewJob]) -> list[Job]:
        """Create jobs in one transaction (all or none) and schedule them, oldest first (a
        batch)."""
        jobs = [self.prepare(session_id, new) for new in news]
        await self.launch(jobs, self._store.insert_jobs)
        return jobs

    def check_address(self, url: str) -> None:
        """Refuse (:class:`AddressBlocked`) a URL on a private network when those are off. No
        DNS: the thorough check happens on every connection."""
        self._refuse_private(url)

    async def cancel(self, job_id: str, session_id: Scope = None) -> Job:
        job = await self.get(job_id, session_id)
        playlist = self._playlists.get(job.id)
        if job.kind is JobKind.PLAYLIST and playlist is not None:
            children = [c for c in playlist.children if c in self._tasks.runs]
            if not children and job.id not in self._tasks.runs:
                self._refuse_finished(job)
            await self._tasks.stop_and_wait([job.id, *children], StopReason.CANCEL)
        elif job.status is JobStatus.PAUSED and job.id not in self._tasks.runs:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(
                    paths.remove_work_dir, paths.work_dir_for(self.downloads_dir, job.id)
                )
                changes: dict[str, Any] = {
                    "status": JobStatus.CANCELLED,
                    "finished_at": utcnow(),
                    "speed": None,
                    "eta": None,
                }
                await self._store.update_job(job.id, **changes)
                self._emit(JobChanged(attrs.evolve(job, **changes), changes))
        elif job.id in self._tasks.runs:
            await self._tasks.stop_and_wait([job.id], StopReason.CANCEL)
            ended = await self.get(job_id)
            if ended.status is not JobStatus.CANCELLED:  # it finished first
                raise Conflict(f"The job ended ({ended.status}) before it could be cancelled.")
            return ended
        else:
            self._refuse_finished(job)
        return await self.get(job_id)

    async def retry(self, job_id: str, session_id: Scope = None) -> Job:
        job = await self.get(job_id, session_id)
        finishing = self._tasks.runs.get(job.id)
        if finishing is not None and finishing.settled:
            # It has just ended and its task is still tidying up: let it finish first, so
            # the job never has two tasks.
            await finishing.done.wait()
            job = await self.get(job_id, session_id)
        if job.kind is JobKind.PLAYLIST and self._playlists.get(job.id) is not None:
            children = await self._store.list_jobs(parent_id=job.id)
            retryable = [c for c in children if c.status in RETRYABLE_STATUSES]
            if not retryable:
                raise Conflict(f"Nothing to retry: the playlist is {job.status}.")
            with trio.CancelScope(shield=True):
                for child in reversed(retryable):  # oldest first keeps the playlist order
                    await self._requeue(child)
        elif job.status in RETRYABLE_STATUSES:
            with trio.CancelScope(shield=True):
                await self._requeue(job)
        else:
            raise Conflict(
                f"Only failed or cancelled jobs can be retried; this one is {job.status}."
            )
        return await self.get(job_id)

    async def retry_all(self, session_id: Scope, statuses: Iterable[JobStatus]) -> int:
        """Queue again every failed or cancelled download in the scope whose status is one of
        ``statuses``; returns how many."""
        wanted = set(statuses)
        if not wanted <= RETRYABLE_STATUSES:
            raise Conflict("Only failed or cancelled jobs can be retried.")
        jobs = await self.list_jobs(session_id, statuses=wanted)
        singles = [j for j in jobs if j.kind is JobKind.SINGLE and j.id not in self._tasks.runs]
        with trio.CancelScope(shield=True):
            for job in reversed(singles):  # oldest first keeps the queue's order
                await self._requeue(job)
        return len(singles)

    async def recover(self) -> int:
        """Deal with jobs a crash or stop left active: resume them (default) or fail them,
        as ``downloads.recover_on_start`` says. Returns how many."""
        await self.load_paused_queues()
        jobs = await self._store.list_jobs(statuses=ACTIVE_STATUSES)
        if not jobs:
            return 0
        if self._settings.downloads.recover_on_start == "fail":
            error = JobError(
                "interrupted", "The server stopped while this job was running. Retry it."
            )
            finished_at = utcnow()
            await self._store.update_jobs_where_status(
                ACTIVE_STATUSES, status=JobStatus.FAILED, error=error, finished_at=finished_at
            )
            for job in jobs:
                if job.kind is JobKind.SINGLE:
                    await trio.to_thread.run_sync(
                        paths.remove_work_dir, paths.work_dir_for(self.downloads_dir, job.id)
                    )
                    failed = attrs.evolve(
                        job, status=JobStatus.FAILED, error=error, finished_at=finished_at
                    )
                    await self._tasks.report_failure(failed)
            return len(jobs)
        for job in reversed(jobs):  # oldest first, so the queue keeps its order
            if job.kind is JobKind.PLAYLIST:
                await self._playlists.load(job.id)
                continue
            queued = attrs.evolve(job, status=JobStatus.QUEUED, speed=None, eta=None)
            await self._store.update_job(job.id, status=JobStatus.QUEUED, speed=None, eta=None)
            if queued.parent_id is not None:
                await self._playlists.load(queued.parent_id)
            self._tasks.start(queued)
        log.info("resumed %d interrupted job(s)", len(jobs))
        return len(jobs)

    # -- a cluster's roles (issue 16) ---------------------------------------------------------

    @property
    def running_ids(self) -> list[str]:
        """The jobs whose task waits or runs in this process."""
        return list(self._tasks.runs)

    async def adopt(self, jobs: Sequence[Job]) -> None:
        """A worker: run jobs it has claimed (oldest first), resuming from partial files."""
        for job in jobs:
            if job.id in self._tasks.runs:
                continue
            if job.parent_id is not None:
                await self._playlists.load(job.parent_id)
            self._tasks.start(job)
            self._emit(JobChanged(job, {"status": job.status}))

    async def stop_here(self, job_ids: Iterable[str], reason: StopReason) -> None:
        """A worker: stop the runs of ``job_ids`` it has, as a web node asked."""
        await self._tasks.stop_and_wait(job_ids, reason)

    @property
    def remote(self) -> RemoteTasks:
        """A web node: the cluster's jobs as it hears of them."""
        assert isinstance(self._tasks, RemoteTasks)
        return self._tasks

    def observe(self, event: JobEvent) -> None:
        """A web node: what another node says happened to a job, told to this node's
        listeners as if it happened here."""
        self._emit(event)

    def stop_all(self) -> None:
        """Shutdown: stop every job, leaving it ``queued`` for the next start. Returns at once;
        the service's nursery waits for the jobs' threads to unwind."""
        self._accepting = False
        if isinstance(self._tasks, RemoteTasks):
            return  # a web node: the jobs run in the workers, which stop them on their own
        for run in list(self._tasks.runs.values()):
            run.stop(StopReason.SHUTDOWN)
