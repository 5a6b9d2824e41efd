"""What runs in a job's worker thread: one fresh ``YoutubeDL``, its hooks, and the result.

Everything here is synchronous and blocking; the service calls :func:`run_job` through
``trio.to_thread.run_sync`` and never touches these objects from the trio side, except for the
thread-safe :class:`~mediarip.engine.ytdl.CancelToken` and the ``report`` callback, which must
not block (the service passes one that hands the report to trio with ``run_sync_soon``).

Reports are throttled here, in the thread, so a fast download costs the event loop a handful of
wake-ups a second however often yt-dlp calls its hooks: progress goes out when it moved by
:data:`REPORT_STEP` percent or :data:`REPORT_INTERVAL` seconds passed; a change of phase always.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from ..download_options import DownloadOptions
from ..models import JobStatus, MediaType, PlaylistEntry
from . import paths
from .archive import archive_key_of
from .errors import UserFacingError, refuse_non_media
from .netguard import NetworkPolicy
from .postprocess import apply_options
from .ytdl import CancelToken, base_params, open_youtubedl, thumbnail_of

__all__ = [
    "Downloaded",
    "InfoFound",
    "PhaseChanged",
    "PlaylistFound",
    "ProgressReport",
    "WorkRequest",
    "format_options",
    "parse_playlist_items",
    "run_job",
]

REPORT_STEP = 0.5  # percent
#: Seconds. Reads come every ~0.1 s (ytdl.READ_SECONDS) but unevenly, 0.1 or 0.2 s as the data
#: arrives: a report comes at the first read 0.12 s after the last one, so ~0.2 s apart. At
#: 0.15 a short read followed by a long one made 0.3 s gaps (p50 250 ms, bench section 7).
REPORT_INTERVAL = 0.12


@attrs.frozen
class WorkRequest:
    job_id: str
    url: str
    work_dir: Path
    template: str
    media_type: MediaType
    format_id: str | None
    quality: str | None
    output_format: str | None
    playlist_items: str | None
    expand_playlist: bool
    cookie_file: Path | None
    socket_timeout: float
    rate_limit: int | None
    extractor_args: dict[str, Any]
    extra_options: dict[str, Any]
    network: NetworkPolicy
    options: DownloadOptions = attrs.field(factory=DownloadOptions)
    sponsorblock_api: str = "https://sponsor.ajay.app"
    #: The job's own folder inside the downloads folder ("" or "name/"), for chapter files.
    folder_prefix: str = ""


@attrs.frozen
class ProgressReport:
    progress: float
    downloaded_bytes: int | None
    total_bytes: int | None
    speed: float | None
    eta: int | None


@attrs.frozen
class PhaseChanged:
    status: JobStatus


@attrs.frozen
class InfoFound:
    title: str | None
    thumbnail: str | None


@attrs.frozen
class Downloaded:
    path: Path
    title: str | None
    thumbnail: str | None
    #: yt-dlp's download-archive key of what was downloaded (``"youtube <id>"``), if known.
    archive_key: str | None = None
    #: The other files the job made beside the main one (sidecar subtitles, chapter parts).
    others: tuple[Path, ...] = ()


@attrs.frozen
class PlaylistFound:
    title: str | None
    thumbnail: str | None
    entries: list[PlaylistEntry]


Report = ProgressReport | PhaseChanged | InfoFound


def parse_playlist_items(spec: str | None) -> set[int] | None:
    """``"1-3,5"`` -> {1, 2, 3, 5}; None means every item."""
    if not spec:
        return None
    chosen: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        low, high = int(first), int(last or first)
        if high < low or high - low > 10_000:
            raise UserFacingError(
                "bad_playlist_items", f"playlist_items: {part!r} is not a valid range"
            )
        chosen.update(range(low, high + 1))
    return chosen


def format_options(
    media_type: MediaType, format_id: str | None, quality: str | None, output_format: str | None
) -> dict[str, Any]:
    """yt-dlp's format selection and post-processing for what the person asked for."""
    if media_type is MediaType.AUDIO:
        codec = output_format or "mp3"
        # yt-dlp reads 0-9 as a VBR quality level and larger numbers as kbit/s.
        audio_quality = quality if quality and quality.isdigit() else "0"
        return {
            "format": format_id or "bestaudio/best",
            "postprocessors": [
                {
                    "key": "FFmpegExtractAudio",
                    "preferredcodec": codec,
                    "preferredquality": audio_quality,
                }
            ],
        }
    if format_id:
        # "+bestaudio" is dropped by yt-dlp when the chosen format already carries audio.
        selector = f"{format_id}+bestaudio/{format_id}"
    elif quality and quality.isdigit():
        h = int(quality)
        selector = f"bv*[height<={h}]+ba/b[height<={h}]/bv*+ba/b"
    elif quality == "worst":
        selector = "wv*+wa/w"
    else:
        selector = "bv*+ba/b"
    options: dict[str, Any] = {"format": selector}
    if output_format:
        options["merge_output_format"] = output_format
        options["format_sort"] = {"mp4": ["ext:mp4:m4a"], "webm": ["ext:webm:webm"]}.get(
            output_format, []
        )
        # webm can only hold VP8/9/AV1 with Vorbis/Opus, so it may need re-encoding;
        # mp4 and mkv take what the sources have, so remuxing (no re-encode) is enough.
        key = "FFmpegVideoConvertor" if output_format == "webm" else "FFmpegVideoRemuxer"
        options["postprocessors"] = [{"key": key, "preferedformat": output_format}]
    return options


