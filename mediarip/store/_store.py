"""The store: every table's methods over one engine."""

from __future__ import annotations

from ._accounts import AccountsTable
from ._admin import AdminTables
from ._archive import ArchiveTable
from ._jobs import JobsTable
from ._leases import LeasesTable
from ._notifications import NotificationsTable
from ._presets import PresetsTable
from ._sessions import SessionsTable
from ._subscriptions import SubscriptionsTable

__all__ = ["Store"]


class Store(
    JobsTable,
    LeasesTable,
    PresetsTable,
    SessionsTable,
    AdminTables,
    ArchiveTable,
    SubscriptionsTable,
    NotificationsTable,
    AccountsTable,
):
    """SQLite or PostgreSQL behind ``trio.to_thread``; open it with :meth:`open`. One class
    per table group (each in its own module), one engine and one writer at a time for all of
    them."""
