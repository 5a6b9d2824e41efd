"""Each job's task: waiting for a slot, running yt-dlp in a thread, and what comes after.

Structure. Each job that is waiting or running is one task in the service's nursery, wrapped in
its own cancel scope, and its yt-dlp run is one ``trio.to_thread.run_sync`` inside that task.
The task waits for a slot of ``CapacityLimiter(downloads.max_concurrent)`` while the job is
``queued``.

Stopping a job. A job is stopped for one of three reasons (:class:`~.progress.StopReason`): the
person cancelled it, deleted it, or the server is shutting down. The stopper records the
reason, sets the job's :class:`~.ytdl.CancelToken` (which reaches into the worker thread: hooks,
sockets, ffmpeg) and cancels the task's scope. The thread cannot outlive the task:
``to_thread.run_sync`` does not abandon it, so the task waits for it to unwind, which the token
makes prompt. Only then does the task clean up, shielded, according to the reason: cancelled
jobs lose their partial files, deleted ones their rows, and on shutdown jobs go back to
``queued`` with their partial files kept, so the next start resumes them where they were. The
stopper waits for that cleanup (:meth:`JobTasks.stop_and_wait`), so "cancelled" in an answer
means the worker has stopped and the partial files are gone; the slot is free by then.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TypeVar

import attrs
import outcome
import trio
import yt_dlp.utils

from ..config import Settings
from ..cookies import cookie_path
from ..models import Job, JobError, JobFile, JobStatus, utcnow
from ..store import ArchiveEntry, StorageError, Store
from . import options, paths
from .errors import describe_failure
from .events import EventSink, JobChanged
from .playlists import Playlists, children_of, expansion
from .progress import JobRun, Progress, StopReason
from .worker import Downloaded, PlaylistFound, WorkRequest, run_job
from .ytdl import CancelToken, DownloadCancelled

__all__ = ["FailureSink", "JobTasks", "RunHooks", "in_thread"]

log = logging.getLogger("mediarip.engine")
T = TypeVar("T")

START_GATE_TIMEOUT = 2.0

#: Called with each job that has just ended ``failed`` and the whole text of what failed, if
#: known (the admin's error log).
FailureSink = Callable[[Job, str | None], Awaitable[None]]


@attrs.frozen
class RunHooks:
    """What a cluster's worker (:mod:`mediarip.cluster.worker`) adds to running jobs: it
    leases a playlist's items before they are stored (so no other worker claims one), and it
    hears when each run ends (to tell the web nodes and drop its lease)."""

    before_children: Callable[[list[Job]], Awaitable[None]]
    #: With the job and whether it is still to run (stopped by a shutdown, or taken over).
    run_ended: Callable[[Job, bool], None]


def _place_and_clean(
    work_dir: Path, produced: list[Path], downloads_dir: Path
) -> list[tuple[Path, int]]:
    placed = paths.place_files(work_dir, produced, downloads_dir)
    paths.remove_work_dir(work_dir)
    return placed


#: How long no job must run before memory is given back. The collection holds the GIL for
#: ~7-20 ms, so it must not run between the jobs of a burst: after every job that left the
#: queue empty, it was the slowest 2 % of POSTs when jobs started every 0.5 s (bench 8).
RELEASE_AFTER_IDLE = 2.0


async def release_memory() -> None:
    """Give the allocator's free pages back to the system once no job runs: a download's
    buffers and yt-dlp's data are freed by then, but glibc keeps the pages in its arenas (one
    per thread), so the idle server stayed at ~120 MiB after work instead of ~60."""
    await trio.to_thread.run_sync(_malloc_trim)


def _malloc_trim() -> None:
    gc.collect()  # a job's cycles (yt-dlp's info dicts, responses) first: ~7 ms, frozen gen
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to trim this way
        return
    libc.malloc_trim(0)


def _detail_of(exc: BaseException) -> str:
    """The whole text of a failure, for the log and the admin's error log."""
    text = f"{type(exc).__name__}: {exc}"
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) not in text:
        text += f" (caused by {type(cause).__name__}: {cause})"
    return text[:4000]


async def in_thread(fn: Callable[[], T], token: CancelToken, limiter: trio.CapacityLimiter) -> T:
    """Run ``fn`` in a worker thread that cannot outlive this call.

    ``to_thread.run_sync`` does not abandon the thread when we are cancelled, so this call
    returns only once ``fn`` has. To make that prompt, any cancellation of this task is relayed
    to ``token``, which interrupts the thread wherever it is blocked."""

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


