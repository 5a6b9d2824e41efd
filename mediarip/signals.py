"""Stopping on SIGTERM or SIGINT, for every kind of process (the server, a cluster's worker)."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable

import trio

__all__ = ["stop_on_signal"]

log = logging.getLogger("mediarip")


async def stop_on_signal(stop: Callable[[], None]) -> None:
    """Call ``stop`` at the first SIGTERM or SIGINT, then return (a task of the process's
    root nursery; a second signal finds Python's default handlers back)."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("received %s", signal.Signals(signum).name)
            stop()
            return
