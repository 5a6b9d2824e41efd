"""The only package that speaks SQL.

The store knows nothing of business rules: it stores and returns :class:`~mediarip.models.Job`
values, session rows, presets, subscriptions, the download archive, accounts and the admin
side's records, on SQLite (the default) or PostgreSQL (``database.url``). How statements reach
the engine (and why) is in :mod:`._base`; the tables in :mod:`._schema`; how a database gets
there in :mod:`._migrate` (Alembic) and :mod:`._migrations` (the chain before it); copying one
database into another in :mod:`._copy`; each table group's methods in a module of its own,
composed into :class:`Store`.
"""

from ..database_url import DatabaseUrl, parse_database_url
from ._accounts import AccountsTable
from ._admin import AdminSession, ErrorEntry
from ._archive import ArchiveEntry
from ._base import NETWORK_FILESYSTEMS, choose_journal_mode, filesystem_of
from ._errors import (
    DatabaseFull,
    DatabaseUnreachable,
    StorageError,
    StorageFull,
    StorageUnavailable,
)
from ._jobs import JOB_COLUMNS
from ._migrations import MIGRATIONS
from ._open import database_location, open_store
from ._presets import NameTaken
from ._sessions import SessionSummary
from ._store import Store

__all__ = [
    "JOB_COLUMNS",
    "MIGRATIONS",
    "NETWORK_FILESYSTEMS",
    "AccountsTable",
    "AdminSession",
    "ArchiveEntry",
    "DatabaseFull",
    "DatabaseUnreachable",
    "DatabaseUrl",
    "ErrorEntry",
    "NameTaken",
    "SessionSummary",
    "StorageError",
    "StorageFull",
    "StorageUnavailable",
    "Store",
    "choose_journal_mode",
    "database_location",
    "filesystem_of",
    "open_store",
    "parse_database_url",
]