class JobTasks:
    """The tasks of the jobs that wait or run, with the limits they share."""

    def __init__(
        self,
        store: Store,
        emit: EventSink,
        settings: Callable[[], Settings],
        nursery: trio.Nursery,
        playlists: Playlists,
        on_failure: FailureSink | None,
        hooks: RunHooks | None = None,
    ) -> None:
        self._store = store
        self._hooks = hooks
        self._emit = emit
        self._settings = settings
        self._nursery = nursery
        self._playlists = playlists
        self._on_failure = on_failure
        self.progress = Progress(store, emit, playlists)
        max_concurrent = settings().downloads.max_concurrent
        self._slots = trio.CapacityLimiter(max_concurrent)
        # Threads get their own limiter (the task already holds a slot; borrowing the same
        # limiter twice would deadlock) and never share trio's default one with SQLite.
        self._threads = trio.CapacityLimiter(max_concurrent)
        self._start_gate = trio.Semaphore(1)
        self.runs: dict[str, JobRun] = {}
        self._started = 0  # jobs started so far: tells an idle wait that a job came meanwhile

    @property
    def downloads_dir(self) -> Path:
        return Path(self._settings().downloads.output_dir)

    def set_max_concurrent(self, value: int) -> None:
        self._slots.total_tokens = value
        self._threads.total_tokens = value

    def start(self, job: Job) -> None:
        run = JobRun(job)
        self.runs[job.id] = run
        self._started += 1
        self._nursery.start_soon(self._run, run, name=f"job {job.id}")

    async def stop_and_wait(self, job_ids: Iterable[str], reason: StopReason) -> None:
        runs = [self.runs[i] for i in job_ids if i in self.runs]
        for run in runs:
            run.stop(reason)
        for run in runs:
            await run.done.wait()

    async def report_failure(self, job: Job, detail: str | None = None) -> None:
        """Tell ``on_failure`` (shielded: the failure is final, so is its record). Its own
        failure is logged, never the job's business."""
        if self._on_failure is None:
            return
        with trio.CancelScope(shield=True):
            try:
                await self._on_failure(job, detail)
            except Exception:
                log.exception("recording the failure of job %s failed", job.id)

    # -- the task -----------------------------------------------------------------------------

    async def _run(self, run: JobRun) -> None:
        try:
            with run.scope:
                async with self._slots:
                    await self._execute(run)
        except StorageError as exc:  # the data folder took no writes where one was needed
            log.warning("job %s stopped: %s (%s)", run.job.id, exc.summary, exc.detail)
            if not run.settled:
                with trio.CancelScope(shield=True):
                    await self._settle(
                        run, JobStatus.FAILED, error=JobError("storage_full", exc.message)
                    )
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
            if run.unsaved or run.unsaved_archive is not None:
                self.progress.keep_unsaved(run)
            if self.runs.get(run.job.id) is run:
                del self.runs[run.job.id]
            run.done.set()
            if self._hooks is not None:
                again = run.stop_reason in (StopReason.SHUTDOWN, StopReason.LOST)
                self._hooks.run_ended(run.job, again and not run.settled)
            if not self.runs:
                self._nursery.start_soon(self._release_memory_when_idle, name="release memory")

    async def _release_memory_when_idle(self) -> None:
        """:func:`release_memory` once no job has started for :data:`RELEASE_AFTER_IDLE`
        seconds (a job that starts meanwhile hands the duty to the next empty queue). Cancelled
        with the service's nursery at shutdown, while it sleeps or after its thread returns."""
        started = self._started
        await trio.sleep(RELEASE_AFTER_IDLE)
        if self._started == started and not self.runs:
            await release_memory()

    async def _execute(self, run: JobRun) -> None:
        job = run.job
        settings = self._settings()
        await self.progress.change(
            run, status=JobStatus.EXTRACTING, started_at=utcnow(), error=None
        )
        cookies = cookie_path(Path(settings.server.data_dir), job.session_id)
        request = options.work_request(settings, job, cookies)
        # The outcome is taken out of the nursery before it is looked at, so that a failure
        # reaches the handlers below as itself, not wrapped in an ExceptionGroup.
        async with trio.open_nursery() as writer_nursery:
            writer_nursery.start_soon(self.progress.write_loop, run)
            # One job at a time through yt-dlp's start (building a YoutubeDL, extracting):
            # that is ~60 ms of pure-Python work, and sixteen jobs doing it at once starve the
            # event loop of the GIL (request latency went from 4 to 60 ms). No checkpoint
            # between acquiring and starting the task that releases it.
            await self._start_gate.acquire()
            writer_nursery.start_soon(self._open_gate_once_started, run)
            ran = await outcome.acapture(
                in_thread,
                functools.partial(run_job, request, run.token, self.progress.reporter(run)),
                run.token,
                self._threads,
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
            # yt-dlp's own errors say what failed; anything else (an OSError in the middle of
            # a job, say) needs its traceback to be understood later.
            log.info(
                "job %s failed: %s (%r)",
                job.id,
                error.code,
                exc,
                exc_info=not isinstance(exc, yt_dlp.utils.DownloadError),
            )
            run.failure_detail = _detail_of(exc)
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

    async def _open_gate_once_started(self, run: JobRun) -> None:
        """Let the next job start once this one is past yt-dlp's start-up, or after
        :data:`START_GATE_TIMEOUT` (a slow site must not hold every other job back)."""
        try:
            with trio.move_on_after(START_GATE_TIMEOUT):
                await run.started.wait()
        finally:
            self._start_gate.release()

    async def _finish_download(self, run: JobRun, request: WorkRequest, result: Downloaded) -> None:
        downloads_dir = self.downloads_dir
        try:
            # One thread hop for both (each hop is a few ms on a busy machine, and they stand
            # between the last byte and the "completed" event).
            placed = await trio.to_thread.run_sync(
                _place_and_clean, request.work_dir, [result.path, *result.others], downloads_dir
            )
        except (OSError, ValueError) as exc:
            log.warning("job %s: could not move %s into place: %r", run.job.id, result.path, exc)
            run.failure_detail = _detail_of(exc)
            await trio.to_thread.run_sync(paths.remove_work_dir, request.work_dir)
            await self._settle(run, JobStatus.FAILED, error=describe_failure(exc))
            return
        root = downloads_dir.resolve()
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

    async def _expand(self, run: JobRun, found: PlaylistFound) -> None:
        parent = run.job
        children = children_of(parent, found)
        changes = expansion(parent, found)
        if self._hooks is not None:
            await self._hooks.before_children(children)
        await self._store.expand_playlist(parent.id, children, **changes)
        run.settled = True
        playlist = self._playlists.track(attrs.evolve(parent, **changes), children)
        self._emit(JobChanged(playlist.job, changes))
        for child in children:
            self.start(child)
            self._emit(JobChanged(child))

    async def _after_stop(self, run: JobRun) -> None:
        """Clean up after the task ended, according to why it was stopped (shielded)."""
        reason, job = run.stop_reason, run.job
        if reason is StopReason.LOST:
            run.unsaved.clear()
            run.unsaved_archive = None
            return
        work_dir = paths.work_dir_for(self.downloads_dir, job.id)
        if reason is None or run.settled:
            if reason is StopReason.DELETE:
                await trio.to_thread.run_sync(paths.remove_work_dir, work_dir)
            return
        await self.progress.flush(run)
        if reason is StopReason.PAUSE:
            # Like a shutdown, partial files stay: starting it again continues from them.
            await self.progress.change(run, status=JobStatus.PAUSED, speed=None, eta=None)
            return
        if reason is StopReason.SHUTDOWN:
            # Partial files stay: the next start resumes the download where it stopped.
            run.unsaved.update(status=JobStatus.QUEUED, speed=None, eta=None)
            await self.progress.flush(run)
            return
        await trio.to_thread.run_sync(paths.remove_work_dir, work_dir)
        if reason is StopReason.CANCEL:
            log.info("job %s cancelled", job.id)
            await self._settle(run, JobStatus.CANCELLED, speed=None, eta=None)

    async def _settle(
        self,
        run: JobRun,
        status: JobStatus,
        *,
        archive: ArchiveEntry | None = None,
        **changes: object,
    ) -> None:
        """Give the job its final status (written before anything else can happen to it);
        with ``archive``, the download archive learns of it in the same write."""
        run.settled = True
        # The live copy's progress goes in the final write and out with the final event, even
        # where the throttles held it back (written every 0.5 % or second, published every 1 %
        # or 250 ms): what a person saw last is then what the stored job says, and a failed job
        # at 80 % live does not read 52 % after a reload.
        job = run.job
        shown = {
            "progress": job.progress,
            "downloaded_bytes": job.downloaded_bytes,
            "total_bytes": job.total_bytes,
        }
        unsaved = {k: v for k, v in run.unsaved.items() if k not in ("speed", "eta")}
        run.unsaved.clear()
        final = {**shown, **unsaved, **changes, "status": status, "finished_at": utcnow()}
        await self.progress.change(run, archive=archive, **final)
        if status is JobStatus.FAILED:
            await self.report_failure(run.job, run.failure_detail)
