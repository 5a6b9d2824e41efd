"""The download archive's keys, in yt-dlp's own words.

yt-dlp's ``--download-archive`` file holds one line per downloaded item, ``"<extractor> <id>"``
with the extractor key in lower case (``youtube dQw4w9WgXcQ``, ``generic episode-12``). media-rip
keeps the same keys, so its archive can be exported to and imported from that file, and an item
is recognised whichever way it was first downloaded.

Two moments need a key. After a download, yt-dlp's full info dict has ``extractor_key`` and
``id``: the key is exact. During a subscription check the playlist is read flat (no page per
item), and an entry may carry only its URL. yt-dlp then matches the URL against its extractors
the way it does when it checks its own archive for a flat entry; for the generic extractor,
which has no id pattern, the id is what it would give the item when downloading it: the
feed's ``<guid>`` (smuggled into the URL as ``force_videoid``) or else the URL's file name.
An entry for which no key can be worked out is still recognised by its URL (the archive keeps
the URL of each item downloaded through media-rip).

Everything here is blocking only in the CPU sense (regular expressions): call it in the worker
thread that already holds the ``YoutubeDL``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from yt_dlp.extractor.generic import GenericIE
from yt_dlp.utils import make_archive_id, unsmuggle_url

__all__ = [
    "ARCHIVE_LINE",
    "archive_key_of",
    "entry_archive_key",
    "format_archive",
    "parse_archive",
]

#: One line of yt-dlp's archive file: an extractor key and an id, separated by one space.
ARCHIVE_LINE = re.compile(r"^([A-Za-z0-9_]{1,64}) (\S.{0,511})$")


def archive_key_of(info: dict[str, Any]) -> str | None:
    """The key of a fully extracted item (what yt-dlp writes to its archive after a download)."""
    video_id = info.get("id")
    extractor = info.get("extractor_key") or info.get("ie_key")
    if not video_id or not extractor:
        return None
    return str(make_archive_id(extractor, str(video_id)))


def entry_archive_key(ydl: Any, entry: dict[str, Any]) -> str | None:
    """The key of a flat playlist entry, or None when it cannot be told without fetching it.

    ``ydl`` is the ``YoutubeDL`` that listed the playlist: its extractors are the ones to
    match against."""
    key = archive_key_of(entry)
    if key is not None:
        return key
    url = entry.get("url")
    if not isinstance(url, str) or not url:
        return None
    plain, smuggled = unsmuggle_url(url, {})
    ie_key = entry.get("ie_key") or _matching_extractor(ydl, plain)
    if ie_key is None:
        return None
    if ie_key == GenericIE.ie_key():
        video_id = smuggled.get("force_videoid") or GenericIE._generic_id(plain)
    else:
        video_id = entry.get("id") or ydl.get_info_extractor(ie_key).get_temp_id(plain)
    return str(make_archive_id(ie_key, str(video_id))) if video_id else None


#: URL -> the key of the first extractor that takes it. Matching a URL against every one of
#: yt-dlp's ~1,800 extractors costs ~2 ms of CPU, and a feed's entries come back at every
#: check: remembered, a check that finds nothing new costs half as much. Extractors do not
#: change while the process runs.
_MATCHED: dict[str, str | None] = {}
_MATCHED_MAX = 50_000
_matched_lock = threading.Lock()


def _matching_extractor(ydl: Any, url: str) -> str | None:
    with _matched_lock:
        if url in _MATCHED:
            return _MATCHED[url]
    found = None
    for candidate in ydl._ies.values():  # yt-dlp's own order: the generic extractor last
        if candidate.suitable(url):
            found = str(candidate.ie_key())
            break
    with _matched_lock:
        if len(_MATCHED) >= _MATCHED_MAX:
            _MATCHED.clear()
        _MATCHED[url] = found
    return found


def parse_archive(text: str) -> tuple[list[str], list[str]]:
    """yt-dlp archive text -> (keys, problems). Blank lines are skipped; a line that is not
    ``"<extractor> <id>"`` is a problem naming its number. Extractor keys are lower-cased, as
    yt-dlp writes them."""
    keys: list[str] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = ARCHIVE_LINE.match(line)
        if match is None:
            problems.append(f"line {number}: expected '<extractor> <id>', got {line[:80]!r}")
            continue
        keys.append(f"{match.group(1).lower()} {match.group(2)}")
    return keys, problems


def format_archive(keys: Iterable[str]) -> Iterator[str]:
    """Archive keys as yt-dlp's archive file lines (with their newlines)."""
    for key in keys:
        yield f"{key}\n"
