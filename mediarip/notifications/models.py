"""A notification target, the messages sent to targets, and how a target's URL is shown.

A target is set by the admin: a plain ``webhook`` (an http(s) URL that gets a signed JSON POST)
or an ``apprise`` URL (``ntfy://``, ``tgram://``, ``mailto://``, ``json://`` ... any scheme the
Apprise library knows). The admin's target is trusted: it may name a private address (a Plex on
the LAN), which a user's download URL may not. Values are checked here, once, at the edge.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import secrets
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs

from ..rules import rules

__all__ = [
    "EVENTS",
    "Delivery",
    "Event",
    "Message",
    "NewTarget",
    "Target",
    "TargetKind",
    "mask_url",
    "new_secret",
]

_NAME = re.compile(r"^\S(.*\S)?$")
_NAME_MAX = 80
_URL_MAX = 2000
_WEBHOOK_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
_APPRISE_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)


class TargetKind(enum.StrEnum):
    WEBHOOK = "webhook"
    APPRISE = "apprise"


class Event(enum.StrEnum):
    """What a target may ask to hear about (``test`` is the panel's button, sent to anyone)."""

    COMPLETED = "completed"
    FAILED = "failed"
    NEW_ITEMS = "new_items"
    TEST = "test"


#: The events a target may subscribe to.
EVENTS: tuple[Event, ...] = (Event.COMPLETED, Event.FAILED, Event.NEW_ITEMS)


def new_secret() -> str:
    return secrets.token_hex(32)


def _check_name(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value) or len(value) > _NAME_MAX:
        raise ValueError(f"name: 1 to {_NAME_MAX} characters, not blank at either end")


def _check_events(_: object, __: attrs.Attribute[Any], value: tuple[Event, ...]) -> None:
    if not value:
        raise ValueError("events: at least one of " + ", ".join(EVENTS))
    if Event.TEST in value:
        raise ValueError("events: 'test' is sent by the panel's button, not subscribed to")


def _events(value: Any) -> tuple[Event, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError("events: a list of " + ", ".join(EVENTS))
    try:
        found = tuple(dict.fromkeys(Event(v) for v in value))
    except ValueError:
        raise ValueError("events: each one of " + ", ".join(EVENTS)) from None
    return found


@attrs.frozen
class NewTarget:
    """The body of ``POST /api/admin/notifications`` (and a whole target after a ``PATCH``)."""

    name: str = attrs.field(validator=_check_name)
    kind: TargetKind
    url: str = attrs.field(
        metadata=rules(
            maxLength=_URL_MAX,
            description="webhook: an http(s) URL; apprise: an Apprise URL (ntfy://, tgram://, …)",
        )
    )
    events: tuple[Event, ...] = attrs.field(
        default=(Event.COMPLETED, Event.FAILED),
        converter=_events,
        validator=_check_events,
        metadata=rules(description="completed, failed, new_items (a subscription's)"),
    )
    secret: str | None = attrs.field(
        default=None,
        metadata=rules(
            maxLength=200,
            description="webhook: the HMAC-SHA256 key of X-Mediarip-Signature (made if absent)",
        ),
    )
    enabled: bool = True

    def __attrs_post_init__(self) -> None:
        url = self.url.strip() if isinstance(self.url, str) else ""
        if not url or len(url) > _URL_MAX:
            raise ValueError(f"url: 1 to {_URL_MAX} characters")
        if self.kind is TargetKind.WEBHOOK:
            if not _WEBHOOK_URL.match(url):
                raise ValueError("url: a webhook is an http:// or https:// address")
        else:
            if not _APPRISE_URL.match(url):
                raise ValueError("url: an Apprise URL, like ntfy://ntfy.sh/my-topic")
            if self.secret is not None:
                raise ValueError("secret: only a webhook has one (Apprise URLs carry their own)")
        if self.secret is not None and not (8 <= len(self.secret) <= 200):
            raise ValueError("secret: 8 to 200 characters")


@attrs.frozen
class Target:
    """A stored target, as the admin API shows it."""

    id: str
    name: str
    kind: TargetKind
    url: str
    events: tuple[Event, ...]
    secret: str | None
    enabled: bool
    created_at: dt.datetime

    def wants(self, event: Event) -> bool:
        return self.enabled and (event is Event.TEST or event in self.events)

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)


@attrs.frozen
class Message:
    """One event to tell the targets that want it: the JSON body a webhook gets, and the title
    and text an Apprise service shows."""

    event: Event
    body: dict[str, Any]
    title: str
    text: str
    #: The job it is about, for the error log (None: a subscription's or a test).
    job_id: str | None = None


@attrs.frozen
class Delivery:
    """How sending one message to one target went."""

    delivered: bool
    attempts: int
    error: str | None = None


def mask_url(url: str) -> str:
    """A target's URL with what may be secret taken out: the scheme and host only
    (``https://hooks.example.com/…``); Apprise URLs often carry a token as their "host"
    (``tgram://<bot token>/<chat>``), so theirs is cut to the scheme unless it looks like a
    host name."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    scheme = parts.scheme.lower() or "?"
    host = parts.hostname or ""
    if scheme not in ("http", "https", "json", "jsons", "form", "forms", "xml", "xmls"):
        looks_like_host = "." in host and not any(c in host for c in ":@")
        if not looks_like_host:
            return f"{scheme}://…"
    port = f":{parts.port}" if _port(parts) else ""
    return f"{scheme}://{host}{port}/…" if host else f"{scheme}://…"


def _port(parts: Any) -> int | None:
    try:
        port: int | None = parts.port
    except ValueError:
        return None
    return port


Outcome = Literal["sent", "failed", "dropped"]
