"""What a subscription is: the values, validated once at the edge.

A subscription's settings are what a person chose (:class:`SubscriptionSettings`); its state
is what the checker learnt (:class:`Subscription` adds it). The download part is kept as the
body ``POST /api/downloads`` would take, minus the URL (``download``), and is validated by
building that request's own model, :class:`~mediarip.models.NewJob`: whatever a download
accepts (formats, and presets or options where the server has them), a subscription accepts,
with the same messages, and nothing here has to change when downloads learn something new.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import typing
from collections.abc import Iterable
from typing import Any

import attrs
import cattrs
from cattrs.preconf.json import make_converter
from croniter import CroniterError, croniter

from ..models import JobError, NewJob, converter
from ..presets import Preset, apply_preset

__all__ = [
    "DOWNLOAD_FIELDS",
    "CheckItem",
    "CheckRecord",
    "CheckResult",
    "Filters",
    "FirstCheck",
    "Outcome",
    "Subscription",
    "SubscriptionPatch",
    "SubscriptionRequest",
    "SubscriptionSettings",
    "SubscriptionView",
    "settings_from_body",
    "settings_patched",
    "subscription_to_api",
]

MIN_INTERVAL, MAX_INTERVAL = 5, 7 * 24 * 60  # minutes
DEFAULT_INTERVAL = 60
MAX_FIRST_COUNT = 100
MAX_ITEMS = 1000
_REGEX_MAX = 500

#: The body fields that are the subscription's own; every other field is the download's.
OWN_FIELDS = frozenset(
    {
        "url",
        "interval_minutes",
        "cron",
        "filters",
        "max_items_per_check",
        "first_check",
        "first_count",
    }
)
#: A download field that makes no sense for a subscription's items.
_NOT_FOR_ITEMS = frozenset({"playlist_items"})


class FirstCheck(enum.StrEnum):
    NEW_ONLY = "new_only"  # only items published from now on
    LATEST = "latest"  # the latest ``first_count`` items


class Outcome(enum.StrEnum):
    QUEUED = "queued"
    SKIPPED = "skipped"  # for good: this subscription will not look at the item again
    DEFERRED = "deferred"  # over max_items_per_check: the next check takes it


def _check_regex(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is None:
        return
    if len(value) > _REGEX_MAX:
        raise ValueError(f"filters.{attribute.name}: at most {_REGEX_MAX} characters")
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(
            f"filters.{attribute.name}: not a valid regular expression ({exc})"
        ) from None


def _check_duration(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not 0 <= value <= 7 * 24 * 3600:
        raise ValueError(f"filters.{attribute.name}: seconds, from 0 to a week")


@attrs.frozen
class Filters:
    """Which new items a check takes. Titles match case-insensitively (Python regular
    expressions, searched anywhere in the title); durations are seconds. An item whose
    listing does not say its duration or date passes those filters (the history says so)."""

    title_include: str | None = attrs.field(default=None, validator=_check_regex)
    title_exclude: str | None = attrs.field(default=None, validator=_check_regex)
    min_duration: float | None = attrs.field(default=None, validator=_check_duration)
    max_duration: float | None = attrs.field(default=None, validator=_check_duration)
    published_after: dt.date | None = None

    def __attrs_post_init__(self) -> None:
        low, high = self.min_duration, self.max_duration
        if low is not None and high is not None and low > high:
            raise ValueError("filters: min_duration is more than max_duration")


def cron_problem(expression: str) -> str | None:
    try:
        croniter(expression, dt.datetime.now(dt.UTC)).get_next(dt.datetime)
    except (CroniterError, ValueError, TypeError) as exc:
        return f"cron: {expression!r} is not a cron expression croniter understands ({exc})"
    return None


@attrs.frozen
class SubscriptionSettings:
    """What a person chose. ``download`` is a ``POST /api/downloads`` body without ``url``."""

    url: str
    interval_minutes: int | None = None
    cron: str | None = None
    filters: Filters = Filters()
    max_items_per_check: int | None = None
    first_check: FirstCheck = FirstCheck.NEW_ONLY
    first_count: int = 5
    download: dict[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if self.interval_minutes is not None and self.cron is not None:
            raise ValueError("interval_minutes, cron: give one of them, not both")
        if self.interval_minutes is not None and not (
            MIN_INTERVAL <= self.interval_minutes <= MAX_INTERVAL
        ):
            raise ValueError(f"interval_minutes: from {MIN_INTERVAL} to {MAX_INTERVAL} (a week)")
        if self.cron is not None and (problem := cron_problem(self.cron)):
            raise ValueError(problem)
        if self.max_items_per_check is not None and not 1 <= self.max_items_per_check <= MAX_ITEMS:
            raise ValueError(f"max_items_per_check: from 1 to {MAX_ITEMS}")
        if not 1 <= self.first_count <= MAX_FIRST_COUNT:
            raise ValueError(f"first_count: from 1 to {MAX_FIRST_COUNT}")

    @property
    def schedule(self) -> str:
        """``"every 60 min"`` or the cron expression: for logs and the history."""
        return self.cron or f"every {self.effective_interval} min"

    @property
    def effective_interval(self) -> int:
        return self.interval_minutes or DEFAULT_INTERVAL

    def new_job(self, url: str, preset: Preset | None = None) -> NewJob:
        """The download request for one item (validated, like ``POST /api/downloads``), with
        ``preset``'s fields under the subscription's own (the one its ``preset`` names, or the
        default preset, as the checker finds it at each check: an edited preset applies to the
        next items)."""
        return _strict.structure(apply_preset(preset, {**self.download, "url": url}), NewJob)


@attrs.frozen
class Subscription:
    """A subscription as stored: its settings, its owner, and what its checks learnt."""

    id: str
    session_id: str
    settings: SubscriptionSettings
    created_at: dt.datetime
    paused: bool = False
    title: str | None = None
    last_check_at: dt.datetime | None = None
    next_check_at: dt.datetime | None = None
    last_error: JobError | None = None
    failures: int = 0  # checks failed in a row (the backoff doubles with each)
    checks: int = 0  # checks that ended without an error

    @property
    def first_check_done(self) -> bool:
        return self.checks > 0


@attrs.frozen
class CheckItem:
    """What a check did with one new item, and why."""

    title: str | None
    url: str
    key: str | None
    outcome: Outcome
    reason: str | None = None
    job_id: str | None = None
    duration: float | None = None
    published: dt.datetime | None = None


@attrs.frozen
class CheckResult:
    """``POST /api/subscriptions/{id}/check``'s answer: new items found, queued, skipped.
    ``listed`` counts everything the listing held (new or not)."""

    found: int
    queued: int
    skipped: int
    listed: int = 0
    deferred: int = 0
    error: JobError | None = None


@attrs.frozen
class CheckRecord:
    """One check in a subscription's history."""

    started_at: dt.datetime
    finished_at: dt.datetime
    result: CheckResult
    items: list[CheckItem]


