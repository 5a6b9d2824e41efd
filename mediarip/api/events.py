"""``GET /api/events``: the live Server-Sent Events stream of the caller's jobs.

The stream subscribes inside the generator, not in the handler, so a client that goes away
before the first byte leaves no subscription behind; the ``finally`` ends the subscription the
moment the client disconnects (Hypercorn cancels the generator within milliseconds).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from quart import Blueprint, Response, request

from ..broker import Broker, Resync
from ..engine import DownloadService
from ..models import Scope
from .context import services, sessions
from .contract import Answer, endpoint
from .wire import init_frame, ping_frame

__all__ = ["blueprint"]

blueprint = Blueprint("events", __name__)

RETRY_MS = 2000


@blueprint.get("/api/events")
@endpoint(
    "Server-Sent Events: init, job_update, job_removed, ping",
    answers={200: Answer("An event stream", str, ("text/event-stream",))},
)
async def events() -> Response:
    scope = await sessions().job_scope()
    owner = await sessions().current()
    last_event_id = request.headers.get("Last-Event-ID") or None
    svc = services()  # taken here: the generator runs outside the app context
    response = Response(
        _stream(svc.broker, svc.downloads, scope, last_event_id, owner),
        content_type="text/event-stream",
        headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
    )
    response.timeout = None  # Quart would cut the stream after RESPONSE_TIMEOUT otherwise
    return response


async def _stream(
    broker: Broker,
    downloads: DownloadService,
    scope: Scope,
    last_event_id: str | None,
    owner: str | None = None,
) -> AsyncIterator[bytes]:
    mailbox = broker.subscribe(scope, last_event_id, owner)
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        while True:
            batch = await mailbox.next_batch()
            if batch is None:
                return  # the server is shutting down, or the user was locked out
            if isinstance(batch, Resync):
                # The id before the snapshot: events after it are queued behind this init.
                event_id = broker.last_event_id
                jobs = await downloads.list_jobs(scope, limit=None)
                yield init_frame(event_id, jobs)
            elif batch:
                yield b"".join(event.frame for event in batch)
            else:
                yield ping_frame(broker.last_event_id)
    finally:
        broker.unsubscribe(mailbox)
