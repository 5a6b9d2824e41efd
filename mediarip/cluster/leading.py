"""Running a task on the cluster's leader only (see :mod:`.bus`, "Leadership")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from .bus import Bus

__all__ = ["while_leading"]


async def while_leading(bus: Bus, task: Callable[..., Awaitable[Any]]) -> None:
    """Run ``task`` whenever this node leads; cancel it when this node stops leading (its
    listening connection dropped), and start it afresh when it leads again. Never returns;
    cancelled with its nursery like any other task."""
    while True:
        await bus.wait_leading(True)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(task)
            await bus.wait_leading(False)
            nursery.cancel_scope.cancel()
