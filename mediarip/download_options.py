"""What a person asks of one download beyond "this URL, this format": the job's ``options``.

Subtitles, embedded artwork and metadata, SponsorBlock, chapters, a clip, a folder and a file
name. Each is a small frozen value, validated once here at the edge (a bad value is a
``ValueError`` whose message starts with the field's path, which the API turns into a 422);
the engine then trusts them and translates them into yt-dlp's own options and postprocessors
(:mod:`mediarip.engine.postprocess`), never into hand-made ffmpeg command lines.

The same values are stored with the job (as JSON), shown on it, kept in presets
(:mod:`mediarip.presets`) and reused by anything else that makes jobs (subscriptions): import
them from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, Literal

import attrs
import cattrs
from yt_dlp import YoutubeDL

from .outtmpl import template_problem

__all__ = [
    "SPONSORBLOCK_CATEGORIES",
    "Clip",
    "DownloadOptions",
    "JobFile",
    "Languages",
    "SponsorBlock",
    "Subtitles",
    "check_container",
    "parse_timestamp",
    "register_hooks",
]

#: yt-dlp's SponsorBlock categories (``SponsorBlockPP.CATEGORIES`` less the point markers).
SPONSORBLOCK_CATEGORIES = (
    "sponsor",
    "intro",
    "outro",
    "selfpromo",
    "preview",
    "filler",
    "interaction",
    "music_offtopic",
    "hook",
)
SUBTITLE_FORMATS = ("srt", "vtt")
MAX_LANGUAGES = 20
# BCP 47-ish: "en", "pt-BR", "zh-Hans", "es-419"; what yt-dlp's extractors use as keys.
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")
_TIMESTAMP = re.compile(r"^(?:(?:(\d{1,3}):)?([0-5]?\d):)?([0-5]?\d(?:\.\d{1,3})?)$")
_TEMPLATE_MAX = 200

#: ``["en", "fr"]`` or ``"all"``.
Languages = tuple[str, ...] | Literal["all"]


def _check_languages(_: object, __: attrs.Attribute[Languages], value: Languages) -> None:
    if value == "all":
        return
    if not value:
        raise ValueError("options.subtitles.languages: name at least one language, or 'all'")
    if len(value) > MAX_LANGUAGES:
        raise ValueError(f"options.subtitles.languages: at most {MAX_LANGUAGES} languages")
    for code in value:
        if not isinstance(code, str) or not _LANGUAGE.match(code):
            raise ValueError(
                f"options.subtitles.languages: {code!r} is not a language code "
                "(like 'en', 'pt-BR'), nor 'all'"
            )


@attrs.frozen
class Subtitles:
    """Which subtitles to fetch and what to do with them.

    ``embed`` puts them in the file as subtitle streams (converted to what the container takes:
    mov_text in mp4, WebVTT in webm, as is in mkv); ``sidecar`` saves them beside it, in
    ``format`` if given (else as the site has them)."""

    languages: Languages = attrs.field(validator=_check_languages)
    auto: bool = False
    mode: Literal["embed", "sidecar"] = "embed"
    format: Literal["srt", "vtt"] | None = None


@attrs.frozen
class SponsorBlock:
    """Remove the chosen SponsorBlock categories from the file, or mark them as chapters."""

    action: Literal["remove", "mark"]
    categories: tuple[str, ...] = ("sponsor",)

    def __attrs_post_init__(self) -> None:
        if not self.categories:
            raise ValueError("options.sponsorblock.categories: choose at least one category")
        for category in self.categories:
            if category not in SPONSORBLOCK_CATEGORIES:
                raise ValueError(
                    f"options.sponsorblock.categories: {category!r} is not one of "
                    f"{', '.join(SPONSORBLOCK_CATEGORIES)}"
                )


def parse_timestamp(value: object, field: str) -> float:
    """Seconds from ``12.5``, ``"12.5"``, ``"1:02"`` or ``"01:02:03.250"``."""
    if isinstance(value, bool):
        raise ValueError(f"{field}: seconds or hh:mm:ss[.ms], not {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _TIMESTAMP.match(value.strip())):
        hours, minutes, secs = match.groups()
        seconds = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(secs)
    else:
        raise ValueError(f"{field}: {value!r} is not seconds or hh:mm:ss[.ms]")
    if not 0 <= seconds < 100 * 3600 or seconds != seconds:
        raise ValueError(f"{field}: {value!r} is out of range")
    return round(seconds, 3)


def _start(value: float | str) -> float | str:
    return parse_timestamp(value, "options.clip.start")


def _end(value: float | str) -> float | str:
    return parse_timestamp(value, "options.clip.end")


@attrs.frozen
class Clip:
    """Only ``start``..``end`` (seconds). Cut at the nearest keyframes unless ``exact``, which
    re-encodes around the cuts to land on the asked times."""

    # Typed as what a request may give; always a float once made (the converters).
    start: float | str = attrs.field(converter=_start)
    end: float | str = attrs.field(converter=_end)
    exact: bool = False

    def __attrs_post_init__(self) -> None:
        if float(self.end) <= float(self.start):
            raise ValueError(
                f"options.clip.end: {self.end:g} s is not after the start ({self.start:g} s)"
            )


def _relative_parts(value: str, field: str) -> tuple[str, ...]:
    """The literal folders of a relative path, refusing anything that could leave the
    downloads folder or reach the working folders (``.``-names)."""
    if "\\" in value or any(ord(c) < 32 for c in value):
        raise ValueError(f"{field}: no backslashes or control characters")
    # yt-dlp expands "~" and "$VARIABLES" in templates, which could name any folder.
    if "$" in value or value.startswith("~"):
        raise ValueError(f"{field}: no '$' and no leading '~' (they could name another folder)")
    if ".." in value:
        raise ValueError(f"{field}: {value!r} would leave the downloads folder ('..')")
    path = PurePosixPath(value)
    if path.is_absolute():
        raise ValueError(f"{field}: must be relative to the downloads folder, not {value!r}")
    for part in path.parts:
        if part in ("..", "."):
            raise ValueError(f"{field}: {value!r} would leave the downloads folder")
        if part.startswith("."):
            raise ValueError(f"{field}: a folder or name may not start with '.' ({part!r})")
    return path.parts


def _check_folder(_: object, __: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    if not value.strip() or len(value) > _TEMPLATE_MAX:
        raise ValueError(f"options.folder: 1 to {_TEMPLATE_MAX} characters")
    if "%" in value:
        raise ValueError("options.folder: a plain folder name (use filename for templates)")
    _relative_parts(value, "options.folder")


def _check_filename(_: object, __: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    if not value.strip() or len(value) > _TEMPLATE_MAX:
        raise ValueError(f"options.filename: 1 to {_TEMPLATE_MAX} characters")
    _relative_parts(value, "options.filename")
    problem = template_problem(value)
    if problem is not None:
        raise ValueError(f"options.filename: {problem}")
    # yt-dlp's own check: unbalanced or unknown conversions are refused here, not mid-job.
    error = YoutubeDL.validate_outtmpl(value)
    if error is not None:
        raise ValueError(f"options.filename: not a valid yt-dlp template ({error})")


def _strip_or_none(value: object) -> object:
    if isinstance(value, str):
        value = value.strip().rstrip("/")
        return value or None
    return value


@attrs.frozen
class DownloadOptions:
    """Everything optional; an empty ``DownloadOptions()`` is a plain download."""

    subtitles: Subtitles | None = None
    embed_thumbnail: bool = False
    embed_metadata: bool = False
    sponsorblock: SponsorBlock | None = None
    split_chapters: bool = False
    clip: Clip | None = None
    folder: str | None = attrs.field(
        default=None, converter=_strip_or_none, validator=_check_folder
    )
    filename: str | None = attrs.field(
        default=None, converter=_strip_or_none, validator=_check_filename
    )

    def __attrs_post_init__(self) -> None:
        if self.clip is not None and self.split_chapters:
            raise ValueError("options.split_chapters: cannot be combined with a clip")

    @property
    def is_empty(self) -> bool:
        return self == _NO_OPTIONS


_NO_OPTIONS = DownloadOptions()

# What each container can hold: yt-dlp's EmbedThumbnail fails on webm and wav (the job would
# fail after downloading), and FFmpegEmbedSubtitle skips every audio container but m4a.
_NO_COVER_ART = ("webm", "wav")
_SUBTITLE_AUDIO = ("m4a",)


def check_container(options: DownloadOptions, media_type: str, output_format: str | None) -> None:
    """Refuse options the chosen file type cannot carry (a ``ValueError`` naming the field)."""
    if options.embed_thumbnail and output_format in _NO_COVER_ART:
        raise ValueError(
            f"options.embed_thumbnail: {output_format} files cannot hold cover art; "
            "choose mp4 or mkv (video), mp3, m4a, opus or flac (audio)"
        )
    subtitles = options.subtitles
    if subtitles is not None and subtitles.mode == "embed" and media_type == "audio":
        chosen = output_format or "mp3"
        if chosen not in _SUBTITLE_AUDIO:
            raise ValueError(
                f"options.subtitles.mode: {chosen} files cannot hold subtitles; "
                "use 'sidecar', or m4a"
            )


@attrs.frozen
class JobFile:
    """One file a job produced, relative to the downloads folder."""

    name: str
    size: int


def _structure_languages(value: Any, _: Any) -> Languages:
    if value == "all":
        return "all"
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError("options.subtitles.languages: a list of language codes, or 'all'")


def _is_languages(tp: Any) -> bool:
    return bool(tp == Languages)


def register_hooks(converter: cattrs.Converter) -> None:
    """Teach a converter the one type it cannot guess (a list of codes, or ``"all"``)."""
    hook: Callable[[Any, Any], Languages] = _structure_languages
    converter.register_structure_hook_func(_is_languages, hook)
