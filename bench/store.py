"""``python -m bench.store``: the store's operations per second, on SQLite and PostgreSQL.

What the app asks of its store most: create a job (one transaction), write a job's progress
(one transaction, the download engine's most frequent write), list a session's 100 newest jobs
(the queue page) and get one job. Each operation runs for ``--seconds`` from ``--tasks``
concurrent trio tasks, as the app's request handlers and download tasks would call it, through
the store's public methods (so each figure includes the hop to the worker thread).

SQLite: a temporary file on this machine's disk, journal as the store chooses it (WAL here).
PostgreSQL: a throwaway cluster of the tests' making (``tests/postgres.py``: loopback,
``fsync=off``, so the figure is the store's and the driver's cost, not a disk's) — skipped with
``--sqlite-only``, or when the store predates ``database.url``.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import trio

import mediarip.store
from mediarip.models import Job, new_job_id, utcnow
from mediarip.store import Store

OPERATIONS = ("create job", "progress write", "list 100 jobs", "get job")
CPU = False


def _job(session: str) -> Job:
    return Job(
        id=new_job_id(), session_id=session, url="https://example.com/v", created_at=utcnow()
    )


async def _rate(seconds: float, tasks: int, operation: Callable[[int], Awaitable[object]]) -> float:
    """The best of five rounds (the machine is shared: the best round is the one least
    disturbed), each ``seconds / 5`` long."""
    return max([await _round(seconds / 5, tasks, operation) for _ in range(5)])


async def _round(
    seconds: float, tasks: int, operation: Callable[[int], Awaitable[object]]
) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(number: int) -> None:
        nonlocal done
        i = number
        while time.perf_counter() < deadline:
            await operation(i)
            done += 1
            i += tasks

    start, cpu = time.perf_counter(), time.process_time()
    async with trio.open_nursery() as nursery:
        for number in range(tasks):
            nursery.start_soon(worker, number)
    if CPU:
        # operations per second of this process's CPU time (every thread's): what the work
        # costs, whatever else the machine runs.
        return done / (time.process_time() - cpu)
    return done / (time.perf_counter() - start)


async def measure(location: Path | str, seconds: float, tasks: int) -> dict[str, float]:
    async with Store.open(location) as store:  # type: ignore[arg-type]
        listed = [_job("listed") for _ in range(150)]
        await store.insert_jobs(listed)
        ids = [job.id for job in listed]
        rates: dict[str, float] = {}
        rates["create job"] = await _rate(
            seconds, tasks, lambda i: store.insert_jobs([_job("created")])
        )
        rates["progress write"] = await _rate(
            seconds,
            tasks,
            lambda i: store.update_job(
                ids[i % len(ids)],
                progress=i % 100,
                downloaded_bytes=i * 1024,
                speed=1.5e6,
                eta=30,
            ),
        )
        rates["list 100 jobs"] = await _rate(
            seconds, tasks, lambda i: store.list_jobs(session_id="listed", limit=100)
        )
        rates["get job"] = await _rate(seconds, tasks, lambda i: store.get_job(ids[i % len(ids)]))
        return rates


@contextlib.contextmanager
def _postgresql() -> Iterator[str | None]:
    try:
        from tests.postgres import running_cluster
    except ImportError:
        yield None
        return
    with running_cluster() as cluster:
        yield cluster.new_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per operation")
    parser.add_argument("--tasks", type=int, default=8, help="concurrent trio tasks")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="operations per second of CPU time rather than of wall time (a busy machine)",
    )
    args = parser.parse_args()
    global CPU
    CPU = args.cpu
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        results["SQLite"] = trio.run(
            measure, Path(folder) / "bench.sqlite3", args.seconds, args.tasks
        )
    if not args.sqlite_only:
        with _postgresql() as url:
            if url is None or not hasattr(mediarip.store, "open_store"):
                print("PostgreSQL: skipped (this store has no database.url)")
            else:
                results["PostgreSQL"] = trio.run(measure, url, args.seconds, args.tasks)
    engines = list(results)
    clock = "CPU" if args.cpu else "wall-clock"
    print(f"store operations per {clock} second ({args.tasks} tasks, {args.seconds:g} s each)")
    print(f"{'operation':<16}" + "".join(f"{e:>12}" for e in engines))
    for operation in OPERATIONS:
        print(f"{operation:<16}" + "".join(f"{results[e][operation]:>12,.0f}" for e in engines))


if __name__ == "__main__":
    main()
