"""Settings changed in the admin panel: checked, kept in SQLite, applied while the server runs.

The layers of SPEC §6 end here: defaults < YAML < the panel's overrides, with the environment
pinned above all of them. :class:`LiveSettings` holds the settings loaded at startup (the
*base*, already without the admin's plain-text password), the overrides, and the result, which
is what ``services.settings`` returns, so every reader sees a change at once.

What the panel may change, and when a change takes effect, is declared on each setting's field
(``panel=``, ``restart=``, ``secret=``: :mod:`mediarip.config`); :data:`READ_ONLY_KEYS` and
:data:`RESTART_KEYS` are derived from those declarations. Secrets are never listed; the API key
and the password have their own endpoints. Keys the environment sets are shown, marked
``pinned``, and refused. Most settings are read when they are needed (per job, per request, per
purge run), and the download limits are pushed to the engine at once, so they apply now.

A stored override that no longer passes (after an upgrade, say) is skipped at startup with a
warning rather than stopping the server: the admin can fix it in the panel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

import attrs
import trio

from .config import (
    ConfigError,
    SettingFacts,
    Settings,
    every_setting,
    setting_facts,
    settings_to_dict,
    with_overrides,
)
from .store import Store

__all__ = [
    "READ_ONLY_KEYS",
    "RESTART_KEYS",
    "SECRET_KEYS",
    "LiveSettings",
    "SettingInvalid",
    "SettingPinned",
    "SettingReadOnly",
    "SettingRefused",
    "SettingView",
]

log = logging.getLogger("mediarip")

#: Keys the panel may not change (the deployment's, and the secrets).
READ_ONLY_KEYS = frozenset(key for key, _, declared in every_setting() if not declared.panel)
#: Keys read once at startup: a change applies after a restart.
RESTART_KEYS = frozenset(key for key, _, declared in every_setting() if declared.restart)
#: Keys never listed nor shown in a message.
SECRET_KEYS = frozenset(key for key, field, _ in every_setting() if not field.repr)

Listener = Callable[[Settings], None]


class SettingRefused(Exception):
    """A change the panel cannot make; the message names the key."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SettingInvalid(SettingRefused):
    """An unknown key or a bad value."""


class SettingPinned(SettingRefused):
    """The environment sets this key."""


class SettingReadOnly(SettingRefused):
    """The key belongs to the deployment (``server``, ``admin``), not the panel."""


@attrs.frozen
class SettingView:
    """One setting as the panel shows it."""

    key: str
    value: object
    pinned: bool
    editable: bool
    overridden: bool
    applies: Literal["now", "restart"]


def _read_only(key: str) -> bool:
    return key in READ_ONLY_KEYS


class LiveSettings:
    """The settings in force. Create with :meth:`load`; read :attr:`current`."""

    def __init__(self, base: Settings, overrides: Mapping[str, object], store: Store) -> None:
        self._base = base
        self._overrides = dict(overrides)
        self._store = store
        self._current = with_overrides(base, self._overrides)
        self._listeners: list[Listener] = []

    @classmethod
    async def load(cls, base: Settings, store: Store) -> LiveSettings:
        """The base settings with the stored overrides that still pass."""
        return cls(base, await _usable_overrides(base, store), store)

    async def reload(self) -> None:
        """Take the overrides another process of a cluster stored (issue 16), and tell this
        process's listeners as after :meth:`change` if anything changed."""
        overrides = await _usable_overrides(self._base, self._store)
        if overrides != self._overrides:  # told of our own change: nothing to do
            changed = sorted(
                key
                for key in {*overrides, *self._overrides}
                if overrides.get(key) != self._overrides.get(key)
            )
            log.info("settings changed by another process: %s", ", ".join(changed))
            self._apply(overrides, with_overrides(self._base, overrides))

    @property
    def current(self) -> Settings:
        return self._current

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with the new settings after each change (in the trio thread)."""
        self._listeners.append(listener)

    @staticmethod
    def facts() -> dict[str, SettingFacts]:
        """What each listed setting's declaration says (type, help, bounds, choices)."""
        return setting_facts()

    def describe(self) -> list[SettingView]:
        """Every setting but the secrets, in the order of the config's sections."""
        pinned = self._base.pinned
        views = []
        for section, values in settings_to_dict(self._current).items():
            for name, value in values.items():
                key = f"{section}.{name}"
                if key in SECRET_KEYS:
                    continue
                views.append(
                    SettingView(
                        key=key,
                        value=value,
                        pinned=key in pinned,
                        editable=key not in pinned and not _read_only(key),
                        overridden=key in self._overrides and key not in pinned,
                        applies="restart" if key in RESTART_KEYS else "now",
                    )
                )
        return views

    async def change(self, changes: Mapping[str, object]) -> None:
        """Check, store and apply ``changes`` (dotted key -> value): all of them or none.

        Raises :class:`SettingPinned`, :class:`SettingReadOnly` or :class:`SettingInvalid`."""
        self._refuse_fixed(changes)
        merged = {**self._overrides, **changes}
        try:
            updated = with_overrides(self._base, merged)
        except ConfigError as error:
            raise SettingInvalid(str(error)) from None
        with trio.CancelScope(shield=True):
            await self._store.set_setting_overrides(changes)
            self._apply(merged, updated)

    async def reset(self, keys: Iterable[str]) -> None:
        """Drop the overrides of ``keys``: back to the config's (or default) values."""
        keys = list(keys)
        self._refuse_fixed(dict.fromkeys(keys))
        merged = {k: v for k, v in self._overrides.items() if k not in keys}
        updated = with_overrides(self._base, merged)
        with trio.CancelScope(shield=True):
            await self._store.set_setting_overrides({}, removed=keys)
            self._apply(merged, updated)

    def _refuse_fixed(self, changes: Mapping[str, object]) -> None:
        known = {view.key for view in self.describe()} | SECRET_KEYS
        unknown = [key for key in changes if key not in known]
        if unknown:
            try:
                with_overrides(self._base, dict.fromkeys(unknown))
            except ConfigError as error:
                raise SettingInvalid(str(error)) from None
        for key in changes:
            if key in self._base.pinned:
                variable = "MEDIARIP__" + key.replace(".", "__").upper()
                raise SettingPinned(
                    f"{key} is set by the environment ({variable}); change it there and restart"
                )
            if _read_only(key):
                raise SettingReadOnly(
                    f"{key} belongs to the deployment: set it in the config file or the "
                    "environment and restart"
                )

    def _apply(self, overrides: dict[str, object], updated: Settings) -> None:
        self._overrides, self._current = overrides, updated
        for listener in self._listeners:
            try:
                listener(updated)
            except Exception:
                log.exception("applying the changed settings failed in %r", listener)


async def _usable_overrides(base: Settings, store: Store) -> dict[str, object]:
    """The stored overrides that still pass (the others are logged and skipped)."""
    usable: dict[str, object] = {}
    for key, value in (await store.get_setting_overrides()).items():
        if _read_only(key):
            log.warning("ignoring the stored setting %s: the panel cannot set it", key)
            continue
        try:
            with_overrides(base, {key: value}, source="the settings saved in the panel")
        except ConfigError as error:
            log.warning("ignoring a stored setting: %s", error)
            continue
        usable[key] = value
    return usable
