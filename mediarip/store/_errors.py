"""Storage failures: a full disk, a read-only mount or a failing one.

These are not bugs: they happen on home servers, and the server must live through them. SQLite
reports all three as OperationalError with a result code, PostgreSQL with an SQLSTATE (or a lost
connection); SQLAlchemy wraps either in a ``DBAPIError`` whose ``orig`` is the driver's error.
This is the one place that tells them apart, and everything above the store sees one of the
exceptions below (never sqlite3's, psycopg's or SQLAlchemy's).
Their messages name the folder by its setting, not by its path: they are shown to people, and
the path goes to the log.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy.exc import DBAPIError

__all__ = [
    "DatabaseFull",
    "DatabaseUnreachable",
    "StorageError",
    "StorageFull",
    "StorageUnavailable",
    "storage_error",
]


class StorageError(Exception):
    """The data folder (server.data_dir) takes no writes now."""

    #: What is wrong, in a few words a health check can show ("data folder full").
    summary = "data folder unavailable"

    def __init__(self, folder: Path, detail: str) -> None:
        super().__init__(self.describe())
        self.folder = folder
        self.detail = detail

    @property
    def message(self) -> str:
        return self.describe()

    @classmethod
    def describe(cls) -> str:
        return (
            "The data folder (server.data_dir) cannot be written to: check that it is mounted "
            "writable and that its disk works. Nothing stored so far is lost."
        )


class StorageFull(StorageError):
    """The disk of the data folder (server.data_dir) is full."""

    summary = "data folder full"

    @classmethod
    def describe(cls) -> str:
        return (
            "The data folder (server.data_dir) is full: free some space on its disk, then try "
            "again. Nothing stored so far is lost; running downloads carry on."
        )


class StorageUnavailable(StorageError):
    """The data folder (server.data_dir) is read-only, or its disk fails."""


class DatabaseFull(StorageFull):
    """PostgreSQL's disk is full (SQLSTATE 53100): handled like SQLite's full data folder."""

    summary = "database disk full"

    @classmethod
    def describe(cls) -> str:
        return (
            "The PostgreSQL server (database.url) has no room left on its disk: free some space "
            "there, then try again. Nothing stored so far is lost; running downloads carry on."
        )


class DatabaseUnreachable(StorageUnavailable):
    """The PostgreSQL server (database.url) cannot be reached, or dropped the connection."""

    summary = "database unreachable"

    @classmethod
    def describe(cls) -> str:
        return (
            "The PostgreSQL server (database.url) cannot be reached or closed the connection: "
            "check that it runs and that this host can reach it. Nothing stored so far is lost."
        )


_FULL_CODES = frozenset({sqlite3.SQLITE_FULL})
_UNAVAILABLE_CODES = frozenset(
    {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN}
)


def _no_room(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 256 * 1024
    except OSError:
        return False


# PostgreSQL's SQLSTATE for "no room": disk_full. Its siblings in class 53 (out of memory, too
# many connections) are not about storage, so they stay ordinary errors.
_PG_FULL_STATES = frozenset({"53100"})
# Class 08 is "connection exception"; 57P01-57P03 are a server shutting down or starting up.
_PG_GONE_STATES = frozenset({"57P01", "57P02", "57P03"})


def storage_error(exc: BaseException, folder: Path) -> StorageError | None:
    """The :class:`StorageError` that ``exc`` (from SQLAlchemy, sqlite3, psycopg or the OS)
    means, if any."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:  # PostgreSQL went away under a statement
            return DatabaseUnreachable(folder, str(exc.orig))
        return storage_error(exc.orig, folder) if exc.orig is not None else None
    state = getattr(exc, "sqlstate", None)  # psycopg's errors carry the SQLSTATE
    if state is not None or type(exc).__module__.startswith("psycopg"):
        if state in _PG_FULL_STATES:
            return DatabaseFull(folder, str(exc))
        # psycopg gives no SQLSTATE when the connection itself failed or was lost.
        gone = state is None or state.startswith("08") or state in _PG_GONE_STATES
        if gone and _is_connection_problem(exc):
            return DatabaseUnreachable(folder, str(exc))
        return None
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if code in _FULL_CODES:
            return StorageFull(folder, str(exc))
        if code in _UNAVAILABLE_CODES:
            # SQLite reports a failed write of its shared-memory file as an I/O error.
            return (StorageFull if _no_room(folder) else StorageUnavailable)(folder, str(exc))
        return None
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StorageFull(folder, str(exc))
        if exc.errno in (errno.EROFS, errno.EIO, errno.EACCES):
            return StorageUnavailable(folder, str(exc))
    return None


def _is_connection_problem(exc: BaseException) -> bool:
    import psycopg  # only ever called with psycopg's errors, so psycopg is there

    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
