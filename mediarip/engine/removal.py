"""Removing jobs: one by one (``delete``), in bulk (``clear``), for the purge
(``remove_jobs``), and the undo of a removal that kept the files (``restore``).

Each job's file goes first, then the rows, then a :class:`~.events.JobRemoved` per job. A file
that cannot be removed keeps its job (and its playlist's parent), so nothing is left on disk
that no row points to any more, and a later try can finish the work.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import attrs
import trio

from ..models import ACTIVE_STATUSES, TERMINAL_STATUSES, Job, JobKind, JobStatus, Scope
from . import paths
from ._core import ServiceCore
from .events import JobChanged, JobRemoved
from .progress import StopReason
from .refusals import Conflict, JobNotFound

__all__ = ["Removal", "Removals"]

log = logging.getLogger("mediarip.engine")


@attrs.frozen
class Removal:
    """What removing jobs did: jobs and files removed, bytes freed, and the jobs kept because
    their file could not be removed."""

    jobs: int = 0
    files: int = 0
    bytes: int = 0
    kept: tuple[str, ...] = ()


class Removals(ServiceCore):
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


def _file_names(job: Job) -> list[str]:
    """Every file of a job: its main one and the others (chapters, subtitles)."""
    names = [f.name for f in job.files]
    if job.filename and job.filename not in names:
        names.insert(0, job.filename)
    return names
