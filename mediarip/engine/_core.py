"""What every part of the download service shares: its state, its event sink, and the lookups
and checks each part needs. The parts (:mod:`.pausing`, :mod:`.removal`, :mod:`.probing`, and
:mod:`.service` for the rest) are mixins over :class:`ServiceCore`, composed into
:class:`~.service.DownloadService`: one object, one nursery, its code cut by concern."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs
import trio

from ..config import Settings
from ..cookies import cookie_path
from ..models import Job, JobError, JobStatus, Scope, in_scope
from ..store import Store
from . import options
from .events import EventSink, JobChanged, JobEvent
from .forgotten import Forgotten
from .netguard import check_url
from .playlists import Playlists
from .progress import JobRun
from .refusals import AddressBlocked, Conflict, JobNotFound
from .remote import Dispatch, RemoteRun, RemoteTasks
from .tasks import FailureSink, JobTasks, RunHooks

__all__ = ["ServiceCore"]


class ServiceCore:
    """The service's state and shared helpers (see the module's docstring)."""

    def __init__(
        self,
        store: Store,
        on_event: EventSink,
        settings: Settings,
        nursery: trio.Nursery,
        on_failure: FailureSink | None = None,
        *,
        hooks: RunHooks | None = None,
        dispatch: Dispatch | None = None,
    ) -> None:
        self._store = store
        self._on_event = on_event
        self._settings = settings
        self._playlists = Playlists(store, self._emit, nursery)
        self._tasks: JobTasks | RemoteTasks
        if dispatch is None:
            self._tasks = JobTasks(
                store,
                self._emit,
                lambda: self._settings,
                nursery,
                self._playlists,
                on_failure,
                hooks,
            )
        else:  # a web node of a cluster: the jobs run in the workers
            self._tasks = RemoteTasks(
                store, self._emit, lambda: self._settings, dispatch, settings.database.lease_seconds
            )
        self._probe_threads = trio.CapacityLimiter(settings.downloads.max_probes)
        self._paused_queues: set[str] = set()
        #: Called after a queue is paused or started (a cluster's web node tells the others).
        self.on_queues_changed: Callable[[], None] = lambda: None
        self._forgotten = Forgotten()
        self._accepting = True
        #: Bumped whenever a job visibly changes, so a cached listing knows it went stale.
        self.revision = 0

    def _emit(self, event: JobEvent) -> None:
        self.revision += 1
        self._on_event(event)

    @property
    def downloads_dir(self) -> Path:
        return Path(self._settings.downloads.output_dir)

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

    # -- helpers ------------------------------------------------------------------------------

    def _runs(self) -> list[JobRun | RemoteRun]:
        """The jobs waiting or running: here, or anywhere in the cluster on a web node."""
        runs: list[JobRun | RemoteRun] = [*self._tasks.runs.values()]
        return runs

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

    def _busy(self, job: Job) -> bool:
        """Whether the job, or a job of its playlist, is waiting or running now."""
        if job.id in self._tasks.runs:
            return True
        playlist = self._playlists.get(job.id)
        return playlist is not None and any(
            child in self._tasks.runs for child in playlist.children
        )

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
