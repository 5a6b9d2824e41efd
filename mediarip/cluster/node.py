"""A web node's part of a cluster (``mediarip serve`` on PostgreSQL, issue 16).

A web node serves the API, the web app and the event streams, and runs no download: its
download service hands jobs to the workers (:mod:`mediarip.engine.remote`) through this
module, which is that service's :class:`~mediarip.engine.remote.Dispatch`. It also tells every
other node what changed here (job events, settings) and relays what they say to this node's
listeners (the event streams, the metrics), as if it had happened here.

Ordering. The engine's event sink is synchronous, so publishing never waits (the bus's outbox);
relaying a message from another node runs in the listener's task, one message at a time, so
the events of one sender reach this node's streams in the order they were sent.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable

import trio

from ..broker import Broker
from ..engine import DownloadService
from ..engine.events import EventSink, JobEvent, JobRemoved
from ..engine.progress import StopReason
from ..notifications.notifier import Notifications
from ..overrides import LiveSettings
from ..store import Store
from ..subscriptions.checker import Subscriptions
from ..subscriptions.events import SubscriptionEvent, SubscriptionSink
from .bus import Bus, Message
from .codec import (
    JOB,
    REMOVED,
    SUBSCRIPTION,
    decode_event,
    decode_subscription_event,
    encode_event,
    encode_subscription_event,
)

__all__ = [
    "CHANGED",
    "ENDED",
    "QUEUES",
    "SETTINGS",
    "STOP",
    "STREAMS",
    "TARGETS",
    "WAKE",
    "WebNode",
    "node_name",
]

log = logging.getLogger("mediarip.cluster")

#: Message kinds besides the job events (:mod:`.codec`).
WAKE = "wake"  # jobs wait to be claimed
STOP = "stop"  # {"ids": [...], "reason": StopReason}: to the worker that runs them
ENDED = "ended"  # {"id", "again"}: a worker's run of the job ended (again: to run elsewhere)
#: {"action": "close_owner" or "resync_all", "owner"}: a web node's event streams of a user
#: end (disabled, deleted, new password), or all resync (jobs changed owners).
STREAMS = "streams"
#: {"what": one of CHANGED_TOPICS}: something every web node keeps in memory changed: read it
#: again from the database.
CHANGED = "changed"
SETTINGS = "settings"  # the admin changed settings
QUEUES = "queues"  # a queue was paused or started
TARGETS = "targets"  # the notification targets changed


def node_name(role: str) -> str:
    """A name no other process of the cluster has: role, host, process, and a random part
    (a restarted process with the same id is another node)."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class WebNode:
    def __init__(
        self, store: Store, broker: Broker, show_subscription_event: SubscriptionSink
    ) -> None:
        self.node = node_name("web")
        self._broker = broker
        broker.on_told = self.streams_told
        #: This node's event streams (not its notifier: the node that checked notifies).
        self._show_subscription_event = show_subscription_event
        self.bus = Bus(store, self.node, lead=True)
        self._store = store
        self._service: DownloadService | None = None
        self._config: LiveSettings | None = None
        self._notifications: Notifications | None = None
        self._subscriptions: Subscriptions | None = None
        self._relaying = False

    # -- the engine's Dispatch ------------------------------------------------------------------

    def wake_workers(self) -> None:
        self.bus.publish(WAKE, {})

    def ask_to_stop(self, job_ids: list[str], reason: StopReason) -> None:
        self.bus.publish(STOP, {"ids": job_ids, "reason": reason.value})

    # -- this node's events, to the others -------------------------------------------------------

    def sink(self, inner: EventSink) -> EventSink:
        """``inner`` (this node's listeners), which also keeps the service's view of the
        cluster's jobs and tells the other nodes (not what they told us: no echo)."""

        def on_event(event: JobEvent) -> None:
            if self._service is not None:
                if isinstance(event, JobRemoved):
                    self._service.remote.ended(event.job.id)
                else:
                    self._service.remote.observe(event.job)
            inner(event)
            if not self._relaying:
                self.bus.publish(*encode_event(event))

        return on_event

    def subscription_sink(self, inner: SubscriptionSink) -> SubscriptionSink:
        """``inner`` (this node's listeners), which also tells the other nodes."""

        def on_event(event: SubscriptionEvent) -> None:
            inner(event)
            body = encode_subscription_event(event)
            if body is not None:
                self.bus.publish(SUBSCRIPTION, body)

        return on_event

    def streams_told(self, action: str, owner: str | None) -> None:
        """A :class:`~mediarip.broker.Broker`'s ``on_told``: the other nodes do the same."""
        self.bus.publish(STREAMS, {"action": action, "owner": owner})

    def settings_changed(self, _settings: object) -> None:
        """A :class:`LiveSettings` listener: tell the others to read the settings again. A
        node that changed nothing on reading them says nothing, so the echo stops there."""
        self.bus.publish(CHANGED, {"what": SETTINGS})

    def queues_changed(self) -> None:
        self.bus.publish(CHANGED, {"what": QUEUES})

    def targets_changed(self) -> None:
        self.bus.publish(CHANGED, {"what": TARGETS})

    # -- running -------------------------------------------------------------------------------

    async def run(
        self,
        service: DownloadService,
        config: LiveSettings,
        notifications: Notifications,
        subscriptions: Subscriptions,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Send and hear messages until cancelled (a task of the services' nursery). Started
        once this node listens and knows the cluster's jobs."""
        self._service, self._config, self._notifications = service, config, notifications
        self._subscriptions = subscriptions
        subscriptions.checks_elsewhere = True
        config.subscribe(self.settings_changed)
        service.on_queues_changed = self.queues_changed
        notifications.on_change = self.targets_changed
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.bus.send_loop, name="cluster sender")
            await nursery.start(self.bus.listen, self._on_message, self._resync)
            # Listening first: a job that changes while we read them is heard of afterwards.
            await service.remote.load()
            await service.load_paused_queues()
            task_status.started()

    async def _resync(self) -> None:
        """After the listener was cut off: read again all it may have missed word of."""
        service, config, notifications = self._service, self._config, self._notifications
        assert service is not None and config is not None and notifications is not None
        await service.remote.load()
        await service.load_paused_queues()
        await config.reload()
        notifications.forget_targets()

    async def _on_message(self, message: Message) -> None:
        service, config, notifications = self._service, self._config, self._notifications
        assert service is not None and config is not None and notifications is not None
        if message.kind in (JOB, REMOVED):
            event = await decode_event(message.kind, message.body, self._store)
            if event is not None:
                self._relay(lambda: service.observe(event))
        elif message.kind == SUBSCRIPTION:
            heard = decode_subscription_event(message.body)
            self._show_subscription_event(heard)
            if self._subscriptions is not None:
                self._subscriptions.heard(heard)
        elif message.kind == STREAMS:
            if message.body.get("action") == "close_owner":
                self._broker.close_owner(str(message.body["owner"]), tell=False)
            else:
                self._broker.resync_all(tell=False)
        elif message.kind == ENDED:
            service.remote.ended(str(message.body["id"]), again=bool(message.body.get("again")))
        elif message.kind == CHANGED:
            what = message.body.get("what")
            if what == SETTINGS:
                await config.reload()
            elif what == QUEUES:
                await service.load_paused_queues()
            elif what == TARGETS:
                notifications.forget_targets()

    def _relay(self, tell: Callable[[], None]) -> None:
        self._relaying = True
        try:
            tell()
        finally:
            self._relaying = False
