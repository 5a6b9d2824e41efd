"""A job's download options as yt-dlp options and postprocessors: plain functions, no state.

yt-dlp does the work with its own machinery; this module only says which, in the order
yt-dlp's command line would (``yt_dlp/__init__.py``, ``get_postprocessors``), because the order
matters: SponsorBlock looks segments up before the download; subtitles are converted before
being embedded; the container is final before anything is embedded; ``ModifyChapters`` cuts
before ``FFmpegMetadata`` writes the chapters that are left; the thumbnail goes in after the
metadata; splitting by chapters comes last, so every part carries all of it.

What each option becomes:

* subtitles: ``writesubtitles``/``writeautomaticsub``/``subtitleslangs``; ``sidecar`` with a
  format adds ``FFmpegSubtitlesConvertor``; ``embed`` adds ``FFmpegEmbedSubtitle`` (which
  converts to mov_text for mp4, and removes the subtitle files once embedded). WebVTT is the
  only kind webm takes, so for webm the subtitles are converted to it first.
* embed_thumbnail: ``writethumbnail`` + ``EmbedThumbnail`` (an attached picture in video, cover
  art in audio). A video whose container is left to yt-dlp is remuxed from webm to mkv first,
  since webm cannot hold a picture (``FFmpegVideoRemuxer`` with ``webm>mkv``).
* embed_metadata: ``FFmpegMetadata`` with metadata and chapters.
* sponsorblock: ``SponsorBlock`` (the API from ``ytdlp.sponsorblock_api``) then
  ``ModifyChapters``, which removes the segments, or (``mark``) only turns them into chapters
  that ``FFmpegMetadata`` writes. yt-dlp looks segments up only for YouTube videos.
* split_chapters: ``FFmpegSplitChapters`` (the whole file stays too).
* clip: ``download_ranges`` with ``force_keyframes_at_cuts`` when ``exact``.
"""

from __future__ import annotations

from typing import Any

from yt_dlp.utils import download_range_func

from ..download_options import DownloadOptions
from ..models import MediaType

__all__ = ["DEFAULT_SPONSORBLOCK_API", "apply_options"]

DEFAULT_SPONSORBLOCK_API = "https://sponsor.ajay.app"
_CHAPTER_TEMPLATE = "%(title)s - %(section_number)03d %(section_title)s [%(id)s].%(ext)s"


def apply_options(
    params: dict[str, Any],
    options: DownloadOptions,
    *,
    media_type: MediaType,
    output_format: str | None,
    sponsorblock_api: str,
    folder_prefix: str = "",
) -> None:
    """Add what ``options`` asks for to ``params`` (which already hold the format's options and
    its conversion postprocessors, kept in their place)."""
    conversion: list[dict[str, Any]] = list(params.get("postprocessors") or [])
    before: list[dict[str, Any]] = []
    after: list[dict[str, Any]] = []
    subtitles, sponsorblock = options.subtitles, options.sponsorblock

    if sponsorblock is not None:
        before.append(
            {
                "key": "SponsorBlock",
                "categories": list(sponsorblock.categories),
                "api": sponsorblock_api,
                "when": "after_filter",
            }
        )
    if subtitles is not None:
        params["writesubtitles"] = True
        params["writeautomaticsub"] = subtitles.auto
        params["subtitleslangs"] = (
            ["all"] if subtitles.languages == "all" else list(subtitles.languages)
        )
        target = subtitles.format
        if subtitles.mode == "embed" and output_format == "webm":
            target = "vtt"
        if target is not None:
            before.append(
                {"key": "FFmpegSubtitlesConvertor", "format": target, "when": "before_dl"}
            )
    if options.embed_thumbnail and media_type is MediaType.VIDEO and output_format is None:
        conversion.append({"key": "FFmpegVideoRemuxer", "preferedformat": "webm>mkv"})
    if subtitles is not None and subtitles.mode == "embed":
        after.append({"key": "FFmpegEmbedSubtitle", "already_have_subtitle": False})
    if sponsorblock is not None:
        after.append(
            {
                "key": "ModifyChapters",
                "remove_chapters_patterns": [],
                "remove_sponsor_segments": (
                    list(sponsorblock.categories) if sponsorblock.action == "remove" else []
                ),
                "remove_ranges": [],
                "sponsorblock_chapter_title": "[SponsorBlock]: %(category_names)l",
                "force_keyframes": False,
            }
        )
    marks = sponsorblock is not None and sponsorblock.action == "mark"
    if options.embed_metadata or marks:
        after.append(
            {
                "key": "FFmpegMetadata",
                "add_chapters": True,
                "add_metadata": options.embed_metadata,
                "add_infojson": False,
            }
        )
    if options.embed_thumbnail:
        params["writethumbnail"] = True
        after.append({"key": "EmbedThumbnail", "already_have_thumbnail": False})
    if options.split_chapters:
        after.append({"key": "FFmpegSplitChapters", "force_keyframes": False})
        outtmpl = params.setdefault("outtmpl", {})
        outtmpl["chapter"] = folder_prefix + _CHAPTER_TEMPLATE
    if options.clip is not None:
        params["download_ranges"] = download_range_func(
            None, [(options.clip.start, options.clip.end)]
        )
        params["force_keyframes_at_cuts"] = options.clip.exact
    params["postprocessors"] = [*before, *conversion, *after]
