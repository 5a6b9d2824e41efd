"""The one home of an app's long-lived state, and how handlers reach it.

:class:`ApiState` holds everything that lives as long as the app: the running services (the
engine, the store, the settings), the session tracker, and the HTTP layer's caches and limits.
It is made by :func:`~.app.create_app` and kept on the app as ``app.extensions["mediarip"]``,
so two apps in one process (the tests run many) never share any of it. Nothing else is kept in
``app.extensions`` or at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import attrs
from quart import current_app

from ..themes import Catalogue
from .listings import ListingCache
from .ratelimit import JobRateLimiter

if TYPE_CHECKING:
    from ..services import Services
    from .sessions import SessionTracker

__all__ = ["EXTENSION", "ApiState", "services", "sessions", "state"]

EXTENSION = "mediarip"


@attrs.define
class ApiState:
    services: Services
    sessions: SessionTracker
    listings: ListingCache = attrs.Factory(ListingCache)
    job_rate: JobRateLimiter = attrs.Factory(JobRateLimiter)
    #: Loaded once, in a worker thread, before the first request (api/themes.py).
    themes: Catalogue | None = None
    #: ``/api/openapi.json``, encoded on first request (api/openapi.py).
    openapi: bytes | None = None


def state() -> ApiState:
    return cast("ApiState", current_app.extensions[EXTENSION])


def services() -> Services:
    return state().services


def sessions() -> SessionTracker:
    return state().sessions
