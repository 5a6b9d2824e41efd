"""Playlist bookkeeping: each parent's live copy, derived from what its children do.

A playlist parent runs no download of its own once expanded; its status and progress follow
from its children's (:func:`~.lifecycle.playlist_summary`). This module keeps, per parent, the
last status and progress of every child, recomputes the parent when a child moves, publishes
the parent's change at once and stores it in a task of its own: a write that runs later stores
the state as it is *then*, so two quick changes can never be stored in the wrong order.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio

from ..models import TERMINAL_STATUSES, Job, JobError, JobKind, JobStatus, new_job_id, utcnow
from ..store import StorageError, Store
from .events import EventSink, JobChanged
from .lifecycle import playlist_summary
from .worker import PlaylistFound

#: Seconds between tries of a write the data folder refused (a full disk).
STORAGE_RETRY_INTERVAL = 2.0

__all__ = ["Playlist", "Playlists", "children_of"]


@attrs.define
class Playlist:
    """A playlist parent's live copy and what it knows of its children."""

    job: Job
    children: dict[str, tuple[JobStatus, float]]


def children_of(parent: Job, found: PlaylistFound) -> list[Job]:
    """The child jobs of a playlist the worker found: each item, with the parent's choices."""
    return [
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


class Playlists:
    """The live playlists of one download service."""

    def __init__(self, store: Store, emit: EventSink, nursery: trio.Nursery) -> None:
        self._store = store
        self._emit = emit
        self._nursery = nursery
        self._playlists: dict[str, Playlist] = {}

    def get(self, parent_id: str) -> Playlist | None:
        return self._playlists.get(parent_id)

    def forget(self, parent_id: str) -> None:
        self._playlists.pop(parent_id, None)

    def track(self, parent: Job, children: list[Job]) -> Playlist:
        """A parent that has just been expanded into ``children`` (all queued)."""
        playlist = Playlist(parent, {child.id: (JobStatus.QUEUED, 0.0) for child in children})
        self._playlists[parent.id] = playlist
        return playlist

    async def load(self, parent_id: str) -> Playlist | None:
        if parent_id in self._playlists:
            return self._playlists[parent_id]
        parent = await self._store.get_job(parent_id)
        if parent is None:
            return None
        children = await self._store.list_jobs(parent_id=parent_id)
        playlist = Playlist(parent, {c.id: (c.status, c.progress) for c in children})
        self._playlists[parent_id] = playlist
        return playlist

    def child_progress(self, child: Job) -> None:
        playlist = self._playlists.get(child.parent_id or "")
        if playlist is None:
            return
        playlist.children[child.id] = (child.status, child.progress)
        _, progress = playlist_summary(playlist.children.values())
        if progress != playlist.job.progress:
            playlist.job = attrs.evolve(playlist.job, progress=progress)
            self._emit(JobChanged(playlist.job, {"progress": progress}, progress_only=True))

    def child_status(self, child: Job) -> None:
        playlist = self._playlists.get(child.parent_id or "")
        if playlist is None:
            return
        playlist.children[child.id] = (child.status, child.progress)
        self._recompute(playlist)

    async def child_removed(self, child: Job) -> None:
        playlist = await self.load(child.parent_id or "")
        if playlist is None:
            return
        playlist.children.pop(child.id, None)
        if playlist.children:
            self._recompute(playlist)

    def _recompute(self, playlist: Playlist) -> None:
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
        self._emit(JobChanged(playlist.job, changes))
        self._nursery.start_soon(self._write, playlist.job.id)

    async def _write(self, parent_id: str) -> None:
        """Store the parent's derived state as it is when the write runs (see the module).
        While the data folder takes no writes, try again every few seconds."""
        while True:
            playlist = self._playlists.get(parent_id)
            if playlist is None:
                return
            job = playlist.job
            try:
                with trio.CancelScope(shield=True):
                    await self._store.update_job(
                        parent_id,
                        status=job.status,
                        progress=job.progress,
                        finished_at=job.finished_at,
                        error=job.error,
                    )
                return
            except StorageError:
                await trio.sleep(STORAGE_RETRY_INTERVAL)


def expansion(parent: Job, found: PlaylistFound) -> dict[str, Any]:
    """The changes that turn a job into a playlist parent."""
    return {
        "kind": JobKind.PLAYLIST,
        "status": JobStatus.QUEUED,
        "title": parent.title or found.title,
        "thumbnail": parent.thumbnail or found.thumbnail,
        "total_bytes": None,
    }


def _playlist_error(playlist: Playlist) -> JobError | None:
    failed = sum(1 for status, _ in playlist.children.values() if status is JobStatus.FAILED)
    if not failed:
        return None
    return JobError(
        "playlist_items_failed",
        f"{failed} of {len(playlist.children)} items failed. Retry the playlist to retry them.",
    )
