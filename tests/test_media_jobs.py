"""What comes out of a download: real files, in the format asked for, named and placed right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import RunningApp, ffprobe_streams, running_app


def _codecs(path: Path) -> dict[str, str]:
    return {s["codec_type"]: s["codec_name"] for s in ffprobe_streams(path)}


async def _completed(app: RunningApp, url: str, **fields: object) -> dict[str, object]:
    job = await app.submit(url, **fields)
    done = await app.wait_for(job["id"])
    assert done["status"] == "completed", done["error"]
    assert done["progress"] == 100
    path = app.downloads_dir / str(done["filename"])
    assert path.is_file() and path.stat().st_size == done["filesize"]
    return done


async def test_audio_extraction_gives_a_real_mp3(app: RunningApp, media: MediaServer) -> None:
    done = await _completed(
        app, media.url("/media/video.mp4"), media_type="audio", output_format="mp3"
    )
    assert str(done["filename"]).endswith(".mp3")
    assert _codecs(app.downloads_dir / str(done["filename"])) == {"audio": "mp3"}


@pytest.mark.parametrize(
    ("fmt", "codec"), [("m4a", "aac"), ("opus", "opus"), ("flac", "flac"), ("wav", "pcm_s16le")]
)
async def test_audio_extraction_to_each_format(
    app: RunningApp, media: MediaServer, fmt: str, codec: str
) -> None:
    done = await _completed(
        app, media.url("/media/audio.m4a"), media_type="audio", output_format=fmt
    )
    assert str(done["filename"]).endswith(f".{fmt}")
    assert _codecs(app.downloads_dir / str(done["filename"]))["audio"] == codec


async def test_an_hls_stream_downloads_to_one_playable_file(
    app: RunningApp, media: MediaServer
) -> None:
    done = await _completed(app, media.url("/media/hls/index.m3u8"))
    assert set(_codecs(app.downloads_dir / str(done["filename"]))) == {"video", "audio"}


async def test_separate_video_and_audio_streams_are_merged(
    app: RunningApp, media: MediaServer
) -> None:
    done = await _completed(app, media.url("/media/merge.mpd"))
    codecs = _codecs(app.downloads_dir / str(done["filename"]))
    assert codecs == {"video": "h264", "audio": "aac"}


async def test_a_chosen_format_id_is_honoured(app: RunningApp, media: MediaServer) -> None:
    # The audio-only DASH format alone, asked for by its id, as audio.
    done = await _completed(
        app,
        media.url("/media/merge.mpd"),
        media_type="audio",
        format_id="audio-aac",
        output_format="m4a",
    )
    assert _codecs(app.downloads_dir / str(done["filename"])) == {"audio": "aac"}


async def test_video_output_format_mkv_remuxes(app: RunningApp, media: MediaServer) -> None:
    done = await _completed(app, media.url("/media/video.mp4"), output_format="mkv")
    assert str(done["filename"]).endswith(".mkv")
    assert _codecs(app.downloads_dir / str(done["filename"])) == {"video": "h264", "audio": "aac"}


async def test_video_output_format_webm_converts_h264(app: RunningApp, media: MediaServer) -> None:
    done = await _completed(app, media.url("/media/hls/index.m3u8"), output_format="webm")
    assert str(done["filename"]).endswith(".webm")
    codecs = _codecs(app.downloads_dir / str(done["filename"]))
    assert codecs["video"] in ("vp8", "vp9", "av1")


async def test_a_quality_cap_is_applied(app: RunningApp, media: MediaServer) -> None:
    done = await _completed(app, media.url("/media/merge.mpd"), quality="720")
    assert _codecs(app.downloads_dir / str(done["filename"]))["video"] == "h264"


async def test_an_html_page_with_video_tags_is_a_playlist(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url("/page.html"))
    parent = await app.wait_for(job["id"])
    assert parent["kind"] == "playlist", (parent["status"], parent["error"])
    assert parent["status"] == "completed"


async def test_same_title_twice_never_overwrites(app: RunningApp, media: MediaServer) -> None:
    first = await _completed(app, media.url("/media/video.mp4"))
    second = await _completed(app, media.url("/media/video.mp4"))
    assert first["filename"] != second["filename"]
    assert (app.downloads_dir / str(first["filename"])).is_file()


async def test_failing_sources_end_failed_with_an_actionable_message(
    app: RunningApp, media: MediaServer
) -> None:
    cases = {
        "/fail/404": "not_found",
        "/fail/500": "source_error",
        "/fail/drop/video.webm": "network_error",
    }
    for path, code in cases.items():
        job = await app.submit(media.url(path))
        done = await app.wait_for(job["id"])
        assert done["status"] == "failed", path
        assert done["error"]["code"] == code, (path, done["error"])
        assert "Traceback" not in done["error"]["message"]
        assert len(done["error"]["message"]) < 300
    assert not any(app.downloads_dir.rglob("*.part"))


async def test_source_templates_make_subfolders_inside_the_downloads_folder(
    tmp_path: Path, media: MediaServer
) -> None:
    settings = make_settings(
        tmp_path,
        {
            "MEDIARIP__DOWNLOADS__SOURCE_TEMPLATES": '{"127.0.0.1": "by-site/%(extractor)s/%(title)s.%(ext)s"}'
        },
    )
    async with running_app(settings) as app:
        done = await _completed(app, media.url("/media/video.mp4"))
        assert done["filename"] == "by-site/generic/video.mp4"


async def test_a_template_cannot_escape_the_downloads_folder(tmp_path: Path) -> None:
    from mediarip.config import ConfigError

    with pytest.raises(ConfigError, match="source_templates"):
        make_settings(
            tmp_path, {"MEDIARIP__DOWNLOADS__SOURCE_TEMPLATES": '{"*": "../%(title)s.%(ext)s"}'}
        )


async def test_a_file_name_longer_than_the_filesystem_takes_is_cut_to_fit(
    tmp_path: Path, media: MediaServer
) -> None:
    # 150 two-byte characters before the title: 300+ bytes, more than a file name may hold.
    template = "é" * 150 + " %(title)s [%(id)s].%(ext)s"
    settings = make_settings(
        tmp_path, {"MEDIARIP__DOWNLOADS__SOURCE_TEMPLATES": json.dumps({"*": template})}
    )
    async with running_app(settings) as app:
        job = await app.submit(media.url("/media/video.mp4"))
        done = await app.wait_for(job["id"])
        assert done["status"] == "completed", done["error"]
        name = Path(done["filename"]).name
        assert name.startswith("é" * 50) and name.endswith(".mp4")
        assert len(name.encode()) <= 255
        assert (app.downloads_dir / done["filename"]).stat().st_size == done["filesize"]