# -- the edge: bodies in, answers out ---------------------------------------------------------

_strict = make_converter(forbid_extra_keys=True)
for _conv in (_strict, converter):
    _conv.register_structure_hook(dt.date, lambda v, _: _parse_date(v))
    _conv.register_unstructure_hook(dt.date, lambda d: d.isoformat())


def _parse_date(value: object) -> dt.date:
    if not isinstance(value, str):
        raise ValueError("filters.published_after: a date like 2026-01-31")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError("filters.published_after: a date like 2026-01-31") from None


def settings_from_body(data: dict[str, Any]) -> SubscriptionSettings:
    """A ``POST /api/subscriptions`` body -> settings; raises ``ValueError`` or a cattrs error
    naming the field. The download fields are checked by building the item's ``NewJob``."""
    own = {k: v for k, v in data.items() if k in OWN_FIELDS}
    download = {k: v for k, v in data.items() if k not in OWN_FIELDS}
    for name in _NOT_FOR_ITEMS & download.keys():
        raise ValueError(f"{name}: not for subscriptions (filters choose the items)")
    own["download"] = {k: v for k, v in download.items() if v is not None}
    settings = _strict.structure(own, SubscriptionSettings)
    new = settings.new_job(settings.url)  # the URL check and every download field's check
    settings = attrs.evolve(settings, url=new.url)
    return settings


def settings_patched(current: SubscriptionSettings, patch: dict[str, Any]) -> SubscriptionSettings:
    """``PATCH`` merges the given fields over the current ones (null clears an optional one),
    then validates the whole again."""
    data = settings_to_body(current)
    if "filters" in patch and isinstance(patch["filters"], dict):
        patch = {**patch, "filters": {**data.get("filters", {}), **patch["filters"]}}
    if "cron" in patch and patch["cron"] is not None:
        data.pop("interval_minutes", None)
    if "interval_minutes" in patch and patch["interval_minutes"] is not None:
        data.pop("cron", None)
    data.update(patch)
    return settings_from_body({k: v for k, v in data.items() if v is not None})


