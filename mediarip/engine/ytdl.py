"""The yt-dlp side of a job: a cancellable ``YoutubeDL`` and the options every run shares.

How a job is stopped from outside its thread. yt-dlp has no cancel method; a thread cannot be
killed. What we have instead, and use together through one :class:`CancelToken`:

* the progress hook runs between buffer reads and raises ``DownloadCancelled`` once the token
  is set (yt-dlp lets that exception through unwrapped, for plain HTTP and HLS alike);
* a read blocked on a slow or stalled server fires no hook, so the token also shuts down the
  sockets of the responses this job opened: the blocked ``recv`` returns at once, and the
  retry that yt-dlp then attempts goes through :meth:`CancellableYoutubeDL.urlopen`, which
  refuses to open anything for a cancelled job;
* ffmpeg (merging, remuxing, audio extraction) runs as child processes: the token terminates
  the ones this job started. yt-dlp starts them through its ``Popen`` class, which we wrap
  once (below) to record each process against the job token of the thread that started it.

The thread then unwinds normally and the job's working folder is removed by the caller.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import yt_dlp
import yt_dlp.networking.exceptions
from yt_dlp.utils import DownloadCancelled
from yt_dlp.utils import _utils as ytdlp_utils

from ..outtmpl import cap_path
from .netguard import NetworkPolicy, guarded

__all__ = [
    "CancelToken",
    "CancellableYoutubeDL",
    "DownloadCancelled",
    "base_params",
    "open_youtubedl",
    "thumbnail_of",
]

log = logging.getLogger("mediarip.engine")


class CancelToken:
    """Thread-safe "stop this job" flag that also reaches into blocked sockets and ffmpeg."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._processes: set[subprocess.Popen[Any]] = set()
        self._responses: list[Any] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise DownloadCancelled()

    def cancel(self) -> None:
        """Set the flag and interrupt whatever the job's thread is blocked on. Idempotent;
        callable from any thread."""
        self._event.set()
        with self._lock:
            processes, responses = list(self._processes), list(self._responses)
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for response in responses:
            sock = _find_socket(response)
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed: nothing to interrupt
                    sock.shutdown(socket.SHUT_RDWR)

    def add_process(self, process: subprocess.Popen[Any]) -> None:
        with self._lock:
            self._processes.add(process)
        if self.cancelled:  # started after the cancel: stop it right away
            process.terminate()

    def discard_process(self, process: subprocess.Popen[Any]) -> None:
        with self._lock:
            self._processes.discard(process)

    def add_response(self, response: Any) -> None:
        with self._lock:
            # Keep the list short: closed responses have nothing left to interrupt.
            self._responses = [r for r in self._responses if not getattr(r, "closed", False)]
            self._responses.append(response)


def _url_of(req: Any) -> str:
    return req if isinstance(req, str) else str(getattr(req, "url", ""))


def _range_of(req: Any) -> str | None:
    headers = getattr(req, "headers", None)
    return headers.get("Range") if headers is not None else None


def _find_socket(obj: Any, depth: int = 6) -> socket.socket | None:
    """The socket under a yt-dlp response, through whichever HTTP stack made it (urllib's
    ``http.client`` or urllib3), without depending on one layout."""
    seen: set[int] = set()
    frontier = [obj]
    for _ in range(depth):
        following = []
        for item in frontier:
            if item is None or id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, socket.socket):
                return item
            for name in ("fp", "_fp", "raw", "_sock", "sock", "_connection", "connection"):
                following.append(getattr(item, name, None))
        frontier = following
    return None


_thread_token = threading.local()


@contextmanager
def job_thread(token: CancelToken) -> Iterator[None]:
    """Mark the current thread as working for the job of ``token`` (for ffmpeg tracking)."""
    previous = getattr(_thread_token, "token", None)
    _thread_token.token = token
    try:
        yield
    finally:
        _thread_token.token = previous


