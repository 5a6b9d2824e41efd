"""The download engine: yt-dlp jobs under trio. It knows nothing of HTTP."""

from .errors import UserFacingError
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
    "FailureSink",
    "JobNotFound",
    "ProbeFailed",
    "Removal",
    "StopReason",
    "UserFacingError",
    "check_url",
]
