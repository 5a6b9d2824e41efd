"""Who is asking: the ``mrip_session`` cookie and the scope of jobs it may see (SPEC §4).

``isolated``: each browser has its own queue. ``shared``: everyone sees and manages every job
(the cookie still exists, for per-browser cookies.txt). ``open``: no cookie at all, one
session for everybody.

A session's ``last_seen`` is written at most once a minute, from an in-memory note of when it
was last written, so a busy page costs no database writes. An unknown cookie (forged, or
purged) is never adopted: the browser is given a new random id instead.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING

from quart import Response, g, request

from ..models import API_SESSION, Scope, utcnow
from ..store import StorageError
from .client import cookies_secure

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["API_SESSION", "COOKIE_NAME", "OPEN_SESSION", "SessionTracker"]

COOKIE_NAME = "mrip_session"
OPEN_SESSION = "open"
TOUCH_INTERVAL = 60.0
#: The meta key holding the sessions that show the API key clients' queue.
_VIEWERS = "api_queue_viewers"


class SessionTracker:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._mode = services.settings.session.mode
        self._max_age = int(services.settings.session.timeout_hours * 3600)
        self._touched: dict[str, float] = {}  # session id -> monotonic time of the last write
        self._api_viewers: set[str] | None = None  # loaded on first use

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

    async def job_scope(self) -> Scope:
        """Whose jobs the caller sees: :meth:`scope`, plus the API key clients' queue for a
        browser that asked to see it (isolated mode; the other modes see everything)."""
        scope = await self.scope()
        if isinstance(scope, str) and scope != API_SESSION and scope in await self._viewers():
            return frozenset({scope, API_SESSION})
        return scope

    async def sees_api_jobs(self) -> bool:
        scope = await self.job_scope()
        if isinstance(scope, str):
            return scope == API_SESSION
        return scope is None or API_SESSION in scope

    async def show_api_jobs(self, shown: bool) -> None:
        """Show (or hide) the API key clients' queue in this browser's, remembered across
        restarts (isolated mode; elsewhere everyone sees it anyway)."""
        session_id = await self.current()
        viewers = await self._viewers()
        if self._mode != "isolated" or session_id == API_SESSION:
            return
        if shown:
            viewers.add(session_id)
        else:
            viewers.discard(session_id)
        await self._services.store.set_meta(_VIEWERS, json.dumps(sorted(viewers)))

    async def _viewers(self) -> set[str]:
        if self._api_viewers is None:
            stored = await self._services.store.get_meta(_VIEWERS)
            self._api_viewers = set(json.loads(stored)) if stored else set()
        return self._api_viewers

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
        try:
            await self._services.store.touch_session(session_id, utcnow())
        except StorageError:
            # A full data folder must not stop anyone from seeing their jobs: the session is
            # known here, and is written once the folder takes writes again.
            self._touched[session_id] = now - TOUCH_INTERVAL + 5.0
