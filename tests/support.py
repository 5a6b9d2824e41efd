"""Helpers for tests: a running app with an HTTP client, an SSE reader, waiting for a job."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio

from mediarip.config import Settings
from mediarip.server import ServerHandle, serve

TERMINAL = {"completed", "failed", "cancelled"}


@attrs.define
class RunningApp:
    handle: ServerHandle
    client: httpx.AsyncClient
    settings: Settings

    @property
    def base_url(self) -> str:
        return self.handle.base_url

    @property
    def downloads_dir(self) -> Path:
        return Path(self.settings.downloads.output_dir)

    def new_client(self) -> httpx.AsyncClient:
        """Another browser: its own cookie jar, so its own session."""
        return httpx.AsyncClient(base_url=self.base_url, timeout=30)

    async def submit(
        self, url: str, client: httpx.AsyncClient | None = None, **fields: Any
    ) -> dict[str, Any]:
        response = await (client or self.client).post("/api/downloads", json={"url": url, **fields})
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def job(self, job_id: str, client: httpx.AsyncClient | None = None) -> dict[str, Any]:
        response = await (client or self.client).get(f"/api/downloads/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def wait_for(
        self,
        job_id: str,
        predicate: Callable[[dict[str, Any]], bool] = lambda job: job["status"] in TERMINAL,
        timeout: float = 60,
        client: httpx.AsyncClient | None = None,
    ) -> dict[str, Any]:
        """Poll the job until ``predicate`` holds (default: it has ended)."""
        with trio.fail_after(timeout):
            while True:
                job = await self.job(job_id, client)
                if predicate(job):
                    return job
                await trio.sleep(0.05)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[RunningApp]:
    """The real server on 127.0.0.1 (port 0), stopped the way SIGTERM stops it."""
    async with trio.open_nursery() as nursery:
        handle: ServerHandle = await nursery.start(partial(serve, settings, handle_signals=False))
        async with httpx.AsyncClient(base_url=handle.base_url, timeout=30) as client:
            try:
                yield RunningApp(handle, client, settings)
            finally:
                handle.stop()


class SSEReader:
    """Reads named events from an open ``/api/events`` response."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.last_id: str | None = None

    async def next(self, timeout: float = 20) -> tuple[str, Any]:
        name, data, event_id = "message", [], None
        with trio.fail_after(timeout):
            async for line in self._lines:
                if line == "":
                    if data:
                        if event_id is not None:
                            self.last_id = event_id
                        return name, json.loads("\n".join(data))
                    name, data, event_id = "message", [], None
                    continue
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
                elif field == "id":
                    event_id = value
        raise EOFError("the event stream ended")

    async def until(
        self, predicate: Callable[[str, Any], bool], timeout: float = 30
    ) -> list[tuple[str, Any]]:
        """Read events until one satisfies ``predicate``; return all read, that one last."""
        seen: list[tuple[str, Any]] = []
        with trio.fail_after(timeout):
            while True:
                event = await self.next(timeout)
                seen.append(event)
                if predicate(*event):
                    return seen


@asynccontextmanager
async def open_events(
    client: httpx.AsyncClient, last_event_id: str | None = None
) -> AsyncIterator[SSEReader]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    async with client.stream("GET", "/api/events", headers=headers, timeout=None) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SSEReader(response)


def ffprobe_streams(path: Path) -> list[dict[str, Any]]:
    """The streams ffprobe finds in ``path`` (codec_type, codec_name, ...)."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)["streams"]  # type: ignore[no-any-return]


def work_folder(app: RunningApp, job_id: str) -> Path:
    return app.downloads_dir / ".mediarip-partial" / job_id
