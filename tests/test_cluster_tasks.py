"""The cluster's long-running tasks under cancellation (issue 16), in-process on a real
PostgreSQL: the bus's listener, leadership, a worker stopped in order and a worker cancelled
outright. The processes as an operator runs them are in ``test_cluster.py``."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import httpx
import trio
import trio.lowlevel

from mediarip.cluster.bus import LEAD_RETRY, WAIT, Bus, Message
from mediarip.cluster.leading import while_leading
from mediarip.cluster.worker import WorkerHandle, work
from mediarip.config import Settings
from mediarip.server import ServerHandle, serve
from mediarip.store import Store
from tests.conftest import make_settings
from tests.media import MediaServer
from tests.postgres import Cluster


def _settings(tmp_path: Path, url: str, **env: str) -> Settings:
    return make_settings(
        tmp_path,
        {
            "MEDIARIP__DATABASE__URL": url,
            "MEDIARIP__DATABASE__LEASE_SECONDS": "3",
            "MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS": "true",
            **env,
        },
    )


async def test_a_cancelled_listener_returns_within_its_wait_and_hears_nothing_after(
    postgres: Cluster,
) -> None:
    url = postgres.new_database()
    heard: list[Message] = []

    async def on_message(message: Message) -> None:
        heard.append(message)

    async def nothing() -> None:
        pass

    async with Store.open(url) as store:
        listener, sender = Bus(store, "listener"), Bus(store, "sender")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender.send_loop)
            scope = trio.CancelScope()

            async def listen() -> None:
                with scope:
                    await listener.listen(on_message, nothing)

            nursery.start_soon(listen)
            await listener.listening.wait()
            sender.publish("hello", {"n": 1})
            with trio.fail_after(5):
                while not heard:
                    await trio.sleep(0.01)
            started = time.monotonic()
            scope.cancel()
            await trio.lowlevel.checkpoint()  # the listener's thread returns within WAIT
            nursery.cancel_scope.cancel()
        took = time.monotonic() - started
    assert took < WAIT + 1.0, took
    assert [(m.kind, m.origin, dict(m.body)) for m in heard] == [("hello", "sender", {"n": 1})]


async def test_only_the_leader_runs_a_once_task_and_another_takes_over_when_it_goes(
    postgres: Cluster,
) -> None:
    url = postgres.new_database()
    running: dict[str, int] = {"a": 0, "b": 0}
    stopped: list[str] = []

    def once(name: str) -> functools.partial[object]:
        async def task() -> None:
            running[name] += 1
            try:
                await trio.sleep_forever()
            finally:
                stopped.append(name)

        return functools.partial(task)

    async def ignore(message: Message) -> None:
        pass

    async def nothing() -> None:
        pass

    async with Store.open(url) as store:
        a, b = Bus(store, "a", lead=True), Bus(store, "b", lead=True)
        async with trio.open_nursery() as nursery:
            a_scope = trio.CancelScope()

            async def listen_a() -> None:
                with a_scope:
                    await a.listen(ignore, nothing)

            nursery.start_soon(listen_a)
            with trio.fail_after(5):
                await a.wait_leading(True)
            await nursery.start(b.listen, ignore, nothing)
            nursery.start_soon(while_leading, a, once("a"))
            nursery.start_soon(while_leading, b, once("b"))
            await trio.sleep(LEAD_RETRY + 0.5)  # b has tried, and failed, to lead
            assert (running, b.leading) == ({"a": 1, "b": 0}, False)
            a_scope.cancel()  # a's connection closes: its lock goes with it
            with trio.fail_after(LEAD_RETRY + 5):
                await b.wait_leading(True)
                while running["b"] == 0:
                    await trio.sleep(0.01)
            assert stopped == ["a"]
            assert running == {"a": 1, "b": 1}
            nursery.cancel_scope.cancel()
    assert sorted(stopped) == ["a", "b"]


async def _downloading(client: httpx.AsyncClient, media: MediaServer) -> str:
    """A new job of a throttled download, once its worker downloads it."""
    created = await client.post("/api/downloads", json={"url": media.url("/slow/1000000/big.mp4")})
    job_id: str = created.json()["id"]
    await _wait_status(client, job_id, {"downloading"})
    return job_id


async def _wait_status(
    client: httpx.AsyncClient, job_id: str, statuses: set[str], timeout: float = 60
) -> dict[str, object]:
    with trio.fail_after(timeout):
        while True:
            job: dict[str, object] = (await client.get(f"/api/downloads/{job_id}")).json()
            if job["status"] in statuses:
                return job
            await trio.sleep(0.05)


async def test_a_worker_stopped_mid_download_leaves_its_job_queued_and_free(
    tmp_path: Path, postgres: Cluster, media: MediaServer
) -> None:
    settings = _settings(tmp_path, postgres.new_database(), MEDIARIP__SESSION__MODE="shared")
    async with trio.open_nursery() as nursery:
        web: ServerHandle = await nursery.start(
            functools.partial(serve, settings, cluster=True, handle_signals=False)
        )
        worker: WorkerHandle = await nursery.start(
            functools.partial(work, settings, handle_signals=False)
        )
        async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
            job_id = await _downloading(client, media)
            started = time.monotonic()
            worker.stop()
            with trio.fail_after(10):
                while (await web.services.store.lease_holders([job_id])) != {}:
                    await trio.sleep(0.05)
            job = await _wait_status(client, job_id, {"queued"}, timeout=10)
            took = time.monotonic() - started
            assert job["status"] == "queued"
            partial = Path(settings.downloads.output_dir) / ".mediarip-partial" / job_id
            assert partial.exists(), "the partial files stay for the next worker"
            # another worker resumes it
            await nursery.start(functools.partial(work, settings, handle_signals=False))
            done = await _wait_status(client, job_id, {"completed", "failed"})
            assert done["status"] == "completed", done
        web.stop()
        nursery.cancel_scope.cancel()
    assert took < 5, took


async def test_a_worker_cancelled_outright_ends_promptly_without_stray_threads(
    tmp_path: Path, postgres: Cluster, media: MediaServer
) -> None:
    """Cancelled outright (no orderly stop: here mid-download, with claims and renewals
    pending), the worker's tasks all end promptly: ``trio.to_thread`` never abandons a thread,
    so its return means the job's thread has unwound too; its lease is left to run out."""
    settings = _settings(tmp_path, postgres.new_database(), MEDIARIP__SESSION__MODE="shared")
    async with trio.open_nursery() as nursery:
        web: ServerHandle = await nursery.start(
            functools.partial(serve, settings, cluster=True, handle_signals=False)
        )
        scope = trio.CancelScope()
        ended = trio.Event()

        async def run_worker(task_status: trio.TaskStatus[None]) -> None:
            try:
                with scope:
                    await work(settings, handle_signals=False, task_status=task_status)
            finally:
                ended.set()

        await nursery.start(run_worker)
        async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
            job_id = await _downloading(client, media)
            started = time.monotonic()
            scope.cancel()
            with trio.fail_after(10):
                await ended.wait()
            took = time.monotonic() - started
            holders = await web.services.store.lease_holders([job_id])
        web.stop()
    assert took < 5, took
    assert list(holders.values()) and holders[job_id].startswith("worker-")
    partial = Path(settings.downloads.output_dir) / ".mediarip-partial" / job_id
    assert partial.exists()