class _Reporter:
    """The progress and phase hooks, throttled, merged over the streams of one job."""

    def __init__(self, token: CancelToken, report: Callable[[Report], None]) -> None:
        self._token = token
        self._report = report
        self._phase: JobStatus | None = None
        self._last_progress = -100.0
        self._last_time = 0.0

    def phase(self, status: JobStatus) -> None:
        if status is not self._phase:
            self._phase = status
            self._report(PhaseChanged(status))

    def progress_hook(self, d: dict[str, Any]) -> None:
        # Called by yt-dlp between reads: the natural place to notice a cancel.
        self._token.raise_if_cancelled()
        if d.get("status") != "downloading":
            return
        self.phase(JobStatus.DOWNLOADING)
        downloaded = d.get("downloaded_bytes")
        total = d.get("total_bytes") or d.get("total_bytes_estimate")
        if total and downloaded is not None:
            fraction = min(downloaded / total, 1.0)
        elif d.get("fragment_count"):
            fraction = min((d.get("fragment_index") or 0) / d["fragment_count"], 1.0)
        else:
            fraction = 0.0
        # Separate video and audio streams are downloaded one after the other: count each as
        # its share of the whole so the bar never runs backwards.
        info = d.get("info_dict") or {}
        parts = info.get("requested_formats") or ()
        if len(parts) > 1:
            ids = [p.get("format_id") for p in parts]
            index = ids.index(info.get("format_id")) if info.get("format_id") in ids else 0
            fraction = (index + fraction) / len(parts)
        percent = round(fraction * 100, 1)
        now = time.monotonic()
        # A stream's last byte is always reported: the bar reaches its end when the transfer
        # does, not up to REPORT_INTERVAL earlier (and "last byte -> completed" is measurable).
        last_byte = bool(total) and downloaded is not None and downloaded >= total
        if (
            not last_byte
            and percent - self._last_progress < REPORT_STEP
            and now - self._last_time < REPORT_INTERVAL
        ):
            return
        self._last_progress, self._last_time = percent, now
        speed, eta = d.get("speed"), d.get("eta")
        self._report(
            ProgressReport(
                progress=percent,
                downloaded_bytes=int(downloaded) if downloaded is not None else None,
                total_bytes=int(total) if total else None,
                speed=float(speed) if speed else None,
                eta=int(eta) if eta is not None else None,
            )
        )

    def postprocessor_hook(self, d: dict[str, Any]) -> None:
        self._token.raise_if_cancelled()
        # MoveFiles runs for every download; it is bookkeeping, not post-processing.
        if d.get("status") == "started" and d.get("postprocessor") != "MoveFiles":
            self.phase(JobStatus.POSTPROCESSING)


