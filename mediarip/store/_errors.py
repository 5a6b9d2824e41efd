"""Storage failures: a full disk, a read-only mount or a failing one.

These are not bugs: they happen on home servers, and the server must live through them. SQLite
reports all three as OperationalError with a result code; this is the one place that tells them
apart, and everything above the store sees one of the two exceptions below (never sqlite3's).
Their messages name the folder by its setting, not by its path: they are shown to people, and
the path goes to the log.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

__all__ = ["StorageError", "StorageFull", "StorageUnavailable", "storage_error"]


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


_FULL_CODES = frozenset({sqlite3.SQLITE_FULL})
_UNAVAILABLE_CODES = frozenset(
    {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN}
)


def _no_room(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 256 * 1024
    except OSError:
        return False


def storage_error(exc: BaseException, folder: Path) -> StorageError | None:
    """The :class:`StorageError` that ``exc`` (from sqlite3 or the OS) means, if any."""
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
