"""Looking at a URL without downloading it: the preview and the format list.

These run in worker threads under the service's probe limiter, never the download limiter, so
a preview is never stuck behind long downloads. A playlist is read flat (titles and URLs of its
items, no per-item extraction), which keeps a 500-item playlist preview to one request.
"""

from __future__ import annotations

from typing import Any

from ..models import FormatInfo, Formats, PlaylistEntry, UrlInfo
from .errors import UserFacingError, refuse_non_media
from .netguard import NetworkPolicy
from .ytdl import CancelToken, open_youtubedl, thumbnail_of

__all__ = ["list_formats", "probe_url"]

_AUDIO_EXTS = frozenset({"mp3", "m4a", "aac", "opus", "ogg", "oga", "flac", "wav", "weba"})


def _extract(url: str, params: dict[str, Any], token: CancelToken, policy: NetworkPolicy) -> Any:
    with open_youtubedl(params, token, policy) as ydl:
        info = ydl.extract_info(url, download=False)
    if not info:
        raise UserFacingError("no_media", "No video or audio was found at this address.")
    refuse_non_media(info)
    return info


def _is_audio_only(info: dict[str, Any]) -> bool:
    formats = info.get("formats") or [info]
    for f in formats:
        vcodec = f.get("vcodec")
        if vcodec not in (None, "none"):
            return False
        if vcodec is None and (f.get("ext") not in _AUDIO_EXTS):
            return False
    return True


def probe_url(
    url: str, params: dict[str, Any], token: CancelToken, policy: NetworkPolicy
) -> UrlInfo:
    """What ``POST /api/url-info`` shows. Blocking; runs in a worker thread."""
    info = _extract(url, {**params, "extract_flat": "in_playlist"}, token, policy)
    if info.get("_type") in ("playlist", "multi_video"):
        entries = []
        for index, entry in enumerate(info.get("entries") or [], start=1):
            if not entry:
                continue
            entries.append(
                PlaylistEntry(
                    index=index,
                    title=entry.get("title"),
                    url=entry.get("webpage_url") or entry.get("url") or "",
                    duration=entry.get("duration"),
                )
            )
        return UrlInfo(
            type="playlist",
            title=info.get("title"),
            duration=None,
            thumbnail=thumbnail_of(info),
            uploader=info.get("uploader"),
            is_audio_only=False,
            count=len(entries),
            entries=entries,
        )
    return UrlInfo(
        type="single",
        title=info.get("title"),
        duration=info.get("duration"),
        thumbnail=thumbnail_of(info),
        uploader=info.get("uploader"),
        is_audio_only=_is_audio_only(info),
        count=1,
        entries=[],
        subtitles=_languages(info.get("subtitles")),
        automatic_captions=_languages(info.get("automatic_captions")),
    )


def _languages(tracks: object) -> list[str]:
    """The languages of yt-dlp's ``subtitles`` (or ``automatic_captions``) map, sorted; the
    live chat replay some sites list among them is not a subtitle."""
    if not isinstance(tracks, dict):
        return []
    return sorted(str(lang) for lang, found in tracks.items() if found and lang != "live_chat")


def list_formats(
    url: str, params: dict[str, Any], token: CancelToken, policy: NetworkPolicy
) -> Formats:
    """What ``GET /api/formats`` lists. Blocking; runs in a worker thread."""
    info = _extract(url, {**params, "noplaylist": True}, token, policy)
    if info.get("_type") in ("playlist", "multi_video"):
        raise UserFacingError(
            "is_playlist", "This URL is a playlist; formats are listed for single videos only."
        )
    formats = []
    for f in info.get("formats") or [info]:
        if not f.get("format_id"):
            continue
        height = f.get("height")
        formats.append(
            FormatInfo(
                format_id=str(f["format_id"]),
                ext=f.get("ext"),
                resolution=f.get("resolution")
                or (f"{f.get('width')}x{height}" if height else None),
                height=int(height) if height else None,
                fps=float(f["fps"]) if f.get("fps") else None,
                vcodec=f.get("vcodec"),
                acodec=f.get("acodec"),
                filesize=f.get("filesize") or f.get("filesize_approx"),
                tbr=float(f["tbr"]) if f.get("tbr") else None,
                note=f.get("format_note"),
            )
        )
    return Formats(
        formats,
        subtitles=_languages(info.get("subtitles")),
        automatic_captions=_languages(info.get("automatic_captions")),
    )
