"""Two per-job costs cut from yt-dlp (issue 9, item 15): a TLS context loaded with the CA bundle
for every job, and the tables yt-dlp renders at every stage to print them. Neither may change
what yt-dlp does: the context is shared only between identical TLS settings, and printing, when
asked for, still prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mediarip.engine.ytdl import CancellableYoutubeDL, CancelToken
from tests.media import MediaServer


def _context(params: dict[str, Any]) -> Any:
    with CancellableYoutubeDL({"quiet": True, **params}, CancelToken()) as ydl:
        handlers = list(ydl._request_director.handlers.values())
        return handlers[0]._make_sslcontext()


def test_jobs_with_the_same_tls_settings_share_one_context() -> None:
    assert _context({}) is _context({})


def test_different_tls_settings_get_their_own_context() -> None:
    checked, unchecked = _context({}), _context({"nocheckcertificate": True})
    assert checked is not unchecked
    assert checked.check_hostname and not unchecked.check_hostname


def test_printing_still_prints_when_asked(
    media: MediaServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = {
        "quiet": True,
        "skip_download": True,
        "forceprint": {"video": ["printed:%(id)s"]},
        "paths": {"home": str(tmp_path)},
    }
    with CancellableYoutubeDL(params, CancelToken()) as ydl:
        ydl.download([media.url("/media/video.mp4")])
    assert "printed:video" in capsys.readouterr().out


def test_a_file_yt_dlp_writes_is_locked_and_emptied_as_before(tmp_path: Path) -> None:
    """yt-dlp's ``locked_file`` in "wb" mode: an existing file is still emptied and an empty one
    written from its start (the patch only spares an empty file its truncation)."""
    from yt_dlp.utils import locked_file

    old = tmp_path / "old.part"
    old.write_bytes(b"x" * 1000)
    new = tmp_path / "new.part"
    for path in (old, new):
        with locked_file(str(path), "wb") as f:
            assert f.locked
            f.write(b"fresh")
        assert path.read_bytes() == b"fresh"
    with locked_file(str(old), "ab") as f:
        f.write(b"+more")
    assert old.read_bytes() == b"fresh+more"


@pytest.mark.parametrize("noprogress", [True, False])
def test_progress_hooks_run_and_yt_dlps_own_line_only_when_shown(
    media: MediaServer, tmp_path: Path, noprogress: bool
) -> None:
    seen: list[dict[str, Any]] = []
    params = {
        "quiet": True,
        "noprogress": noprogress,
        "paths": {"home": str(tmp_path)},
        "progress_hooks": [lambda status: seen.append(dict(status))],
    }
    with CancellableYoutubeDL(params, CancelToken()) as ydl:
        ydl.download([media.url("/media/video.mp4")])
    downloading = [s for s in seen if s["status"] == "downloading"]
    assert downloading and seen[-1]["status"] == "finished"
    assert downloading[-1]["downloaded_bytes"] == downloading[-1]["total_bytes"]
    # yt-dlp's console line (its "_percent_str" and friends) is made only when it is shown.
    assert all(("_percent_str" in s) is not noprogress for s in downloading)


def test_a_speed_up_that_no_longer_fits_yt_dlp_is_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """yt-dlp is updated in place: a release that renamed what a speed-up patches must still
    start, without that speed-up."""
    from mediarip.engine.ytdl import optional_patch

    def _reach_into_a_renamed_internal() -> None:
        import yt_dlp

        _ = yt_dlp.YoutubeDL.renamed_in_a_future_release  # type: ignore[attr-defined]

    with caplog.at_level("WARNING", logger="mediarip.engine"):
        assert optional_patch(_reach_into_a_renamed_internal) is False
    assert "reach_into_a_renamed_internal left out" in caplog.text
    assert optional_patch(lambda: None) is True
