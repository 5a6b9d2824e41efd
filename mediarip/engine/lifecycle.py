"""The one place that decides statuses: what a job may do next, and what a playlist shows.

A single job moves ``queued -> extracting -> downloading -> postprocessing -> completed``, or
ends ``failed`` / ``cancelled`` from any active status; ``retry`` takes a failed or cancelled
job back to ``queued``. A playlist parent never runs a download of its own once expanded:
its status and progress are derived from its children by :func:`playlist_summary`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..models import ACTIVE_STATUSES, JobStatus

__all__ = ["RETRYABLE_STATUSES", "playlist_summary"]

RETRYABLE_STATUSES = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})

# While children are active, the parent shows the most advanced phase any child is in.
_ACTIVE_ORDER = (
    JobStatus.DOWNLOADING,
    JobStatus.POSTPROCESSING,
    JobStatus.EXTRACTING,
    JobStatus.QUEUED,
)


def playlist_summary(children: Iterable[tuple[JobStatus, float]]) -> tuple[JobStatus, float]:
    """The status and progress (0-100) of a playlist with these children.

    Active while any child is active; once all have ended: ``completed`` if none failed and
    at least one completed, ``failed`` if any failed, ``cancelled`` if every child was."""
    statuses: list[JobStatus] = []
    total = 0.0
    for status, progress in children:
        statuses.append(status)
        total += 100.0 if status is JobStatus.COMPLETED else progress
    if not statuses:
        return JobStatus.QUEUED, 0.0
    progress = round(total / len(statuses), 1)
    active = set(statuses) & ACTIVE_STATUSES
    if active:
        return next(s for s in _ACTIVE_ORDER if s in active), progress
    if JobStatus.PAUSED in statuses:
        return JobStatus.PAUSED, progress
    if JobStatus.FAILED in statuses:
        return JobStatus.FAILED, progress
    if JobStatus.COMPLETED in statuses:
        return JobStatus.COMPLETED, 100.0
    return JobStatus.CANCELLED, progress
