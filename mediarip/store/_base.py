"""The engines every table shares, and how statements reach them.

The SQL is SQLAlchemy Core (:mod:`._schema` declares the tables once), so one set of statements
serves SQLite, the embedded default, and PostgreSQL, past one machine (``database.url``). The
drivers are synchronous (sqlite3, psycopg 3) and trio has no business blocking on them: every
call goes through ``trio.to_thread.run_sync`` with a limiter, so no statement ever runs on the
event loop.

SQLite: one connection and a one-token limiter. sqlite3 connections are not safe to share
between threads without a lock, and trio's worker threads are many; with ``CapacityLimiter(1)``
statements never run two at a time, which measured ~4,100 transactions/s here, far more than the
app needs. The driver is put in autocommit (``isolation_level=None``) and writes are explicit
``BEGIN IMMEDIATE`` transactions: SQLAlchemy's own idea of a transaction is only bookkeeping
there, its commit and rollback reach sqlite3's, which end the transaction we began.

PostgreSQL: a small pool (psycopg 3 through SQLAlchemy) and a limiter as wide as the pool, so
reads run side by side. Writes take a transaction-scoped advisory lock first: one writer at a
time, like SQLite's ``BEGIN IMMEDIATE``, so the read-then-write transactions the mixins were
written for (a name check, a subscription that must still exist) keep their meaning across every
process sharing the database.

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
from sqlalchemy import Connection, Engine, create_engine, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from ..database_url import DatabaseUrl, parse_database_url
from ._errors import StorageError, StorageUnavailable, storage_error
from ._migrate import upgrade
from ._schema import meta
from ._sql import upsert

__all__ = ["NETWORK_FILESYSTEMS", "StoreBase", "choose_journal_mode", "filesystem_of"]

T = TypeVar("T")
log = logging.getLogger("mediarip.store")

NETWORK_FILESYSTEMS = frozenset({"cifs", "nfs", "nfs4", "smb", "smbfs", "smb3", "9p", "fuse.sshfs"})
#: Connections to PostgreSQL per process: the event loop's calls are short, a few suffice.
POOL_SIZE = 4
#: The advisory lock every PostgreSQL write takes (any 64-bit number; "mediarip" in ASCII).
WRITER_LOCK = 0x6D65646961726970


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
    """The engine and the two ways to use it from trio: :meth:`_read` and :meth:`_write`, each
    given a function of a :class:`~sqlalchemy.Connection` that runs in a worker thread. Each
    table's methods live in a mixin over this class.

    A write the data folder (or the PostgreSQL server) refuses raises :class:`StorageFull` or
    :class:`StorageUnavailable` and leaves the database as it was; :attr:`problem` then holds
    that error until a write goes through again (:meth:`check_writable` tries one)."""

    def __init__(
        self,
        engine: Engine,
        connection: Connection | None,
        *,
        journal_mode: str | None,
        path: Path,
        folder: Path,
        read_only: StorageError | None = None,
    ) -> None:
        self._engine = engine
        self.dialect = engine.dialect.name
        sqlite = self.dialect == "sqlite"
        # SQLite's one connection, held for the store's life; PostgreSQL's come from the pool.
        self._connection = connection
        # PostgreSQL reads in autocommit: no BEGIN and ROLLBACK round trips around a SELECT
        # (a multi-statement read then sees each statement's own snapshot, as on SQLite).
        self._reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._limiter = trio.CapacityLimiter(1 if sqlite else POOL_SIZE)
        #: SQLite's journal mode (None on PostgreSQL).
        self.journal_mode = journal_mode
        #: The SQLite file (on PostgreSQL, a name for the log: the URL without its password).
        self.path = path
        #: The folder errors are reported against (the data folder).
        self.folder = folder
        self.problem: StorageError | None = read_only
        #: Why the database was opened read-only, if it was.
        self._opened_read_only: StorageError | None = read_only

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        location: Path | str,
        *,
        journal_mode: str | None = None,
        folder: Path | None = None,
    ) -> AsyncIterator[Self]:
        """Open (creating and migrating) the database at ``location`` (a SQLite file, or a
        ``database.url``); close it on exit.

        A SQLite data folder that takes no writes (a full disk) does not stop the start: an
        existing database opens read-only, and :attr:`problem` says why."""
        url = (
            DatabaseUrl("sqlite", location)
            if isinstance(location, Path)
            else parse_database_url(location)
        )
        if url.sqlite_path is not None:
            opened = await _open_sqlite(url.sqlite_path, journal_mode)
            store = cls(
                opened.engine,
                opened.connection,
                journal_mode=opened.journal_mode,
                path=url.sqlite_path,
                folder=folder or url.sqlite_path.parent,
                read_only=opened.problem,
            )
        else:
            try:
                engine = await trio.to_thread.run_sync(_open_postgresql, url.sqlalchemy_url)
            except DBAPIError as exc:
                problem = storage_error(exc, folder or Path("."))
                if problem is None:
                    raise
                raise problem from exc  # unreachable, or its disk is full: say which
            store = cls(
                engine, None, journal_mode=None, path=Path(url.shown), folder=folder or Path(".")
            )
        try:
            yield store
        finally:
            # Shielded: closing must happen even when the whole app is being cancelled.
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(store._close, limiter=store._limiter)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._engine.dispose()

    async def _read(self, query: Callable[[Connection], T]) -> T:
        """Run ``query`` (reads only) in a worker thread."""
        return await self._call(self._run_read, query)

    async def _write(self, statements: Callable[[Connection], T]) -> T:
        """Run ``statements`` in one transaction, all or nothing, in a worker thread."""
        return await self._call(self._run_write, statements)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await trio.to_thread.run_sync(
                functools.partial(fn, *args), limiter=self._limiter
            )
        except (DBAPIError, sqlite3.Error, OSError) as exc:
            problem = storage_error(exc, self.folder)
            if problem is None:
                raise
            if self.problem is None or type(self.problem) is not type(problem):
                log.error("the database %s takes no writes: %s", self.path, exc)
            self.problem = problem
            raise problem from exc

    def _run_read(self, query: Callable[[Connection], T]) -> T:
        if self._connection is not None:
            return query(self._connection)
        with self._reader.connect() as connection:
            return query(connection)

    def _run_write(self, statements: Callable[[Connection], T]) -> T:
        if self.read_only:
            raise self._opened_read_only or StorageUnavailable(self.folder, "read-only")
        if self._connection is not None:
            result = _sqlite_transaction(self._connection, statements)
        else:
            with self._engine.begin() as connection:
                # PostgreSQL-only SQL: one writer at a time (see the module's docstring).
                connection.execute(select(func.pg_advisory_xact_lock(WRITER_LOCK)))
                result = statements(connection)
        if self.problem is not None:
            log.warning("the database %s takes writes again", self.path)
            self.problem = None
        return result

    @property
    def read_only(self) -> bool:
        """Opened read-only (the data folder took no writes at start): a restart is needed to
        write again."""
        return self._opened_read_only is not None

    async def check_writable(self) -> StorageError | None:
        """Try one small write when a problem is known, to see whether it has gone; the
        problem that remains, if any."""
        if self.problem is None:
            return None
        stamp = utc_iso(now())
        with suppress(StorageError):
            await self._write(
                lambda db: upsert(db, meta, {"key": "last_write_check", "value": stamp}, ["key"])
            )
        return self.problem


def _sqlite_transaction(connection: Connection, statements: Callable[[Connection], T]) -> T:
    """``statements`` in one ``BEGIN IMMEDIATE`` transaction. It is begun and ended on the
    sqlite3 connection itself: SQLAlchemy's transaction is bookkeeping here (its begin does
    nothing on sqlite3), and going through it cost ~30 µs a write for nothing."""
    db = connection.connection.driver_connection
    assert isinstance(db, sqlite3.Connection)
    db.execute("BEGIN IMMEDIATE")
    try:
        result = statements(connection)
        db.execute("COMMIT")
    except BaseException:
        # A full disk may have rolled the transaction back already.
        if db.in_transaction:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                log.warning("rolling back after a failed write failed", exc_info=True)
        raise
    return result


class _OpenedSqlite:
    def __init__(self, engine: Engine, journal_mode: str, problem: StorageError | None) -> None:
        self.engine, self.journal_mode, self.problem = engine, journal_mode, problem
        # Made here, in the opening thread: the first connect may run statements.
        self.connection = engine.connect()


async def _open_sqlite(path: Path, journal_mode: str | None) -> _OpenedSqlite:
    await trio.Path(path.parent).mkdir(parents=True, exist_ok=True)
    mode = journal_mode or choose_journal_mode(filesystem_of(path.parent))
    try:
        return await trio.to_thread.run_sync(
            lambda: _OpenedSqlite(_sqlite_engine(path, mode), mode, None)
        )
    except (DBAPIError, sqlite3.Error, OSError) as exc:
        problem = storage_error(exc, path.parent)
        if problem is None or not await trio.Path(path).exists():
            raise
        log.error("the database %s takes no writes (%s): serving read-only", path, exc)
        return await trio.to_thread.run_sync(
            lambda: _OpenedSqlite(_sqlite_read_only_engine(path), mode, problem)
        )


def _engine_over(db: sqlite3.Connection) -> Engine:
    """An engine whose one connection is ``db`` (made and set up by us, migrated or not)."""
    return create_engine("sqlite://", creator=lambda: db, poolclass=StaticPool)


def _sqlite_engine(path: Path, journal_mode: str) -> Engine:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        db.execute(f"PRAGMA journal_mode = {journal_mode}")
        # NORMAL is durable across application crashes in WAL mode; FULL for the rollback
        # journal.
        db.execute(f"PRAGMA synchronous = {'NORMAL' if journal_mode == 'WAL' else 'FULL'}")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA busy_timeout = 5000")
        engine = _engine_over(db)
        with engine.connect() as connection:
            upgrade(connection)
            # Left open: StaticPool hands this same sqlite3 connection out again.
    except BaseException:
        db.close()
        raise
    return engine


def _sqlite_read_only_engine(path: Path) -> Engine:
    """The database as it is, for reading only (no migration). A WAL database needs its
    shared-memory file, which a full disk may not have room for; then the file is opened as
    immutable (we are its only writer, and we write nothing now)."""
    for options in ("mode=ro", "mode=ro&immutable=1"):
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?{options}",
            uri=True,
            check_same_thread=False,
            isolation_level=None,
        )
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            db.close()
            continue
        db.execute("PRAGMA query_only = ON")
        return _engine_over(db)
    raise sqlite3.OperationalError(f"cannot open {path} even read-only")


def _open_postgresql(url: str) -> Engine:
    # No pool_pre_ping: it would cost a round trip on every call. A connection the server
    # dropped (a restart) fails the one call that meets it (DatabaseUnreachable, see _errors);
    # SQLAlchemy then discards the pool's connections and the next call opens fresh ones.
    engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=0)
    try:
        with engine.connect() as connection:
            upgrade(connection)
    except BaseException:
        engine.dispose()
        raise
    return engine
