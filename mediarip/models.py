"""The values the whole app talks about: jobs, their statuses, requests and probe results.

Everything here is a frozen attrs class or an enum, with behaviour kept in plain functions
elsewhere. One cattrs converter (:data:`converter`) turns them into JSON-able dicts and back;
the API, the store and the broker all use it, so a field means the same thing everywhere.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import attrs
import cattrs
from cattrs.preconf.json import make_converter

from .download_options import DownloadOptions, JobFile, check_container, register_hooks
from .rules import PRIVATE, rules

__all__ = [
    "ACTIVE_STATUSES",
    "API_SESSION",
    "AUDIO_FORMATS",
    "PRIVATE_JOB_FIELDS",
    "TERMINAL_STATUSES",
    "VIDEO_FORMATS",
    "DownloadOptions",
    "FormatInfo",
    "Formats",
    "Job",
    "JobError",
    "JobFile",
    "JobKind",
    "JobStatus",
    "MediaType",
    "NewJob",
    "PlaylistEntry",
    "Scope",
    "UrlInfo",
    "converter",
    "in_scope",
    "job_to_api",
    "new_job_id",
    "url_field",
    "utcnow",
]


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    EXTRACTING = "extracting"
    DOWNLOADING = "downloading"
    POSTPROCESSING = "postprocessing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: Waiting to be started by hand (``downloads.autostart`` off, or paused by a person).
    PAUSED = "paused"


ACTIVE_STATUSES = frozenset(
    {JobStatus.QUEUED, JobStatus.EXTRACTING, JobStatus.DOWNLOADING, JobStatus.POSTPROCESSING}
)
TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class JobKind(enum.StrEnum):
    SINGLE = "single"
    PLAYLIST = "playlist"


class MediaType(enum.StrEnum):
    VIDEO = "video"
    AUDIO = "audio"


VIDEO_FORMATS = ("mp4", "webm", "mkv")
AUDIO_FORMATS = ("mp3", "m4a", "opus", "flac", "wav")


def utcnow() -> dt.datetime:
    """Now, in UTC, to the millisecond (what the API shows and the store keeps)."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_job_id() -> str:
    return str(uuid.uuid4())


@attrs.frozen
class JobError:
    """Why a job failed, in words a person can act on (never a traceback)."""

    code: str
    message: str


@attrs.frozen
class Job:
    """A download as the app knows it. ``session_id`` never leaves the server."""

    #: Shown beside the fields (:func:`job_to_api`): added with the API key.
    __schema_extra__: ClassVar[dict[str, type]] = {"via_api": bool}

    id: str
    session_id: str = attrs.field(metadata=PRIVATE)
    url: str
    created_at: dt.datetime
    kind: JobKind = JobKind.SINGLE
    parent_id: str | None = None
    playlist_index: int | None = attrs.field(default=None, metadata=PRIVATE)
    title: str | None = None
    thumbnail: str | None = None
    status: JobStatus = JobStatus.QUEUED
    media_type: MediaType = MediaType.VIDEO
    format_id: str | None = None
    quality: str | None = None
    output_format: str | None = None
    playlist_items: str | None = attrs.field(default=None, metadata=PRIVATE)
    progress: float = 0.0
    downloaded_bytes: int | None = None
    total_bytes: int | None = None
    speed: float | None = None
    eta: int | None = None
    filename: str | None = None
    filesize: int | None = None
    error: JobError | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    #: What the person asked of this download beyond the format (download_options.py).
    options: DownloadOptions = attrs.field(factory=DownloadOptions)
    #: Every file the job produced (``filename`` is the main one), relative to the downloads
    #: folder: sidecar subtitles, one file per chapter.
    files: tuple[JobFile, ...] = ()
    #: The subscription whose check queued this job (None: queued by hand).
    subscription_id: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


# Fields that are the server's own business: never in an API answer or an event.
PRIVATE_JOB_FIELDS = tuple(f.name for f in attrs.fields(Job) if f.metadata.get("private"))

_URL_MAX = 2048
_FORMAT_ID = re.compile(r"^[A-Za-z0-9_.+\-/]{1,80}$")
_QUALITY = re.compile(r"^(best|worst|\d{2,4})$")
_PLAYLIST_ITEMS = re.compile(r"^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$")
#: The most items ``playlist_items`` may select (yt-dlp would list each one).
MAX_PLAYLIST_ITEMS = 10_000


def playlist_items_problem(spec: str) -> str | None:
    """What is wrong with ``"1-5,8"``-style item numbers, or None."""
    if not _PLAYLIST_ITEMS.match(spec):
        return "playlist_items: a list like '1-5,8' (1-based item numbers)"
    count = 0
    for part in spec.split(","):
        first, _, last = part.partition("-")
        low, high = int(first), int(last or first)
        if low < 1 or high < low:
            return f"playlist_items: {part!r} is not a range from a lower to a higher number"
        count += high - low + 1
    if count > MAX_PLAYLIST_ITEMS:
        return f"playlist_items: at most {MAX_PLAYLIST_ITEMS:,} items (this asks for {count:,})"
    return None


def _strip(value: str) -> str:
    return value.strip() if isinstance(value, str) else value


