"""Which database the settings name, opened: ``database.url``, or by default the SQLite file
``mediarip.sqlite3`` in the data folder (where every install before ``database.url`` has it)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from ..config import Settings
from ._store import Store

__all__ = ["database_location", "open_store"]

log = logging.getLogger("mediarip.store")

#: The SQLite file's name in ``server.data_dir`` when ``database.url`` is not set.
DEFAULT_FILE = "mediarip.sqlite3"


def database_location(settings: Settings) -> Path | str:
    """The SQLite file, or the URL, :meth:`Store.open` takes."""
    return settings.database.url or Path(settings.server.data_dir) / DEFAULT_FILE


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    location = database_location(settings)
    # PostgreSQL's errors are reported against the data folder too: that is the folder whose
    # setting people look at first (the messages name database.url).
    folder = None if isinstance(location, Path) else Path(settings.server.data_dir)
    async with Store.open(location, folder=folder) as store:
        if store.dialect == "sqlite":
            log.info("database %s (SQLite, journal %s)", store.path, store.journal_mode)
        else:
            log.info("database %s (PostgreSQL)", store.path)
        yield store
