"""A download's options, end to end: real yt-dlp on the loopback rich page, real ffmpeg, and
ffprobe reading what came out (subtitle streams and their languages, cover art, tags, chapters,
clip durations, one file per chapter), plus every refusal as a 422 naming the field."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yt_dlp

from mediarip.download_options import DownloadOptions, SponsorBlock
from mediarip.engine.postprocess import apply_options
from mediarip.engine.worker import format_options
from mediarip.models import MediaType
from tests.media import MediaServer
from tests.media.server import RICH_CHAPTERS, RICH_TITLE, RICH_UPLOADER
from tests.support import RunningApp


def probe(path: Path) -> dict[str, Any]:
    """ffprobe's streams (with tags and dispositions), format tags, duration and chapters."""
    result = subprocess.run(
        [
            *("ffprobe", "-v", "error", "-show_streams", "-show_format", "-show_chapters"),
            *("-of", "json", str(path)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def subtitle_languages(info: dict[str, Any]) -> list[str]:
    return sorted(
        s.get("tags", {}).get("language", "")
        for s in info["streams"]
        if s["codec_type"] == "subtitle"
    )


def has_cover_art(info: dict[str, Any]) -> bool:
    return any(s.get("disposition", {}).get("attached_pic") == 1 for s in info["streams"])


async def completed(app: RunningApp, url: str, **fields: Any) -> dict[str, Any]:
    job = await app.submit(url, **fields)
    done = await app.wait_for(job["id"], timeout=90)
    assert done["status"] == "completed", done["error"]
    return done


# -- what comes out ----------------------------------------------------------------------------


async def test_subtitles_cover_art_tags_and_chapters_are_embedded_in_an_mp4(
    app: RunningApp, media: MediaServer
) -> None:
    options = {
        "subtitles": {"languages": ["en", "fr"], "mode": "embed"},
        "embed_thumbnail": True,
        "embed_metadata": True,
    }
    done = await completed(app, media.url("/rich.html"), output_format="mp4", options=options)
    assert done["options"]["subtitles"]["languages"] == ["en", "fr"]
    assert done["options"]["embed_thumbnail"] is True
    path = app.downloads_dir / done["filename"]
    assert done["files"] == [{"name": done["filename"], "size": path.stat().st_size}]
    info = probe(path)
    assert subtitle_languages(info) == ["eng", "fra"]
    assert {s["codec_name"] for s in info["streams"] if s["codec_type"] == "subtitle"} == {
        "mov_text"
    }
    assert has_cover_art(info)
    tags = info["format"]["tags"]
    assert tags["title"] == RICH_TITLE
    assert tags["artist"] == RICH_UPLOADER
    assert tags["date"].startswith("2026")
    assert [c["tags"]["title"] for c in info["chapters"]] == [c[0] for c in RICH_CHAPTERS]
    # Nothing else is left beside it: the subtitle and thumbnail files went into the file.
    assert sorted(p.name for p in app.downloads_dir.iterdir() if not p.name.startswith(".")) == [
        path.name
    ]


async def test_sidecar_subtitles_and_one_file_per_chapter_are_listed_and_served(
    app: RunningApp, media: MediaServer
) -> None:
    options = {
        "subtitles": {"languages": "all", "mode": "sidecar", "format": "srt"},
        "split_chapters": True,
    }
    done = await completed(app, media.url("/rich.html"), options=options)
    names = [f["name"] for f in done["files"]]
    assert names[0] == done["filename"]
    chapters = [n for n in names if " - 00" in n]
    subtitles = sorted(n for n in names if n.endswith(".srt"))
    assert len(chapters) == len(RICH_CHAPTERS)
    assert [n.rsplit(".", 2)[-2] for n in subtitles] == ["en", "fr"]
    assert len(names) == 1 + len(chapters) + len(subtitles)
    for chapter, (title, start, end) in zip(sorted(chapters), RICH_CHAPTERS, strict=True):
        assert title in chapter
        duration = float(probe(app.downloads_dir / chapter)["format"]["duration"])
        assert abs(duration - (end - start)) < 0.5, (chapter, duration)
    srt = (app.downloads_dir / subtitles[1]).read_text(encoding="utf-8")
    assert "Bonjour de la page de test" in srt and "-->" in srt
    # Each file is served by its place in the list, with its own name.
    for index, entry in enumerate(done["files"]):
        response = await app.client.get(f"/api/downloads/{done['id']}/files/{index}")
        assert response.status_code == 200
        assert len(response.content) == entry["size"]
    missing = await app.client.get(f"/api/downloads/{done['id']}/files/{len(names)}")
    assert missing.status_code == 404
    # Deleting the job removes every one of its files.
    assert (await app.client.delete(f"/api/downloads/{done['id']}")).status_code == 204
    assert not [p for p in app.downloads_dir.rglob("*") if p.is_file()]


async def test_audio_gets_cover_art_and_tags(app: RunningApp, media: MediaServer) -> None:
    done = await completed(
        app,
        media.url("/rich.html"),
        media_type="audio",
        output_format="mp3",
        options={"embed_thumbnail": True, "embed_metadata": True},
    )
    info = probe(app.downloads_dir / done["filename"])
    assert has_cover_art(info)
    assert info["format"]["tags"]["title"] == RICH_TITLE
    assert info["format"]["tags"]["artist"] == RICH_UPLOADER


@pytest.mark.parametrize(
    ("clip", "tolerance"),
    [
        # A keyframe every second in the source: a keyframe cut is off by less than that.
        ({"start": "00:00:02.5", "end": 7.3}, 1.0),
        ({"start": 2.5, "end": "0:07.3", "exact": True}, 0.1),
    ],
)
async def test_a_clip_lasts_what_was_asked(
    app: RunningApp, media: MediaServer, clip: dict[str, Any], tolerance: float
) -> None:
    done = await completed(app, media.url("/rich.html"), options={"clip": clip})
    assert done["options"]["clip"]["start"] == 2.5 and done["options"]["clip"]["end"] == 7.3
    duration = float(probe(app.downloads_dir / done["filename"])["format"]["duration"])
    assert abs(duration - 4.8) <= tolerance, duration


async def test_a_folder_and_a_file_name_of_the_jobs_own(
    app: RunningApp, media: MediaServer
) -> None:
    done = await completed(
        app,
        media.url("/media/video.mp4"),
        options={"folder": "talks/2026", "filename": "%(title)s - mine"},
    )
    assert done["filename"] == "talks/2026/video - mine.mp4"
    assert (app.downloads_dir / "talks" / "2026" / "video - mine.mp4").is_file()


# -- what the probes say ---------------------------------------------------------------------


async def test_url_info_and_formats_list_the_subtitle_languages(
    app: RunningApp, media: MediaServer
) -> None:
    info = await app.client.post("/api/url-info", json={"url": media.url("/rich.html")})
    assert info.status_code == 200, info.text
    assert info.json()["subtitles"] == ["en", "fr"]
    assert info.json()["automatic_captions"] == []
    formats = await app.client.get("/api/formats", params={"url": media.url("/rich.html")})
    assert formats.status_code == 200, formats.text
    assert formats.json()["subtitles"] == ["en", "fr"]
    assert formats.json()["formats"]


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"options": {"subtitles": {"languages": ["english!"]}}}, "options.subtitles.languages"),
        ({"options": {"subtitles": {"languages": "most"}}}, "options.subtitles.languages"),
        ({"options": {"subtitles": {"languages": ["en"], "mode": "burn"}}}, "options.subtitles"),
        ({"options": {"clip": {"start": 8, "end": "0:05"}}}, "options.clip.end"),
        ({"options": {"clip": {"start": "soon", "end": 5}}}, "options.clip.start"),
        ({"options": {"filename": "../../etc/passwd"}}, "options.filename"),
        ({"options": {"filename": "/tmp/x"}}, "options.filename"),
        ({"options": {"filename": "$HOME/x"}}, "options.filename"),
        ({"options": {"filename": "~/x"}}, "options.filename"),
        ({"options": {"filename": "%(title"}}, "options.filename"),
        ({"options": {"filename": "%(title|..)s/x"}}, "options.filename"),
        ({"options": {"folder": "../outside"}}, "options.folder"),
        ({"options": {"folder": "/srv"}}, "options.folder"),
        ({"options": {"folder": ".mediarip-partial/x"}}, "options.folder"),
        ({"options": {"sponsorblock": {"action": "cut"}}}, "options.sponsorblock.action"),
        (
            {"options": {"sponsorblock": {"action": "remove", "categories": ["ads"]}}},
            "options.sponsorblock.categories",
        ),
        ({"output_format": "webm", "options": {"embed_thumbnail": True}}, "embed_thumbnail"),
        (
            {"media_type": "audio", "options": {"subtitles": {"languages": ["en"]}}},
            "options.subtitles.mode",
        ),
        ({"options": {"clip": {"start": 1, "end": 2}, "split_chapters": True}}, "split_chapters"),
        ({"options": {"colour": "red"}}, "colour"),
        ({"preset": "no-such-preset"}, "preset"),
    ],
)
async def test_bad_options_are_refused_naming_the_field(
    app: RunningApp, media: MediaServer, fields: dict[str, Any], field: str
) -> None:
    response = await app.client.post(
        "/api/downloads", json={"url": media.url("/media/video.mp4"), **fields}
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["message"]
    listed = (await app.client.get("/api/downloads")).json()["jobs"]
    assert listed == []


# -- SponsorBlock ------------------------------------------------------------------------------


class _FakeSponsorBlock(ThreadingHTTPServer):
    """SponsorBlock's ``/api/skipSegments/<hash prefix>`` for one video: a sponsor segment."""

    daemon_threads = True

    def __init__(self, video_id: str, segment: tuple[float, float], duration: float) -> None:
        super().__init__(("127.0.0.1", 0), _SponsorBlockHandler)
        self.video_id, self.segment, self.duration = video_id, segment, duration
        self.asked: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _SponsorBlockHandler(BaseHTTPRequestHandler):
    server: _FakeSponsorBlock

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.asked.append(self.path)
        digest = hashlib.sha256(self.server.video_id.encode()).hexdigest()
        if not self.path.startswith(f"/api/skipSegments/{digest[:4]}?"):
            body = b"[]"
        else:
            body = json.dumps(
                [
                    {
                        "videoID": self.server.video_id,
                        "segments": [
                            {
                                "segment": list(self.server.segment),
                                "category": "sponsor",
                                "actionType": "skip",
                                "videoDuration": self.server.duration,
                                "UUID": "x",
                                "description": "",
                            }
                        ],
                    }
                ]
            ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def sponsorblock() -> Iterator[_FakeSponsorBlock]:
    server = _FakeSponsorBlock("dQw4w9WgXcQ", (4.0, 8.0), 12.0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _as_if_from_youtube(
    media: MediaServer, options: DownloadOptions, api: str, folder: Path
) -> Path:
    """Run yt-dlp with a job's options on a video that says it came from YouTube.

    yt-dlp asks SponsorBlock only for videos its YouTube extractor found, and the tests cannot
    reach YouTube: so this hands yt-dlp the result of an extraction (the one stand-in), and
    everything after it is real: the job's options as :func:`apply_options` makes them, the
    SponsorBlock lookup (on the loopback fake), the download, ModifyChapters and ffmpeg."""
    params = format_options(MediaType.VIDEO, None, None, "mp4")
    params.update(
        {
            "quiet": True,
            "no_warnings": True,
            "paths": {"home": str(folder), "temp": str(folder)},
            "outtmpl": {"default": "%(id)s.%(ext)s"},
        }
    )
    apply_options(
        params, options, media_type=MediaType.VIDEO, output_format="mp4", sponsorblock_api=api
    )
    produced: list[str] = []
    params["post_hooks"] = [produced.append]
    info = {
        "id": "dQw4w9WgXcQ",
        "title": "As if from YouTube",
        "url": media.url("/media/chapters.mp4"),
        "ext": "mp4",
        "duration": 12,
        "extractor": "youtube",
        "extractor_key": "Youtube",
        "webpage_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    }
    with yt_dlp.YoutubeDL(params) as ydl:
        ydl.process_ie_result(info, download=True)
    return Path(produced[-1])


def test_sponsorblock_remove_cuts_the_segment_out(
    media: MediaServer, sponsorblock: _FakeSponsorBlock, tmp_path: Path
) -> None:
    options = DownloadOptions(sponsorblock=SponsorBlock("remove", ("sponsor",)))
    path = _as_if_from_youtube(media, options, sponsorblock.url, tmp_path)
    assert sponsorblock.asked, "yt-dlp did not ask the configured SponsorBlock API"
    duration = float(probe(path)["format"]["duration"])
    assert abs(duration - 8.0) < 0.5, duration  # 12 s less the 4 s sponsor segment


def test_sponsorblock_mark_adds_chapters_and_keeps_everything(
    media: MediaServer, sponsorblock: _FakeSponsorBlock, tmp_path: Path
) -> None:
    options = DownloadOptions(sponsorblock=SponsorBlock("mark", ("sponsor",)))
    path = _as_if_from_youtube(media, options, sponsorblock.url, tmp_path)
    info = probe(path)
    assert abs(float(info["format"]["duration"]) - 12.0) < 0.5
    titles = [c["tags"]["title"] for c in info["chapters"]]
    assert any("Sponsor" in t for t in titles), titles
    sponsor = next(c for c in info["chapters"] if "Sponsor" in c["tags"]["title"])
    assert abs(float(sponsor["start_time"]) - 4.0) < 0.1
    assert abs(float(sponsor["end_time"]) - 8.0) < 0.1


async def test_sponsorblock_on_another_site_downloads_the_whole_video(
    tmp_path: Path, media: MediaServer, sponsorblock: _FakeSponsorBlock
) -> None:
    """yt-dlp applies SponsorBlock to YouTube videos only: elsewhere the job completes with the
    whole video and SponsorBlock is never asked (the README says so)."""
    from tests.conftest import make_settings
    from tests.support import running_app

    env = {"MEDIARIP__YTDLP__SPONSORBLOCK_API": sponsorblock.url}
    async with running_app(make_settings(tmp_path, env)) as app:
        done = await completed(
            app,
            media.url("/rich.html"),
            options={"sponsorblock": {"action": "remove", "categories": ["sponsor"]}},
        )
    assert done["options"]["sponsorblock"] == {"action": "remove", "categories": ["sponsor"]}
    duration = float(probe(app.downloads_dir / done["filename"])["format"]["duration"])
    assert abs(duration - 12.0) < 0.5
    assert sponsorblock.asked == []