def _track_ffmpeg_processes() -> None:
    popen = ytdlp_utils.Popen
    if getattr(popen, "_mediarip_tracked", False):
        return
    original_init = popen.__init__
    original_wait = popen.wait

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        token = getattr(_thread_token, "token", None)
        if token is not None:
            self._mediarip_token = token
            token.add_process(self)

    def wait(self: Any, timeout: float | None = None) -> int:
        code: int = original_wait(self, timeout)
        token = getattr(self, "_mediarip_token", None)
        if token is not None:
            token.discard_process(self)
        return code

    popen.__init__ = __init__
    popen.wait = wait
    popen._mediarip_tracked = True


_track_ffmpeg_processes()


def optional_patch(install: Callable[[], None]) -> bool:
    """Apply one of the speed-ups below, which reach into yt-dlp's internals. yt-dlp is updated
    in place (``mediarip.ytdlp``): a release that renamed what one of them touches must still
    start, only without that speed-up, and the log says which. (The ffmpeg tracking above is
    not optional: cancelling relies on it.)"""
    try:
        install()
    except (AttributeError, ImportError, TypeError) as exc:
        log.warning(
            "yt-dlp %s: %s left out, it no longer fits (%r)",
            yt_dlp.version.__version__,
            install.__name__.strip("_"),
            exc,
        )
        return False
    return True


# How long one read of a download should take. yt-dlp sizes its reads to about a second of
# data (FileDownloader.best_block_size), calls the progress hook once per read, and a read of a
# throttled or slow download blocks until the whole block is there: progress came every
# ~380 ms (p95 ~1 s) whatever our own throttle said, and a cancel waited for the read. A tenth
# of a second keeps the same ramp-up (the block at most doubles or halves per read, 4 MB at
# most, so fast links read as before) with ten reads a second on slow ones; the reports stay
# throttled in the hook (worker.REPORT_INTERVAL), so the event loop sees no more of them.
READ_SECONDS = 0.1


def _read_size(elapsed_time: float, bytes: float) -> int:
    new_min = max(bytes / 2.0, 1.0)
    new_max = min(max(bytes * 2.0, 1.0), 4194304)
    if elapsed_time < 0.001:
        return int(new_max)
    return int(min(max(bytes / elapsed_time * READ_SECONDS, new_min, 16384), new_max))


def _steady_reads() -> None:
    from yt_dlp.downloader.http import HttpFD

    HttpFD.best_block_size = staticmethod(_read_size)


optional_patch(_steady_reads)


# Every YoutubeDL's request handler builds its own TLS context, and loading the CA bundle into
# it took ~38 ms of CPU per job (for http:// links too: the handler makes it up front). The
# context depends only on the handler's TLS settings, and an ``SSLContext`` may be shared by
# threads (it only wraps sockets once made), so one is built per set of settings and process.
# A yt-dlp update restarts the process, and with it the cache.
_TLS_CONTEXTS: dict[tuple[Any, ...], Any] = {}
_TLS_CONTEXTS_LOCK = threading.Lock()


def _share_tls_contexts() -> None:
    from yt_dlp.networking.common import RequestHandler

    build = RequestHandler._make_sslcontext
    if getattr(build, "_mediarip_shared", False):
        return

    def shared(self: Any, legacy_ssl_support: bool | None = None) -> Any:
        legacy = self.legacy_ssl_support if legacy_ssl_support is None else legacy_ssl_support
        key = (
            self.verify,
            legacy,
            self.prefer_system_certs,
            tuple(sorted((self._client_cert or {}).items())),
        )
        with _TLS_CONTEXTS_LOCK:  # held while one is built: the others want that same one
            context = _TLS_CONTEXTS.get(key)
            if context is None:
                context = _TLS_CONTEXTS[key] = build(self, legacy_ssl_support)
        return context

    shared._mediarip_shared = True  # type: ignore[attr-defined]
    RequestHandler._make_sslcontext = shared


optional_patch(_share_tls_contexts)


