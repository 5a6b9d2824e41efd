"""Who uses a PostgreSQL database: one single box, or one cluster, never both.

A single box (plain ``mediarip``) treats every job in the database as its own: at start it
resumes the jobs left running, and it runs them without leases. Beside a cluster's workers
that would run jobs twice, two processes writing one partial file. So each side takes the
same advisory lock (:data:`TENANCY_LOCK`) at start: the single box alone (exclusive), the
cluster's processes together (shared, on their listening connection, :mod:`.bus`), and the
second side to come is refused with :class:`DatabaseInUse`. Two single boxes on one database
refuse each other the same way.

The lock belongs to a connection: the single box holds one of its own for its whole life
(:func:`hold_single_box`, a supervised task that reconnects when PostgreSQL restarts).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from typing import Any

import psycopg
import trio

from ..roles import DatabaseInUse
from ..store import Store

__all__ = ["TENANCY_LOCK", "hold_single_box", "try_lock"]

log = logging.getLogger("mediarip.cluster")

#: The advisory lock of the database's tenancy ("tenancy" in ASCII; any 64-bit number).
TENANCY_LOCK = 0x74656E616E6379
#: Seconds between the single box's checks that its lock's connection is alive.
CHECK_INTERVAL = 5.0


def try_lock(connection: psycopg.Connection[Any], *, shared: bool) -> bool:
    function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    row = connection.execute(f"SELECT {function}(%s)", (TENANCY_LOCK,)).fetchone()
    return bool(row and row[0])


async def hold_single_box(
    store: Store, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Hold the tenancy lock alone until cancelled. Raises :class:`DatabaseInUse` (before
    starting) if a cluster or another single box holds it. After PostgreSQL restarted, takes
    it again; if a cluster got in first meanwhile, says so in the log and tries again."""
    conninfo = store.listener_conninfo()
    started = False
    while True:
        try:
            connection = await trio.to_thread.run_sync(_connect, conninfo)
        except psycopg.Error as exc:
            log.warning("cannot connect to hold the database's tenancy (%s); trying again", exc)
            await trio.sleep(CHECK_INTERVAL)
            continue
        try:
            lock = functools.partial(try_lock, connection, shared=False)
            if not await trio.to_thread.run_sync(lock):
                if not started:
                    raise DatabaseInUse(single_box=True)
                log.error("%s", DatabaseInUse(single_box=True))
                await trio.sleep(CHECK_INTERVAL)
                continue
            if not started:
                started = True
                task_status.started()
            while True:
                await trio.sleep(CHECK_INTERVAL)
                await trio.to_thread.run_sync(connection.execute, "SELECT 1")
        except psycopg.Error as exc:
            log.warning("the connection holding the database's tenancy dropped (%s)", exc)
        finally:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(_close, connection)


def _connect(conninfo: str) -> psycopg.Connection[Any]:
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=5)


def _close(connection: psycopg.Connection[Any]) -> None:
    with contextlib.suppress(psycopg.Error):
        connection.close()
