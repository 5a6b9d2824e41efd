"""Who is asking: the ``mrip_session`` cookie and the scope of jobs it may see (SPEC §4).

``isolated``: each browser has its own queue. ``shared``: everyone sees and manages every job
(the cookie still exists, for per-browser cookies.txt). ``open``: no cookie at all, one
session for everybody.

A session's ``last_seen`` is written at most once a minute, from an in-memory note of when it
was last written, so a busy page costs no database writes. An unknown cookie (forged, or
purged) is never adopted: the browser is given a new random id instead.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from quart import Response, g, request

from ..models import utcnow
from .client import cookies_secure

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["API_SESSION", "COOKIE_NAME", "OPEN_SESSION", "SessionTracker"]

COOKIE_NAME = "mrip_session"
OPEN_SESSION = "open"
#: The one session of every client that shows the API key (they share a queue).
API_SESSION = "api"
TOUCH_INTERVAL = 60.0


class SessionTracker:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._mode = services.settings.session.mode
        self._max_age = int(services.settings.session.timeout_hours * 3600)
        self._touched: dict[str, float] = {}  # session id -> monotonic time of the last write

    @property
    def mode(self) -> str:
        return self._mode

    async def current(self) -> str:
        """The caller's session id, creating one if needed (remembered on ``g``)."""
        cached: str | None = g.get("session_id")
        if cached is not None:
            return cached
        owner: str | None = g.get("owner")
        if owner is not None:
            session_id = owner  # a logged-in user: the same owner on every device (issue 14)
        elif g.get("api_client"):
            session_id = API_SESSION  # API-key clients share one queue, cookie or not
        elif self._mode == "open":
            session_id = OPEN_SESSION
        else:
            session_id = request.cookies.get(COOKIE_NAME, "")
            if not await self._known(session_id):
                session_id = secrets.token_urlsafe(24)  # 192 bits
                g.new_session = True
        await self._touch(session_id)
        g.session_id = session_id
        return session_id

    async def has_valid_cookie(self) -> bool:
        """Whether the request carries a session this server issued (always, in open mode)."""
        if self._mode == "open":
            return True
        return await self._known(request.cookies.get(COOKIE_NAME, ""))

    async def scope(self) -> str | None:
        """The session whose jobs the caller sees; None: every session's."""
        session_id = await self.current()
        return session_id if self._mode == "isolated" else None

    def set_cookie(self, response: Response) -> None:
        """``after_request``: give a new session its cookie."""
        if not g.get("new_session"):
            return
        response.set_cookie(
            COOKIE_NAME,
            g.session_id,
            max_age=self._max_age,
            httponly=True,
            samesite="Lax",
            secure=cookies_secure(self._services.settings.server),
            path="/",
        )

    async def _known(self, session_id: str) -> bool:
        if not session_id or len(session_id) > 64:
            return False
        if session_id in self._touched:
            return True
        return await self._services.store.session_exists(session_id)

    async def _touch(self, session_id: str) -> None:
        now = time.monotonic()
        if now - self._touched.get(session_id, -TOUCH_INTERVAL) < TOUCH_INTERVAL:
            return
        if len(self._touched) > 100_000:  # a flood of cookie-less clients: start over
            self._touched.clear()
        self._touched[session_id] = now
        await self._services.store.touch_session(session_id, utcnow())
