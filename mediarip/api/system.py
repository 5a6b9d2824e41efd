"""``/api/health`` and ``/api/config/public``: how the server is, and what the UI needs."""

from __future__ import annotations

import datetime as dt
import functools
import shutil
import subprocess
import time
from typing import Literal

import attrs
import trio
from quart import Blueprint, Response

from ..config import AuthMode, SessionMode, ThemeMode
from ..download_options import SPONSORBLOCK_CATEGORIES
from ..models import AUDIO_FORMATS, VIDEO_FORMATS
from ..version import __version__
from ..ytdlp.release import running_release
from .context import services
from .contract import Answer, endpoint, json_response
from .errors import Unhealthy
from .themes import catalogue

__all__ = ["blueprint"]

blueprint = Blueprint("system", __name__)


@functools.cache
def ffmpeg_version() -> str | None:
    """The ffmpeg version, asked once (blocking: first call from a worker thread)."""
    try:
        result = subprocess.run(
            ["ffmpeg", "-version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    first = result.stdout.split("\n", 1)[0]
    parts = first.split()
    return parts[2] if len(parts) > 2 and parts[0] == "ffmpeg" else None


async def _ffmpeg_version() -> str | None:
    """Asked once in a worker thread; after that the cached answer costs no thread hop."""
    if ffmpeg_version.cache_info().currsize:
        return ffmpeg_version()
    return await trio.to_thread.run_sync(ffmpeg_version)


@attrs.frozen
class Health:
    status: Literal["ok"]
    version: str
    yt_dlp_version: str
    #: The day the running yt-dlp came out (its version says it): how stale it may be.
    yt_dlp_release_date: dt.date | None
    ffmpeg_version: str | None
    uptime_s: float
    queue_depth: int
    active: int


@attrs.frozen
class ReadyCheck:
    name: Literal["database", "ffmpeg", "disk"]
    ok: bool
    detail: str


@attrs.frozen
class Readiness:
    """Whether the server can take work now; ``checks`` says what is not ready, and why."""

    ready: bool
    checks: list[ReadyCheck]


@attrs.frozen
class PublicConfig:
    """The settings the web app needs; never a secret."""

    version: str
    session_mode: SessionMode
    welcome_message: str
    theme_dark: str
    theme_light: str
    theme_default_mode: ThemeMode
    max_concurrent: int
    output_formats: dict[str, list[str]]
    admin_enabled: bool
    #: New jobs start on their own (``downloads.autostart``); off, they wait paused.
    autostart: bool
    sponsorblock_categories: list[str]
    #: Shared links (share target, bookmarklet) are queued at once with the default preset.
    share_queues: bool
    #: ``auth.mode`` (issue 14): whether the app asks people to log in, and where.
    auth_mode: AuthMode = "none"
    #: Local mode without any user yet: the admin's first-run setup makes the first.
    accounts_setup_required: bool = False


@blueprint.get("/api/health")
@endpoint("How the server is", answers={200: Answer("Health", Health)}, refuses=(Unhealthy,))
async def health() -> Health:
    svc = services()
    problem = await svc.store.check_writable()
    if problem is not None:
        raise Unhealthy(f"{problem.summary}: {problem.message}")
    yt_dlp = running_release()
    return Health(
        status="ok",
        version=__version__,
        yt_dlp_version=yt_dlp.version,
        yt_dlp_release_date=yt_dlp.date,
        ffmpeg_version=await _ffmpeg_version(),
        uptime_s=round(time.monotonic() - svc.started_at, 1),
        queue_depth=svc.downloads.queued_count,
        active=svc.downloads.active_count,
    )


@blueprint.get("/api/config/public")
@endpoint("The settings the UI needs", answers={200: Answer("Settings the UI needs", PublicConfig)})
async def public_config() -> PublicConfig:
    settings = services().settings
    themes = (await catalogue()).defaults(settings.ui)  # a default that is no theme falls back
    return PublicConfig(
        version=__version__,
        session_mode=settings.session.mode,
        welcome_message=settings.ui.welcome_message,
        theme_dark=themes["dark"],
        theme_light=themes["light"],
        theme_default_mode=settings.ui.theme_default_mode,
        max_concurrent=settings.downloads.max_concurrent,
        output_formats={"video": list(VIDEO_FORMATS), "audio": list(AUDIO_FORMATS)},
        admin_enabled=settings.admin.enabled,
        autostart=settings.downloads.autostart,
        sponsorblock_categories=list(SPONSORBLOCK_CATEGORIES),
        share_queues=settings.ui.share_queues,
        auth_mode=settings.auth.mode,
        accounts_setup_required=await services().accounts.setup_required(),
    )


READY_TIMEOUT = 5.0
_MB = 1024 * 1024


@blueprint.get("/api/health/ready")
@endpoint(
    "Whether the server is ready for work: the database answers, ffmpeg runs, the downloads "
    "folder's disk has room (downloads.min_free_mb)",
    answers={
        200: Answer("Ready", Readiness),
        503: Answer("Not ready: the checks say what is wrong", Readiness),
    },
)
async def ready() -> Response:
    checks = [await _check_database(), await _check_ffmpeg(), await _check_disk()]
    ok = all(check.ok for check in checks)
    return json_response(Readiness(ok, checks), 200 if ok else 503)


async def _check_database() -> ReadyCheck:
    try:
        with trio.fail_after(READY_TIMEOUT):
            await services().store.job_counts()
    except trio.TooSlowError:
        return ReadyCheck("database", False, f"no answer within {READY_TIMEOUT:g} s")
    except Exception as exc:
        return ReadyCheck("database", False, f"{type(exc).__name__}: {exc}")
    return ReadyCheck("database", True, "answers")


async def _check_ffmpeg() -> ReadyCheck:
    version = await _ffmpeg_version()
    if version is None:
        return ReadyCheck("ffmpeg", False, "ffmpeg is not installed or does not run")
    return ReadyCheck("ffmpeg", True, f"ffmpeg {version}")


async def _check_disk() -> ReadyCheck:
    svc = services()
    folder = svc.downloads.downloads_dir
    wanted = svc.settings.downloads.min_free_mb
    try:
        free = (await trio.to_thread.run_sync(shutil.disk_usage, folder)).free
    except OSError as exc:
        return ReadyCheck("disk", False, f"the downloads folder cannot be read: {exc.strerror}")
    detail = f"{free // _MB} MB free, at least {wanted} MB wanted"
    return ReadyCheck("disk", free >= wanted * _MB, detail)
