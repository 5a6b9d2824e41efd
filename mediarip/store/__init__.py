"""The only package that speaks SQL.

The store knows nothing of business rules: it stores and returns :class:`~mediarip.models.Job`
values, session rows, presets, subscriptions, the download archive and the admin side's
records. How statements reach the one connection (and why) is in :mod:`._base`; the schema in
:mod:`._migrations`; each table group's methods in a module of its own, composed into
:class:`Store`.
"""

from ._admin import AdminSession, ErrorEntry
from ._archive import ArchiveEntry
from ._base import NETWORK_FILESYSTEMS, choose_journal_mode, filesystem_of
from ._errors import StorageError, StorageFull, StorageUnavailable
from ._jobs import JOB_COLUMNS
from ._migrations import MIGRATIONS
from ._presets import NameTaken
from ._sessions import SessionSummary
from ._store import Store

__all__ = [
    "JOB_COLUMNS",
    "MIGRATIONS",
    "NETWORK_FILESYSTEMS",
    "AdminSession",
    "ArchiveEntry",
    "ErrorEntry",
    "NameTaken",
    "SessionSummary",
    "StorageError",
    "StorageFull",
    "StorageUnavailable",
    "Store",
    "choose_journal_mode",
    "filesystem_of",
]
