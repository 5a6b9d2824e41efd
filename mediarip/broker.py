"""Fan-out of job events to the open ``/api/events`` streams.

The problem: one download publishes a few progress events a second, twenty downloads a hundred,
and a hundred browser tabs listen. Most tabs keep up; some stall (a phone asleep, a
dead TCP peer that has not timed out yet). A stalled tab must never slow a download or another
tab, its buffer must stay bounded, and yet it must never miss a status change or a terminal
event: a queue that simply drops the newest or oldest event when full gets this wrong.

What we do: each subscriber has a :class:`Mailbox`, an ordered map of pending events. Publishing
never blocks (it is a plain function, called from the trio thread). A progress-only update
replaces the same job's pending progress-only update, so a slow reader gets the latest
progress rather than a backlog of stale ones; status changes, removals and everything else are
kept in order. Progress of N jobs can therefore hold at most N entries; only a storm of status
changes can fill a mailbox past its limit, and then we drop its contents and mark it for a
*resync*: the stream sends a fresh ``init`` with every job's current state, which by
construction contains every status the reader missed the end of. Nothing terminal is lost.

Each event gets an id ``<epoch>-<n>``; the epoch changes with every start of the server, so a
``Last-Event-ID`` from before a restart is recognised as foreign and answered with ``init``.
A ring of recent events lets a reconnecting client catch up without a full ``init``.

Frames are encoded once per event, not once per subscriber.
"""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import trio

__all__ = ["Broker", "Event", "Mailbox", "Resync", "encode_frame"]

PING_INTERVAL = 15.0


@attrs.frozen
class Event:
    """One encoded event. ``session_id`` scopes it; ``job_id`` with ``coalesce`` lets a newer
    progress-only update of the same job replace it in a slow subscriber's mailbox."""

    seq: int
    session_id: str | None
    frame: bytes
    job_id: str | None = None
    coalesce: bool = False


class Resync:
    """Marker: the subscriber fell too far behind (or asked for history we no longer have)
    and must be sent a fresh ``init``."""


RESYNC = Resync()


def encode_frame(name: str, event_id: str | None, data: Any) -> bytes:
    """One Server-Sent Events frame."""
    head = f"event: {name}\n" + (f"id: {event_id}\n" if event_id else "")
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"{head}data: {body}\n\n".encode()


class Mailbox:
    """A subscriber's bounded, coalescing buffer; read it with :meth:`next_batch`."""

    def __init__(
        self, session_id: str | frozenset[str] | None, limit: int, owner: str | None = None
    ) -> None:
        #: ``None``: this subscriber sees every session's jobs; a set: those sessions'.
        self.session_id = session_id
        #: Who opened the stream (a session or a user's owner id), so that it can be closed
        #: when that user is disabled or deleted (issue 14), whatever its scope.
        self.owner = owner
        self._limit = limit
        self._pending: OrderedDict[object, Event] = OrderedDict()
        self._resync = False
        self._closed = False
        self._wakeup = trio.Event()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        return len(self._pending)

    def wants(self, event: Event) -> bool:
        scope = self.session_id
        if scope is None or event.session_id is None:
            return True
        return event.session_id == scope if isinstance(scope, str) else event.session_id in scope

    def put(self, event: Event) -> None:
        """Queue ``event`` (never blocks, never raises)."""
        if self._closed or self._resync:
            return
        if event.coalesce:
            key: object = ("progress", event.job_id)
            # Re-inserting moves it to the end, keeping the pending events in id order.
            self._pending.pop(key, None)
        else:
            key = event.seq
        self._pending[key] = event
        if len(self._pending) > self._limit:
            self._pending.clear()
            self._resync = True
        self._wakeup.set()

    def request_resync(self) -> None:
        self._pending.clear()
        self._resync = True
        self._wakeup.set()

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()

    async def next_batch(self, ping_after: float = PING_INTERVAL) -> list[Event] | Resync | None:
        """Wait for events. Returns them in order, :data:`RESYNC`, or ``[]`` after
        ``ping_after`` seconds with nothing to send (time for a ping); ``None`` once the
        mailbox is closed.

        A checkpoint; cancellation loses nothing (events stay queued)."""
        with trio.move_on_after(ping_after):
            while not (self._pending or self._resync or self._closed):
                self._wakeup = trio.Event()
                await self._wakeup.wait()
        if self._closed:
            return None
        if self._resync:
            self._resync = False
            return RESYNC
        batch = list(self._pending.values())
        self._pending.clear()
        return batch


