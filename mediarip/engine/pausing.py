"""The paused queue: jobs held (``paused``) until started, one by one or a whole queue, and
queues paused across restarts (their session ids in the ``paused_queues`` meta key)."""

from __future__ import annotations

import json

import attrs
import trio

from ..models import ACTIVE_STATUSES, Job, JobKind, JobStatus, Scope
from ._core import ServiceCore
from .events import JobChanged
from .progress import JobRun, StopReason
from .refusals import Conflict
from .remote import RemoteRun

__all__ = ["PAUSED_QUEUES", "PausedQueue"]

#: The meta key holding the paused queues (session ids, "*" for everyone's), kept across
#: restarts like the paused jobs themselves.
PAUSED_QUEUES = "paused_queues"


class PausedQueue(ServiceCore):
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
        await self._store.set_meta(PAUSED_QUEUES, json.dumps(sorted(self._paused_queues)))
        self.on_queues_changed()
        runs: list[JobRun | RemoteRun] = [
            run for run in self._runs() if session_id is None or run.job.session_id == session_id
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
        await self._store.set_meta(PAUSED_QUEUES, json.dumps(sorted(self._paused_queues)))
        self.on_queues_changed()
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

    async def load_paused_queues(self) -> None:
        """The queues paused when the server stopped (at start, before recovery)."""
        stored = await self._store.get_meta(PAUSED_QUEUES)
        self._paused_queues = set(json.loads(stored)) if stored else set()
