"""A minimal Server-Sent Events reader, shared by the benchmark and its SSE client process.

It works on raw chunks rather than lines so that a client can stamp each chunk with its arrival
time before parsing anything (``time.time()``), which is what the progress-latency figure needs.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

__all__ = ["FrameParser", "SSEStream", "SseEvent"]

SseEvent = tuple[str, Any, float]  # (event name, decoded data, arrival time of its last chunk)


class FrameParser:
    """Splits a byte stream into ``(name, data)`` frames (``data`` JSON-decoded)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[tuple[str, Any]]:
        self._buffer += chunk
        *frames, self._buffer = self._buffer.split(b"\n\n")
        events: list[tuple[str, Any]] = []
        for frame in frames:
            name, data = "message", []
            for line in frame.decode().split("\n"):
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
            if data:
                events.append((name, json.loads("\n".join(data))))
        return events


class SSEStream:
    """Events from an open ``/api/events`` response, one at a time, with arrival times."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks: AsyncIterator[bytes] = response.aiter_raw()
        self._parser = FrameParser()
        self._pending: list[SseEvent] = []

    async def next(self) -> SseEvent:
        while not self._pending:
            chunk = await self._chunks.__anext__()  # StopAsyncIteration: the stream ended
            arrived = time.time()
            self._pending = [(n, d, arrived) for n, d in self._parser.feed(chunk)]
        return self._pending.pop(0)

    async def until_job(self, job_id: str, statuses: set[str]) -> dict[str, Any]:
        """Read until a ``job_update`` puts ``job_id`` in one of ``statuses``; return that update."""
        while True:
            name, data, _ = await self.next()
            job: dict[str, Any] = (data.get("job") or {}) if name == "job_update" else {}
            if job.get("id") == job_id and job.get("status") in statuses:
                return job
