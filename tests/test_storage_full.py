"""A full data disk: the server lives through it, says so, and loses nothing.

The data folder is a real, small filesystem (a tmpfs mounted for the test; root is needed, so
the tests skip elsewhere), filled with a real file until the kernel says ENOSPC.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from mediarip.store import StorageFull, Store
from tests.conftest import make_settings
from tests.media import MediaServer
from tests.support import running_app


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs at ``tmp_path/data``."""
    mount_point = tmp_path / "data"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    """Fill the filesystem of ``folder`` to the last byte; the filler file, to free it."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:
        block = b"\0" * 65536
        while True:
            try:
                out.write(block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                if len(block) == 1:
                    break
                block = block[: len(block) // 2]
    return filler


def stored_status(data_dir: Path, job_id: str) -> str:
    with sqlite3.connect(f"file:{data_dir / 'mediarip.sqlite3'}?mode=ro", uri=True) as db:
        return str(db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()[0])


async def test_a_write_on_a_full_disk_raises_storage_full_and_keeps_what_was_stored(
    small_disk: Path,
) -> None:
    async with Store.open(small_disk / "db.sqlite3") as store:
        await store.set_meta("kept", "yes")
        filler = fill(small_disk)
        with pytest.raises(StorageFull) as caught:
            await store.set_meta("big", "x" * 1_000_000)
        assert "data folder" in caught.value.message
        assert str(small_disk) not in caught.value.message  # no server path for people
        assert store.problem is not None
        assert await store.get_meta("kept") == "yes"
        filler.unlink()
        assert await store.check_writable() is None
        await store.set_meta("big", "x" * 1000)
        assert store.problem is None


async def test_a_full_data_disk_refuses_new_jobs_with_507_and_running_jobs_finish(
    small_disk: Path, tmp_path: Path, media: MediaServer
) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__SERVER__DATA_DIR": str(small_disk)})
    async with running_app(settings) as app:
        job = await app.submit(media.url("/slow/150000/video.webm"))
        await app.wait_for(job["id"], lambda j: j["status"] == "downloading")
        filler = fill(small_disk)

        refused = await app.client.post("/api/downloads", json={"url": media.url("/media/a.mp4")})
        # A write may still fit in pages SQLite already holds; the next one will not.
        for _ in range(20):
            if refused.status_code == 507:
                break
            refused = await app.client.post(
                "/api/downloads", json={"url": media.url("/media/video.mp4")}
            )
        assert refused.status_code == 507, refused.text
        error = refused.json()["error"]
        assert error["code"] == "storage_full"
        assert "data folder" in error["message"] and str(small_disk) not in error["message"]

        health = await app.client.get("/api/health")
        assert health.status_code == 503
        assert "data folder full" in health.json()["error"]["message"]

        # The running job carries on and ends, in memory, while nothing can be written.
        done = await app.wait_for(job["id"], timeout=60)
        assert done["status"] == "completed", done
        listed = await app.client.get("/api/downloads")
        assert listed.status_code == 200
        assert job["id"] in {j["id"] for j in listed.json()["jobs"]}

        # Space comes back: health recovers and the job's end is written.
        filler.unlink()
        with trio.fail_after(30):
            while (await app.client.get("/api/health")).status_code != 200:
                await trio.sleep(0.1)
            while stored_status(small_disk, job["id"]) != "completed":
                await trio.sleep(0.1)
        assert (
            await app.client.post("/api/downloads", json={"url": media.url("/x")})
        ).status_code == 201


async def test_a_server_started_on_a_full_data_disk_serves_read_only(
    small_disk: Path, tmp_path: Path, media: MediaServer
) -> None:
    settings = make_settings(
        tmp_path,
        {"MEDIARIP__SERVER__DATA_DIR": str(small_disk), "MEDIARIP__SESSION__MODE": "shared"},
    )
    async with running_app(settings) as app:
        job = await app.submit(media.url("/media/video.mp4"))
        await app.wait_for(job["id"])
    fill(small_disk)
    async with running_app(settings) as app:
        health = await app.client.get("/api/health")
        assert health.status_code == 503
        assert "data folder full" in health.json()["error"]["message"]
        listed = await app.client.get("/api/downloads")
        assert listed.status_code == 200, listed.text
        assert [j["id"] for j in listed.json()["jobs"]] == [job["id"]]
        refused = await app.client.post("/api/downloads", json={"url": media.url("/x")})
        assert refused.status_code in (503, 507), refused.text
        assert "data folder" in refused.json()["error"]["message"]
