"""Make the test media with ffmpeg, once per recipe, safely from parallel test workers.

The test suite never reaches the internet (SPEC §10): every file yt-dlp downloads in the tests is
synthesised here from ffmpeg's lavfi sources (``testsrc`` for video, ``sine`` for audio) and served
by :mod:`tests.media.server`. Generation takes a few seconds, so the result is cached in a folder
named after a digest of the recipes: changing a recipe invalidates the cache by itself.

Several pytest-xdist workers may call :func:`ensure_media` at the same moment. They serialise on a
``flock`` so that only one of them runs ffmpeg; the others wait and reuse the result. The files are
built in a temporary folder that is renamed into place only when complete (``manifest.json`` is
written last), so a crashed or killed build never leaves a half-made cache that looks usable.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MANIFEST_NAME", "ensure_media"]

#: Bump when something outside the recipes below (the MPD template, say) changes the output.
GENERATOR_VERSION = 2
MANIFEST_NAME = "manifest.json"

SIZE = "320x240"
FPS = 25
SAMPLE_RATE = 44100
SHORT_SECONDS = 6
CHAPTERS_SECONDS = 12
#: The subtitle tracks of the rich page: language -> its two cues.
SUBTITLE_TRACKS = {
    "en": ("Hello from the test page", "Second line"),
    "fr": ("Bonjour de la page de test", "Deuxième ligne"),
}
#: The DASH pair is listed in ``merge.mpd`` with this duration.
MERGE_SECONDS = SHORT_SECONDS


@dataclass(frozen=True)
class Recipe:
    """One ffmpeg run: ``args`` go between the global flags and the output path.

    ``output`` is relative to the build folder, which is also ffmpeg's working directory, so that
    the HLS muxer writes segment names relative to their playlist.
    """

    output: str
    args: tuple[str, ...]


def _video_in(seconds: int, *, noise: int = 0, size: str = SIZE) -> tuple[str, ...]:
    """A ``testsrc`` input; ``noise`` defeats compression so a file reaches a target size."""
    graph = f"testsrc=size={size}:rate={FPS}:duration={seconds}"
    if noise:
        graph += f",noise=alls={noise}:allf=t"
    return ("-f", "lavfi", "-i", graph)


def _audio_in(seconds: int, *, freq: int = 440, rate: int = SAMPLE_RATE) -> tuple[str, ...]:
    """A ``sine`` input (mono), quiet enough not to hurt if someone plays a file."""
    return ("-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate={rate}:duration={seconds}")


def _h264(*extra: str) -> tuple[str, ...]:
    """H.264 settings every player and ffprobe accept; ``main`` keeps the avc1 codec id stable."""
    return (
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-profile:v",
        "main",
        "-pix_fmt",
        "yuv420p",
        *extra,
    )


def _aac(bitrate: str = "96k") -> tuple[str, ...]:
    return ("-c:a", "aac", "-b:a", bitrate)


FASTSTART = ("-movflags", "+faststart")


def _hls(folder: str, seconds: int, *, noise: int = 0) -> Recipe:
    """An HLS VOD stream with ~1 s segments: a keyframe is forced every second so each cut lands
    on one, which keeps the segment count (and so the progress granularity) predictable."""
    return Recipe(
        f"{folder}/index.m3u8",
        (
            *_video_in(seconds, noise=noise),
            *_audio_in(seconds, freq=550),
            *_h264("-force_key_frames", "expr:gte(t,n_forced*1)", "-sc_threshold", "0"),
            *_aac(),
            "-f",
            "hls",
            "-hls_time",
            "1",
            "-hls_list_size",
            "0",
            "-hls_playlist_type",
            "vod",
            "-hls_segment_filename",
            f"{folder}/seg%03d.ts",
        ),
    )


def recipes() -> list[Recipe]:
    """Every ffmpeg run needed; they are independent of each other, so they run in parallel."""
    short = SHORT_SECONDS
    return [
        Recipe(
            "video.mp4",
            (*_video_in(short), *_audio_in(short), *_h264("-crf", "28"), *_aac(), *FASTSTART),
        ),
        Recipe(
            "video.webm",
            (
                *_video_in(short),
                *_audio_in(short, freq=660, rate=48000),
                *("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"),
                *("-b:v", "300k", "-row-mt", "1"),
                *("-c:a", "libopus", "-b:a", "64k"),
            ),
        ),
        Recipe("audio.m4a", (*_audio_in(short, freq=330), "-vn", *_aac(), *FASTSTART)),
        Recipe("audio.mp3", (*_audio_in(short, freq=880), "-c:a", "libmp3lame", "-q:a", "6")),
        # ~8 MB: noise keeps x264 at the requested bitrate; the duration sets the size.
        Recipe(
            "big.mp4",
            (
                *_video_in(13, noise=60),
                *_audio_in(13),
                *_h264("-b:v", "4800k", "-maxrate", "4800k", "-bufsize", "2M"),
                *_aac("128k"),
                *FASTSTART,
            ),
        ),
        Recipe(
            "video_only.mp4",
            (*_video_in(MERGE_SECONDS), *_h264("-crf", "28"), "-an", *FASTSTART),
        ),
        Recipe(
            "audio_only.m4a",
            (*_audio_in(MERGE_SECONDS, freq=660), "-vn", *_aac("128k"), *FASTSTART),
        ),
        _hls("hls", 8),
        _hls("hls_big", 30, noise=30),
        # 20 minutes of 4-bit IMA ADPCM at 11 kHz (~6.6 MB): yt-dlp's FFmpegExtractAudio takes
        # ~2 s to make an mp3 of it (~7 s for m4a), long enough to cancel mid-way. 16-bit PCM
        # packs half the samples per byte: a 10 MB one converts in ~0.3 s, too fast to catch.
        # The rich page's video: 12 s with a keyframe every second, so a clip cut "at the nearest
        # keyframe" lands within a second of what was asked, and three 4 s chapters.
        Recipe(
            "chapters.mp4",
            (
                *_video_in(CHAPTERS_SECONDS),
                *_audio_in(CHAPTERS_SECONDS),
                *_h264("-crf", "30", "-force_key_frames", "expr:gte(t,n_forced*1)"),
                *("-sc_threshold", "0"),
                *_aac("64k"),
                *FASTSTART,
            ),
        ),
        Recipe(
            "poster.jpg", ("-f", "lavfi", "-i", f"testsrc=size={SIZE}:rate=1", "-frames:v", "1")
        ),
        Recipe(
            "long.wav",
            (*_audio_in(1200, freq=330, rate=11025), "-ac", "1", "-c:a", "adpcm_ima_wav"),
        ),
    ]


def recipe_digest() -> str:
    """A short digest of everything that shapes the output, naming the cache folder."""
    blob = json.dumps(
        {"version": GENERATOR_VERSION, "recipes": [[r.output, r.args] for r in recipes()]},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _run_ffmpeg(recipe: Recipe, workdir: Path) -> None:
    """Run one recipe; on failure raise with ffmpeg's own message, which says what went wrong."""
    (workdir / recipe.output).parent.mkdir(parents=True, exist_ok=True)
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    cmd += [*recipe.args, recipe.output]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed for {recipe.output}: {proc.stderr.strip()}")


