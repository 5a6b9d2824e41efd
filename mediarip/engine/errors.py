"""Turning whatever yt-dlp, ffmpeg or the disk raised into a :class:`JobError` a person can act on.

yt-dlp wraps most failures in ``DownloadError`` whose message is a line meant for a terminal
("ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found (caused by ...)").
We look at the original exception where there is one and at the message otherwise, and say
what happened and what to do next. The full text still goes to the log.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from typing import Any

from ..models import JobError
from ..ytdlp.hints import with_outdated_hint
from .netguard import BlockedAddressError

__all__ = ["UserFacingError", "describe_failure", "refuse_non_media", "without_paths"]

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


def _short(text: str, limit: int = 200) -> str:
    """``text`` cut at a word boundary, with an ellipsis when cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return f"{cut}…"


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(found) < 10:
        found.append(current)
        exc_info = getattr(current, "exc_info", None)
        nested = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None
        current = nested or current.__cause__ or current.__context__
    return found


# What a link to something that is not media turns out to be, by the extension yt-dlp's generic
# extractor gives a "direct link" (it takes any URL it cannot place as one).
_NOT_MEDIA = {
    "json": "a JSON document",
    "xml": "an XML document",
    "html": "a web page",
    "htm": "a web page",
    "xhtml": "a web page",
    "php": "a web page",
    "txt": "a text file",
    "csv": "a text file",
    "js": "a script",
    "css": "a style sheet",
    "pdf": "a PDF document",
    "zip": "an archive",
    "gz": "an archive",
    "tar": "an archive",
    "7z": "an archive",
    "exe": "a program",
    "jpg": "a picture",
    "jpeg": "a picture",
    "png": "a picture",
    "gif": "a picture",
    "svg": "a picture",
    "ico": "a picture",
    "bmp": "a picture",
}


def _has_stream(codec: object) -> bool:
    return isinstance(codec, str) and codec not in ("", "none")


def refuse_non_media(info: dict[str, Any]) -> None:
    """Raise ``no_media`` when what yt-dlp extracted is a single "direct link" to something that
    is not video or audio (a JSON document, a picture): yt-dlp would download it and ffmpeg
    would then fail on it at 100 %, with words nobody can act on."""
    if info.get("_type") in ("playlist", "multi_video", "url", "url_transparent"):
        return
    formats = info.get("formats") or [info]
    kinds = set()
    for f in formats:
        if _has_stream(f.get("vcodec")) or _has_stream(f.get("acodec")):
            return
        kind = _NOT_MEDIA.get(str(f.get("ext") or "").lower())
        if kind is None:
            return
        kinds.add(kind)
    if kinds:
        what = kinds.pop() if len(kinds) == 1 else "not video or audio"
        raise UserFacingError(
            "no_media",
            f"This link leads to {what}, not to video or audio. Link to the page that plays "
            "the media, or to the media file itself.",
        )


def describe_failure(
    exc: BaseException, blocked: BlockedAddressError | None = None, *, preview: bool = False
) -> JobError:
    """What to tell the person whose job (or, with ``preview``, whose look at a link) failed
    with ``exc``; a failure whose kind often means an outdated yt-dlp also says how old the
    running one is and what to do (:mod:`mediarip.ytdlp.hints`). It names no file or folder of
    the server: the whole text goes to the log and the admin's error log instead."""
    error = _classify(exc, blocked)
    message = without_paths(error.message)
    if preview:
        # No job exists yet: "retry the job" would point at nothing.
        message = re.sub(r"\bRetry( the job)?\b", "Try again", message)
        message = message.replace("then retry", "then try again")
    return with_outdated_hint(JobError(error.code, message))


def _where(text: str) -> str:
    """The host (and port) a connection error names, else "the server"."""
    found = re.search(r"host='([^']+)', port=(\d+)", text)
    if found:
        return f"{found.group(1)}:{found.group(2)}"
    found = re.search(r"Failed to resolve '([^']+)'", text)
    return found.group(1) if found else "the server"


def _connection_failure(chain: list[BaseException], text: str) -> JobError | None:
    """Failures to reach the server at all: nothing was downloaded, and retrying as such will
    not help until the address, the name or the certificate is right."""
    where = _where(text)
    host = where.rsplit(":", 1)[0] if where != "the server" else where
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or re.search(
        r"Connection refused|Errno 111\b", text
    ):
        return JobError(
            "connection_refused",
            f"Nothing is listening at {where}: the connection was refused. The server may be "
            "down, or the address or port in the link is wrong. Check the link.",
        )
    if any(isinstance(e, socket.gaierror) for e in chain) or re.search(
        r"Failed to resolve|Name or service not known|nodename nor servname|"
        r"Temporary failure in name resolution|No address associated with hostname|getaddrinfo",
        text,
    ):
        return JobError(
            "dns_failed",
            ("The server's name" if host == "the server" else f"The name {host}")
            + " could not be found (DNS). Check the link for a typo; if it is right, the "
            "network or name service of the media-rip server may be down.",
        )
    if any(isinstance(e, ssl.SSLError) for e in chain) or re.search(
        r"\[SSL|SSLError|CERTIFICATE_VERIFY_FAILED|certificate verify failed|TLS", text
    ):
        detail = re.search(r"\[SSL: ([A-Z_]+)\]", text)
        return JobError(
            "tls_error",
            "The secure (https) connection failed"
            + (f" ({detail.group(1).lower().replace('_', ' ')})" if detail else "")
            + ". The site's certificate may be invalid or expired, or the link may say https "
            "for a server that only speaks http. Check the link.",
        )
    return None


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
    connection = _connection_failure(chain, text)
    if connection is not None:
        return connection
    status = re.search(r"HTTP Error (\d{3})", text)
    if _BOT_CHECK.search(text):
        return JobError(
            "bot_check",
            "The site asked for proof that this is not a bot and refused the download. "
            "Upload a cookies.txt from a browser where you are logged in to the site, then "
            "retry.",
        )
    if "Unsupported URL" in text:
        # yt-dlp's generic extractor takes every link no site extractor claims; it says
        # "Unsupported URL" when the page loaded and held nothing it could play. A page without
        # media and a site yt-dlp does not know look the same from here: say both.
        return JobError(
            "no_media",
            "No video or audio was found at this link: the page loaded, but it holds nothing "
            "yt-dlp can download. Check that the link opens the video or song itself; some "
            "sites are not supported.",
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
            f"Converting the downloaded file failed ({_short(text)}). Try another output format.",
        )
    message = without_paths(_clean(str(chain[0]))) or type(chain[0]).__name__
    if _unexpected_extractor_error(chain):
        message = re.sub(r";?\s*please report this issue.*", "", message, flags=re.DOTALL)
        return JobError("extractor_error", f"yt-dlp could not read this page: {message[:300]}")
    return JobError("download_failed", f"The download failed: {message}")
