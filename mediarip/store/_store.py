"""The store: every table's methods over one connection."""

from __future__ import annotations

from ._admin import AdminTables
from ._archive import ArchiveTable
from ._jobs import JobsTable
from ._notifications import NotificationsTable
from ._presets import PresetsTable
from ._sessions import SessionsTable
from ._subscriptions import SubscriptionsTable

__all__ = ["Store"]


class Store(
    JobsTable,
    PresetsTable,
    SessionsTable,
    AdminTables,
    ArchiveTable,
    SubscriptionsTable,
    NotificationsTable,
):
    """SQLite behind ``trio.to_thread``; open it with :meth:`open`. One class per table group
    (each in its own module), one connection and one writer for all of them."""