def _check_url(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("url: a URL is required")
    if len(value) > _URL_MAX:
        raise ValueError(f"url: longer than {_URL_MAX} characters")
    if re.search(r"[\x00-\x20\x7f]", value):
        raise ValueError("url: must not contain spaces or control characters")
    if not re.match(r"^https?://[^\s/?#]+", value, re.IGNORECASE):
        raise ValueError("url: must be an http:// or https:// address")
    try:
        host = urlsplit(value).hostname
    except ValueError as exc:  # "http://[" and other broken IPv6 literals
        raise ValueError(f"url: not a valid address ({exc})") from None
    if not host:
        raise ValueError("url: the address has no host name")
    # Refused rather than stripped: a password in a URL would be stored, listed to everyone who
    # sees the job and written to logs, and stripping it silently would download something
    # else than asked (or fail with a login error). Cookies are the way to log in.
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "url: holds a user name or password (user:password@). Remove them and upload a "
            "cookies.txt from a browser where you are logged in instead (POST /api/cookies)"
        )


def url_field() -> Any:
    """An http(s) URL given by a client: stripped, then checked (:func:`_check_url`)."""
    return attrs.field(
        validator=_check_url,
        converter=_strip,
        metadata=rules(
            maxLength=_URL_MAX,
            pattern=r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]",
            description="an http:// or https:// address",
        ),
    )


@attrs.frozen
class NewJob:
    """The body of ``POST /api/downloads``, validated once here at the edge."""

    url: str = url_field()
    media_type: MediaType = MediaType.VIDEO
    format_id: str | None = attrs.field(default=None, metadata=rules(pattern=_FORMAT_ID.pattern))
    quality: str | None = attrs.field(default=None, metadata=rules(pattern=_QUALITY.pattern))
    output_format: str | None = attrs.field(
        default=None,
        metadata=rules(
            enum=[*VIDEO_FORMATS, *AUDIO_FORMATS],
            description="one of the video formats for video, the audio ones for audio",
        ),
    )
    playlist_items: str | None = attrs.field(
        default=None, metadata=rules(pattern=_PLAYLIST_ITEMS.pattern)
    )
    options: DownloadOptions = attrs.field(factory=DownloadOptions)
    #: Add it paused: it waits until started (``POST /api/downloads/{id}/start``).
    paused: bool = False
    #: Read by the API before this class is made (presets.apply_preset): here it only
    #: documents the field; a NewJob never holds one.
    preset: str | None = attrs.field(
        default=None,
        metadata=rules(
            description=(
                "a preset's id: its fields apply under the ones given here (options one by "
                "one); left out, the default preset applies; null: no preset"
            )
        ),
    )

    def __attrs_post_init__(self) -> None:
        if self.format_id is not None and not _FORMAT_ID.match(self.format_id):
            raise ValueError("format_id: letters, digits and _ . + - / only, at most 80")
        if self.quality is not None and not _QUALITY.match(self.quality):
            raise ValueError("quality: 'best', 'worst' or a number (video height or audio kbps)")
        allowed = AUDIO_FORMATS if self.media_type is MediaType.AUDIO else VIDEO_FORMATS
        if self.output_format is not None and self.output_format not in allowed:
            raise ValueError(
                f"output_format: {self.output_format!r} is not a {self.media_type} format; "
                f"choose one of {', '.join(allowed)}"
            )
        problem = (
            playlist_items_problem(self.playlist_items) if self.playlist_items is not None else None
        )
        if problem is not None:
            raise ValueError(problem)
        check_container(self.options, self.media_type.value, self.output_format)


@attrs.frozen
class PlaylistEntry:
    index: int
    title: str | None
    url: str
    duration: float | None = None


@attrs.frozen
class UrlInfo:
    """What ``POST /api/url-info`` answers: enough to show a preview."""

    type: Literal["single", "playlist"]
    title: str | None
    duration: float | None
    thumbnail: str | None
    uploader: str | None
    is_audio_only: bool
    count: int
    entries: list[PlaylistEntry]
    #: Languages of the subtitles the site has, and of its automatic captions.
    subtitles: list[str] = attrs.Factory(list)
    automatic_captions: list[str] = attrs.Factory(list)


@attrs.frozen
class FormatInfo:
    format_id: str
    ext: str | None
    resolution: str | None
    height: int | None
    fps: float | None
    vcodec: str | None
    acodec: str | None
    filesize: int | None
    tbr: float | None
    note: str | None


@attrs.frozen
class Formats:
    """What ``GET /api/formats`` answers: the formats and the subtitle languages."""

    formats: list[FormatInfo]
    subtitles: list[str] = attrs.Factory(list)
    automatic_captions: list[str] = attrs.Factory(list)


converter: cattrs.Converter = make_converter()
# Stored and sent as ISO 8601 UTC with a "Z"-free offset ("+00:00"), to the millisecond.
converter.register_unstructure_hook(dt.datetime, lambda d: d.isoformat(timespec="milliseconds"))
converter.register_structure_hook(dt.datetime, lambda v, _: dt.datetime.fromisoformat(v))
register_hooks(converter)


#: The one session of every client that shows the API key (they share a queue).
API_SESSION = "api"

#: Whose jobs a caller sees: one session's, a few sessions' (a browser that shows the API
#: key clients' queue beside its own), or None: everyone's.
Scope = str | frozenset[str] | None


def in_scope(session_id: str, scope: Scope) -> bool:
    if scope is None:
        return True
    return session_id == scope if isinstance(scope, str) else session_id in scope


def job_to_api(job: Job) -> dict[str, Any]:
    """A Job as the API and the events show it: without its private fields, with
    ``via_api`` (added by a client with the API key)."""
    data: dict[str, Any] = converter.unstructure(job)
    data["via_api"] = job.session_id == API_SESSION
    for name in PRIVATE_JOB_FIELDS:
        del data[name]
    return data
