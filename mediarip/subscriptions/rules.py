"""What a check takes: plain functions from a listing to one decision per new item.

An item is "new" to a subscription until the subscription has queued it or skipped it for
good; items put off by ``max_items_per_check`` stay new, so the next check takes them. An item
is known by its archive key (yt-dlp's ``"<extractor> <id>"``), or by its URL when the listing
does not tell the key.

In order, a new item is skipped when: it is in the archive (downloaded before, by hand or by
any subscription); on the first check, it falls outside the first-check rule; a filter says
no. What is left is queued, up to ``max_items_per_check`` in listing order (channels and feeds
list the newest first).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence

from ..engine.listing import ListedItem
from .models import CheckItem, Filters, FirstCheck, Outcome, Subscription

__all__ = ["decide", "item_identity"]


def item_identity(item: ListedItem) -> str:
    """How a subscription remembers an item: its archive key, else its URL."""
    return item.key or f"url {item.url}"


def _filter_reason(filters: Filters, item: ListedItem) -> str | None:
    title = item.title or ""
    if filters.title_include and not re.search(filters.title_include, title, re.IGNORECASE):
        return f"the title does not match {filters.title_include!r}"
    if filters.title_exclude and re.search(filters.title_exclude, title, re.IGNORECASE):
        return f"the title matches {filters.title_exclude!r} (excluded)"
    if item.duration is not None:
        if filters.min_duration is not None and item.duration < filters.min_duration:
            return f"shorter than {filters.min_duration:g} s ({item.duration:g} s)"
        if filters.max_duration is not None and item.duration > filters.max_duration:
            return f"longer than {filters.max_duration:g} s ({item.duration:g} s)"
    after, published = filters.published_after, item.published
    if after is not None and published is not None and published.date() < after:
        return f"published {published.date().isoformat()}, before {after.isoformat()}"
    return None


def _latest(items: Sequence[ListedItem], count: int) -> set[int]:
    """The indexes of the latest ``count`` items: by publication time when every item has
    one, else the first ones listed (channels and feeds list the newest first)."""
    if items and all(item.published is not None for item in items):
        ordered = sorted(items, key=lambda i: i.published or dt.datetime.min, reverse=True)
    else:
        ordered = list(items)
    return {item.index for item in ordered[:count]}


def decide(
    sub: Subscription,
    listed: Iterable[ListedItem],
    seen: set[str],
    archived: set[str],
) -> list[CheckItem]:
    """One :class:`CheckItem` per new item of ``listed`` (``seen``: identities this
    subscription dealt with already; ``archived``: identities found in the archive)."""
    settings = sub.settings
    unique: dict[str, ListedItem] = {}
    for item in listed:
        unique.setdefault(item_identity(item), item)
    first = not sub.first_check_done
    latest = (
        _latest(list(unique.values()), settings.first_count)
        if first and settings.first_check is FirstCheck.LATEST
        else set()
    )
    decisions: list[CheckItem] = []
    taken = 0
    for identity, item in unique.items():
        if identity in seen:
            continue
        reason: str | None = None
        if identity in archived:
            reason = "already downloaded (in the archive)"
        elif first and settings.first_check is FirstCheck.NEW_ONLY:
            if item.published is None or item.published < sub.created_at:
                reason = "there before the subscription (the first check takes new items only)"
        elif first and item.index not in latest:
            reason = f"not among the latest {settings.first_count} (first check)"
        if reason is None:
            reason = _filter_reason(settings.filters, item)
        outcome = Outcome.SKIPPED
        if reason is None:
            limit = settings.max_items_per_check
            if limit is not None and taken >= limit:
                outcome = Outcome.DEFERRED
                reason = f"over {limit} new items per check: the next check takes it"
            else:
                outcome, taken = Outcome.QUEUED, taken + 1
        decisions.append(
            CheckItem(
                title=item.title,
                url=item.url,
                key=item.key,
                outcome=outcome,
                reason=reason,
                duration=item.duration,
                published=item.published,
            )
        )
    return decisions
