"""A job's live copy, and its progress from the worker thread to everyone.

yt-dlp's hooks run in the worker thread; the worker throttles them (:mod:`.worker`) and hands
each report to trio with ``TrioToken.run_sync_soon``, which never blocks the download. On the
trio side a report updates the job's live copy (:class:`JobRun`), is published at most every
:data:`PUBLISH_STEP` percent or :data:`PUBLISH_INTERVAL` seconds (status changes at once), and
is written to SQLite at most every :data:`WRITE_STEP` percent or :data:`WRITE_INTERVAL` seconds
by a small per-job writer task (status changes at once). Listings overlay the live copies on the
stored rows, so nobody sees a state older than what was published.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import attrs
import trio

from ..models import Job
from ..store import ArchiveEntry, StorageError, Store
from .events import EventSink, JobChanged
from .playlists import Playlists
from .worker import InfoFound, PhaseChanged, ProgressReport, Report
from .ytdl import CancelToken

__all__ = ["JobRun", "Progress", "StopReason"]

log = logging.getLogger("mediarip.engine")

#: Percent, seconds: below the worker's report interval (worker.REPORT_INTERVAL), so a lone
#: download's every report reaches the page, ~0.2 s apart.
PUBLISH_STEP, PUBLISH_INTERVAL = 1.0, 0.12
#: Progress events a second across all jobs, before each job's interval stretches. Every event
#: goes to every open page: one download gets an update every 0.2 s, sixteen at once one every
#: ~0.7 s each (measured: 16 downloads x 100 pages at 5 events/s each took hook -> page p99
#: from 62 to 265 ms on the 2-core machine).
PUBLISH_BUDGET = 24.0
#: A job counts towards the budget while it published within this many seconds.
PUBLISHING_WINDOW = 2.0
WRITE_STEP, WRITE_INTERVAL = 0.5, 1.0


class StopReason(enum.Enum):
    CANCEL = "cancel"
    DELETE = "delete"
    SHUTDOWN = "shutdown"
    PAUSE = "pause"
    #: A cluster's worker lost its lease on the job (another worker took it over after the
    #: lease ran out): stop without writing anything or touching the partial files, which
    #: are the new worker's now.
    LOST = "lost"


class JobRun:
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
        self.unsaved_archive: ArchiveEntry | None = None
        #: The whole text of what made the job fail, for the admin's error log.
        self.failure_detail: str | None = None
        self.wake_writer = trio.Event()
        self.published_at = (-math.inf, -100.0)  # (monotonic time, progress)
        self.written_progress = -100.0

    def stop(self, reason: StopReason) -> None:
        if self.stop_reason is None or reason is StopReason.DELETE:
            self.stop_reason = reason
        self.token.cancel()
        self.scope.cancel()


class Progress:
    """Publishes and writes what the jobs' reports and tasks change."""

    def __init__(self, store: Store, emit: EventSink, playlists: Playlists) -> None:
        self._store = store
        self._emit = emit
        self._playlists = playlists
        self._trio_token = trio.lowlevel.current_trio_token()
        #: When each job last published progress (the budget's share).
        self._published: dict[str, float] = {}
        #: Ended jobs whose last changes are not written yet, by id.
        self.unwritten: dict[str, JobRun] = {}
        self._unwritten_arrived = trio.Event()

    def reporter(self, run: JobRun) -> Callable[[Report], None]:
        """The callback the worker thread reports through; it never blocks."""

        def report(report: Report) -> None:
            self._trio_token.run_sync_soon(self._on_report, run, report)

        return report

    def _on_report(self, run: JobRun, report: Report) -> None:
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

    def _on_progress(self, run: JobRun, report: ProgressReport) -> None:
        changes = attrs.asdict(report)
        run.job = attrs.evolve(run.job, **changes)
        run.unsaved.update(changes)
        if report.progress - run.written_progress >= WRITE_STEP:
            run.wake_writer.set()
        now = time.monotonic()
        last_time, last_progress = run.published_at
        if report.progress - last_progress >= PUBLISH_STEP or now - last_time >= self._interval(
            now
        ):
            run.published_at = (now, report.progress)
            self._published[run.job.id] = now
            self._emit(JobChanged(run.job, changes, progress_only=True))
            self._playlists.child_progress(run.job)

    def _interval(self, now: float) -> float:
        """Each job's publish interval: :data:`PUBLISH_INTERVAL`, stretched so that all the
        jobs publishing now share :data:`PUBLISH_BUDGET` events a second."""
        stale = [k for k, t in self._published.items() if now - t > PUBLISHING_WINDOW]
        for key in stale:
            del self._published[key]
        return max(PUBLISH_INTERVAL, len(self._published) / PUBLISH_BUDGET)

    def _apply(self, run: JobRun, changes: dict[str, Any]) -> None:
        """Change the live copy, queue the write, publish at once (status and info changes)."""
        run.job = attrs.evolve(run.job, **changes)
        run.unsaved.update(changes)
        self._emit(JobChanged(run.job, changes))
        if "status" in changes:
            self._playlists.child_status(run.job)

    async def write_loop(self, run: JobRun) -> None:
        """The job's writer: status changes at once, progress every 0.5 % or second. While the
        data folder takes no writes, the changes wait in the live copy and go at the next turn."""
        while True:
            with trio.move_on_after(WRITE_INTERVAL):
                await run.wake_writer.wait()
            run.wake_writer = trio.Event()
            await self.flush(run)

    async def flush(self, run: JobRun) -> bool:
        """Write what the job has not written yet; False if the data folder refused it (the
        changes stay queued for the next try)."""
        if not run.unsaved and run.unsaved_archive is None:
            return True
        changes, run.unsaved = run.unsaved, {}
        archive, run.unsaved_archive = run.unsaved_archive, None
        try:
            await self._store.update_job(run.job.id, archive=archive, **changes)
        except StorageError:
            # Newer changes (made while we waited) win over these.
            run.unsaved = {**changes, **run.unsaved}
            run.unsaved_archive = run.unsaved_archive or archive
            return False
        if "progress" in changes:
            run.written_progress = changes["progress"]
        return True

    async def change(
        self, run: JobRun, *, archive: ArchiveEntry | None = None, **changes: Any
    ) -> None:
        """Write and publish a change at once (from the job's task); with ``archive``, the
        download archive learns of it in the same transaction. If the data folder takes no
        writes, the change is published all the same and its write waits (:meth:`flush`)."""
        run.job = attrs.evolve(run.job, **changes)
        run.unsaved.update(changes)
        if archive is not None:
            run.unsaved_archive = archive
        if not await self.flush(run):
            log.warning("job %s: its change waits until the data folder takes writes", run.job.id)
        self._emit(JobChanged(run.job, changes))
        if "status" in changes:
            self._playlists.child_status(run.job)

    # -- jobs whose task ended before their last change could be written -----------------------

    def keep_unsaved(self, run: JobRun) -> None:
        """Hold on to an ended job whose changes are not written yet (a full data folder):
        :meth:`retry_loop` writes them when it can, and listings show its live copy."""
        self.unwritten[run.job.id] = run
        self._unwritten_arrived.set()

    async def retry_loop(self, interval: float = 2.0) -> None:
        """Write the changes of ended jobs that could not be written, as soon as the data
        folder takes them. Runs for the service's lifetime; idle while there are none."""
        while True:
            await self._unwritten_arrived.wait()
            self._unwritten_arrived = trio.Event()
            while self.unwritten:
                await trio.sleep(interval)
                await self.retry_unwritten()

    async def retry_unwritten(self) -> None:
        for job_id, run in list(self.unwritten.items()):
            if await self.flush(run):
                self.unwritten.pop(job_id, None)
            else:
                return  # still refused: try again next turn
