"""When a subscription is checked next: its schedule, spread, and backed off after failures.

Spreading. Two hundred subscriptions on "every 15 minutes" must not all be checked in the
same second (that would take every probe thread at once and make the web app wait). Each
subscription gets a fixed phase from its id: an interval schedule fires at ``phase + k *
interval`` (so checks of equal intervals are spread evenly over the interval, and stay so
across restarts), a cron schedule fires ``offset`` after each cron time, where the offset is
the same fraction of the schedule's period, at most :data:`MAX_CRON_SPREAD` (a daily cron at
03:00 still runs between 03:00 and 03:15).

Backoff. A check that failed ``n`` times in a row waits ``period * 2 ** (n - 1)``, at most a
day: a dead feed is asked less and less often, and is back on its schedule after one good
check.

These are plain functions of (settings, id, now): the checker keeps no timers of its own, and
trio's mock clock drives it in the tests through the wall clock it is given.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from croniter import croniter

from .models import SubscriptionSettings

__all__ = ["MAX_BACKOFF", "MAX_CRON_SPREAD", "next_check", "period_of", "phase_of", "retry_at"]

MAX_BACKOFF = dt.timedelta(days=1)
MAX_CRON_SPREAD = dt.timedelta(minutes=15)
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def phase_of(subscription_id: str) -> float:
    """A stable number in [0, 1) for this id (its place in the period)."""
    digest = hashlib.blake2b(subscription_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def period_of(settings: SubscriptionSettings, now: dt.datetime) -> dt.timedelta:
    """The time between two checks on schedule."""
    if settings.cron is None:
        return dt.timedelta(minutes=settings.effective_interval)
    times = croniter(settings.cron, now.astimezone())
    first: dt.datetime = times.get_next(dt.datetime)
    second: dt.datetime = times.get_next(dt.datetime)
    return max(second - first, dt.timedelta(minutes=1))


def next_check(
    settings: SubscriptionSettings, subscription_id: str, now: dt.datetime
) -> dt.datetime:
    """The first time on the (spread) schedule strictly after ``now``."""
    phase = phase_of(subscription_id)
    if settings.cron is None:
        period = dt.timedelta(minutes=settings.effective_interval).total_seconds()
        since = (now - _EPOCH).total_seconds() - phase * period
        steps = int(since // period) + 1
        return _EPOCH + dt.timedelta(seconds=steps * period + phase * period)
    offset = min(period_of(settings, now), MAX_CRON_SPREAD) * phase
    # Cron is read in the server's local time, like the purge's schedule.
    base: dt.datetime = croniter(settings.cron, (now - offset).astimezone()).get_next(dt.datetime)
    return (base + offset).astimezone(dt.UTC)


def retry_at(
    settings: SubscriptionSettings, subscription_id: str, failures: int, now: dt.datetime
) -> dt.datetime:
    """When a subscription whose last ``failures`` checks failed is tried again."""
    if failures <= 0:
        return next_check(settings, subscription_id, now)
    wait = min(period_of(settings, now) * 2 ** min(failures - 1, 30), MAX_BACKOFF)
    moment: dt.datetime = now + wait
    return moment