def _no_truncation_of_empty_files() -> None:
    """yt-dlp opens a download's ``.part`` file with ``O_CREAT``, locks it, then truncates it
    to empty, even when it was just made empty. On ext4 a truncation to zero arms
    ``auto_da_alloc``, which writes the whole file out when it is closed: closing a fresh
    200 MB download took 12-108 ms between its last byte and yt-dlp's "finished". A file that
    is already empty is left as it is (locked all the same); any other is truncated as before."""
    locked_file = ytdlp_utils.locked_file
    enter = locked_file.__enter__
    if getattr(enter, "_mediarip_patched", False):
        return

    def __enter__(self: Any) -> Any:
        mode = self.mode
        if "w" not in mode:
            return enter(self)
        self.mode = mode.replace("w", "a")  # "a": locked exclusively all the same, not truncated
        try:
            locked = enter(self)
        finally:
            self.mode = mode
        # Looked at once locked, as yt-dlp truncates once locked (FIFOs and /dev/null: size 0).
        if os.fstat(self.f.fileno()).st_size:
            self.f.truncate()
        return locked

    __enter__._mediarip_patched = True  # type: ignore[attr-defined]
    locked_file.__enter__ = __enter__


optional_patch(_no_truncation_of_empty_files)


def _no_unseen_progress_lines() -> None:
    """With ``noprogress`` (always ours), yt-dlp still formats its console progress line for
    every read and renders it through two output templates, then throws it away: ~11 % of
    the GIL-held time of a batch of small downloads, and per read on long ones. Only the
    "Download completed" line it logs is kept."""
    from yt_dlp.downloader.common import FileDownloader

    report = FileDownloader.report_progress
    if getattr(report, "_mediarip_patched", False):
        return

    def report_progress(self: Any, status: dict[str, Any]) -> None:
        if not self.params.get("noprogress"):
            report(self, status)
        elif status.get("status") == "finished":
            self.to_screen("[download] Download completed")

    report_progress._mediarip_patched = True  # type: ignore[attr-defined]
    FileDownloader.report_progress = report_progress


optional_patch(_no_unseen_progress_lines)

# yt-dlp builds its list of ~1,750 extractors for every YoutubeDL, through an ordered-set helper
# that is quadratic: ~300 ms of pure Python per job and per probe, holding the GIL while the
# event loop waits. The list depends only on the installed yt-dlp and ``allowed_extractors``,
# so it is built once per process (a yt-dlp update restarts the process).
_EXTRACTORS: dict[tuple[str, ...], list[tuple[str, Any]]] = {}


# The options with which yt-dlp prints what ``_forceprint`` prepares (its ``--get-*`` flags).
_PRINTING_OPTIONS = (
    "forcetitle",
    "forceid",
    "forceurl",
    "forcethumbnail",
    "forcedescription",
    "forcefilename",
    "forceduration",
    "forceformat",
    "forcejson",
)


class CancellableYoutubeDL(yt_dlp.YoutubeDL):  # type: ignore[misc]
    """A ``YoutubeDL`` that belongs to one job: it will not open a connection once the job is
    cancelled, and it registers each response so a cancel can interrupt a blocked read."""

    def __init__(self, params: dict[str, Any], token: CancelToken) -> None:
        self.cancel_token = token
        self._refused_range: tuple[str, str | None] | None = None
        super().__init__(params)

    def add_default_info_extractors(self) -> None:
        allowed = tuple(self.params.get("allowed_extractors") or ["default"])
        known = _EXTRACTORS.get(allowed)
        if known is None:
            before = set(self._ies)
            super().add_default_info_extractors()
            _EXTRACTORS[allowed] = [(k, v) for k, v in self._ies.items() if k not in before]
            return
        for key, ie in known:
            if isinstance(ie, type):
                self._ies[key] = ie
            else:  # the catch-all "unsupported URL" instance: each YoutubeDL its own
                self.add_info_extractor(type(ie)())

    def _forget_refused_range(self, req: Any) -> None:
        """Resuming a ``.part`` file that already holds every byte: the site answers the
        ``Range: bytes=<size>-`` request with 416, and yt-dlp then asks again *without* a range
        to compare the full length with the file's, finishing the download if they match. But
        its second request shares the first one's headers, Range included (yt-dlp 2026.10.26),
        so it gets 416 again and the job failed ("HTTP Error 416"). Drop the range from that
        second request: the length check then runs as meant, and nothing is downloaded again
        (the answer's body is never read)."""
        refused, self._refused_range = self._refused_range, None
        if refused is None or refused[1] is None:
            return
        url, byte_range = refused
        if _url_of(req) == url and _range_of(req) == byte_range:
            req.headers.pop("Range", None)

    def _forceprint(self, key: str, info_dict: Any) -> Any:
        # yt-dlp renders the file name and the formats, thumbnails and subtitles tables at each
        # of a download's seven stages, to print them if asked (--print, --get-title...): ~7 ms
        # of GIL-held Python per job, for nothing when nothing is to be printed (the options
        # that print are never set by us; should an admin's extra options set one, yt-dlp's
        # own code runs as before).
        params = self.params
        if (
            (params.get("forceprint") or {}).get(key)
            or (params.get("print_to_file") or {}).get(key)
            or any(params.get(option) for option in _PRINTING_OPTIONS)
        ):
            return super()._forceprint(key, info_dict)
        return info_dict

    def _prepare_filename(self, info_dict: Any, **kwargs: Any) -> Any:
        # Titles have any length; a file name holds 255 bytes (see mediarip.outtmpl).
        filename = super()._prepare_filename(info_dict, **kwargs)
        return cap_path(filename) if isinstance(filename, str) else filename

    def urlopen(self, req: Any) -> Any:
        self.cancel_token.raise_if_cancelled()
        self._forget_refused_range(req)
        try:
            response = super().urlopen(req)
        except yt_dlp.networking.exceptions.HTTPError as exc:
            if exc.status == 416:
                self._refused_range = (_url_of(req), _range_of(req))
            raise
        self.cancel_token.add_response(response)
        if self.cancel_token.cancelled:
            response.close()
            raise DownloadCancelled()
        return response


