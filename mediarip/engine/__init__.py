"""The download engine: yt-dlp jobs under trio. It knows nothing of HTTP."""

from .errors import UserFacingError
from .netguard import check_url
from .service import (
    Conflict,
    DownloadService,
    FailureSink,
    JobNotFound,
    ProbeFailed,
    Removal,
    StopReason,
)

__all__ = [
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