def settings_to_body(settings: SubscriptionSettings) -> dict[str, Any]:
    """The settings as the API shows them: flat, the download's fields beside the own ones."""
    data: dict[str, Any] = converter.unstructure(settings)
    download = data.pop("download")
    data["filters"] = {k: v for k, v in data["filters"].items() if v is not None}
    return {**download, **data}


def subscription_to_api(sub: Subscription) -> dict[str, Any]:
    """A subscription as the API shows it: every field, null where the subscription leaves
    the choice to its preset or the defaults (the ``Subscription`` schema)."""
    state: dict[str, Any] = converter.unstructure(sub)
    del state["session_id"], state["settings"]
    body = settings_to_body(sub.settings)
    body["filters"] = converter.unstructure(sub.settings.filters)  # every filter, null if unset
    download = dict.fromkeys(DOWNLOAD_FIELDS) | body
    return {**download, **state, "schedule": sub.settings.schedule}


# -- the documents: the flat bodies and answer, made from the classes above -------------------

#: The download's fields a subscription takes (``POST /api/downloads``'s but url and
#: playlist_items), in NewJob's order.
DOWNLOAD_FIELDS: tuple[str, ...] = tuple(
    f.name for f in attrs.fields(NewJob) if f.name != "url" and f.name not in _NOT_FOR_ITEMS
)


def _fields(cls: type, names: Iterable[str], *, optional: bool = False) -> dict[str, Any]:
    """``cls``'s fields named ``names`` as attrs fields for :func:`attrs.make_class`, with their
    types, defaults and rules (``optional``: each may be null and defaults to null)."""
    hints = typing.get_type_hints(cls)
    fields = attrs.fields_dict(cls)
    made = {}
    for name in names:
        field, tp = fields[name], hints[name]
        if optional:
            made[name] = attrs.field(type=tp | None, default=None, metadata=field.metadata)
        else:
            made[name] = attrs.field(type=tp, default=field.default, metadata=field.metadata)
    return made


def _document(name: str, doc: str, fields: dict[str, Any]) -> type:
    cls = attrs.make_class(name, fields, kw_only=True, frozen=True)
    cls.__doc__ = doc
    cls.__annotations__ = {k: v.type for k, v in fields.items()}
    return cls


_OWN = [f.name for f in attrs.fields(SubscriptionSettings) if f.name != "download"]
_STATE = [f.name for f in attrs.fields(Subscription) if f.name not in ("session_id", "settings")]

#: The body of ``POST /api/subscriptions`` (and of its preview), for the document: the
#: subscription's own fields and the download's, flat. It is read by
#: :func:`settings_from_body`, which holds the rules.
SubscriptionRequest = _document(
    "SubscriptionRequest",
    "A subscription's own fields and the download's (as POST /api/downloads takes them).",
    _fields(SubscriptionSettings, _OWN) | _fields(NewJob, DOWNLOAD_FIELDS),
)
#: ``PATCH /api/subscriptions/{id}``: any of them; null clears one.
SubscriptionPatch = _document(
    "SubscriptionPatch",
    "Any of a subscription's fields; null clears an optional one.",
    _fields(SubscriptionSettings, _OWN, optional=True)
    | _fields(NewJob, DOWNLOAD_FIELDS, optional=True),
)
#: A subscription as the API shows it (:func:`subscription_to_api`).
SubscriptionView = _document(
    "SubscriptionView",
    "A subscription: its settings (null: left to its preset or the defaults), its state and "
    "its schedule in words.",
    _fields(SubscriptionSettings, _OWN)
    | _fields(NewJob, DOWNLOAD_FIELDS, optional=True)
    | _fields(Subscription, _STATE)
    | {"schedule": attrs.field(type=str)},
)
SubscriptionView.__schema_name__ = "Subscription"  # type: ignore[attr-defined]


def settings_to_json(settings: SubscriptionSettings) -> str:
    return converter.dumps(settings)  # type: ignore[attr-defined, no-any-return]


def settings_from_json(text: str) -> SubscriptionSettings:
    return converter.loads(text, SubscriptionSettings)  # type: ignore[attr-defined, no-any-return]


def check_items_to_json(items: list[CheckItem]) -> str:
    return converter.dumps(items)  # type: ignore[attr-defined, no-any-return]


def check_items_from_json(text: str) -> list[CheckItem]:
    return converter.loads(text, list[CheckItem])  # type: ignore[attr-defined, no-any-return]


def structure_error(exc: Exception) -> bool:
    """Whether ``exc`` is a validation failure of a body (a 422, not a bug)."""
    return isinstance(exc, cattrs.BaseValidationError | ValueError | TypeError)