def run_job(
    request: WorkRequest, token: CancelToken, report: Callable[[Report], None]
) -> Downloaded | PlaylistFound:
    """Extract ``request.url`` and download it into ``request.work_dir``.

    Returns :class:`PlaylistFound` without downloading when the URL is a playlist and
    ``request.expand_playlist`` is set. Raises ``DownloadCancelled`` once ``token`` is
    cancelled, and any yt-dlp or OS error as is (the service describes it)."""
    paths.make_folder(request.work_dir)
    reporter = _Reporter(token, report)
    produced: list[str] = []
    params = base_params(
        socket_timeout=request.socket_timeout,
        cookie_file=_job_cookie_copy(request),
        extractor_args=request.extractor_args,
        extra_options=request.extra_options,
    )
    params.update(
        format_options(
            request.media_type, request.format_id, request.quality, request.output_format
        )
    )
    params.update(
        {
            "paths": {"home": str(request.work_dir), "temp": str(request.work_dir)},
            "outtmpl": {"default": request.template},
            "trim_file_name": 180,
            "windowsfilenames": True,
            "updatetime": False,
            "continuedl": True,
            # yt-dlp's adaptive read size (about one read a second) is kept: it is the fastest
            # on quick links, and a cancel does not wait for a read to end (see ytdl.py).
            "progress_hooks": [reporter.progress_hook],
            "postprocessor_hooks": [reporter.postprocessor_hook],
            "post_hooks": [produced.append],
            # A playlist item is either its own URL (no playlist) or item N of the playlist's.
            "noplaylist": not request.expand_playlist and not request.playlist_items,
        }
    )
    if not request.expand_playlist and request.playlist_items:
        params["playlist_items"] = request.playlist_items
    if request.rate_limit:
        params["ratelimit"] = request.rate_limit
    apply_options(
        params,
        request.options,
        media_type=request.media_type,
        output_format=request.output_format,
        sponsorblock_api=request.sponsorblock_api,
        folder_prefix=request.folder_prefix,
    )
    with open_youtubedl(params, token, request.network) as ydl:
        token.raise_if_cancelled()
        info = ydl.extract_info(request.url, download=False, process=False)
        token.raise_if_cancelled()
        if info is None:
            raise UserFacingError("no_media", "No video or audio was found at this address.")
        if info.get("_type") in ("playlist", "multi_video") and request.expand_playlist:
            return _playlist(info, request.playlist_items, request.url)
        refuse_non_media(info)
        report(InfoFound(info.get("title"), thumbnail_of(info)))
        result = ydl.process_ie_result(info, download=True)
    token.raise_if_cancelled()
    if not produced:
        raise UserFacingError("no_file", "yt-dlp finished without producing a file.")
    result = result or {}
    if result.get("_type") in ("playlist", "multi_video"):  # item N of a playlist's URL
        result = next((e for e in reversed(result.get("entries") or []) if e), {})
    main = Path(produced[-1])
    return Downloaded(
        main,
        result.get("title"),
        thumbnail_of(result),
        archive_key_of(result),
        others=_other_files(request.work_dir, main),
    )


# Left by yt-dlp while it works, or ours: never part of a finished job.
_WORKING_SUFFIXES = (".part", ".ytdl", ".temp", ".tmp")


def _other_files(work_dir: Path, main: Path) -> tuple[Path, ...]:
    """The finished files in the working folder besides ``main``, in name order."""
    found = []
    for path in sorted(work_dir.rglob("*")):
        if not path.is_file() or path == main or path.name.startswith("."):
            continue
        if path.name.endswith(_WORKING_SUFFIXES) or ".part-Frag" in path.name:
            continue
        found.append(path)
    return tuple(found)


def _job_cookie_copy(request: WorkRequest) -> str | None:
    """yt-dlp writes its cookie jar back when it ends; give it a copy so that jobs of one
    session running side by side never write the session's file at the same time."""
    if request.cookie_file is None or not request.cookie_file.is_file():
        return None
    copy = request.work_dir / ".cookies.txt"
    shutil.copyfile(request.cookie_file, copy)
    return str(copy)


def _playlist(info: dict[str, Any], items: str | None, request_url: str) -> PlaylistFound:
    chosen = parse_playlist_items(items)
    entries: list[PlaylistEntry] = []
    for index, entry in enumerate(info.get("entries") or [], start=1):
        if chosen is not None and index not in chosen:
            continue
        if not entry:
            continue
        # An item is either a reference to its own URL, or (html5 pages with several videos)
        # already extracted with no URL of its own: it is then fetched as item N of this URL.
        if entry.get("_type") in ("url", "url_transparent") and entry.get("url"):
            url = entry["url"]
        else:
            url = entry.get("webpage_url") or request_url
        entries.append(
            PlaylistEntry(
                index=index, title=entry.get("title"), url=url, duration=entry.get("duration")
            )
        )
    if not entries:
        raise UserFacingError(
            "empty_playlist",
            "The playlist has no items" + (" matching playlist_items." if chosen else "."),
        )
    return PlaylistFound(info.get("title"), thumbnail_of(info), entries)
