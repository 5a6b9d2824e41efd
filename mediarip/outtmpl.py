"""Checking yt-dlp output templates before they reach yt-dlp, and capping file names.

Why check at all: a template is Python %-formatting over the video's metadata, and yt-dlp takes
whatever it is given. ``%(title)999999999s`` pads the title to a billion characters: the next job
took 2.4 GB of memory and slowed every request to seconds. A field yt-dlp does not know gives
"NA" in every file name, silently. So each template (per site, admin-set, or a job's own file
name) is checked once, where it enters: every field is one yt-dlp documents, and widths and
precisions are small.

Why a hand list of field names instead of asking yt-dlp: importing yt-dlp while the settings
load would import it before the update folder (:mod:`mediarip.ytdlp.folder`) is in place, and a
newer yt-dlp from there would then never be used. The list is yt-dlp's documented output
template fields ("OUTPUT TEMPLATE" in its README); a field it adds later can be added here.

File names: yt-dlp fills in titles of any length, and a Linux file name holds at most 255 bytes
(not characters: a title in Japanese takes three bytes a character). :func:`cap_name` keeps each
part of a path within :data:`NAME_BYTES`, leaving room for what yt-dlp appends while it works
(``.part``, ``.f137``, ``.temp``, ``-Frag12.part``) and for `` (1)`` when a name is taken.
"""

from __future__ import annotations

import re

__all__ = ["FIELDS", "MAX_WIDTH", "NAME_BYTES", "cap_name", "cap_path", "template_problem"]

#: The widest field a template may ask for (characters, or bytes for ``B``).
MAX_WIDTH = 255

#: The most bytes a file or folder name gets from a template (the filesystem's limit is 255).
NAME_BYTES = 200

FIELDS = frozenset(
    """
    id title fulltitle ext alt_title description display_id uploader uploader_id
    uploader_url license creators creator timestamp upload_date release_timestamp
    release_date release_year modified_timestamp modified_date channel channel_id
    channel_url channel_follower_count channel_is_verified location duration duration_string
    view_count concurrent_view_count like_count dislike_count repost_count average_rating
    comment_count save_count age_limit live_status is_live was_live playable_in_embed
    availability media_type start_time end_time extractor extractor_key epoch autonumber
    video_autonumber n_entries playlist_id playlist_title playlist playlist_count
    playlist_index playlist_autonumber playlist_uploader playlist_uploader_id
    playlist_channel playlist_channel_id playlist_webpage_url webpage_url
    webpage_url_basename webpage_url_domain original_url categories tags cast chapter
    chapter_number chapter_id series series_id season season_number season_id episode
    episode_number episode_id track track_number track_id artists artist genres genre
    composers composer album album_type album_artists album_artist disc_number section_title
    section_number section_start section_end format format_id format_note format_index width
    height aspect_ratio resolution dynamic_range tbr abr acodec asr audio_channels vbr fps
    vcodec container filesize filesize_approx protocol stretched_ratio language quality url
    manifest_url thumbnail heatmap formats thumbnails subtitles automatic_captions
    requested_formats requested_downloads requested_subtitles chapters comments
    """.split()  # noqa: SIM905 (a list to read, not to edit as code)
)

# "%%" (a literal %), or one field: %(inner)spec.
_FIELD = re.compile(
    r"%%|%\((?P<inner>[^)]*)\)(?P<flags>[-#0 +]*)(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?"
    r"(?P<type>[a-zA-Z])?"
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def template_problem(template: str) -> str | None:
    """What is wrong with ``template`` as a yt-dlp output template, or None.

    Checks what yt-dlp would accept but should not be let through: unknown fields and huge
    widths or precisions. (Paths and ``..`` are checked where the template is read.)"""
    for match in _FIELD.finditer(template):
        if match.group(0) == "%%":
            continue
        inner = match.group("inner")
        for name in _field_names(inner):
            if name not in FIELDS:
                return f"%({inner}): {name!r} is not a field yt-dlp knows (e.g. title, id, ext)"
        if match.group("type") is None:
            return f"%({inner}) needs a conversion after it, like %({inner})s"
        for part in ("width", "precision"):
            value = match.group(part)
            if value == "*":
                return f"%({inner}): a {part} of '*' is not allowed"
            if value and int(value) > MAX_WIDTH:
                return f"%({inner}): a {part} of {int(value)} is too big (at most {MAX_WIDTH})"
    return None


def _field_names(inner: str) -> list[str]:
    """The field names one ``%(...)`` reads: ``title,id|default`` -> title, id. yt-dlp's
    syntax: field[maths][>strftime][,alternate...][&replacement][|default]."""
    fields = re.split(r"(?<!\\)[|&]", inner, maxsplit=1)[0]
    names = []
    for alternate in re.split(r"(?<!\\),", fields):
        alternate = alternate.split(">", 1)[0]
        match = _NAME.match(alternate.strip())
        names.append(match.group(0) if match else alternate.strip() or "(empty)")
    return names


def cap_name(name: str, limit: int = NAME_BYTES) -> str:
    """``name`` within ``limit`` bytes of UTF-8, its extension (the last one or two short
    dotted parts, like ``.f137.mp4``) kept whole."""
    if len(name.encode("utf-8", "surrogateescape")) <= limit:
        return name
    stem, ext = name, ""
    for _ in range(2):
        base, dot, suffix = stem.rpartition(".")
        if not dot or not base or len(suffix) > 10 or " " in suffix:
            break
        stem, ext = base, f".{suffix}{ext}"
    room = max(limit - len(ext.encode("utf-8", "surrogateescape")), 16)
    cut = stem.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore").rstrip()
    return cut + ext


def cap_path(path: str, limit: int = NAME_BYTES) -> str:
    """Each part of a ``/``-separated path within ``limit`` bytes (:func:`cap_name`)."""
    return "/".join(cap_name(part, limit) if part else part for part in path.split("/"))
