"""The benchmark's media, made once with ffmpeg and cached under ``.cache/bench/``.

* ``big.mp4``: H.264 + AAC, 1280x720, 40 s of ``testsrc2`` at a constant 40 Mbit/s: ~200 MB.
  ffmpeg makes it in ~3 s.
* ``clip.mp4``: H.264 + AAC, 1280x720, 10 s at a constant 8 Mbit/s: ~10 MB, the "many small
  downloads" of section 9.
* ``long.wav``: 10 min of stereo 16-bit PCM at 44.1 kHz: ~106 MB, which yt-dlp's
  ``FFmpegExtractAudio`` takes ~3 s to turn into an mp3, long enough to cancel it midway.

The files are built in a temporary folder renamed into place when complete, so an interrupted
build never looks usable. Change a recipe and bump :data:`VERSION`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["ensure_bench_media"]

VERSION = 2
RECIPES: dict[str, list[str]] = {
    "big.mp4": [
        "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=40",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=40",
        "-c:v", "libx264", "-preset", "ultrafast",
        "-b:v", "40M", "-maxrate", "40M", "-bufsize", "40M",
        "-x264-params", "nal-hrd=cbr:force-cfr=1",
        "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-shortest",
    ],
    "clip.mp4": [
        "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=10",
        "-f", "lavfi", "-i", "sine=frequency=550:sample_rate=44100:duration=10",
        "-c:v", "libx264", "-preset", "ultrafast",
        "-b:v", "8M", "-maxrate", "8M", "-bufsize", "8M",
        "-x264-params", "nal-hrd=cbr:force-cfr=1",
        "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-shortest",
    ],
    "long.wav": [
        "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100:duration=600",
        "-ac", "2", "-c:a", "pcm_s16le",
    ],
}  # fmt: skip


def ensure_bench_media(cache_dir: Path) -> Path:
    """The folder holding every file of :data:`RECIPES`, generating them if needed."""
    final = cache_dir / f"media-v{VERSION}"
    if all((final / name).is_file() for name in RECIPES):
        return final
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is needed to make the benchmark media (apt-get install ffmpeg)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_dir))
    try:
        for name, args in RECIPES.items():
            subprocess.run(
                ["ffmpeg", "-v", "error", "-nostdin", "-y", *args, str(build / name)], check=True
            )
        shutil.rmtree(final, ignore_errors=True)
        build.rename(final)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return final