class _Logger:
    """Routes yt-dlp's messages to logging instead of the terminal."""

    def debug(self, msg: str) -> None:
        if not msg.startswith("[debug] "):
            log.debug("%s", msg)

    def info(self, msg: str) -> None:
        log.debug("%s", msg)

    def warning(self, msg: str) -> None:
        log.log(_level_after_cancel(), "yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        # A cancel breaks the read yt-dlp was in ("Got error: N bytes read, M more expected"):
        # that is the cancel, not an error; the job's task logs the cancel itself.
        log.log(_level_after_cancel(), "yt-dlp: %s", msg)


def _level_after_cancel() -> int:
    token = getattr(_thread_token, "token", None)
    return logging.DEBUG if token is not None and token.cancelled else logging.INFO


def base_params(
    *,
    socket_timeout: float,
    cookie_file: str | None,
    extractor_args: dict[str, Any],
    extra_options: dict[str, Any],
) -> dict[str, Any]:
    """Options every run shares, probe or download."""
    params: dict[str, Any] = {
        **extra_options,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _Logger(),
        "socket_timeout": socket_timeout,
        "cachedir": False,
        "color": {"stdout": "never", "stderr": "never"},
        "extractor_args": extractor_args,
        "noplaylist": False,
    }
    if cookie_file:
        params["cookiefile"] = cookie_file
    return params


@contextmanager
def open_youtubedl(
    params: dict[str, Any], token: CancelToken, policy: NetworkPolicy
) -> Iterator[CancellableYoutubeDL]:
    """A job's ``YoutubeDL``, in a thread marked for the job and guarded against private
    addresses. An error caused by a cancel comes out as ``DownloadCancelled``; one caused by
    the guard as the guard's :class:`~mediarip.engine.netguard.BlockedAddressError`."""
    with (
        job_thread(token),
        guarded(policy) as guard,
        CancellableYoutubeDL(params, token) as ydl,
    ):
        try:
            yield ydl
        except DownloadCancelled:
            raise
        except Exception as exc:
            if token.cancelled:
                # The cancel broke a read or killed ffmpeg: that is the cause, not the error.
                raise DownloadCancelled() from exc
            if guard.blocked is not None:
                raise guard.blocked from exc
            raise


def thumbnail_of(info: dict[str, Any]) -> str | None:
    if info.get("thumbnail"):
        return str(info["thumbnail"])
    thumbnails = info.get("thumbnails") or []
    return str(thumbnails[-1].get("url")) if thumbnails else None
