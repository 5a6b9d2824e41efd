"""Turning whatever yt-dlp, ffmpeg or the disk raised into a :class:`JobError` a person can act on.

yt-dlp wraps most failures in ``DownloadError`` whose message is a line meant for a terminal
("ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found (caused by ...)").
We look at the original exception where there is one and at the message otherwise, and say
what happened and what to do next. The full text still goes to the log.
"""

from __future__ import annotations

import errno
import re

from ..models import JobError
from ..ytdlp.hints import with_outdated_hint
from .netguard import BlockedAddressError

__all__ = ["UserFacingError", "describe_failure", "without_paths"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class UserFacingError(Exception):
    """A failure already described for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.error = JobError(code, message)


def _clean(message: str) -> str:
    message = _ANSI.sub("", message).strip()
    message = re.sub(r"^ERROR:\s*", "", message)
    message = re.sub(r"\s*\(caused by .*\)$", "", message, flags=re.DOTALL)
    return message[:500]


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(found) < 10:
        found.append(current)
        exc_info = getattr(current, "exc_info", None)
        nested = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None
        current = nested or current.__cause__ or current.__context__
    return found


def describe_failure(exc: BaseException, blocked: BlockedAddressError | None = None) -> JobError:
    """What to tell the person whose job failed with ``exc``; a failure whose kind often means
    an outdated yt-dlp also says how old the running one is and what to do
    (:mod:`mediarip.ytdlp.hints`). It names no file or folder of the server: the whole text
    goes to the log and the admin's error log instead."""
    error = _classify(exc, blocked)
    return with_outdated_hint(JobError(error.code, without_paths(error.message)))


# A server path inside a message: "file:/srv/downloads/.mediarip-partial/<id>/" or
# "/srv/downloads/" before a file name (not a URL's path: no "//" or "host/" before it).
_SERVER_PATH = re.compile(r"file:(?:/[^/\n]+)*/|(?<![\w:/.%-])(?:/[^/\n'\"]+)+/")


def without_paths(message: str) -> str:
    """``message`` with each server path cut down to the file's own name."""
    return _SERVER_PATH.sub("", message)


# A bot check: YouTube's "Sign in to confirm you're not a bot", Cloudflare's challenge (which
# yt-dlp's generic extractor reports as "HTTP Error 403 caused by Cloudflare anti-bot challenge").
_BOT_CHECK = re.compile(r"confirm you.{0,3}re not a bot|anti-bot|bot challenge", re.IGNORECASE)


def _unexpected_extractor_error(chain: list[BaseException]) -> bool:
    """yt-dlp marks an extractor failure it did not foresee (the site changed) ``expected=False``
    and asks for a bug report "on the latest version": exactly the outdated-yt-dlp case."""
    return any(
        type(item).__name__ == "ExtractorError" and getattr(item, "expected", True) is False
        for item in chain
    )


def _classify(exc: BaseException, blocked: BlockedAddressError | None) -> JobError:
    chain = _chain(exc)
    for item in chain:
        if isinstance(item, UserFacingError):
            return item.error
    if blocked is None:
        blocked = next((e for e in chain if isinstance(e, BlockedAddressError)), None)
    if blocked is not None:
        return JobError(
            "blocked_address",
            f"Refused to connect to {blocked.host} ({blocked.address}): it is a private or "
            "reserved network address. An admin can allow this with "
            "downloads.allow_private_networks.",
        )
    for item in chain:
        if isinstance(item, OSError) and item.errno == errno.ENOSPC:
            return JobError(
                "disk_full", "The downloads folder is full. Free some space, then retry."
            )
    text = without_paths(" ".join(_clean(str(item)) for item in chain[:3]))
    status = re.search(r"HTTP Error (\d{3})", text)
    if _BOT_CHECK.search(text):
        return JobError(
            "bot_check",
            "The site asked for proof that this is not a bot and refused the download. "
            "Upload a cookies.txt from a browser where you are logged in to the site, then "
            "retry.",
        )
    if "Unsupported URL" in text:
        return JobError(
            "unsupported_url",
            "No video or audio was found at this address. Check the URL; the site may not be "
            "supported.",
        )
    if status:
        code = int(status.group(1))
        if code in (401, 403):
            return JobError(
                "forbidden",
                f"The site refused access (HTTP {code}). If it needs a login, upload a "
                "cookies.txt for your session and retry.",
            )
        if code == 404 or code == 410:
            return JobError(
                "not_found",
                f"The site says this media does not exist (HTTP {code}). Check the URL.",
            )
        if code == 429:
            return JobError(
                "rate_limited", "The site is limiting requests (HTTP 429). Retry later."
            )
        if code == 416:
            # The site would not send the rest of a partial file: it changed, or the partial
            # file is not what we think. Not the URL's fault; a retry starts over.
            return JobError(
                "resume_failed",
                "The download could not continue from where it stopped (the site answered "
                "HTTP 416). Retry the job: it starts over.",
            )
        if code >= 500:
            return JobError("source_error", f"The site's server failed (HTTP {code}). Retry later.")
        return JobError("http_error", f"The site answered HTTP {code}. Check the URL.")
    if "Requested format is not available" in text:
        return JobError(
            "format_unavailable",
            "The chosen format is not available for this media. Pick another format or 'best'.",
        )
    if re.search(r"timed out|timeout", text, re.IGNORECASE):
        return JobError(
            "timeout",
            "The site stopped answering (timed out). Retry; if it keeps failing, the "
            "site may be down.",
        )
    if re.search(
        r"Content.?Too.?Short|IncompleteRead|Connection (reset|aborted|refused)|"
        r"did not receive|RemoteDisconnected|bytes read|Downloaded \d+ bytes, expected|"
        r"Did not get any data blocks",
        text,
        re.IGNORECASE,
    ):
        return JobError(
            "network_error",
            "The connection broke before the download finished. Retry the job.",
        )
    if re.search(r"ffmpeg|ffprobe|Postprocessing|Conversion failed", text, re.IGNORECASE):
        return JobError(
            "postprocessing_failed",
            f"Converting the downloaded file failed ({_clean(text)[:200]}). Try another output "
            "format.",
        )
    message = without_paths(_clean(str(chain[0]))) or type(chain[0]).__name__
    if _unexpected_extractor_error(chain):
        message = re.sub(r";?\s*please report this issue.*", "", message, flags=re.DOTALL)
        return JobError("extractor_error", f"yt-dlp could not read this page: {message[:300]}")
    return JobError("download_failed", f"The download failed: {message}")
