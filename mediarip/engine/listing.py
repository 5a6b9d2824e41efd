"""Listing what a channel, playlist or feed holds now, for a subscription check.

One flat extraction (``extract_flat: "in_playlist"``): yt-dlp reads the playlist's own pages
and gives each item's URL, title and whatever else the listing shows (duration, publication
time), without opening one page per item. That keeps a check of a 30-item channel to one or two
requests. Each item gets its archive key here, in the thread that holds the ``YoutubeDL`` (see
:mod:`.archive`). Runs in a worker thread under the probe limiter.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from .archive import entry_archive_key
from .errors import UserFacingError
from .netguard import NetworkPolicy
from .ytdl import CancelToken, open_youtubedl

__all__ = ["ListedItem", "Listing", "list_playlist"]


@attrs.frozen
class ListedItem:
    """One item of a listing: what a check decides on."""

    index: int
    url: str
    title: str | None
    key: str | None  # yt-dlp's archive key, when it can be told from the listing
    duration: float | None
    published: dt.datetime | None


@attrs.frozen
class Listing:
    title: str | None
    items: list[ListedItem]


def _published(entry: dict[str, Any]) -> dt.datetime | None:
    for field in ("timestamp", "release_timestamp"):
        value = entry.get(field)
        if isinstance(value, int | float):
            return dt.datetime.fromtimestamp(value, dt.UTC)
    for field in ("upload_date", "release_date"):
        value = entry.get(field)
        if isinstance(value, str) and len(value) == 8 and value.isdigit():
            return dt.datetime.strptime(value, "%Y%m%d").replace(tzinfo=dt.UTC)
    return None


def list_playlist(
    url: str, params: dict[str, Any], token: CancelToken, policy: NetworkPolicy
) -> Listing:
    """Read ``url`` flat. A single video is a listing of one. Blocking; cancelled through
    ``token``."""
    with open_youtubedl({**params, "extract_flat": "in_playlist"}, token, policy) as ydl:
        info = ydl.extract_info(url, download=False)
        token.raise_if_cancelled()
        if not info:
            raise UserFacingError("no_media", "No video or audio was found at this address.")
        if info.get("_type") not in ("playlist", "multi_video"):
            key = entry_archive_key(ydl, info)
            item = ListedItem(
                1,
                info.get("webpage_url") or url,
                info.get("title"),
                key,
                info.get("duration"),
                _published(info),
            )
            return Listing(info.get("title"), [item])
        items: list[ListedItem] = []
        for index, entry in enumerate(info.get("entries") or [], start=1):
            if not entry:
                continue
            if entry.get("_type") in ("url", "url_transparent") and entry.get("url"):
                item_url = entry["url"]
            elif entry.get("webpage_url"):
                item_url = entry["webpage_url"]
            else:
                continue  # no address of its own: it cannot become a job of its own
            duration = entry.get("duration")
            items.append(
                ListedItem(
                    index=index,
                    url=str(item_url),
                    title=entry.get("title"),
                    key=entry_archive_key(ydl, entry),
                    duration=float(duration) if isinstance(duration, int | float) else None,
                    published=_published(entry),
                )
            )
        return Listing(info.get("title"), items)