def _avc1_codec(mp4: Path) -> str:
    """The RFC 6381 ``avc1.PPCCLL`` id, read from the file's avcC box so the MPD tells the truth.

    The box holds version, profile, constraint flags and level as its first four bytes.
    """
    data = mp4.read_bytes()
    at = data.find(b"avcC")
    if at < 0:
        raise RuntimeError(f"no avcC box in {mp4}")
    profile, flags, level = data[at + 5 : at + 8]
    return f"avc1.{profile:02x}{flags:02x}{level:02x}"


def _bandwidth(path: Path, seconds: float) -> int:
    return int(path.stat().st_size * 8 / seconds)


def _write_mpd(workdir: Path) -> None:
    """A static DASH manifest with two single-file representations (``BaseURL`` only).

    yt-dlp's generic extractor reads it as one video-only and one audio-only format served by
    plain HTTP, so ``bestvideo+bestaudio`` downloads both and merges them with ffmpeg. The
    ``BaseURL``s are relative, so the manifest works under any route (``/media``, ``/slow/...``).
    """
    video, audio = workdir / "video_only.mp4", workdir / "audio_only.m4a"
    width, height = SIZE.split("x")
    secs = MERGE_SECONDS
    mpd = f"""<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" minBufferTime="PT2S"
     mediaPresentationDuration="PT{secs}S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
  <Period id="0" start="PT0S" duration="PT{secs}S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4">
      <Representation id="video-h264" bandwidth="{_bandwidth(video, secs)}"
          codecs="{_avc1_codec(video)}" width="{width}" height="{height}" frameRate="{FPS}">
        <BaseURL>video_only.mp4</BaseURL>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="en">
      <Representation id="audio-aac" bandwidth="{_bandwidth(audio, secs)}" codecs="mp4a.40.2"
          audioSamplingRate="{SAMPLE_RATE}">
        <BaseURL>audio_only.m4a</BaseURL>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
"""
    (workdir / "merge.mpd").write_text(mpd, encoding="utf-8")


