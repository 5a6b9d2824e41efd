"""Messages between the processes of a cluster, over PostgreSQL's ``LISTEN``/``NOTIFY``.

Every process (web node or worker) has one :class:`Bus`: it publishes what happens here
(a job changed, a worker's run of a job ended, a web node asks a worker to stop a job, the
settings changed) and hears what the others publish. NOTIFY is delivered to every listener
once the sending transaction commits, in order per sender; a payload must stay under 8,000
bytes, so a message that would not fit is sent without its bulk (the receiver reads the job
from the database instead, see :mod:`.codec`).

Sending never blocks the caller (the engine's event sink is synchronous): :meth:`Bus.publish`
puts the message in a bounded outbox that :meth:`Bus.send_loop` drains, many messages per
round trip. Listening is one connection of its own in a worker thread that waits at most
:data:`WAIT` seconds at a time, so a cancelled listener returns within that; when the
connection drops (PostgreSQL restarted), it reconnects with a growing pause and calls
``on_resync``: whatever was sent meanwhile is lost to it, and the caller reads the state from
the tables again.

Leadership. What must run once across the cluster (the purge, the subscription checker, the
notification sender) runs on one web node, the leader: the node whose listening connection
holds a session-level advisory lock. The lock goes with the connection, so a leader that dies
or loses its connection stops leading at once, and another node takes the lock at its next try
(every :data:`LEAD_RETRY` seconds). The same connection holds the cluster's share of the
database's tenancy (:mod:`.tenancy`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import psycopg
import trio

from ..roles import DatabaseInUse
from ..store import Store
from .tenancy import try_lock

__all__ = ["CHANNEL", "Bus", "Message"]

log = logging.getLogger("mediarip.cluster")

CHANNEL = "mediarip"
#: PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more.
MAX_PAYLOAD = 7900
#: Seconds the listening thread waits for a message before it lets a cancellation through.
WAIT = 0.25
#: Messages waiting to be sent before :meth:`Bus.publish` drops one (and says so).
OUTBOX = 10_000
#: Messages sent in one round trip at most.
BATCH = 64
#: Seconds between a follower's tries to become the leader.
LEAD_RETRY = 2.0
#: The advisory lock the leader holds ("leader" in ASCII; any 64-bit number would do).
LEADER_LOCK = 0x6C6561646572
#: Pauses before reconnecting a listener whose connection dropped, in seconds.
RECONNECT_PAUSES = (0.2, 0.5, 1.0, 2.0, 5.0)


@attrs.frozen
class Message:
    kind: str
    #: The node that sent it (a node never acts on its own messages).
    origin: str
    body: Mapping[str, Any]


Handler = Callable[[Message], Awaitable[None]]


class Bus:
    def __init__(self, store: Store, node: str, *, lead: bool = False) -> None:
        self.node = node
        self._store = store
        #: Whether this node competes for leadership (web nodes do, workers do not).
        self._lead = lead
        self.leading = False
        self._leading_changed = trio.Event()
        self._send, self._outbox = trio.open_memory_channel[str](OUTBOX)
        #: Set once :meth:`send_loop` has sent everything after :meth:`close`.
        self.sent = trio.Event()
        #: Set once the listener has connected (again, after a drop).
        self.listening = trio.Event()

    def publish(self, kind: str, body: Mapping[str, Any]) -> None:
        """Send a message to every other node (never blocks; see the module's docstring)."""
        payload = json.dumps({"k": kind, "o": self.node, "b": body}, separators=(",", ":"))
        if len(payload.encode()) > MAX_PAYLOAD:
            raise ValueError(f"a {kind} message of {len(payload)} bytes does not fit NOTIFY")
        try:
            self._send.send_nowait(payload)
        except trio.ClosedResourceError:
            log.debug("a %s message after the bus closed was not sent", kind)
        except trio.WouldBlock:
            log.warning("the cluster's outbox is full: a %s message was dropped", kind)

    def close(self) -> None:
        """Publish nothing more: :meth:`send_loop` sends what is queued, then returns and sets
        :attr:`sent`."""
        self._send.close()

    async def send_loop(self) -> None:
        """Send what :meth:`publish` queued, in order, a batch per round trip. A batch the
        database refused (it is restarting) is logged and dropped: the receivers resync from
        the tables when their own connection comes back."""
        async for payload in self._outbox:
            batch = [payload]
            while len(batch) < BATCH:
                try:
                    batch.append(self._outbox.receive_nowait())
                except trio.WouldBlock:
                    break
            try:
                await self._store.notify(CHANNEL, batch)
            except Exception as exc:
                log.warning("sending %d cluster message(s) failed: %s", len(batch), exc)
        self.sent.set()

    async def wait_leading(self, value: bool = True) -> None:
        """Until this node leads (``value`` True) or no longer does (False)."""
        while self.leading is not value:
            await self._leading_changed.wait()

    def _set_leading(self, value: bool) -> None:
        if value is not self.leading:
            self.leading = value
            log.info("%s %s the cluster's leader", self.node, "is now" if value else "is no longer")
            self._leading_changed.set()
            self._leading_changed = trio.Event()

    async def listen(
        self,
        on_message: Handler,
        on_resync: Callable[[], Awaitable[None]],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Hear the other nodes until cancelled; ``on_resync`` after every reconnection.
        Started (``nursery.start``) once the first connection listens."""
        conninfo = self._store.listener_conninfo()
        failures = 0
        first = True
        while True:
            try:
                connection = await trio.to_thread.run_sync(_connect, conninfo)
            except DatabaseInUse as exc:
                if first:
                    raise  # refused at start: the process says why and exits
                log.error("%s", exc)
                await trio.sleep(RECONNECT_PAUSES[-1])
                continue
            except psycopg.Error as exc:
                pause = RECONNECT_PAUSES[min(failures, len(RECONNECT_PAUSES) - 1)]
                failures += 1
                log.warning("the cluster listener cannot connect (%s); again in %.1f s", exc, pause)
                await trio.sleep(pause)
                continue
            try:
                self.listening.set()
                if first:
                    first = False
                    task_status.started()
                else:
                    log.info("the cluster listener is connected again: resyncing")
                    await on_resync()
                failures = 0
                tried = -math.inf
                while True:
                    if self._lead and not self.leading and trio.current_time() - tried > LEAD_RETRY:
                        tried = trio.current_time()
                        self._set_leading(await trio.to_thread.run_sync(_try_lead, connection))
                    payloads = await trio.to_thread.run_sync(_wait, connection)
                    for payload in payloads:
                        message = _decode(payload)
                        if message is not None and message.origin != self.node:
                            await on_message(message)
            except psycopg.Error as exc:
                self.listening = trio.Event()
                self._set_leading(False)
                log.warning("the cluster listener lost its connection: %s", exc)
            finally:
                self._set_leading(False)
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(_close, connection)


def _connect(conninfo: str) -> psycopg.Connection[Any]:
    connection = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
    if not try_lock(connection, shared=True):
        connection.close()
        raise DatabaseInUse(single_box=False)
    connection.execute(f"LISTEN {CHANNEL}")
    return connection


def _try_lead(connection: psycopg.Connection[Any]) -> bool:
    row = connection.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,)).fetchone()
    return bool(row and row[0])


def _wait(connection: psycopg.Connection[Any]) -> list[str]:
    """The first payload that arrives within :data:`WAIT` seconds, if any (the next loop
    takes the next one at once: asking for more here would wait for them)."""
    return [n.payload for n in connection.notifies(timeout=WAIT, stop_after=1)]


def _close(connection: psycopg.Connection[Any]) -> None:
    with contextlib.suppress(psycopg.Error):
        connection.close()


def _decode(payload: str) -> Message | None:
    try:
        data = json.loads(payload)
        return Message(str(data["k"]), str(data["o"]), data["b"])
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring a cluster message that is not ours: %.80r", payload)
        return None
