"""From settings and a job to what a worker thread is given: plain functions, no state.

Settings hold read-only maps of tuples (they are frozen); yt-dlp wants plain dicts of lists.
The translation happens here, once per job, so the service only decides *when* things run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import Settings
from ..models import Job
from . import paths
from .netguard import NetworkPolicy
from .worker import WorkRequest
from .ytdl import base_params

__all__ = ["network_policy", "probe_params", "work_request"]


def network_policy(settings: Settings) -> NetworkPolicy:
    downloads = settings.downloads
    return NetworkPolicy(downloads.allow_private_networks, downloads.private_allowlist)


def _extractor_args(settings: Settings) -> dict[str, Any]:
    args = settings.ytdlp.extractor_args
    return {name: {key: list(v) for key, v in values.items()} for name, values in args.items()}


def _extra_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key, value in settings.ytdlp.extra_options.items():
        if isinstance(value, tuple):
            value = list(value)
        elif hasattr(value, "items"):
            value = dict(value.items())
        options[key] = value
    return options


def job_template(settings: Settings, job: Job) -> tuple[str, str]:
    """The job's output template and its folder prefix: the job's own folder and file name
    when it has them, else the site's template (validated at the edge: no ``..``, no ``$``)."""
    folder, name = job.options.folder, job.options.filename
    template = name or paths.template_for(job.url, settings.downloads.source_templates)
    if name and "%(ext)s" not in name:
        template = f"{name}.%(ext)s"
    prefix = f"{folder}/" if folder else ""
    return prefix + template, prefix


def work_request(settings: Settings, job: Job, cookie_file: Path) -> WorkRequest:
    """Everything the worker thread needs to run ``job``."""
    downloads = settings.downloads
    downloads_dir = Path(downloads.output_dir)
    template, prefix = job_template(settings, job)
    return WorkRequest(
        job_id=job.id,
        url=job.url,
        work_dir=paths.work_dir_for(downloads_dir, job.id),
        template=template,
        media_type=job.media_type,
        format_id=job.format_id,
        quality=job.quality,
        output_format=job.output_format,
        playlist_items=job.playlist_items,
        # A playlist's item is downloaded as itself, never expanded again.
        expand_playlist=job.parent_id is None,
        cookie_file=cookie_file,
        socket_timeout=downloads.socket_timeout,
        rate_limit=downloads.rate_limit,
        extractor_args=_extractor_args(settings),
        extra_options=_extra_options(settings),
        network=network_policy(settings),
        options=job.options,
        sponsorblock_api=settings.ytdlp.sponsorblock_api,
        folder_prefix=prefix,
    )


def probe_params(settings: Settings, cookie_file: Path | None) -> dict[str, Any]:
    """yt-dlp's options for a look at a URL (``cookie_file`` only if it exists)."""
    return base_params(
        socket_timeout=settings.downloads.socket_timeout,
        cookie_file=str(cookie_file) if cookie_file else None,
        extractor_args=_extractor_args(settings),
        extra_options=_extra_options(settings),
    )
