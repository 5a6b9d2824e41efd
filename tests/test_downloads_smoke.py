"""A download from paste to file: the path every user takes."""

from __future__ import annotations

from tests.media import MediaServer
from tests.support import RunningApp, ffprobe_streams


async def test_a_video_downloads_and_its_file_can_be_saved(
    app: RunningApp, media: MediaServer
) -> None:
    job = await app.submit(media.url("/media/video.mp4"))
    assert job["status"] == "queued"
    done = await app.wait_for(job["id"])
    assert done["status"] == "completed", done["error"]
    assert done["filename"] and done["filesize"] == (media.media_dir / "video.mp4").stat().st_size
    response = await app.client.get(f"/api/downloads/{job['id']}/file")
    assert response.status_code == 200
    assert response.content == (media.media_dir / "video.mp4").read_bytes()
    assert "attachment" in response.headers["content-disposition"]
    kinds = {s["codec_type"] for s in ffprobe_streams(app.downloads_dir / done["filename"])}
    assert kinds == {"video", "audio"}
