"""Files stay inside the downloads folder; downloads stay off private networks."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from mediarip.engine import netguard
from mediarip.engine.errors import describe_failure, without_paths
from mediarip.engine.paths import (
    PathEscapeError,
    confine,
    make_folder,
    place_file,
    place_files,
    remove_job_files,
    remove_work_dir,
    template_for,
    work_dir_for,
)
from mediarip.engine.worker import format_options, parse_playlist_items
from mediarip.models import MediaType


def test_templates_match_the_most_specific_domain() -> None:
    templates = {"*": "default", "youtube.com": "yt", "music.youtube.com": "music"}
    assert template_for("https://www.youtube.com/watch?v=x", templates) == "yt"
    assert template_for("https://music.youtube.com/x", templates) == "music"
    assert template_for("https://vimeo.com/1", templates) == "default"


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../x", "", "."])
def test_confine_refuses_paths_that_leave_the_folder(tmp_path: Path, bad: str) -> None:
    with pytest.raises(PathEscapeError):
        confine(tmp_path, bad)


def test_confine_refuses_a_symlink_out_of_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "downloads"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(PathEscapeError):
        confine(root, "link/secret.txt")


def test_placing_a_file_never_overwrites(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    work = downloads / ".mediarip-partial" / "job"
    (work / "sub").mkdir(parents=True)
    first = place_file(work, _write(work / "sub" / "a.mp4", b"1"), downloads)
    second = place_file(work, _write(work / "sub" / "a.mp4", b"2"), downloads)
    assert first == (downloads / "sub" / "a.mp4").resolve()
    assert second == (downloads / "sub" / "a (1).mp4").resolve()
    assert first.read_bytes() == b"1" and second.read_bytes() == b"2"


def test_a_placed_file_leaves_no_second_name_behind(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    work = downloads / ".mediarip-partial" / "job"
    work.mkdir(parents=True)
    produced = _write(work / "a.mp4", b"data")
    final = place_file(work, produced, downloads)
    assert not produced.exists()
    assert final.stat().st_nlink == 1  # moved, not left linked from the working folder


def test_without_hard_links_files_are_still_placed_and_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some FUSE, SMB and exFAT mounts refuse hard links (EPERM): the reservation and rename
    way then does the move. (The refusal is simulated: no such mount is at hand.)"""

    def no_hard_links(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)
    downloads = tmp_path / "downloads"
    work = downloads / ".mediarip-partial" / "job"
    work.mkdir(parents=True)
    first = place_file(work, _write(work / "a.mp4", b"1"), downloads)
    second = place_file(work, _write(work / "a.mp4", b"2"), downloads)
    assert [first.name, second.name] == ["a.mp4", "a (1).mp4"]
    assert first.read_bytes() == b"1" and second.read_bytes() == b"2"
    assert not (work / "a.mp4").exists()


