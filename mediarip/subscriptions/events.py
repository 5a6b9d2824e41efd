"""What the checker tells the world about subscriptions: domain events, with no wire form.

Like the engine's job events (:mod:`mediarip.engine.events`), these are handed to one sink in
the trio thread, never blocking; their SSE names and JSON are the API's business
(:func:`mediarip.api.wire.subscription_events_to`).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..models import Job
from .models import CheckResult, Subscription

__all__ = [
    "SubscriptionChanged",
    "SubscriptionChecked",
    "SubscriptionEvent",
    "SubscriptionRemoved",
    "SubscriptionSink",
]


@attrs.frozen
class SubscriptionChanged:
    """``subscription`` as it is now (new, edited, paused, resumed, or its state moved)."""

    subscription: Subscription


@attrs.frozen
class SubscriptionChecked:
    """A check ended (any outcome); ``subscription`` is as the check left it, ``jobs`` the
    downloads it queued (the notifier tells of them)."""

    subscription: Subscription
    result: CheckResult
    jobs: tuple[Job, ...] = ()


@attrs.frozen
class SubscriptionRemoved:
    """The subscription is gone (its history too)."""

    id: str
    session_id: str


SubscriptionEvent = SubscriptionChanged | SubscriptionChecked | SubscriptionRemoved
SubscriptionSink = Callable[[SubscriptionEvent], None]
