"""The settings of media-rip: what they are, where they come from, and how they are checked.

Settings come in layers, each winning over the one before:

1. the defaults written in the classes below, enough to run on a laptop with no config at all;
2. a YAML file: ``config_path``, else the file named by ``MEDIARIP_CONFIG``, else ``config.yaml``
   in the working folder if there is one;
3. the environment: ``MEDIARIP__SECTION__KEY=value`` (section and key in any case), where the
   value is read as a YAML scalar or flow value, so ``3`` is a number, ``true`` a boolean,
   ``{"*": "%(title)s.%(ext)s"}`` a map and ``[10.0.0.0/8]`` a list. Settings that can only be
   text (paths, names, passwords, the cron schedule, choices such as ``log_level``) are taken
   verbatim instead: a password ``no`` stays the string ``"no"``, and ``*/15 * * * *`` is not read
   as a YAML alias. An empty variable clears an optional setting.

A layer that sets a key replaces its whole value: maps are not merged across layers, except that
``downloads.source_templates`` always keeps the default ``"*"`` template unless it is given. List
settings (``server.trusted_proxies``, extractor argument values, ``format_sort``) also accept one
comma-separated string. Relative paths are resolved against the working folder (``cwd``).

Settings changed in the admin panel live in SQLite and are applied over the loaded settings with
:func:`with_overrides`; they never beat the environment, whose keys :attr:`Settings.pinned` lists
so the panel can show them read-only.

Everything is checked once, here. A bad value or an unknown key stops startup with a
:class:`ConfigError` that names the key, the value, what was expected and where it came from, one
problem per line; every problem is reported, not just the first. Past this module the values are
trusted: the classes are plain frozen attrs classes with no validators, relative paths are already
absolute, and maps are read-only.

Public API::

    class ConfigError(Exception)                  # .problems: tuple[str, ...]
    class Settings                                # server, downloads, ytdlp, session, purge,
                                                  # subscriptions, ui, admin, metrics,
                                                  # auth, database, pinned
    ServerSettings, DownloadSettings, YtdlpSettings, SessionSettings, PurgeSettings,
    SubscriptionsSettings, UiSettings, AdminSettings, …, DatabaseSettings
                                                  # one frozen class per section
    load_settings(environ=None, config_path=None, cwd=None) -> Settings
    defaults() -> Settings
    with_overrides(settings, overrides, source="admin settings") -> Settings
    settings_to_dict(settings) -> dict[str, dict[str, object]]
    setting_facts() -> dict[str, SettingFacts]   # type, help, bounds, choices, panel, applies
    every_setting() -> (dotted key, field, Declared) for each setting

How it works, one private module per concern:

- ``_fields``: the settings, each declared once on its field with ``setting(default, kind, help,
  panel=, restart=, secret=)``; the panel's read-only and restart lists and the facts the
  settings API shows (:func:`setting_facts`) are derived from these declarations;
- ``_parse``: the parsers and the :class:`Kind` (parser + bounds/choices) each field names;
- ``_load``: the layers, defaults included, each value run through its parser, failures turned
  into messages, the default settings evolved with what passed.

Adding a setting is one field in ``_fields.py`` (and a line in the README's table).
"""

from ._fields import (
    SECTIONS,
    AdminSettings,
    AuthMode,
    AuthSettings,
    DatabaseSettings,
    Declared,
    DownloadSettings,
    LogLevel,
    MetricsSettings,
    PurgeSettings,
    RecoverMode,
    ServerSettings,
    SessionMode,
    SessionSettings,
    Settings,
    SubscriptionsSettings,
    ThemeMode,
    UiSettings,
    YtdlpChannel,
    YtdlpSettings,
    every_setting,
    setting,
)
from ._load import (
    CONFIG_ENV,
    ENV_PREFIX,
    ConfigError,
    SettingFacts,
    defaults,
    load_settings,
    setting_facts,
    settings_to_dict,
    with_overrides,
)
from ._parse import DEFAULT_TEMPLATE

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_TEMPLATE",
    "ENV_PREFIX",
    "SECTIONS",
    "AdminSettings",
    "AuthMode",
    "AuthSettings",
    "ConfigError",
    "DatabaseSettings",
    "Declared",
    "DownloadSettings",
    "LogLevel",
    "MetricsSettings",
    "PurgeSettings",
    "RecoverMode",
    "ServerSettings",
    "SessionMode",
    "SessionSettings",
    "SettingFacts",
    "Settings",
    "SubscriptionsSettings",
    "ThemeMode",
    "UiSettings",
    "YtdlpChannel",
    "YtdlpSettings",
    "defaults",
    "every_setting",
    "load_settings",
    "setting",
    "setting_facts",
    "settings_to_dict",
    "with_overrides",
]
