"""The long-lived parts of a running media-rip, opened together and closed in order.

Settings are reached through ``services.settings``, which always returns the settings in force:
those loaded at startup (without the admin's plain-text password) with the admin panel's
changes over them (:class:`~mediarip.overrides.LiveSettings`, ``services.config``). Read it
when the value is needed, not once: what is read once applies only after a restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import attrs
import trio

from .accounts import Accounts
from .auth import Auth, forget_password_env, without_plaintext
from .broker import Broker
from .config import Settings
from .engine import DownloadService
from .engine.events import EventSink, JobEvent
from .metrics import Metrics
from .notifications.notifier import Notifications
from .overrides import LiveSettings
from .presets import PresetBook
from .purge import PurgeSchedule
from .reports import AdminReports, error_log_writer
from .store import StorageError, Store, open_store
from .subscriptions.checker import Subscriptions
from .subscriptions.events import SubscriptionEvent, SubscriptionSink
from .ytdlp.updater import YtdlpUpdater

if TYPE_CHECKING:
    from .cluster.node import WebNode

__all__ = ["Services", "open_services"]

log = logging.getLogger("mediarip")


@attrs.frozen
class Services:
    config: LiveSettings
    store: Store
    broker: Broker
    downloads: DownloadService
    auth: Auth
    reports: AdminReports
    #: Prometheus' figures (/metrics); counted whether or not they are served.
    metrics: Metrics
    #: The admin's notification targets and their sender (a task in the root nursery).
    notifications: Notifications
    #: Where the subscription checker's events go (the API's wire form of them, on ``broker``).
    on_subscription_event: SubscriptionSink
    started_at: float = attrs.field(factory=time.monotonic)
    #: The purge's schedule and its "purge now"; made here, as it works on these services.
    purge: PurgeSchedule = attrs.field(init=False)
    #: The admin's presets (download_options + format, by name).
    presets: PresetBook = attrs.field(init=False)
    #: Subscriptions and their checker; made here, as they work on these services.
    subscriptions: Subscriptions = attrs.field(init=False)
    #: yt-dlp's daily check, updates and rollbacks; its ``restart_wanted`` restarts the server.
    ytdlp: YtdlpUpdater = attrs.field(init=False)
    #: Users, their logins and keys (issue 14); inert in ``auth.mode: none``.
    accounts: Accounts = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "purge", PurgeSchedule(self))
        object.__setattr__(self, "presets", PresetBook(self.store))
        object.__setattr__(self, "subscriptions", Subscriptions(self))
        object.__setattr__(self, "ytdlp", YtdlpUpdater(self))
        accounts = Accounts(self.settings, self.store, self.auth, self.broker, self.downloads)
        object.__setattr__(self, "accounts", accounts)

    @property
    def settings(self) -> Settings:
        """The settings in force now (the panel's changes included)."""
        return self.config.current


async def _recover(store: Store, downloads: DownloadService) -> None:
    """Resume the jobs a stop left active, unless the data folder takes no writes: the server
    then serves what it has (read-only) and they resume at a start with room to write."""
    if store.problem is None:
        try:
            await downloads.recover()
            return
        except StorageError:
            pass
    log.error(
        "the data folder takes no writes (%s): serving what is stored; interrupted jobs "
        "resume at the next start",
        store.problem.summary if store.problem else "unknown",
    )


@asynccontextmanager
async def open_services(
    settings: Settings,
    broker: Broker,
    on_job_event: EventSink,
    on_subscription_event: SubscriptionSink,
    *,
    cluster: bool = False,
) -> AsyncIterator[Services]:
    """Open the store, load the admin's credentials and settings, recover interrupted jobs, and
    run the download service and the purge. The engine's events go to ``on_job_event``, the
    subscription checker's to ``on_subscription_event`` (the API's wire form of them, on
    ``broker``).

    ``cluster``: this is a web node of a cluster (``mediarip serve`` on PostgreSQL, issue 16):
    the downloads run in the workers (:mod:`mediarip.cluster`), and what runs once across the
    cluster (the purge, the subscription checker, notifications) runs while this node leads.

    On exit, in this order: the purge, the subscription checker and the notification sender
    stop (deliveries in flight are dropped), the event streams end,
    running jobs stop (left ``queued``), the service's nursery waits for their threads, and the
    database closes last."""
    async with open_store(settings) as store:
        auth = await Auth.open(settings, store)
        forget_password_env()
        config = await LiveSettings.load(without_plaintext(settings), store)
        current = config.current
        await trio.Path(current.downloads.output_dir).mkdir(parents=True, exist_ok=True)
        metrics = Metrics()
        notifications = Notifications(store, metrics.observe_notification)

        node: WebNode | None = None
        if cluster:
            # Imported here: psycopg's ~7.5 MB and the cluster's code load only where used.
            from .cluster.node import WebNode
            from .roles import NeedsPostgreSQL

            if store.dialect != "postgresql":
                raise NeedsPostgreSQL("serve")
            node = WebNode(store, broker, on_subscription_event)

        def on_event(event: JobEvent) -> None:
            on_job_event(event)
            # In a cluster every web node hears of every job: one counts and notifies.
            if node is None or node.bus.leading:
                metrics.observe(event)
                notifications.observe(event)

        sink: EventSink = on_event if node is None else node.sink(on_event)

        def on_subscription(event: SubscriptionEvent) -> None:
            on_subscription_event(event)
            notifications.observe_subscription(event)

        try:
            async with DownloadService.open(
                store, sink, current, on_failure=error_log_writer(store), dispatch=node
            ) as downloads:
                config.subscribe(downloads.apply_settings)
                if node is None:
                    await _recover(store, downloads)
                reports = AdminReports(store, downloads, auth.secret)
                services = Services(
                    config,
                    store,
                    broker,
                    downloads,
                    auth,
                    reports,
                    metrics,
                    notifications,
                    on_subscription if node is None else node.subscription_sink(on_subscription),
                )
                await services.accounts.ensure_first_admin()
                config.subscribe(services.purge.reschedule)
                config.subscribe(services.ytdlp.reschedule)
                async with trio.open_nursery() as nursery:
                    if node is None and store.dialect == "postgresql":
                        from .cluster.tenancy import hold_single_box

                        await nursery.start(hold_single_box, store, name="database tenancy")
                    if node is None:
                        nursery.start_soon(services.purge.run, name="purge schedule")
                        await nursery.start(services.subscriptions.run, name="subscription checker")
                        await nursery.start(notifications.run, name="notification sender")
                    else:
                        from .cluster.leading import while_leading

                        await nursery.start(
                            node.run,
                            downloads,
                            config,
                            notifications,
                            services.subscriptions,
                            name="cluster",
                        )
                        for once, name in (
                            (services.purge.run, "purge schedule"),
                            (services.subscriptions.run, "subscription checker"),
                            (notifications.run, "notification sender"),
                        ):
                            nursery.start_soon(while_leading, node.bus, once, name=name)
                        bus = node.bus
                        services.ytdlp.may_auto_update = lambda: bus.leading
                    await nursery.start(services.ytdlp.run, name="yt-dlp updates")
                    try:
                        yield services
                    finally:
                        nursery.cancel_scope.cancel()
        finally:
            broker.close()
