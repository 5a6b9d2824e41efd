"""The purge: old finished jobs and their files, idle sessions, and, in privacy mode, what a
session leaves behind. One function does the work (:func:`run_purge`); the schedule and the
admin's "purge now" both call it, through :class:`PurgeSchedule`, one run at a time.

What goes, each run (``now`` is the run's time):

- finished jobs (completed, failed, cancelled) whose ``finished_at`` is older than
  ``purge.max_age_minutes``, with their files, also those in subfolders an output template
  made, and the folders left empty. A playlist goes as a whole, parent and children together,
  once the parent has finished that long ago, and never while one of its children is active;
  a child is not taken from its playlist on its own. Removal goes through the download
  service, like a person's delete, so every open page gets a ``job_removed`` event, and a job
  that a retry restarted since it was chosen is left alone;
- sessions idle for longer than ``session.timeout_hours`` that have no job left, and their
  cookies.txt;
- in ``purge.privacy_mode``: error log entries older than ``purge.privacy_retention_minutes``,
  and the sessions idle for that long (their row and cookies.txt; not while a job of theirs is
  active). Their finished jobs stay until their own age comes; the browser that owned them is
  then a stranger to them, which is the point of privacy mode.

Active jobs are never touched.

The schedule. ``purge.schedule`` is a cron expression in the server's local time (UTC in the
container image). The next time it fires is computed from the wall clock with croniter, but
the wait is a ``trio.sleep`` of the seconds until then, so trio's mock clock can drive the
schedule in tests (they pass a wall clock that follows it). A run that fails is logged with its
exception, and the schedule carries on to its next time; ``purge.enabled: false`` makes the
task wait for a settings change, doing nothing. A settings change wakes the task, which
computes its next time afresh.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import attrs
import trio
from croniter import CroniterError, croniter

from .config import Settings
from .cookies import cookie_path, remove_cookies
from .engine import DownloadService
from .models import ACTIVE_STATUSES, TERMINAL_STATUSES, Job, JobKind, utcnow
from .store import Store

__all__ = [
    "PurgeContext",
    "PurgeReport",
    "PurgeSchedule",
    "local_now",
    "run_purge",
]

log = logging.getLogger("mediarip.purge")


class PurgeContext(Protocol):
    """What the purge works on (``Services`` is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...

    @property
    def downloads(self) -> DownloadService: ...


@attrs.frozen
class PurgeReport:
    """What a run removed: jobs, their files and bytes, sessions, error log entries."""

    jobs: int = 0
    files: int = 0
    bytes: int = 0
    sessions: int = 0
    errors: int = 0


def local_now() -> dt.datetime:
    """The wall clock, in local time with its offset (cron schedules are local)."""
    return dt.datetime.now().astimezone()


# -- one run ------------------------------------------------------------------------------------


async def run_purge(context: PurgeContext, now: dt.datetime | None = None) -> PurgeReport:
    """Remove what has aged out at ``now`` (default: the current time). Each step is complete
    on its own, so a run cancelled half-way leaves a consistent state."""
    now = utcnow() if now is None else now
    settings = context.settings
    purge = settings.purge
    doomed = await _aged_jobs(context.store, now - dt.timedelta(minutes=purge.max_age_minutes))
    removal = await context.downloads.remove_jobs(doomed)
    if removal.kept:
        log.warning("purge: kept %d job(s) whose file could not be removed", len(removal.kept))
    store = context.store
    gone = await store.delete_idle_sessions(
        now - dt.timedelta(hours=settings.session.timeout_hours)
    )
    errors = 0
    if purge.privacy_mode:
        retention = now - dt.timedelta(minutes=purge.privacy_retention_minutes)
        gone += await store.delete_idle_sessions(retention, unless_jobs_in=ACTIVE_STATUSES)
        errors = await store.delete_errors(before=retention)
    await _remove_cookie_files(Path(settings.server.data_dir), gone)
    report = PurgeReport(removal.jobs, removal.files, removal.bytes, len(set(gone)), errors)
    log.log(
        logging.INFO if report != PurgeReport() else logging.DEBUG,
        "purge: removed %d job(s), %d file(s) (%d bytes), %d session(s), %d error log entries",
        report.jobs,
        report.files,
        report.bytes,
        report.sessions,
        report.errors,
    )
    return report


async def _aged_jobs(store: Store, cutoff: dt.datetime) -> list[Job]:
    """The finished jobs to remove: single jobs, and whole playlists whose children are all
    finished (children first, the parent last, as a person's delete does)."""
    old = await store.list_jobs_finished_before(cutoff, TERMINAL_STATUSES)
    old_ids = {job.id for job in old}
    doomed: list[Job] = []
    for job in old:
        if job.kind is JobKind.PLAYLIST:
            children = await store.list_jobs(parent_id=job.id)
            if not any(child.status in ACTIVE_STATUSES for child in children):
                doomed.extend([*children, job])
        elif job.parent_id is None:
            doomed.append(job)
        elif job.parent_id not in old_ids and await store.get_job(job.parent_id) is None:
            doomed.append(job)  # a child whose playlist is gone already
    return doomed


async def _remove_cookie_files(data_dir: Path, session_ids: Iterable[str]) -> None:
    def remove_all() -> None:
        for session_id in set(session_ids):
            if session_id.startswith("user:"):
                continue  # a user's cookies.txt lives as long as the user (issue 14)
            remove_cookies(cookie_path(data_dir, session_id))

    await trio.to_thread.run_sync(remove_all)


# -- the schedule -------------------------------------------------------------------------------


class PurgeSchedule:
    """Runs :func:`run_purge` on ``purge.schedule`` (:meth:`run`, a task in the root nursery)
    and on demand (:meth:`run_now`), never two runs at once."""

    def __init__(
        self, context: PurgeContext, *, wall_clock: Callable[[], dt.datetime] = local_now
    ) -> None:
        self._context = context
        self._wall_clock = wall_clock
        self._lock = trio.Lock()
        self._rescheduled = trio.Event()
        #: When the schedule fires next (None: purge disabled, or the schedule is unusable).
        self.next_run: dt.datetime | None = None
        #: What the last run, scheduled or not, removed.
        self.last_report: PurgeReport | None = None
        #: When the schedule last fired, and how many times so far (failed runs included).
        self.last_run: dt.datetime | None = None
        self.scheduled_runs = 0

    def reschedule(self, _settings: Settings | None = None) -> None:
        """The settings changed: compute the next time afresh (a settings listener)."""
        self._rescheduled.set()

    async def run_now(self, now: dt.datetime | None = None) -> PurgeReport:
        """One run, now, whatever ``purge.enabled`` says (the admin asked for it)."""
        async with self._lock:
            report = await run_purge(self._context, now)
        self.last_report = report
        return report

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The scheduled task: runs until cancelled; a failed run never ends it. Reports
        itself started once it knows its first time (:attr:`next_run`)."""
        while True:
            self._rescheduled = trio.Event()
            fire = self.next_run = self._next_fire()
            task_status.started()
            task_status = trio.TASK_STATUS_IGNORED
            if fire is None:
                await self._rescheduled.wait()
            elif await self._sleep_until(fire):
                self.last_run = fire
                await self._run_logged()

    def _next_fire(self) -> dt.datetime | None:
        purge = self._context.settings.purge
        if not purge.enabled:
            return None
        start = self._wall_clock()
        # Never the same time twice, even if the wall clock is a little behind trio's.
        if self.last_run is not None and self.last_run >= start:
            start = self.last_run
        try:
            fire: dt.datetime = croniter(purge.schedule, start).get_next(dt.datetime)
        except (CroniterError, ValueError):
            log.exception(
                "purge.schedule %r cannot be used; the purge waits for a new one", purge.schedule
            )
            return None
        return fire

    async def _sleep_until(self, fire: dt.datetime) -> bool:
        """Sleep (trio's clock) until the wall clock reaches ``fire``; False if the settings
        changed first."""
        delay = max(0.0, (fire - self._wall_clock()).total_seconds())
        with trio.move_on_after(delay) as sleep:
            await self._rescheduled.wait()
        return sleep.cancelled_caught

    async def _run_logged(self) -> None:
        try:
            await self.run_now(self._wall_clock())
        except Exception:
            log.exception("the scheduled purge failed; it runs again at its next time")
        finally:
            self.scheduled_runs += 1
