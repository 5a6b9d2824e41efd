"""Looking at a URL before (or instead of) downloading it: ``url-info``, ``formats``, and a
channel's or feed's listing for subscription checks. Probes run in threads under a limiter of
their own, so they are never stuck behind downloads, and each has a time limit."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import trio

from ..models import Formats, JobError, UrlInfo
from . import options
from ._core import ServiceCore
from .errors import UserFacingError, describe_failure
from .listing import Listing, list_playlist
from .netguard import NetworkPolicy
from .probe import list_formats, probe_url
from .refusals import ProbeFailed, probe_failed
from .tasks import in_thread
from .ytdl import CancelToken, DownloadCancelled

__all__ = ["PROBE_TIMEOUT", "Probes"]

T = TypeVar("T")

PROBE_TIMEOUT = 120.0


class Probes(ServiceCore):
    async def probe(self, url: str, cookie_file: Path | None) -> UrlInfo:
        return await self._probe(probe_url, url, cookie_file)

    async def formats(self, url: str, cookie_file: Path | None) -> Formats:
        return await self._probe(list_formats, url, cookie_file)

    async def list_playlist(
        self, url: str, cookie_file: Path | None, limit: float = PROBE_TIMEOUT
    ) -> Listing:
        """What a channel, playlist or feed lists now (flat; a subscription check). Uses a
        probe thread, never a download slot; :class:`ProbeFailed` after ``limit`` seconds."""
        return await self._probe(list_playlist, url, cookie_file, limit)

    async def _probe(
        self,
        fn: Callable[[str, dict[str, Any], CancelToken, NetworkPolicy], T],
        url: str,
        cookie_file: Path | None,
        limit: float = PROBE_TIMEOUT,
    ) -> T:
        self._refuse_private(url)
        if cookie_file is not None and not await trio.Path(cookie_file).is_file():
            cookie_file = None
        params = options.probe_params(self._settings, cookie_file)
        token = CancelToken()
        call = functools.partial(fn, url, params, token, options.network_policy(self._settings))
        try:
            with trio.fail_after(limit):
                return await in_thread(call, token, self._probe_threads)
        except trio.TooSlowError:
            raise ProbeFailed(
                JobError(
                    "timeout",
                    f"Looking at this URL took longer than {limit:g} s. Try again later.",
                )
            ) from None
        except UserFacingError as exc:
            raise probe_failed(exc.error) from None
        except DownloadCancelled:
            raise
        except Exception as exc:
            raise probe_failed(describe_failure(exc, preview=True)) from None
