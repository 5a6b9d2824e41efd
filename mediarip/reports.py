"""What the admin panel shows: sessions and their jobs, storage, the error log.

Session ids are bearer secrets: the ``mrip_session`` cookie *is* the id. The admin needs to
tell sessions apart, not to hold their cookies (a page that lists them would hand every
visitor's cookie to anyone who can read that page), so the panel sees a stand-in: the first 16
hex digits of an HMAC of the id under the server secret. It is stable, so the panel can ask
for one session's jobs by it, and it cannot be turned back into the cookie.

The error log is written by :func:`error_log_writer`, which the download service calls with
each job that ends ``failed``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import shutil
from pathlib import Path

import attrs
import trio

from .engine import DownloadService, FailureSink
from .models import Job, JobError, utcnow
from .store import ErrorEntry, Store

__all__ = [
    "AdminReports",
    "DiskUsage",
    "ErrorView",
    "SessionNotFound",
    "SessionView",
    "StorageReport",
    "error_log_writer",
]


class SessionNotFound(LookupError):
    """No such session."""


@attrs.frozen
class SessionView:
    id: str  # the stand-in, never the cookie
    created_at: dt.datetime | None
    last_seen: dt.datetime | None
    jobs: dict[str, int]  # status -> how many
    bytes: int


@attrs.frozen
class DiskUsage:
    total: int
    used: int
    free: int


@attrs.frozen
class StorageReport:
    disk: DiskUsage  # of the filesystem that holds the downloads folder
    jobs: dict[str, int]  # status -> how many, over every session
    files_bytes: int  # the finished files the jobs point to
    sessions: list[SessionView]


@attrs.frozen
class ErrorView:
    at: dt.datetime
    job_id: str
    session_id: str  # the stand-in
    url: str
    code: str
    message: str
    #: The whole text of the failure (what yt-dlp or ffmpeg said, server paths included).
    detail: str | None = None


class AdminReports:
    def __init__(self, store: Store, downloads: DownloadService, secret: bytes) -> None:
        self._store = store
        self._downloads = downloads
        self._secret = secret

    def public_id(self, session_id: str) -> str:
        """The stand-in the panel sees for a session id."""
        digest = hmac.new(self._secret, b"session:" + session_id.encode(), hashlib.sha256)
        return digest.hexdigest()[:16]

    async def sessions(self) -> list[SessionView]:
        """Every session, most recently seen first (and sessions gone that still own jobs)."""
        return [
            SessionView(self.public_id(s.id), s.created_at, s.last_seen, s.jobs, s.bytes)
            for s in await self._store.session_summaries()
        ]

    async def session_jobs(self, public_id: str) -> list[Job]:
        """The jobs of the session shown as ``public_id``, newest first, as they are now."""
        for summary in await self._store.session_summaries():
            if hmac.compare_digest(self.public_id(summary.id).encode(), public_id.encode()):
                return await self._downloads.list_jobs(summary.id)
        raise SessionNotFound(public_id)

    async def storage(self) -> StorageReport:
        folder = self._downloads.downloads_dir
        disk = await trio.to_thread.run_sync(_disk_usage, folder)
        sessions = await self.sessions()
        return StorageReport(
            disk,
            await self._store.job_counts(),
            sum(s.bytes for s in sessions),
            sessions,
        )

    async def errors(self, limit: int) -> list[ErrorView]:
        """The newest ``limit`` failures, newest first."""
        return [
            ErrorView(
                e.at, e.job_id, self.public_id(e.session_id), e.url, e.code, e.message, e.detail
            )
            for e in await self._store.list_errors(limit)
        ]

    async def clear_errors(self) -> int:
        with trio.CancelScope(shield=True):
            removed = await self._store.delete_errors()
        return removed


def error_log_writer(store: Store) -> FailureSink:
    """The download service's ``on_failure``: one error log entry per failed job."""

    async def record_failure(job: Job, detail: str | None = None) -> None:
        error = job.error or JobError("unknown", "The job failed.")
        entry = ErrorEntry(
            at=job.finished_at or utcnow(),
            job_id=job.id,
            session_id=job.session_id,
            url=job.url,
            code=error.code,
            message=error.message,
            detail=detail,
        )
        await store.insert_error(entry)

    return record_failure


def _disk_usage(folder: Path) -> DiskUsage:
    usage = shutil.disk_usage(folder)
    return DiskUsage(usage.total, usage.used, usage.free)