class Broker:
    """Publishes events to mailboxes. All methods are synchronous and run in the trio thread."""

    def __init__(self, *, mailbox_limit: int = 2000, history: int = 4096) -> None:
        self.epoch = secrets.token_hex(4)
        self._seq = 0
        self._mailbox_limit = mailbox_limit
        self._mailboxes: set[Mailbox] = set()
        self._history: deque[Event] = deque(maxlen=history)
        self._closed = False
        #: Told of each :meth:`close_owner` and :meth:`resync_all` (action, owner): a cluster's
        #: web node passes them on to the others (issue 16).
        self.on_told: Callable[[str, str | None], None] = lambda action, owner: None

    @property
    def subscriber_count(self) -> int:
        return len(self._mailboxes)

    def backlog(self) -> list[int]:
        """How many events wait in each subscriber's mailbox (for diagnostics)."""
        return [mailbox.pending for mailbox in self._mailboxes]

    def event_id(self, seq: int) -> str:
        return f"{self.epoch}-{seq}"

    @property
    def last_event_id(self) -> str:
        return self.event_id(self._seq)

    def publish(
        self,
        name: str,
        data: Any,
        *,
        session_id: str | None,
        job_id: str | None = None,
        coalesce: bool = False,
    ) -> None:
        """Send an event to every subscriber that may see ``session_id``'s jobs."""
        self._seq += 1
        frame = encode_frame(name, self.event_id(self._seq), data)
        event = Event(self._seq, session_id, frame, job_id, coalesce)
        self._history.append(event)
        for mailbox in self._mailboxes:
            if mailbox.wants(event):
                mailbox.put(event)

    def subscribe(
        self,
        session_id: str | frozenset[str] | None,
        last_event_id: str | None = None,
        owner: str | None = None,
    ) -> Mailbox:
        """A new mailbox. With ``last_event_id`` from this epoch and still in the history, the
        missed events are queued into it at once; otherwise it starts with a resync, which
        the stream answers with ``init``. Always :meth:`unsubscribe` it (``finally``)."""
        mailbox = Mailbox(session_id, self._mailbox_limit, owner)
        if self._closed:
            mailbox.close()
            return mailbox
        self._mailboxes.add(mailbox)
        missed = self._missed_since(last_event_id) if last_event_id else None
        if missed is None:
            mailbox.request_resync()
        else:
            for event in missed:
                if mailbox.wants(event):
                    mailbox.put(event)
        return mailbox

    def unsubscribe(self, mailbox: Mailbox) -> None:
        self._mailboxes.discard(mailbox)
        mailbox.close()

    def close_owner(self, owner: str, *, tell: bool = True) -> None:
        """End the streams ``owner`` opened (a user disabled, deleted, or whose password
        changed: issue 14). Their clients reconnect and meet the login wall. ``tell``: the
        other web nodes of a cluster do the same (:attr:`on_told`)."""
        for mailbox in [m for m in self._mailboxes if m.owner == owner]:
            self.unsubscribe(mailbox)
        if tell:
            self.on_told("close_owner", owner)

    def resync_all(self, *, tell: bool = True) -> None:
        """Send every stream a fresh ``init`` (jobs changed owners)."""
        for mailbox in self._mailboxes:
            mailbox.request_resync()
        if tell:
            self.on_told("resync_all", None)

    def close(self) -> None:
        """End every stream (shutdown); later subscribers get a closed mailbox."""
        self._closed = True
        for mailbox in self._mailboxes:
            mailbox.close()
        self._mailboxes.clear()

    def _missed_since(self, last_event_id: str) -> Iterator[Event] | None:
        epoch, _, number = last_event_id.partition("-")
        if epoch != self.epoch or not number.isdigit():
            return None
        seq = int(number)
        if seq > self._seq:
            return None
        oldest = self._history[0].seq if self._history else self._seq + 1
        if seq + 1 < oldest:
            return None  # the ring no longer holds everything after it
        return (event for event in list(self._history) if event.seq > seq)
