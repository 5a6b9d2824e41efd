"""Many SSE clients in one process, recording when each progress update reaches them.

``python -m bench.sse_clients --url BASE --cookie SESSION --clients 100 --out FILE``

Opens ``--clients`` streams on ``BASE/api/events`` (all in the session of ``--cookie``), prints
``READY`` once every stream has had its ``init``, then records, for every ``job_update`` that
carries ``progress``, a line ``client<TAB>job id<TAB>progress<TAB>arrival time`` (``time.time()``
taken when the chunk arrived, before parsing). It stops when its stdin closes (the benchmark
closes it) or after ``--max-seconds``, and writes ``--out`` then.

It runs in its own process so that parsing a hundred streams does not share the server's CPU
time or GIL: the benchmark measures the server, not its clients.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import httpx
import trio

from .sse import SSEStream

Record = tuple[int, str, float, float]


async def _client(
    index: int,
    http: httpx.AsyncClient,
    records: list[Record],
    connected: trio.Semaphore,
) -> None:
    async with http.stream("GET", "/api/events", timeout=None) as response:
        response.raise_for_status()
        stream = SSEStream(response)
        while True:
            name, data, arrived = await stream.next()
            if name == "init":
                connected.release()
            elif name == "job_update" and "progress" in data["job"]:
                job = data["job"]
                # The same key as the launcher's log: bytes, else the percentage.
                key = job.get("downloaded_bytes")
                key = job["progress"] if key is None else key
                records.append((index, job["id"], float(key), arrived))


async def _until_stdin_closes() -> None:
    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    async with stdin:
        while await stdin.receive_some():
            pass


async def _announce_when_connected(connected: trio.Semaphore, clients: int) -> None:
    for _ in range(clients):
        await connected.acquire()
    print("READY", flush=True)


async def main(url: str, cookie: str, clients: int, out: Path, max_seconds: float) -> None:
    records: list[Record] = []
    connected = trio.Semaphore(0)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(
        base_url=url, cookies={"mrip_session": cookie}, limits=limits, timeout=30
    ) as http:
        with trio.move_on_after(max_seconds):
            async with trio.open_nursery() as nursery:
                for index in range(clients):
                    nursery.start_soon(_client, index, http, records, connected)
                nursery.start_soon(_announce_when_connected, connected, clients)
                await _until_stdin_closes()
                nursery.cancel_scope.cancel()
    lines = (f"{c}\t{job}\t{progress!r}\t{t!r}\n" for c, job, progress, t in records)
    out.write_text("".join(lines))


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--cookie", required=True)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args()
    trio.run(main, args.url, args.cookie, args.clients, args.out, args.max_seconds)


if __name__ == "__main__":
    cli()