def _write_subtitles(workdir: Path) -> None:
    """``subs.<lang>.vtt`` for each of :data:`SUBTITLE_TRACKS`: two cues in the first 8 s."""
    for lang, (first, second) in SUBTITLE_TRACKS.items():
        vtt = (
            "WEBVTT\n\n"
            f"00:00:00.500 --> 00:00:03.000\n{first}\n\n"
            f"00:00:04.000 --> 00:00:08.000\n{second}\n"
        )
        (workdir / f"subs.{lang}.vtt").write_text(vtt, encoding="utf-8")


def _write_manifest(workdir: Path, digest: str) -> None:
    """List every file with its size; written last, its presence marks the folder complete."""
    files = {
        p.relative_to(workdir).as_posix(): p.stat().st_size
        for p in sorted(workdir.rglob("*"))
        if p.is_file()
    }
    manifest = {"digest": digest, "files": files}
    (workdir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def _is_complete(folder: Path) -> bool:
    """True when the manifest exists and every listed file still has its recorded size."""
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        return all(
            (folder / name).stat().st_size == size for name, size in manifest["files"].items()
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _build(workdir: Path, digest: str) -> None:
    """Run all recipes (two or three at a time: each is mostly single-threaded), then the MPD."""
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is not on PATH: the test media cannot be generated")
    todo = recipes()
    # The slowest recipes first, so the pool does not end with one long job running alone.
    todo.sort(key=lambda r: r.output not in {"big.mp4", "hls_big/index.m3u8", "video.webm"})
    workers = max(2, min(4, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(_run_ffmpeg, recipe, workdir) for recipe in todo]:
            future.result()
    _write_mpd(workdir)
    _write_subtitles(workdir)
    _write_manifest(workdir, digest)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock``; the kernel releases it if the holder dies."""
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_media(cache_dir: Path) -> Path:
    """Return a folder holding the complete test media, generating it first if needed.

    The folder is ``cache_dir / "media-<digest>"``; see the module docstring for why it is safe to
    call from many processes at once. Raises :class:`RuntimeError` when ffmpeg is missing or fails.
    """
    cache_dir = Path(cache_dir).resolve()
    final = cache_dir / f"media-{recipe_digest()}"
    if _is_complete(final):
        return final
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(cache_dir / ".lock"):
        if _is_complete(final):  # another worker built it while we waited for the lock
            return final
        for stale in cache_dir.glob(".build-*"):  # left by a killed build; nobody else holds it
            shutil.rmtree(stale, ignore_errors=True)
        if final.exists():  # incomplete or damaged
            shutil.rmtree(final)
        workdir = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_dir))
        try:
            _build(workdir, final.name.removeprefix("media-"))
            workdir.rename(final)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
    return final


def main() -> None:
    """``python -m tests.media.generate [CACHE_DIR]``: build (or find) the media, print its path."""
    import sys
    import time

    default = Path(__file__).resolve().parents[2] / ".cache" / "test-media"
    cache = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    started = time.monotonic()
    folder = ensure_media(cache)
    print(f"{folder} ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
