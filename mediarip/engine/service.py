"""The download service: every job's life, from submit to its final status.

Structure. The service owns one nursery (opened by :meth:`DownloadService.open`); each job that
is waiting or running is one task in it, wrapped in its own cancel scope, and its yt-dlp run is
one ``trio.to_thread.run_sync`` inside that task. The task waits for a slot of
``CapacityLimiter(downloads.max_concurrent)`` while the job is ``queued``; probes
(``url-info``, ``formats``) use a separate limiter, so they are never stuck behind downloads.

Stopping a job. A job is stopped for one of three reasons (:class:`StopReason`): the person
cancelled it, deleted it, or the server is shutting down. The stopper records the reason,
sets the job's :class:`~mediarip.engine.ytdl.CancelToken` (which reaches into the worker
thread: hooks, sockets, ffmpeg) and cancels the task's scope. The thread cannot outlive the
task: ``to_thread.run_sync`` does not abandon it, so the task waits for it to unwind, which the
token makes prompt. Only then does the task clean up, shielded, according to the reason:
cancelled jobs lose their partial files, deleted ones their rows, and on shutdown jobs go
back to ``queued`` with their partial files kept, so the next start resumes them where they
were. The stopper waits for that cleanup, so "cancelled" in an answer means the worker has
stopped and the partial files are gone; the slot is free by then.

Progress. yt-dlp's hooks run in the worker thread; the worker throttles them and hands each
report to trio with ``TrioToken.run_sync_soon``, which never blocks the download. On the trio
side a report updates the job's live copy, is published at most every 1 % or 250 ms (status
changes at once), and is written to SQLite at most every 0.5 % or second by a small per-job
writer task (status changes at once). Listings and the events' ``init`` overlay the live
copies on the stored rows, so nobody sees a state older than what was published.

Request handlers call the public coroutines. Each is safe to cancel: the steps that must not
be cut in half (insert a job and schedule it; mark a job queued and schedule it again) run
in shielded scopes, so a client that disconnects leaves either the whole change or none.

Removing jobs. ``delete`` (a person) and ``remove_jobs`` (the purge) share one path: each job's
file goes first, then the rows, then a ``job_removed`` event per job. A file that cannot be
removed keeps its job (and its playlist's parent), so nothing is left on disk that no row
points to any more, and a later try can finish the work.

Beyond the engine. The service knows nothing of the admin side; it takes an optional
``on_failure`` callback, called once with each job that ends ``failed`` (the error log), and
``apply_settings`` for settings changed while it runs.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import attrs
import outcome
import trio
from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

from ..broker import Broker
from ..config import Settings
from ..cookies import cookie_path
from ..models import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Formats,
    Job,
    JobError,
    JobFile,
    JobKind,
    JobStatus,
    NewJob,
    UrlInfo,
    converter,
    job_to_api,
    new_job_id,
    utcnow,
)
from ..store import ArchiveEntry, Store
from . import options, paths
from .errors import UserFacingError, describe_failure
from .lifecycle import RETRYABLE_STATUSES, playlist_summary
from .listing import Listing, list_playlist
from .netguard import NetworkPolicy, check_url
from .probe import list_formats, probe_url
from .worker import (
    Downloaded,
    InfoFound,
    PhaseChanged,
    PlaylistFound,
    ProgressReport,
    Report,
    WorkRequest,
    run_job,
)
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
T = TypeVar("T")

PUBLISH_STEP, PUBLISH_INTERVAL = 1.0, 0.25  # percent, seconds
WRITE_STEP, WRITE_INTERVAL = 0.5, 1.0
START_GATE_TIMEOUT = 2.0
PROBE_TIMEOUT = 120.0
_PROGRESS_FIELDS = ("progress", "downloaded_bytes", "total_bytes", "speed", "eta")


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


#: Called with each job that has just ended ``failed`` (the admin's error log).
FailureSink = Callable[[Job], Awaitable[None]]


@attrs.frozen
class Removal:
    """What removing jobs did: jobs and files removed, bytes freed, and the jobs kept because
    their file could not be removed."""

    jobs: int = 0
    files: int = 0
    bytes: int = 0
    kept: tuple[str, ...] = ()


class StopReason(enum.Enum):
    CANCEL = "cancel"
    DELETE = "delete"
    SHUTDOWN = "shutdown"
    PAUSE = "pause"


#: The meta key holding the paused queues (session ids, "*" for everyone's), kept across
#: restarts like the paused jobs themselves.
_PAUSED_QUEUES = "paused_queues"


class _Run:
    """A job's task while it waits or runs: its live copy, its stop handle, its throttles."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.token = CancelToken()
        self.scope = trio.CancelScope()
        self.stop_reason: StopReason | None = None
        self.done = trio.Event()
        self.started = trio.Event()  # past yt-dlp's start-up: the next job may start
        self.settled = False  # a final status was written; a late stop changes nothing
        self.unsaved: dict[str, Any] = {}
        self.wake_writer = trio.Event()
        self.published_at = (-math.inf, -100.0)  # (monotonic time, progress)
        self.written_progress = -100.0

    def stop(self, reason: StopReason) -> None:
        if self.stop_reason is None or reason is StopReason.DELETE:
            self.stop_reason = reason
        self.token.cancel()
        self.scope.cancel()


