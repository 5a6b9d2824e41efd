"""The long-lived parts of a running media-rip, opened together and closed in order."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import trio

from .broker import Broker
from .config import Settings
from .engine import DownloadService
from .store import Store

__all__ = ["Services", "open_services"]

log = logging.getLogger("mediarip")


@attrs.frozen
class Services:
    settings: Settings
    store: Store
    broker: Broker
    downloads: DownloadService
    started_at: float = attrs.field(factory=time.monotonic)


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Open the store, recover interrupted jobs and run the download service.

    On exit, in this order: the event streams end, running jobs stop (left ``queued``), the
    service's nursery waits for their threads, and the database closes last."""
    data_dir = Path(settings.server.data_dir)
    await trio.Path(settings.downloads.output_dir).mkdir(parents=True, exist_ok=True)
    async with Store.open(data_dir / "mediarip.sqlite3") as store:
        log.info("database %s (journal %s)", data_dir / "mediarip.sqlite3", store.journal_mode)
        broker = Broker()
        try:
            async with DownloadService.open(store, broker, settings) as downloads:
                await downloads.recover()
                yield Services(settings, store, broker, downloads)
        finally:
            broker.close()
