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

Removing jobs. ``delete`` (a person) and ``remove_jobs`` (the purge) share one path: each job's
file goes first, then the rows, then a :class:`~.events.JobRemoved` per job. A file that cannot
be removed keeps its job (and its playlist's parent), so nothing is left on disk that no row
points to any more, and a later try can finish the work.

Beyond the engine. The service knows nothing of the admin side; it takes an optional
``on_failure`` callback, called once with each job that ends ``failed`` (the error log), and
``apply_settings`` for settings changed while it runs.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import attrs
import trio
from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

from ..config import Settings
from ..cookies import cookie_path
from ..models import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Formats,
    Job,
    JobError,
    JobKind,
    JobStatus,
    NewJob,
    Scope,
    UrlInfo,
    in_scope,
    new_job_id,
    utcnow,
)
from ..store import Store
from . import options, paths
from .errors import UserFacingError, describe_failure
from .events import EventSink, JobChanged, JobEvent, JobRemoved
from .lifecycle import RETRYABLE_STATUSES
from .listing import Listing, list_playlist
from .netguard import NetworkPolicy, check_url
from .playlists import Playlists
from .probe import list_formats, probe_url
from .progress import StopReason
from .tasks import FailureSink, JobTasks, in_thread
from .ytdl import CancelToken, DownloadCancelled

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

#: The meta key holding the paused queues (session ids, "*" for everyone's), kept across
#: restarts like the paused jobs themselves.
_PAUSED_QUEUES = "paused_queues"
T = TypeVar("T")

PROBE_TIMEOUT = 120.0


class JobNotFound(LookupError):
    """No such job in the caller's scope (one outside it is not told apart)."""


class Conflict(Exception):
    """The job is not in a state that allows this; the message says which state it is in."""


class ProbeFailed(Exception):
    """Nothing usable at the URL: ``error`` says what happened and what to do next."""

    def __init__(self, error: JobError) -> None:
        super().__init__(error.message)
        self.error = error


class AddressBlocked(ProbeFailed):
    """The URL names a private or reserved network address, and those are off."""


@attrs.frozen
class Removal:
    """What removing jobs did: jobs and files removed, bytes freed, and the jobs kept because
    their file could not be removed."""

    jobs: int = 0
    files: int = 0
    bytes: int = 0
    kept: tuple[str, ...] = ()


