"""The download engine: yt-dlp jobs under trio. It knows nothing of HTTP."""

from .errors import UserFacingError
from .events import EventSink, JobChanged, JobEvent, JobRemoved
from .netguard import check_url
from .service import (
    AddressBlocked,
    Conflict,
    DownloadService,
    FailureSink,
    JobNotFound,
    ProbeFailed,
    Removal,
    StopReason,
)

__all__ = [
    "AddressBlocked",
    "Conflict",
    "DownloadService",
    "EventSink",
    "FailureSink",
    "JobChanged",
    "JobEvent",
    "JobNotFound",
    "JobRemoved",
    "ProbeFailed",
    "Removal",
    "StopReason",
    "UserFacingError",
    "check_url",
]
