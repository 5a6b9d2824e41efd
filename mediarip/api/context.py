"""How handlers reach the running services: stored on the app, fetched by these functions."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from quart import current_app

if TYPE_CHECKING:
    from ..services import Services
    from .sessions import SessionTracker

__all__ = ["services", "sessions"]


def services() -> Services:
    return cast("Services", current_app.extensions["mediarip.services"])


def sessions() -> SessionTracker:
    return cast("SessionTracker", current_app.extensions["mediarip.sessions"])