class DownloadService:
    """Create with :meth:`open`; everything else is for request handlers and the server."""

    def __init__(
        self,
        store: Store,
        on_event: EventSink,
        settings: Settings,
        nursery: trio.Nursery,
        on_failure: FailureSink | None = None,
    ) -> None:
        self._store = store
        self._on_event = on_event
        self._settings = settings
        self._playlists = Playlists(store, self._emit, nursery)
        self._tasks = JobTasks(
            store, self._emit, lambda: self._settings, nursery, self._playlists, on_failure
        )
        self._probe_threads = trio.CapacityLimiter(settings.downloads.max_probes)
        self._paused_queues: set[str] = set()
        self._forgotten = _Forgotten()
        self._accepting = True
        #: Bumped whenever a job visibly changes, so a cached listing knows it went stale.
        self.revision = 0

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        store: Store,
        on_event: EventSink,
        settings: Settings,
        *,
        on_failure: FailureSink | None = None,
    ) -> AsyncIterator[DownloadService]:
        """Run the service; on exit every job is stopped (left ``queued``) and awaited."""
        # yt-dlp asks ffmpeg for its version once per process and caches the answer, also a
        # failed one: asked inside a job, a cancel that kills the question would leave the
        # whole process believing there is no ffmpeg. So ask now, outside any job.
        await trio.to_thread.run_sync(FFmpegPostProcessor.get_versions_and_features)
        async with trio.open_nursery() as nursery:
            service = cls(store, on_event, settings, nursery, on_failure)
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

    def _emit(self, event: JobEvent) -> None:
        self.revision += 1
        self._on_event(event)

    # -- the public face ----------------------------------------------------------------------

    @property
    def downloads_dir(self) -> Path:
        return Path(self._settings.downloads.output_dir)

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

    # -- the paused queue ---------------------------------------------------------------------

    async def pause(self, job_id: str, session_id: Scope = None) -> Job:
        """Hold a job: a waiting one stays put, a running one stops as on shutdown (partial
        files kept, so starting it again continues from them). A playlist holds its items."""
        job = await self.get(job_id, session_id)
        targets = [job]
        if job.kind is JobKind.PLAYLIST:
            children = await self._store.list_jobs(parent_id=job.id)
            targets = [self._live(c.id) or c for c in children]
        held = [t for t in targets if t.status in ACTIVE_STATUSES]
        if not held and not any(t.status is JobStatus.PAUSED for t in [job, *targets]):
            raise Conflict(f"Only waiting or running jobs can be paused; this one is {job.status}.")
        await self._tasks.stop_and_wait([t.id for t in held], StopReason.PAUSE)
        return await self.get(job_id)

    async def start(self, job_id: str, session_id: Scope = None) -> Job:
        """Let a paused job (or a playlist's paused items) go back to the queue."""
        job = await self.get(job_id, session_id)
        targets = [job]
        if job.kind is JobKind.PLAYLIST:
            targets = list(await self._store.list_jobs(parent_id=job.id))
        paused = [
            t for t in targets if t.status is JobStatus.PAUSED and t.id not in self._tasks.runs
        ]
        if not paused:
            raise Conflict(f"Only paused jobs can be started; this one is {job.status}.")
        with trio.CancelScope(shield=True):
            await self._unpause(paused[::-1])  # oldest first keeps the order
        return await self.get(job_id)

    async def pause_queue(self, session_id: str | None) -> int:
        """Pause a whole queue (``session_id`` None: everyone's): what waits or runs now, and
        what is added until :meth:`start_queue`. Returns how many jobs it held."""
        self._paused_queues.add(session_id or "*")
        await self._store.set_meta(_PAUSED_QUEUES, json.dumps(sorted(self._paused_queues)))
        runs = [
            run
            for run in list(self._tasks.runs.values())
            if session_id is None or run.job.session_id == session_id
        ]
        # Jobs still waiting for a slot have written nothing yet (their task sits in the
        # limiter: a job's status leaves QUEUED before its first write), so they are held
        # with one write for all, instead of one each from their tasks' clean-up.
        waiting = [run for run in runs if run.job.status is JobStatus.QUEUED]
        for run in waiting:
            run.settled = True  # their clean-up then leaves the status to us
        await self._tasks.stop_and_wait([run.job.id for run in runs], StopReason.PAUSE)
        with trio.CancelScope(shield=True):
            await self._store.update_jobs([run.job.id for run in waiting], status=JobStatus.PAUSED)
            for run in waiting:
                paused = attrs.evolve(run.job, status=JobStatus.PAUSED)
                self._emit(JobChanged(paused, {"status": JobStatus.PAUSED}))
                self._playlists.child_status(paused)
        return len(runs)

    async def start_queue(self, session_id: str | None) -> int:
        """Undo :meth:`pause_queue` and start every paused job in it. Returns how many."""
        self._paused_queues.discard(session_id or "*")
        if session_id is None:
            self._paused_queues.clear()
        await self._store.set_meta(_PAUSED_QUEUES, json.dumps(sorted(self._paused_queues)))
        paused = await self._store.list_jobs(session_id=session_id, statuses=[JobStatus.PAUSED])
        singles = [j for j in paused if j.kind is JobKind.SINGLE and j.id not in self._tasks.runs]
        with trio.CancelScope(shield=True):
            await self._unpause(singles[::-1])
        return len(singles)

    def queue_paused(self, session_id: str | None) -> bool:
        return self._queue_paused(session_id)

    def _queue_paused(self, session_id: str | None) -> bool:
        return "*" in self._paused_queues or (session_id or "*") in self._paused_queues

    async def _unpause(self, jobs: list[Job]) -> None:
        """Back to the queue, oldest first (one write for all of them)."""
        await self._store.update_jobs([job.id for job in jobs], status=JobStatus.QUEUED)
        for job in jobs:
            queued = attrs.evolve(job, status=JobStatus.QUEUED)
            if queued.parent_id is not None:
                await self._playlists.load(queued.parent_id)
            self._tasks.start(queued)
            self._emit(JobChanged(queued, {"status": JobStatus.QUEUED}))
            self._playlists.child_status(queued)

    async def get(self, job_id: str, session_id: Scope = None) -> Job:
        """The job's current state; :class:`JobNotFound` outside ``session_id`` (None: any)."""
        job = self._live(job_id) or await self._store.get_job(job_id)
        if job is None or not in_scope(job.session_id, session_id):
            raise JobNotFound(job_id)
        return job

    async def list_jobs(
        self,
        session_id: Scope,
        *,
        statuses: Iterable[JobStatus] | None = None,
        limit: int | None = None,
        before: str | None = None,
    ) -> list[Job]:
        """Jobs newest first, live copies overlaid on the stored rows."""
        jobs = await self._store.list_jobs(
            session_id=session_id, statuses=statuses, limit=limit, before=before
        )
        return [self._live(job.id) or job for job in jobs]

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

    async def delete(
        self, job_id: str, session_id: Scope = None, *, keep_files: bool = False
    ) -> None:
        """Stop the job if it runs, then remove its row and its partial files, and its finished
        file(s) unless ``keep_files``. A job forgotten with its files kept can be brought back
        for a while (:meth:`restore`)."""
        job = await self.get(job_id, session_id)
        children = (
            await self._store.list_jobs(parent_id=job.id) if job.kind is JobKind.PLAYLIST else []
        )
        doomed = [*children, job]
        await self._tasks.stop_and_wait([j.id for j in doomed], StopReason.DELETE)
        with trio.CancelScope(shield=True):
            removal = await self._forget(doomed, keep_files=keep_files)
        if removal.kept:
            raise Conflict(
                "The job's file could not be removed from the downloads folder (see the server "
                "log); the job was kept. Fix the folder's permissions and delete it again."
            )
        if keep_files and not any(j.status in ACTIVE_STATUSES for j in doomed):
            # Only jobs at rest can come back as they were (a running one has lost its task).
            self._forgotten.keep(job.id, doomed)

    async def clear(
        self, session_id: Scope, statuses: Iterable[JobStatus], *, keep_files: bool
    ) -> int:
        """Remove every finished job in the scope whose status is one of ``statuses`` (a
        playlist goes whole when all its items do, else only its matching items), with their
        files unless ``keep_files``. Returns how many jobs went."""
        wanted = set(statuses)
        if not wanted <= TERMINAL_STATUSES:
            raise Conflict("Only finished jobs (completed, failed, cancelled) can be cleared.")
        jobs = [job for job in await self.list_jobs(session_id) if not self._busy(job)]
        by_parent: dict[str, list[Job]] = {}
        for job in jobs:
            if job.parent_id is not None:
                by_parent.setdefault(job.parent_id, []).append(job)
        doomed: list[Job] = []
        for job in jobs:
            if job.kind is JobKind.PLAYLIST and job.id in by_parent:
                kids = by_parent[job.id]
                if all(kid.status in wanted for kid in kids):
                    doomed.append(job)  # after its items (they come first below)
            elif job.status in wanted:
                doomed.insert(0, job)
        with trio.CancelScope(shield=True):
            removal = await self._forget(doomed, keep_files=keep_files)
        return removal.jobs

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

    async def restore(self, job_id: str, session_id: Scope = None) -> Job:
        """Bring back a job that was forgotten with its files kept, a moment ago (undo)."""
        jobs = self._forgotten.take(job_id, session_id)
        if jobs is None:
            raise JobNotFound(job_id)
        with trio.CancelScope(shield=True):
            await self._store.insert_jobs(list(reversed(jobs)))  # the parent before its items
            for job in jobs:
                if job.kind is JobKind.PLAYLIST:
                    await self._playlists.load(job.id)
            for job in reversed(jobs):
                self._emit(JobChanged(job))
        return await self.get(job_id)

    async def remove_jobs(self, jobs: Iterable[Job]) -> Removal:
        """Remove finished jobs with their files, as :meth:`delete` would (the purge's way in).

        The jobs were chosen from the database a moment ago; one that runs now (a retry) is
        left alone, and so is every job of a playlist one of whose jobs runs. Shielded: once
        started, the removal finishes."""
        batch = list(jobs)
        busy = {job.parent_id or job.id for job in batch if self._busy(job)}
        with trio.CancelScope(shield=True):
            removal = await self._forget([j for j in batch if (j.parent_id or j.id) not in busy])
        return removal

    async def probe(self, url: str, cookie_file: Path | None) -> UrlInfo:
        return await self._probe(probe_url, url, cookie_file)

    async def formats(self, url: str, cookie_file: Path | None) -> Formats:
        return await self._probe(list_formats, url, cookie_file)

    async def list_playlist(
        self, url: str, cookie_file: Path | None, limit: float = PROBE_TIMEOUT
    ) -> Listing:
        """What a channel, playlist or feed lists now (flat; a subscription check). Uses a
        probe thread, never a download slot; :class:`ProbeFailed` after ``limit`` seconds."""
        return await self._probe(list_playlist, url, cookie_file, limit)

    async def recover(self) -> int:
        """Deal with jobs a crash or stop left active: resume them (default) or fail them,
        as ``downloads.recover_on_start`` says. Returns how many."""
        stored = await self._store.get_meta(_PAUSED_QUEUES)
        self._paused_queues = set(json.loads(stored)) if stored else set()
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

    def stop_all(self) -> None:
        """Shutdown: stop every job, leaving it ``queued`` for the next start. Returns at once;
        the service's nursery waits for the jobs' threads to unwind."""
        self._accepting = False
        for run in list(self._tasks.runs.values()):
            run.stop(StopReason.SHUTDOWN)

    # -- helpers ------------------------------------------------------------------------------

    def _live(self, job_id: str) -> Job | None:
        run = self._tasks.runs.get(job_id)
        if run is not None:
            return run.job
        playlist = self._playlists.get(job_id)
        if playlist is not None:
            return playlist.job
        unwritten = self._tasks.progress.unwritten.get(job_id)
        return unwritten.job if unwritten is not None else None

    async def _requeue(self, job: Job) -> None:
        changes: dict[str, Any] = {
            "status": JobStatus.QUEUED,
            "error": None,
            "progress": 0.0,
            "downloaded_bytes": None,
            "total_bytes": None,
            "speed": None,
            "eta": None,
            "started_at": None,
            "finished_at": None,
        }
        await self._store.update_job(job.id, **changes)
        queued = attrs.evolve(job, **changes)
        if queued.parent_id is not None:
            await self._playlists.load(queued.parent_id)
        self._tasks.start(queued)
        self._emit(JobChanged(queued, changes))
        self._playlists.child_status(queued)

    async def _forget(self, doomed: list[Job], *, keep_files: bool = False) -> Removal:
        """Remove stopped jobs: files first (only partial ones with ``keep_files``), then rows,
        then a ``job_removed`` event each.

        A job whose file cannot be removed keeps its row, and so does its playlist's parent,
        so a later try can finish (callers shield this)."""
        removed: list[Job] = []
        kept: list[Job] = []
        files = size = 0
        for job in doomed:
            names = [] if keep_files else _file_names(job)
            try:
                freed = await trio.to_thread.run_sync(
                    paths.remove_job_files, self.downloads_dir, job.id, names
                )
            except OSError as exc:
                log.warning("could not remove the file of job %s: %r", job.id, exc)
                kept.append(job)
                continue
            removed.append(job)
            if freed is not None:
                files, size = files + 1, size + freed
        kept_parents = {job.parent_id for job in kept}
        removed = [job for job in removed if job.id not in kept_parents]
        await self._store.delete_jobs(job.id for job in removed)
        gone_ids = {job.id for job in removed}
        for job in removed:
            self._playlists.forget(job.id)
            self._emit(JobRemoved(job))
        for job in removed:
            if job.parent_id is not None and job.parent_id not in gone_ids:
                await self._playlists.child_removed(job)
        self.revision += 1
        return Removal(len(removed), files, size, tuple(job.id for job in kept))

    def _busy(self, job: Job) -> bool:
        """Whether the job, or a job of its playlist, is waiting or running now."""
        if job.id in self._tasks.runs:
            return True
        playlist = self._playlists.get(job.id)
        return playlist is not None and any(
            child in self._tasks.runs for child in playlist.children
        )

    async def _stop_and_wait(self, job_ids: Iterable[str], reason: StopReason) -> None:
        runs = [self._tasks.runs[i] for i in job_ids if i in self._tasks.runs]
        for run in runs:
            run.stop(reason)
        for run in runs:
            await run.done.wait()

    def _refuse_finished(self, job: Job) -> None:
        if job.status is not JobStatus.CANCELLED:
            raise Conflict(f"The job has already ended ({job.status}); there is nothing to cancel.")

    def _refuse_private(self, url: str) -> None:
        reason = check_url(url, options.network_policy(self._settings))
        if reason is not None:
            raise AddressBlocked(
                JobError(
                    "blocked_address",
                    f"Refused: {reason}. Downloads from private networks are off; an admin can "
                    "allow them with downloads.allow_private_networks.",
                )
            )

    def cookie_file(self, session_id: str) -> Path:
        return cookie_path(Path(self._settings.server.data_dir), session_id)

    async def _probe(
        self,
        fn: Callable[[str, dict[str, Any], CancelToken, NetworkPolicy], T],
        url: str,
        cookie_file: Path | None,
        limit: float = PROBE_TIMEOUT,
    ) -> T:
        self._refuse_private(url)
        if cookie_file is not None and not await trio.Path(cookie_file).is_file():
            cookie_file = None
        params = options.probe_params(self._settings, cookie_file)
        token = CancelToken()
        call = functools.partial(fn, url, params, token, options.network_policy(self._settings))
        try:
            with trio.fail_after(limit):
                return await in_thread(call, token, self._probe_threads)
        except trio.TooSlowError:
            raise ProbeFailed(
                JobError(
                    "timeout",
                    f"Looking at this URL took longer than {limit:g} s. Try again later.",
                )
            ) from None
        except UserFacingError as exc:
            raise _probe_failed(exc.error) from None
        except DownloadCancelled:
            raise
        except Exception as exc:
            raise _probe_failed(describe_failure(exc, preview=True)) from None