def test_files_beside_a_renamed_main_file_take_its_new_name(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    for job in ("one", "two"):
        work = downloads / ".mediarip-partial" / job
        work.mkdir(parents=True)
        files = [
            _write(work / "Talk [x1].mkv", job.encode()),
            _write(work / "Talk [x1].en.srt", b"subs"),
            _write(work / "Talk [x1].jpg", b"cover"),
            _write(work / "notes.txt", b"other"),
        ]
        placed = [path.name for path, _ in place_files(work, files, downloads)]
    assert placed == [
        "Talk [x1] (1).mkv",
        "Talk [x1] (1).en.srt",
        "Talk [x1] (1).jpg",
        "notes (1).txt",
    ]
    assert (downloads / "Talk [x1] (1).mkv").read_bytes() == b"two"
    assert (downloads / "Talk [x1].en.srt").is_file()  # the first job's, untouched


def _race(jobs: int, rounds: int, one_round: Callable[[int, int], None]) -> list[BaseException]:
    """Run ``one_round(job, n)`` ``rounds`` times in each of ``jobs`` threads at once; what
    they raised."""
    failures: list[BaseException] = []

    def loop(job: int) -> None:
        for n in range(rounds):
            try:
                one_round(job, n)
            except Exception as exc:  # collected for the assertion
                failures.append(exc)

    threads = [threading.Thread(target=loop, args=(job,)) for job in range(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_a_job_starting_while_another_ends_always_gets_its_working_folder(
    tmp_path: Path,
) -> None:
    """A job that ends removes the shared ``.mediarip-partial`` once it is empty; a job
    starting at that moment in another thread made it and then lost it before making its own
    folder inside (a feed job failed in CI with a bare "No such file or directory"). Plain
    ``Path.mkdir`` lost this race 124 times in 9,000 rounds here (3 threads)."""

    def one_round(job: int, n: int) -> None:
        work = work_dir_for(tmp_path, f"{job}-{n}")
        make_folder(work)
        assert work.is_dir()
        remove_work_dir(work)

    assert _race(jobs=3, rounds=2000, one_round=one_round) == []
    assert list(tmp_path.iterdir()) == []  # the shared folder went with the last job


def test_a_file_is_placed_even_while_a_removal_empties_its_folder(tmp_path: Path) -> None:
    """Removing a job takes the template's subfolder it leaves empty; a job placing its file
    in that subfolder at the same moment makes it again."""
    downloads = tmp_path / "downloads"

    def one_round(job: int, n: int) -> None:
        work = work_dir_for(downloads, f"{job}-{n}")
        make_folder(work / "Channel")
        final = place_file(work, _write(work / "Channel" / f"{job}-{n}.mp4", b"x"), downloads)
        assert final.read_bytes() == b"x"
        remove_job_files(downloads, f"{job}-{n}", [f"Channel/{job}-{n}.mp4"])

    assert _race(jobs=3, rounds=800, one_round=one_round) == []
    assert list(downloads.iterdir()) == []


def test_placing_a_file_through_a_planted_symlink_is_refused(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    work = downloads / ".mediarip-partial" / "job"
    (work / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (downloads / "sub").symlink_to(outside)
    with pytest.raises(PathEscapeError):
        place_file(work, _write(work / "sub" / "a.mp4", b"1"), downloads)
    assert list(outside.iterdir()) == []


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8000/",
        "http://LOCALHOST./",
        "http://[::1]/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
        "http://2130706433/",  # 127.0.0.1 as a decimal number
        "http://0x7f.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://192.168.1.1/",
        "http://[fd00::1]/",
    ],
)
def test_private_addresses_are_refused_before_any_request(url: str) -> None:
    assert netguard.check_url(url) is not None


def test_public_addresses_and_names_pass_the_first_look() -> None:
    assert netguard.check_url("https://example.com/video") is None
    assert netguard.check_url("http://93.184.215.14/") is None


STRICT = netguard.NetworkPolicy()


def test_the_guard_refuses_names_that_resolve_to_private_addresses() -> None:
    with netguard.guarded(STRICT) as state, pytest.raises(netguard.BlockedAddressError):
        socket.getaddrinfo("localhost", 80)
    assert state.blocked is not None and state.blocked.host == "localhost"
    error = describe_failure(RuntimeError("wrapped"), state.blocked)
    assert error.code == "blocked_address"
    assert "allow_private_networks" in error.message


def test_the_guard_only_applies_in_guarded_threads() -> None:
    with netguard.guarded(netguard.NetworkPolicy(allow_private=True)):
        assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("localhost", 80)  # and not outside


def test_an_allowlisted_private_network_is_reachable() -> None:
    nas = netguard.NetworkPolicy(allowlist=(ipaddress.ip_network("192.168.1.10/32"),))
    assert netguard.check_url("http://192.168.1.10/video", nas) is None
    assert netguard.check_url("http://192.168.1.11/video", nas) is not None
    assert not nas.forbids("192.168.1.10") and nas.forbids("10.0.0.1")


def test_playlist_items_parse() -> None:
    assert parse_playlist_items("1-3,5") == {1, 2, 3, 5}
    assert parse_playlist_items(None) is None


def test_format_options_follow_the_request() -> None:
    audio = format_options(MediaType.AUDIO, None, "192", "opus")
    assert audio["postprocessors"][0] == {
        "key": "FFmpegExtractAudio",
        "preferredcodec": "opus",
        "preferredquality": "192",
    }
    video = format_options(MediaType.VIDEO, None, "720", "mp4")
    assert video["format"].startswith("bv*[height<=720]+ba")
    assert video["merge_output_format"] == "mp4"
    assert format_options(MediaType.VIDEO, "137", None, None)["format"] == "137+bestaudio/137"


def test_cookie_files_are_private(tmp_path: Path) -> None:
    from mediarip.cookies import save_cookies

    path = tmp_path / "cookies" / "s.txt"
    save_cookies(path, ".example.com\tTRUE\t/\tFALSE\t0\tname\tvalue")
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_failure_message_names_no_server_path() -> None:
    from yt_dlp.utils import DownloadError, PostProcessingError

    folder = "/srv/media rip/downloads/.mediarip-partial/0b6f0c1e"
    cause = PostProcessingError(
        f"file:{folder}/headers [headers].unknown_video: could not find codec parameters"
    )
    error = describe_failure(
        DownloadError(f"ERROR: Postprocessing: {cause}", exc_info=(type(cause), cause, None))
    )
    assert error.code == "postprocessing_failed"
    assert "/srv" not in error.message and ".mediarip-partial" not in error.message
    assert "could not find codec parameters" in error.message
    moved = describe_failure(PermissionError(13, "Permission denied", f"{folder}/x.mp4"))
    assert "/srv" not in moved.message
    # A URL is the person's own: it stays as it was.
    assert without_paths("at https://example.com/a/b.html") == "at https://example.com/a/b.html"