@attrs.define
class _Playlist:
    """A playlist parent's live copy and what it knows of its children."""

    job: Job
    children: dict[str, tuple[JobStatus, float]]


class DownloadService:
    """Create with :meth:`open`; everything else is for request handlers and the server."""

    def __init__(
        self,
        store: Store,
        broker: Broker,
        settings: Settings,
        nursery: trio.Nursery,
        on_failure: FailureSink | None = None,
    ) -> None:
        self._store = store
        self._broker = broker
        self._settings = settings
        self._nursery = nursery
        self._on_failure = on_failure
        self._trio_token = trio.lowlevel.current_trio_token()
        downloads = settings.downloads
        self._slots = trio.CapacityLimiter(downloads.max_concurrent)
        # Threads get their own limiter (the task already holds a slot; borrowing the same
        # limiter twice would deadlock) and never share trio's default one with SQLite.
        self._download_threads = trio.CapacityLimiter(downloads.max_concurrent)
        self._probe_threads = trio.CapacityLimiter(downloads.max_probes)
        self._start_gate = trio.Semaphore(1)
        self._runs: dict[str, _Run] = {}
        self._playlists: dict[str, _Playlist] = {}
        self._paused_queues: set[str] = set()
        self._accepting = True
        #: Bumped whenever a job visibly changes, so a cached listing knows it went stale.
        self.revision = 0

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        store: Store,
        broker: Broker,
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
            service = cls(store, broker, settings, nursery, on_failure)
            try:
                yield service
            finally:
                service.stop_all()

    # -- the public face ----------------------------------------------------------------------

    @property
    def downloads_dir(self) -> Path:
        return Path(self._settings.downloads.output_dir)

    @property
    def active_count(self) -> int:
        return sum(1 for run in self._runs.values() if run.job.status is not JobStatus.QUEUED)

    @property
    def queued_count(self) -> int:
        return sum(1 for run in self._runs.values() if run.job.status is JobStatus.QUEUED)

    def set_max_concurrent(self, value: int) -> None:
        self._slots.total_tokens = value
        self._download_threads.total_tokens = value

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
            # paused (the fields may still say otherwise).
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
                    self._start(job)
                self._publish(job)

    async def submit_many(self, session_id: str, news: Iterable[NewJob]) -> list[Job]:
        """Create jobs in one transaction (all or none) and schedule them, oldest first (a
        batch)."""
        jobs = [self.prepare(session_id, new) for new in news]
        await self.launch(jobs, self._store.insert_jobs)
        return jobs

    def check_address(self, url: str) -> None:
        """Refuse (:class:`ProbeFailed`, ``blocked_address``) a URL on a private network when
        those are off. No DNS: the thorough check happens on every connection."""
        self._refuse_private(url)

    # -- the paused queue ---------------------------------------------------------------------

    async def pause(self, job_id: str, session_id: str | None = None) -> Job:
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
        await self._stop_and_wait([t.id for t in held], StopReason.PAUSE)
        return await self.get(job_id)

    async def start(self, job_id: str, session_id: str | None = None) -> Job:
        """Let a paused job (or a playlist's paused items) go back to the queue."""
        job = await self.get(job_id, session_id)
        targets = [job]
        if job.kind is JobKind.PLAYLIST:
            targets = [c for c in await self._store.list_jobs(parent_id=job.id)]
        paused = [t for t in targets if t.status is JobStatus.PAUSED and t.id not in self._runs]
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
            for run in list(self._runs.values())
            if session_id is None or run.job.session_id == session_id
        ]
        # Jobs still waiting for a slot have written nothing yet (their task sits in the
        # limiter: a job's status leaves QUEUED before its first write), so they are held
        # with one write for all, instead of one each from their tasks' clean-up.
        waiting = [run for run in runs if run.job.status is JobStatus.QUEUED]
        for run in waiting:
            run.settled = True  # their clean-up then leaves the status to us
        await self._stop_and_wait([run.job.id for run in runs], StopReason.PAUSE)
        with trio.CancelScope(shield=True):
            await self._store.update_jobs([run.job.id for run in waiting], status=JobStatus.PAUSED)
            for run in waiting:
                paused = attrs.evolve(run.job, status=JobStatus.PAUSED)
                self._publish(paused, {"status": JobStatus.PAUSED})
                self._child_status(paused)
        return len(runs)

    async def start_queue(self, session_id: str | None) -> int:
        """Undo :meth:`pause_queue` and start every paused job in it. Returns how many."""
        self._paused_queues.discard(session_id or "*")
        if session_id is None:
            self._paused_queues.clear()
        await self._store.set_meta(_PAUSED_QUEUES, json.dumps(sorted(self._paused_queues)))
        paused = await self._store.list_jobs(session_id=session_id, statuses=[JobStatus.PAUSED])
        singles = [j for j in paused if j.kind is JobKind.SINGLE and j.id not in self._runs]
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
                await self._load_playlist(queued.parent_id)
            self._start(queued)
            self._publish(queued, {"status": JobStatus.QUEUED})
            self._child_status(queued)

    async def get(self, job_id: str, session_id: str | None = None) -> Job:
        """The job's current state; :class:`JobNotFound` outside ``session_id`` (None: any)."""
        job = self._live(job_id) or await self._store.get_job(job_id)
        if job is None or (session_id is not None and job.session_id != session_id):
            raise JobNotFound(job_id)
        return job

    async def list_jobs(
        self,
        session_id: str | None,
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

    async def cancel(self, job_id: str, session_id: str | None = None) -> Job:
        job = await self.get(job_id, session_id)
        if job.kind is JobKind.PLAYLIST and job.id in self._playlists:
            children = [c for c in self._playlists[job.id].children if c in self._runs]
            if not children and job.id not in self._runs:
                self._refuse_finished(job)
            await self._stop_and_wait([job.id, *children], StopReason.CANCEL)
        elif job.status is JobStatus.PAUSED and job.id not in self._runs:
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
                self._publish(attrs.evolve(job, **changes), changes)
                self.revision += 1
        elif job.id in self._runs:
            await self._stop_and_wait([job.id], StopReason.CANCEL)
            ended = await self.get(job_id)
            if ended.status is not JobStatus.CANCELLED:  # it finished first
                raise Conflict(f"The job ended ({ended.status}) before it could be cancelled.")
            return ended
        else:
            self._refuse_finished(job)
        return await self.get(job_id)

    async def retry(self, job_id: str, session_id: str | None = None) -> Job:
        job = await self.get(job_id, session_id)
        finishing = self._runs.get(job.id)
        if finishing is not None and finishing.settled:
            # It has just ended and its task is still tidying up: let it finish first, so
            # the job never has two tasks.
            await finishing.done.wait()
            job = await self.get(job_id, session_id)
        if job.kind is JobKind.PLAYLIST and job.id in self._playlists:
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

    async def delete(self, job_id: str, session_id: str | None = None) -> None:
        """Stop the job if it runs, then remove its row, its file and its partial files."""
        job = await self.get(job_id, session_id)
        children = (
            await self._store.list_jobs(parent_id=job.id) if job.kind is JobKind.PLAYLIST else []
        )
        doomed = [*children, job]
        await self._stop_and_wait([j.id for j in doomed], StopReason.DELETE)
        with trio.CancelScope(shield=True):
            removal = await self._forget(doomed)
        if removal.kept:
            raise Conflict(
                "The job's file could not be removed from the downloads folder (see the server "
                "log); the job was kept. Fix the folder's permissions and delete it again."
            )

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
                    await self._report_failure(failed)
            return len(jobs)
        for job in reversed(jobs):  # oldest first, so the queue keeps its order
            if job.kind is JobKind.PLAYLIST:
                await self._load_playlist(job.id)
                continue
            queued = attrs.evolve(job, status=JobStatus.QUEUED, speed=None, eta=None)
            await self._store.update_job(job.id, status=JobStatus.QUEUED, speed=None, eta=None)
            if queued.parent_id is not None:
                await self._load_playlist(queued.parent_id)
            self._start(queued)
        log.info("resumed %d interrupted job(s)", len(jobs))
        return len(jobs)

    def stop_all(self) -> None:
        """Shutdown: stop every job, leaving it ``queued`` for the next start. Returns at once;
        the service's nursery waits for the jobs' threads to unwind."""
        self._accepting = False
        for run in list(self._runs.values()):
            run.stop(StopReason.SHUTDOWN)

    # -- one job's task -----------------------------------------------------------------------

    def _start(self, job: Job) -> None:
        run = _Run(job)
        self._runs[job.id] = run
        self._nursery.start_soon(self._run_job, run, name=f"job {job.id}")

    async def _run_job(self, run: _Run) -> None:
        try:
            with run.scope:
                async with self._slots:
                    await self._execute(run)
        except Exception:  # a bug, not a download failure: keep the service alive
            log.exception("job %s crashed", run.job.id)
            if not run.settled:
                with trio.CancelScope(shield=True):
                    await self._settle(
                        run,
                        JobStatus.FAILED,
                        error=JobError("internal_error", "An internal error stopped this job."),
                    )
        finally:
            with trio.CancelScope(shield=True):
                await self._after_stop(run)
            if self._runs.get(run.job.id) is run:
                del self._runs[run.job.id]
            run.done.set()

    async def _execute(self, run: _Run) -> None:
        job = run.job
        await self._change(run, status=JobStatus.EXTRACTING, started_at=utcnow(), error=None)
        request = options.work_request(self._settings, job, self.cookie_file(job.session_id))
        report = functools.partial(self._report_from_thread, run)
        # The outcome is taken out of the nursery before it is looked at, so that a failure
        # reaches the handlers below as itself, not wrapped in an ExceptionGroup.
        async with trio.open_nursery() as writer_nursery:
            writer_nursery.start_soon(self._write_progress, run)
            # One job at a time through yt-dlp's start (building a YoutubeDL, extracting):
            # that is ~60 ms of pure-Python work, and sixteen jobs doing it at once starve the
            # event loop of the GIL (request latency went from 4 to 60 ms). No checkpoint
            # between acquiring and starting the task that releases it.
            await self._start_gate.acquire()
            writer_nursery.start_soon(self._open_gate_once_started, run)
            ran = await outcome.acapture(
                self._in_thread,
                functools.partial(run_job, request, run.token, report),
                run.token,
                self._download_threads,
            )
            run.started.set()
            writer_nursery.cancel_scope.cancel()
        try:
            result = ran.unwrap()
        except DownloadCancelled:
            # Only a stop cancels the token, and a stop also cancels our scope: the next
            # checkpoint raises Cancelled and _after_stop takes over.
            await trio.lowlevel.checkpoint()
            raise AssertionError("a job's token was cancelled without a stop") from None
        except Exception as exc:
            error = describe_failure(exc)
            log.info("job %s failed: %s (%r)", job.id, error.code, exc)
            result = None
        # The worker is done: what it did is now recorded whole, even if a cancel arrives
        # meanwhile (it then finds the job ended, and says so).
        with trio.CancelScope(shield=True):
            if result is None:
                await trio.to_thread.run_sync(paths.remove_work_dir, request.work_dir)
                await self._settle(run, JobStatus.FAILED, error=error)
            elif isinstance(result, PlaylistFound):
                await trio.to_thread.run_sync(paths.remove_work_dir, request.work_dir)
                await self._expand(run, result)
            else:
                await self._finish_download(run, request, result)

    async def _open_gate_once_started(self, run: _Run) -> None:
        """Let the next job start once this one is past yt-dlp's start-up, or after
        :data:`START_GATE_TIMEOUT` (a slow site must not hold every other job back)."""
        try:
            with trio.move_on_after(START_GATE_TIMEOUT):
                await run.started.wait()
        finally:
            self._start_gate.release()

    async def _finish_download(self, run: _Run, request: WorkRequest, result: Downloaded) -> None:
        try:
            placed = await trio.to_thread.run_sync(
                paths.place_files,
                request.work_dir,
                [result.path, *result.others],
                self.downloads_dir,
            )
        except (OSError, ValueError) as exc:
            log.warning("job %s: could not move %s into place: %r", run.job.id, result.path, exc)
            await trio.to_thread.run_sync(paths.remove_work_dir, request.work_dir)
            await self._settle(run, JobStatus.FAILED, error=describe_failure(exc))
            return
        await trio.to_thread.run_sync(paths.remove_work_dir, request.work_dir)
        root = self.downloads_dir.resolve()
        files = tuple(JobFile(path.relative_to(root).as_posix(), size) for path, size in placed)
        size = files[0].size
        job = run.job
        archive = ArchiveEntry(
            session_id=job.session_id,
            key=result.archive_key,
            url=job.url,
            at=utcnow(),
            title=job.title or result.title,
            job_id=job.id,
            subscription_id=job.subscription_id,
        )
        await self._settle(
            run,
            JobStatus.COMPLETED,
            archive=archive,
            filename=files[0].name,
            filesize=size,
            files=files,
            progress=100.0,
            downloaded_bytes=size,
            total_bytes=size,
            speed=None,
            eta=None,
            title=run.job.title or result.title,
            thumbnail=run.job.thumbnail or result.thumbnail,
        )

    async def _expand(self, run: _Run, found: PlaylistFound) -> None:
        parent = run.job
        children = [
            Job(
                id=new_job_id(),
                session_id=parent.session_id,
                url=entry.url,
                created_at=utcnow(),
                parent_id=parent.id,
                playlist_index=entry.index,
                # An item with no URL of its own is fetched as item N of the playlist's URL.
                playlist_items=str(entry.index) if entry.url == parent.url else None,
                title=entry.title,
                media_type=parent.media_type,
                format_id=parent.format_id,
                quality=parent.quality,
                output_format=parent.output_format,
                options=parent.options,
            )
            for entry in found.entries
        ]
        changes: dict[str, Any] = {
            "kind": JobKind.PLAYLIST,
            "status": JobStatus.QUEUED,
            "title": parent.title or found.title,
            "thumbnail": parent.thumbnail or found.thumbnail,
            "total_bytes": None,
        }
        await self._store.expand_playlist(parent.id, children, **changes)
        run.settled = True
        playlist = _Playlist(
            attrs.evolve(parent, **changes),
            {child.id: (JobStatus.QUEUED, 0.0) for child in children},
        )
        self._playlists[parent.id] = playlist
        self._publish(playlist.job, {**changes, "kind": JobKind.PLAYLIST})
        for child in children:
            self._start(child)
            self._publish(child)

    async def _after_stop(self, run: _Run) -> None:
        """Clean up after the task ended, according to why it was stopped (shielded)."""
        reason, job = run.stop_reason, run.job
        work_dir = paths.work_dir_for(self.downloads_dir, job.id)
        if reason is None or run.settled:
            if reason is StopReason.DELETE:
                await trio.to_thread.run_sync(paths.remove_work_dir, work_dir)
            return
        await self._flush(run)
        if reason is StopReason.PAUSE:
            # Like a shutdown, partial files stay: starting it again continues from them.
            await self._change(run, status=JobStatus.PAUSED, speed=None, eta=None)
            return
        if reason is StopReason.SHUTDOWN:
            # Partial files stay: the next start resumes the download where it stopped.
            await self._store.update_job(job.id, status=JobStatus.QUEUED, speed=None, eta=None)
            return
        await trio.to_thread.run_sync(paths.remove_work_dir, work_dir)
        if reason is StopReason.CANCEL:
            await self._settle(run, JobStatus.CANCELLED, speed=None, eta=None)

    async def _in_thread(
        self, fn: Callable[[], T], token: CancelToken, limiter: trio.CapacityLimiter
    ) -> T:
        """Run ``fn`` in a worker thread that cannot outlive this call.

        ``to_thread.run_sync`` does not abandon the thread when we are cancelled, so this call
        returns only once ``fn`` has. To make that prompt, any cancellation of this task is
        relayed to ``token``, which interrupts the thread wherever it is blocked."""

        async def relay_cancellation() -> None:
            try:
                await trio.sleep_forever()
            finally:
                token.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(relay_cancellation)
            ran = await outcome.acapture(
                functools.partial(trio.to_thread.run_sync, fn, limiter=limiter)
            )
            # Ends the relay; it cancels a token whose thread is already done: harmless.
            nursery.cancel_scope.cancel()
        # Unwrapped outside the nursery, so errors come out as themselves (no ExceptionGroup).
        return ran.unwrap()

    # -- progress: from the worker thread to everyone -----------------------------------------

    def _report_from_thread(self, run: _Run, report: Report) -> None:
        """Called in the worker thread; must not block."""
        self._trio_token.run_sync_soon(self._on_report, run, report)

    def _on_report(self, run: _Run, report: Report) -> None:
        """Runs in the trio thread (from ``run_sync_soon``): never raise, never block."""
        try:
            if run.done.is_set() or run.token.cancelled:
                return  # late news from a job that has ended or is being stopped
            run.started.set()
            if isinstance(report, ProgressReport):
                self._on_progress(run, report)
            elif isinstance(report, PhaseChanged):
                self._apply(run, {"status": report.status, "speed": None, "eta": None})
                run.wake_writer.set()
            elif isinstance(report, InfoFound):
                # A playlist item keeps the title the playlist gave it, usually the better one.
                found: dict[str, Any] = {"title": report.title, "thumbnail": report.thumbnail}
                changes = {k: v for k, v in found.items() if v and not getattr(run.job, k)}
                if changes:
                    self._apply(run, changes)
                    run.wake_writer.set()
        except Exception:
            log.exception("progress report for job %s failed", run.job.id)

    def _on_progress(self, run: _Run, report: ProgressReport) -> None:
        changes = attrs.asdict(report)
        run.job = attrs.evolve(run.job, **changes)
        run.unsaved.update(changes)
        if report.progress - run.written_progress >= WRITE_STEP:
            run.wake_writer.set()
        now = time.monotonic()
        last_time, last_progress = run.published_at
        if report.progress - last_progress >= PUBLISH_STEP or now - last_time >= PUBLISH_INTERVAL:
            run.published_at = (now, report.progress)
            self._publish(run.job, changes, coalesce=True)
            self._child_progress(run.job)

    def _apply(self, run: _Run, changes: dict[str, Any]) -> None:
        """Change the live copy, queue the write, publish at once (status and info changes)."""
        run.job = attrs.evolve(run.job, **changes)
        run.unsaved.update(changes)
        self._publish(run.job, changes)
        if "status" in changes:
            self._child_status(run.job)

    async def _write_progress(self, run: _Run) -> None:
        """The job's writer: status changes at once, progress every 0.5 % or second."""
        while True:
            with trio.move_on_after(WRITE_INTERVAL):
                await run.wake_writer.wait()
            run.wake_writer = trio.Event()
            await self._flush(run)

    async def _flush(self, run: _Run) -> None:
        if not run.unsaved:
            return
        changes, run.unsaved = run.unsaved, {}
        if "progress" in changes:
            run.written_progress = changes["progress"]
        await self._store.update_job(run.job.id, **changes)

    async def _change(
        self, run: _Run, *, archive: ArchiveEntry | None = None, **changes: Any
    ) -> None:
        """Write and publish a change at once (from the job's task); with ``archive``, the
        download archive learns of it in the same write."""
        run.job = attrs.evolve(run.job, **changes)
        await self._store.update_job(run.job.id, archive=archive, **changes)
        self._publish(run.job, changes)
        if "status" in changes:
            self._child_status(run.job)

    async def _settle(
        self, run: _Run, status: JobStatus, *, archive: ArchiveEntry | None = None, **changes: Any
    ) -> None:
        """Give the job its final status (written before anything else can happen to it)."""
        run.settled = True
        run.unsaved.clear()
        await self._change(run, archive=archive, status=status, finished_at=utcnow(), **changes)
        if status is JobStatus.FAILED:
            await self._report_failure(run.job)

    async def _report_failure(self, job: Job) -> None:
        """Tell ``on_failure`` (shielded: the failure is final, so is its record). Its own
        failure is logged, never the job's business."""
        if self._on_failure is None:
            return
        with trio.CancelScope(shield=True):
            try:
                await self._on_failure(job)
            except Exception:
                log.exception("recording the failure of job %s failed", job.id)

    # -- playlists ----------------------------------------------------------------------------

    async def _load_playlist(self, parent_id: str) -> _Playlist | None:
        if parent_id in self._playlists:
            return self._playlists[parent_id]
        parent = await self._store.get_job(parent_id)
        if parent is None:
            return None
        children = await self._store.list_jobs(parent_id=parent_id)
        playlist = _Playlist(parent, {c.id: (c.status, c.progress) for c in children})
        self._playlists[parent_id] = playlist
        return playlist

    def _child_progress(self, child: Job) -> None:
        playlist = self._playlists.get(child.parent_id or "")
        if playlist is None:
            return
        playlist.children[child.id] = (child.status, child.progress)
        _, progress = playlist_summary(playlist.children.values())
        if progress != playlist.job.progress:
            playlist.job = attrs.evolve(playlist.job, progress=progress)
            self._publish(playlist.job, {"progress": progress}, coalesce=True)

    def _child_status(self, child: Job) -> None:
        playlist = self._playlists.get(child.parent_id or "")
        if playlist is None:
            return
        playlist.children[child.id] = (child.status, child.progress)
        self._recompute_playlist(playlist)

    def _recompute_playlist(self, playlist: _Playlist) -> None:
        """Derive the parent's status from its children; publish and store it if it moved."""
        status, progress = playlist_summary(playlist.children.values())
        if status is playlist.job.status and progress == playlist.job.progress:
            return
        changes: dict[str, Any] = {"status": status, "progress": progress}
        if status in TERMINAL_STATUSES:
            changes["finished_at"] = utcnow()
            changes["error"] = _playlist_error(playlist)
        elif playlist.job.status in TERMINAL_STATUSES:
            changes["finished_at"] = None
            changes["error"] = None
        playlist.job = attrs.evolve(playlist.job, **changes)
        self._publish(playlist.job, changes)
        self._nursery.start_soon(self._write_playlist, playlist.job.id)

    async def _write_playlist(self, parent_id: str) -> None:
        """Store the parent's derived state. It writes the state as it is when the write runs,
        not as it was when it was asked for: two quick changes can then never be stored in
        the wrong order (the store runs writes one at a time, first come first served)."""
        playlist = self._playlists.get(parent_id)
        if playlist is None:
            return
        job = playlist.job
        with trio.CancelScope(shield=True):
            await self._store.update_job(
                parent_id,
                status=job.status,
                progress=job.progress,
                finished_at=job.finished_at,
                error=job.error,
            )

    async def _child_removed(self, child: Job) -> None:
        playlist = await self._load_playlist(child.parent_id or "")
        if playlist is None:
            return
        playlist.children.pop(child.id, None)
        if playlist.children:
            self._recompute_playlist(playlist)

    # -- helpers ------------------------------------------------------------------------------

    def _live(self, job_id: str) -> Job | None:
        run = self._runs.get(job_id)
        if run is not None:
            return run.job
        playlist = self._playlists.get(job_id)
        return playlist.job if playlist is not None else None

    def _publish(
        self, job: Job, changes: dict[str, Any] | None = None, coalesce: bool = False
    ) -> None:
        if changes is None:
            data = job_to_api(job)
        else:
            data = {"id": job.id, **{k: converter.unstructure(v) for k, v in changes.items()}}
        self.revision += 1
        self._broker.publish(
            "job_update", {"job": data}, session_id=job.session_id, job_id=job.id, coalesce=coalesce
        )

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
            await self._load_playlist(queued.parent_id)
        self._start(queued)
        self._publish(queued, changes)
        self._child_status(queued)

    async def _forget(self, doomed: list[Job]) -> Removal:
        """Remove stopped jobs: files first, then rows, then a ``job_removed`` event each.

        A job whose file cannot be removed keeps its row, and so does its playlist's parent,
        so a later try can finish (callers shield this)."""
        removed: list[Job] = []
        kept: list[Job] = []
        files = size = 0
        for job in doomed:
            try:
                freed = await trio.to_thread.run_sync(
                    paths.remove_job_files, self.downloads_dir, job.id, _file_names(job)
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
            self._playlists.pop(job.id, None)
            self._broker.publish(
                "job_removed", {"id": job.id}, session_id=job.session_id, job_id=job.id
            )
        for job in removed:
            if job.parent_id is not None and job.parent_id not in gone_ids:
                await self._child_removed(job)
        self.revision += 1
        return Removal(len(removed), files, size, tuple(job.id for job in kept))

    def _busy(self, job: Job) -> bool:
        """Whether the job, or a job of its playlist, is waiting or running now."""
        if job.id in self._runs:
            return True
        playlist = self._playlists.get(job.id)
        return playlist is not None and any(child in self._runs for child in playlist.children)

    async def _stop_and_wait(self, job_ids: Iterable[str], reason: StopReason) -> None:
        runs = [self._runs[i] for i in job_ids if i in self._runs]
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
                return await self._in_thread(call, token, self._probe_threads)
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
            raise _probe_failed(describe_failure(exc)) from None


def _probe_failed(error: JobError) -> ProbeFailed:
    """A refused address (met on a redirect, say) is its own refusal: the URL is to blame."""
    return (AddressBlocked if error.code == "blocked_address" else ProbeFailed)(error)


def _file_names(job: Job) -> list[str]:
    """Every file of a job: its main one and the others (chapters, subtitles)."""
    names = [f.name for f in job.files]
    if job.filename and job.filename not in names:
        names.insert(0, job.filename)
    return names


def _playlist_error(playlist: _Playlist) -> JobError | None:
    failed = sum(1 for status, _ in playlist.children.values() if status is JobStatus.FAILED)
    if not failed:
        return None
    return JobError(
        "playlist_items_failed",
        f"{failed} of {len(playlist.children)} items failed. Retry the playlist to retry them.",
    )