#: How long a job forgotten with its files kept can be restored (the web app's undo).
RESTORE_WINDOW = 120.0


class _Forgotten:
    """Jobs removed from the list with their files kept, held a short while so that an undo
    can put them back as they were. Memory only: a restart forgets them for good, which
    costs nothing but the undo (the files stay either way)."""

    def __init__(self) -> None:
        self._jobs: dict[str, tuple[float, list[Job]]] = {}

    def keep(self, job_id: str, jobs: list[Job]) -> None:
        now = trio.current_time()
        self._jobs = {k: v for k, v in self._jobs.items() if v[0] > now}
        self._jobs[job_id] = (now + RESTORE_WINDOW, jobs)

    def take(self, job_id: str, session_id: Scope) -> list[Job] | None:
        held = self._jobs.get(job_id)
        if held is None or held[0] <= trio.current_time():
            return None
        job = held[1][-1]
        if not in_scope(job.session_id, session_id):
            return None
        del self._jobs[job_id]
        return held[1]


def _probe_failed(error: JobError) -> ProbeFailed:
    """A refused address (met on a redirect, say) is its own refusal: the URL is to blame."""
    return (AddressBlocked if error.code == "blocked_address" else ProbeFailed)(error)


def _file_names(job: Job) -> list[str]:
    """Every file of a job: its main one and the others (chapters, subtitles)."""
    names = [f.name for f in job.files]
    if job.filename and job.filename not in names:
        names.insert(0, job.filename)
    return names
