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
    class Settings                                # server, downloads, ytdlp, session, purge, ui,
                                                  # admin, pinned: frozenset[str]
    ServerSettings, DownloadSettings, YtdlpSettings, SessionSettings, PurgeSettings,
    UiSettings, AdminSettings                     # one frozen class per section
    load_settings(environ=None, config_path=None, cwd=None) -> Settings
    defaults() -> Settings
    with_overrides(settings, overrides, source="admin settings") -> Settings
    settings_to_dict(settings) -> dict[str, dict[str, object]]

How it works: each setting is declared once, as an attrs field whose metadata holds a parser
(:class:`_Spec`). A parser takes a raw value, from YAML, the environment or an override, and
returns the checked value or raises :class:`_Invalid` saying what it expected. Loading collects
the raw values of every layer, defaults included, runs each through its parser, turns failures
into messages, and evolves the default settings with what passed.
"""

from __future__ import annotations

import difflib
import enum
import ipaddress
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePath
from types import MappingProxyType
from typing import Any, Final, Literal, get_args

import attrs
import yaml

__all__ = [
    "AdminSettings",
    "ConfigError",
    "DownloadSettings",
    "LogLevel",
    "PurgeSettings",
    "RecoverMode",
    "ServerSettings",
    "SessionMode",
    "SessionSettings",
    "Settings",
    "ThemeMode",
    "UiSettings",
    "YtdlpSettings",
    "defaults",
    "load_settings",
    "settings_to_dict",
    "with_overrides",
]

LogLevel = Literal["debug", "info", "warning", "error"]
SessionMode = Literal["isolated", "shared", "open"]
ThemeMode = Literal["dark", "light", "system"]
RecoverMode = Literal["resume", "fail"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ENV_PREFIX: Final = "MEDIARIP__"
CONFIG_ENV: Final = "MEDIARIP_CONFIG"
DEFAULT_TEMPLATE: Final = "%(title)s [%(id)s].%(ext)s"


class ConfigError(Exception):
    """The configuration cannot be used. ``str()`` gives one problem per line."""

    def __init__(self, *problems: str) -> None:
        super().__init__(*problems)
        self.problems: tuple[str, ...] = problems

    def __str__(self) -> str:
        return "\n".join(self.problems)


# --- parsers ---------------------------------------------------------------------------------
#
# A parser takes a raw value and returns the checked one, or raises _Invalid with one _Flaw per
# problem. A flaw says what was expected; for a map or list it also says where inside the value
# (``at``) and which part was wrong (``got``), so a bad template names its domain.

Parser = Callable[[object], object]


class _Whole(enum.Enum):
    VALUE = enum.auto()  # the flaw is about the whole value the parser was given


@attrs.frozen
class _Flaw:
    expected: str
    at: str = ""
    got: object = _Whole.VALUE


class _Invalid(Exception):
    def __init__(self, *flaws: _Flaw) -> None:
        super().__init__(*flaws)
        self.flaws = flaws


def _invalid(expected: str) -> _Invalid:
    return _Invalid(_Flaw(expected))


class _Flaws:
    """Collects the flaws of the parts of a map or list, so one bad part hides no other."""

    def __init__(self) -> None:
        self.items: list[_Flaw] = []

    def add(self, expected: str, at: str, got: object) -> None:
        self.items.append(_Flaw(expected, at, got))

    def check(self, parse: Parser, value: object, at: str) -> tuple[bool, object]:
        try:
            return True, parse(value)
        except _Invalid as error:
            for flaw in error.flaws:
                got = value if flaw.got is _Whole.VALUE else flaw.got
                self.items.append(_Flaw(flaw.expected, at + flaw.at, got))
            return False, None

    def raise_any(self) -> None:
        if self.items:
            raise _Invalid(*self.items)


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise _invalid("true or false")


def _integer(low: int, high: int | None = None) -> Parser:
    if high is not None:
        expected = f"an integer from {low} to {high}"
    elif low == 1:
        expected = "a positive integer"
    else:
        expected = f"an integer of at least {low}"

    def parse(value: object) -> int:
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= low
            and (high is None or value <= high)
        ):
            return value
        raise _invalid(expected)

    return parse


def _number(expected: str, accept: Callable[[float], bool]) -> Parser:
    def parse(value: object) -> float:
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and accept(value)
        ):
            return float(value)
        raise _invalid(expected)

    return parse


def _text(expected: str = "a string", pattern: str | None = None) -> Parser:
    compiled = re.compile(pattern) if pattern is not None else None

    def parse(value: object) -> str:
        if isinstance(value, str) and (compiled is None or compiled.fullmatch(value)):
            return value
        raise _invalid(expected)

    return parse


def _choice(kind: object) -> Parser:
    """One of the strings of a ``Literal`` type, in any case."""
    options: tuple[str, ...] = get_args(kind)
    expected = "one of " + ", ".join(options)

    def parse(value: object) -> str:
        if isinstance(value, str) and value.strip().lower() in options:
            return value.strip().lower()
        raise _invalid(expected)

    return parse


def _optional(parse: Parser) -> Parser:
    """None, or an empty string (an empty environment variable), means "not set"."""

    def parse_optional(value: object) -> object:
        if value is None or value == "":
            return None
        return parse(value)

    return parse_optional


def _path(value: object) -> Path:
    # Relative paths are made absolute by the loader, which knows the working folder.
    if isinstance(value, str | PurePath) and str(value).strip():
        return Path(value).expanduser()
    raise _invalid("a path")


def _api_key(value: object) -> str:
    if isinstance(value, str) and len(value) >= 16 and not any(c.isspace() for c in value):
        return value
    raise _invalid("at least 16 characters without spaces")


def _bcrypt_hash(value: object) -> str:
    if isinstance(value, str) and re.fullmatch(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}", value):
        return value
    raise _invalid("a bcrypt hash ($2b$..., 60 characters)")


def _secure_cookies(value: object) -> bool | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    if isinstance(value, bool):
        return value
    raise _invalid("true, false or auto")


def _split(value: object) -> list[object] | None:
    """A list as a list, or a string as its comma-separated items; None for anything else."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    return None


def _network(value: object) -> IPNetwork:
    expected = "an IP address or a CIDR network like 10.0.0.0/8"
    if not isinstance(value, str):
        raise _invalid(expected)
    try:
        return ipaddress.ip_network(value.strip())
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise _invalid(expected) from None
    raise _invalid(f"a network without host bits set (did you mean {network}?)")


def _networks(value: object) -> tuple[IPNetwork, ...]:
    items = _split(value)
    if items is None:
        raise _invalid("a list of IP addresses or CIDR networks")
    flaws = _Flaws()
    networks = []
    for index, item in enumerate(items):
        ok, network = flaws.check(_network, item, f"[{index}]")
        if ok:
            assert isinstance(network, ipaddress.IPv4Network | ipaddress.IPv6Network)
            networks.append(network)
    flaws.raise_any()
    return tuple(networks)


_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def _template(value: object) -> str:
    """A yt-dlp output template that cannot leave the downloads folder."""
    if not isinstance(value, str) or not value.strip():
        raise _invalid("a yt-dlp output template")
    if "\\" in value or "\0" in value:
        raise _invalid("a template without backslashes")
    if value.startswith(("/", "~")):
        raise _invalid("a relative template (no leading / or ~)")
    if ".." in value.split("/"):
        raise _invalid("a template without a .. component")
    return value


def _templates(value: object) -> Mapping[str, str]:
    """Domain -> template, over the default so that "*" is always there."""
    if not isinstance(value, Mapping):
        raise _invalid('a map from domain (or "*") to output template')
    flaws = _Flaws()
    templates = {"*": DEFAULT_TEMPLATE}
    for key, template in value.items():
        domain = key.strip().lower() if isinstance(key, str) else key
        if domain != "*" and not (isinstance(domain, str) and _DOMAIN.fullmatch(domain)):
            flaws.add('keys that are domains like "youtube.com", or "*"', "", key)
            continue
        assert isinstance(domain, str)
        ok, checked = flaws.check(_template, template, f"[{domain!r}]")
        if ok:
            assert isinstance(checked, str)
            templates[domain] = checked
    flaws.raise_any()
    return MappingProxyType(templates)


_RATE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMG]?)", re.IGNORECASE)
_RATE_UNITS: Final = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def _rate_limit(value: object) -> int | None:
    expected = 'a positive number of bytes per second, like 500000, "500K" or "1.5M"'
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _RATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise _invalid(expected)
    number, unit = match.groups()
    rate = int(float(number) * _RATE_UNITS[unit.upper()])
    if rate <= 0:
        raise _invalid(expected)
    return rate


# minute, hour, day of month, month, day of week (0 and 7 both Sunday)
_CRON_RANGES: Final = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_PART = re.compile(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?")


def _cron(value: object) -> str:
    """The shape of a cron expression: five fields of numbers, ranges, steps and lists."""
    expected = 'a cron expression of 5 fields, like "*/15 * * * *"'
    fields = value.split() if isinstance(value, str) else []
    if len(fields) != 5:
        raise _invalid(expected)
    for field, (low, high) in zip(fields, _CRON_RANGES, strict=True):
        for part in field.split(","):
            match = _CRON_PART.fullmatch(part)
            if match is None:
                raise _invalid(expected)
            _, start, end, step = match.groups()
            numbers = [int(n) for n in (start, end) if n is not None]
            if any(not low <= n <= high for n in numbers) or numbers != sorted(numbers):
                raise _invalid(f"{expected}, with numbers from {low} to {high} in {field!r}")
            if step is not None and int(step) == 0:
                raise _invalid(f"{expected}, with steps above 0")
    return " ".join(fields)


def _strings(value: object) -> tuple[str, ...]:
    """A list of strings (numbers allowed and turned to text), or one comma-separated string."""
    items = _split(value)
    if items is None or not all(
        isinstance(item, str | int) and not isinstance(item, bool) for item in items
    ):
        raise _invalid("a list of strings")
    return tuple(str(item) for item in items)


def _extractor_args(value: object) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    """extractor -> argument -> values, as yt-dlp's ``extractor_args``."""
    expected = "a map from extractor to a map from argument to a list of strings"
    if not isinstance(value, Mapping):
        raise _invalid(expected)
    flaws = _Flaws()
    result: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for extractor, arguments in value.items():
        if not isinstance(extractor, str) or not isinstance(arguments, Mapping):
            flaws.add(expected, f"[{extractor!r}]", arguments)
            continue
        checked: dict[str, tuple[str, ...]] = {}
        for name, values in arguments.items():
            ok, strings = flaws.check(_strings, values, f"[{extractor!r}][{name!r}]")
            if ok and isinstance(name, str) and isinstance(strings, tuple):
                checked[name] = strings
            elif ok:
                flaws.add("argument names to be strings", f"[{extractor!r}]", name)
        result[extractor.lower()] = MappingProxyType(checked)
    flaws.raise_any()
    return MappingProxyType(result)


def _headers(value: object) -> Mapping[str, str]:
    if isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return MappingProxyType(dict(value))
    raise _invalid("a map from header name to string")


def _ip_address(value: object) -> str:
    try:
        return str(ipaddress.ip_address(value if isinstance(value, str) else ""))
    except ValueError:
        raise _invalid("an IP address") from None


def _check_formats(value: object) -> bool | str:
    if isinstance(value, bool) or value == "selected":
        return value
    raise _invalid('true, false or "selected"')


# The yt-dlp options a config may pass through, each with its own check. Anything else is refused:
# options such as outtmpl, paths or exec would undo the confinement and hooks the engine relies on.
_YTDLP_OPTIONS: Final[Mapping[str, Parser]] = MappingProxyType(
    {
        "retries": _integer(0),
        "fragment_retries": _integer(0),
        "concurrent_fragment_downloads": _integer(1, 64),
        "geo_bypass": _boolean,
        "geo_bypass_country": _text("a two-letter country code", r"[A-Za-z]{2}"),
        "sleep_interval": _number("a number of seconds, at least 0", lambda x: x >= 0),
        "max_sleep_interval": _number("a number of seconds, at least 0", lambda x: x >= 0),
        "http_headers": _headers,
        "proxy": _text("a proxy URL (empty for a direct connection)"),
        "source_address": _ip_address,
        "prefer_free_formats": _boolean,
        "check_formats": _check_formats,
        "hls_prefer_native": _boolean,
        "format_sort": _strings,
    }
)


def _extra_options(value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _invalid("a map from yt-dlp option name to value")
    flaws = _Flaws()
    options: dict[str, object] = {}
    for name, option in value.items():
        parse = _YTDLP_OPTIONS.get(name) if isinstance(name, str) else None
        if parse is None:
            allowed = ", ".join(_YTDLP_OPTIONS)
            flaws.add(f"an allowed yt-dlp option ({allowed})", "", name)
            continue
        ok, checked = flaws.check(parse, option, f".{name}")
        if ok:
            options[name] = checked
    flaws.raise_any()
    return MappingProxyType(options)


# --- the settings ------------------------------------------------------------------------------


# Each setting is an attrs field whose metadata holds its _Spec. A secret is a field declared
# with repr=False: it is also kept out of error messages and settings_to_dict().


@attrs.frozen
class _Spec:
    """How one setting is read."""

    parse: Parser
    text: bool = False  # from the environment, take the value verbatim instead of as YAML


_SPEC: Final = "mediarip.config"


def _spec(parse: Parser, *, text: bool = False) -> dict[str, _Spec]:
    return {_SPEC: _Spec(parse, text)}


_HOST = _text("a host name or IP address", r"\S+")
_SOCKET_TIMEOUT = _number("a number of seconds above 0 and at most 300", lambda x: 0 < x <= 300)
_THEME = _text("a theme name (letters, digits, - and _)", r"[A-Za-z0-9][A-Za-z0-9_-]*")
_SPONSORBLOCK_API = _text("an http:// or https:// address", r"https?://[^\s/?#]+(/[^\s?#]*)?")
_USERNAME = _text("a non-empty name without surrounding spaces", r"\S(.*\S)?")


@attrs.frozen
class ServerSettings:
    """``server``: where and how the app listens.

    ``trusted_proxies`` lists the reverse proxies whose ``X-Forwarded-*`` headers are believed;
    ``secure_cookies`` None means "Secure when the request came over https".
    """

    host: str = attrs.field(default="127.0.0.1", metadata=_spec(_HOST, text=True))
    port: int = attrs.field(default=8000, metadata=_spec(_integer(0, 65535)))
    data_dir: Path = attrs.field(default=Path("data"), metadata=_spec(_path, text=True))
    log_level: LogLevel = attrs.field(default="info", metadata=_spec(_choice(LogLevel), text=True))
    api_key: str | None = attrs.field(
        default=None, repr=False, metadata=_spec(_optional(_api_key), text=True)
    )
    trusted_proxies: tuple[IPNetwork, ...] = attrs.field(default=(), metadata=_spec(_networks))
    secure_cookies: bool | None = attrs.field(default=None, metadata=_spec(_secure_cookies))


@attrs.frozen
class DownloadSettings:
    """``downloads``: where files go and how hard the engine works.

    ``source_templates`` maps a domain to the yt-dlp output template for its downloads, with
    ``"*"`` for every other site; templates are relative to ``output_dir`` and cannot leave it.
    ``rate_limit`` is in bytes per second. ``recover_on_start`` says what happens to jobs a crash
    left queued or downloading: resume them, or mark them failed. ``max_jobs_per_minute`` limits
    how fast one session may add jobs.
    """

    output_dir: Path = attrs.field(default=Path("downloads"), metadata=_spec(_path, text=True))
    max_concurrent: int = attrs.field(default=3, metadata=_spec(_integer(1, 32)))
    max_probes: int = attrs.field(default=4, metadata=_spec(_integer(1, 32)))
    source_templates: Mapping[str, str] = attrs.field(
        default=MappingProxyType({"*": DEFAULT_TEMPLATE}), metadata=_spec(_templates)
    )
    allow_private_networks: bool = attrs.field(default=False, metadata=_spec(_boolean))
    #: Private addresses downloads may reach even so (a NAS on the LAN, say): IPs or networks.
    private_allowlist: tuple[IPNetwork, ...] = attrs.field(default=(), metadata=_spec(_networks))
    socket_timeout: float = attrs.field(default=20.0, metadata=_spec(_SOCKET_TIMEOUT))
    rate_limit: int | None = attrs.field(default=None, metadata=_spec(_rate_limit))
    recover_on_start: RecoverMode = attrs.field(
        default="resume", metadata=_spec(_choice(RecoverMode), text=True)
    )
    #: New jobs start on their own; off, they wait ``paused`` until someone starts them.
    autostart: bool = attrs.field(default=True, metadata=_spec(_boolean))
    #: Jobs one session may create per minute (bursts up to as many); 0 means no limit.
    max_jobs_per_minute: int = attrs.field(default=60, metadata=_spec(_integer(0, 100_000)))


@attrs.frozen
class YtdlpSettings:
    """``ytdlp``: what is passed to yt-dlp as is.

    ``extractor_args`` is yt-dlp's option of that name (argument values are tuples here; give
    yt-dlp lists). ``extra_options`` holds only allow-listed yt-dlp options.
    """

    extractor_args: Mapping[str, Mapping[str, tuple[str, ...]]] = attrs.field(
        default=MappingProxyType({}), metadata=_spec(_extractor_args)
    )
    extra_options: Mapping[str, object] = attrs.field(
        default=MappingProxyType({}), metadata=_spec(_extra_options)
    )
    #: The SponsorBlock API a job's ``sponsorblock`` option asks (a mirror, or a test double).
    sponsorblock_api: str = attrs.field(
        default="https://sponsor.ajay.app", metadata=_spec(_SPONSORBLOCK_API, text=True)
    )


@attrs.frozen
class SessionSettings:
    """``session``: ``isolated`` gives each browser its own queue, ``shared`` one queue for all
    sessions, ``open`` no sessions at all."""

    mode: SessionMode = attrs.field(
        default="isolated", metadata=_spec(_choice(SessionMode), text=True)
    )
    timeout_hours: int = attrs.field(default=72, metadata=_spec(_integer(1)))


@attrs.frozen
class PurgeSettings:
    """``purge``: removal of old finished jobs and idle sessions, on a cron ``schedule``."""

    enabled: bool = attrs.field(default=True, metadata=_spec(_boolean))
    max_age_minutes: int = attrs.field(default=1440, metadata=_spec(_integer(1)))
    schedule: str = attrs.field(default="*/15 * * * *", metadata=_spec(_cron, text=True))
    privacy_mode: bool = attrs.field(default=False, metadata=_spec(_boolean))
    privacy_retention_minutes: int = attrs.field(default=1440, metadata=_spec(_integer(1)))


@attrs.frozen
class UiSettings:
    """``ui``: what the web app shows first. Custom themes live in ``themes_dir``."""

    welcome_message: str = attrs.field(default="", metadata=_spec(_text(), text=True))
    theme_dark: str = attrs.field(default="cyberpunk", metadata=_spec(_THEME, text=True))
    theme_light: str = attrs.field(default="light", metadata=_spec(_THEME, text=True))
    theme_default_mode: ThemeMode = attrs.field(
        default="system", metadata=_spec(_choice(ThemeMode), text=True)
    )
    themes_dir: Path | None = attrs.field(default=None, metadata=_spec(_optional(_path), text=True))


@attrs.frozen
class AdminSettings:
    """``admin``: the admin panel. ``password`` is plain text as configured; startup hashes it
    and drops it. ``password_hash`` is a bcrypt hash."""

    enabled: bool = attrs.field(default=True, metadata=_spec(_boolean))
    username: str = attrs.field(default="admin", metadata=_spec(_USERNAME, text=True))
    password: str | None = attrs.field(
        default=None, repr=False, metadata=_spec(_optional(_text()), text=True)
    )
    password_hash: str | None = attrs.field(
        default=None, repr=False, metadata=_spec(_optional(_bcrypt_hash), text=True)
    )


@attrs.frozen
class Settings:
    """All settings. ``pinned`` holds the dotted keys ("downloads.max_concurrent") the
    environment set, which the admin panel shows read-only and :func:`with_overrides` skips."""

    server: ServerSettings = ServerSettings()
    downloads: DownloadSettings = DownloadSettings()
    ytdlp: YtdlpSettings = YtdlpSettings()
    session: SessionSettings = SessionSettings()
    purge: PurgeSettings = PurgeSettings()
    ui: UiSettings = UiSettings()
    admin: AdminSettings = AdminSettings()
    pinned: frozenset[str] = frozenset()


_SECTIONS: Final[Mapping[str, type[Any]]] = MappingProxyType(
    {
        "server": ServerSettings,
        "downloads": DownloadSettings,
        "ytdlp": YtdlpSettings,
        "session": SessionSettings,
        "purge": PurgeSettings,
        "ui": UiSettings,
        "admin": AdminSettings,
    }
)


def _fields(section: str) -> dict[str, attrs.Attribute[Any]]:
    return {field.name: field for field in attrs.fields(_SECTIONS[section])}


# --- loading -----------------------------------------------------------------------------------


@attrs.frozen
class _Given:
    """A raw value for one setting, and the source that gave it."""

    value: object
    source: str


_Layer = dict[tuple[str, str], _Given]  # (section, key) -> value


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word.lower(), list(choices), n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _show(value: object) -> str:
    text = repr(str(value) if isinstance(value, PurePath) else value)
    return text if len(text) <= 80 else text[:77] + "..."


def _problems(section: str, key: str, given: _Given, error: _Invalid, *, secret: bool) -> list[str]:
    lines = []
    for flaw in error.flaws:
        got = given.value if flaw.got is _Whole.VALUE else flaw.got
        shown = "a hidden value" if secret else _show(got)
        lines.append(
            f"{section}.{key}{flaw.at}: expected {flaw.expected}, got {shown} (from {given.source})"
        )
    return lines


def _apply(
    settings: Settings, layers: Iterable[_Layer], cwd: Path, problems: list[str]
) -> Settings:
    """Parse every value of every layer, later layers winning, and evolve ``settings``."""
    changes: dict[str, dict[str, object]] = {}
    for layer in layers:
        for (section, key), given in layer.items():
            field = _fields(section)[key]
            try:
                value = field.metadata[_SPEC].parse(given.value)
            except _Invalid as error:
                problems.extend(_problems(section, key, given, error, secret=not field.repr))
                continue
            if isinstance(value, Path) and not value.is_absolute():
                value = cwd / value
            changes.setdefault(section, {})[key] = value
    return attrs.evolve(
        settings,
        **{
            section: attrs.evolve(getattr(settings, section), **values)
            for section, values in changes.items()
        },
    )


def _default_layer() -> _Layer:
    # The defaults go through their parsers like any other value: that is what makes their
    # relative paths absolute.
    return {
        (section, field.name): _Given(field.default, "default")
        for section, cls in _SECTIONS.items()
        for field in attrs.fields(cls)
    }


@attrs.frozen
class _ConfigFile:
    path: Path  # absolute
    shown: str  # as the user named it, for messages
    named_by: str = "config_path"


def _yaml_problem(shown: str, error: Exception) -> str:
    """Say where: "config.yaml, line 4: invalid YAML: ... (while parsing ... on line 3)"."""
    mark = getattr(error, "problem_mark", None)
    if mark is None:
        return f"{shown}: invalid YAML: {error}"
    message = f"{shown}, line {mark.line + 1}: invalid YAML: {getattr(error, 'problem', error)}"
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and context_mark is not None and context_mark.line != mark.line:
        message += f" ({context} on line {context_mark.line + 1})"
    return message


def _read_yaml(file: _ConfigFile, problems: list[str]) -> object:
    shown = file.shown
    try:
        text = file.path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"config file {shown} not found (named by {file.named_by})")
        return None
    except (OSError, UnicodeDecodeError) as error:
        problems.append(f"config file {shown} cannot be read: {error}")
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        problems.append(_yaml_problem(shown, error))
        return None


def _file_layer(document: object, source: str, problems: list[str]) -> _Layer:
    layer: _Layer = {}
    if document is None:
        return layer
    if not isinstance(document, Mapping):
        problems.append(
            f"{source}: expected a map of sections at the top level, got {_show(document)}"
        )
        return layer
    for section, values in document.items():
        if section not in _SECTIONS:
            problems.append(
                f"unknown section {section} in {source}{_suggest(str(section), _SECTIONS)}"
            )
            continue
        if values is None:
            continue
        if not isinstance(values, Mapping):
            problems.append(
                f"{section}: expected a map of settings, got {_show(values)} (from {source})"
            )
            continue
        fields = _fields(section)
        for key, value in values.items():
            if key not in fields:
                problems.append(
                    f"unknown key {section}.{key} in {source}{_suggest(str(key), fields)}"
                )
                continue
            layer[section, key] = _Given(value, source)
    return layer


def _env_layer(environ: Mapping[str, str], problems: list[str]) -> _Layer:
    layer: _Layer = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        source = f"environment variable {name}"
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if not section or not key:
            problems.append(f"{source}: expected a name of the form {ENV_PREFIX}SECTION__KEY")
            continue
        if section not in _SECTIONS:
            problems.append(f"unknown section {section} in {source}{_suggest(section, _SECTIONS)}")
            continue
        fields = _fields(section)
        if key not in fields:
            problems.append(f"unknown key {section}.{key} in {source}{_suggest(key, fields)}")
            continue
        if (section, key) in layer:
            problems.append(
                f"{section}.{key} is set twice, by {layer[section, key].source} and {source}"
            )
            continue
        raw = environ[name]
        if fields[key].metadata[_SPEC].text:
            layer[section, key] = _Given(raw, source)
            continue
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or "invalid YAML"
            problems.append(
                f"{section}.{key}: expected a YAML value, got {_show(raw)} ({problem})"
                f" (from {source})"
            )
            continue
        layer[section, key] = _Given(value, source)
    return layer


def _load(environ: Mapping[str, str], file: _ConfigFile | None, cwd: Path) -> Settings:
    problems: list[str] = []
    layers = [_default_layer()]
    if file is not None:
        document = _read_yaml(file, problems)
        layers.append(_file_layer(document, file.shown, problems))
    env = _env_layer(environ, problems)
    layers.append(env)
    settings = _apply(Settings(), layers, cwd, problems)
    if problems:
        raise ConfigError(*problems)
    return attrs.evolve(settings, pinned=frozenset(f"{s}.{k}" for s, k in env))


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Load defaults < YAML file < environment, or raise :class:`ConfigError` with every problem.

    ``environ`` defaults to ``os.environ`` and ``cwd`` to the working folder, against which the
    config file and relative paths are resolved. The file is ``config_path``, else the one named
    by ``MEDIARIP_CONFIG``, else ``config.yaml`` in ``cwd`` when it exists; a file that was named
    but is missing is an error.
    """
    environ = os.environ if environ is None else environ
    cwd = (Path.cwd() if cwd is None else cwd).absolute()
    file: _ConfigFile | None = None
    if config_path is not None:
        file = _ConfigFile(cwd / config_path, str(config_path))
    elif environ.get(CONFIG_ENV):
        named = environ[CONFIG_ENV]
        file = _ConfigFile(cwd / named, named, f"environment variable {CONFIG_ENV}")
    elif (cwd / "config.yaml").is_file():
        file = _ConfigFile(cwd / "config.yaml", str(cwd / "config.yaml"))
    return _load(environ, file, cwd)


def defaults() -> Settings:
    """The settings with no config file and no environment; paths relative to the working folder."""
    return _load({}, None, Path.cwd())


def with_overrides(
    settings: Settings, overrides: Mapping[str, object], source: str = "admin settings"
) -> Settings:
    """Apply dotted-key overrides ("downloads.max_concurrent": 5) over ``settings``.

    Values are checked as in :func:`load_settings` (relative paths against the working folder);
    keys the environment pinned are left alone. Raises :class:`ConfigError` naming each bad key.
    """
    problems: list[str] = []
    layer: _Layer = {}
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        if section not in _SECTIONS or key not in _fields(section):
            known = [f"{s}.{k}" for s in _SECTIONS for k in _fields(s)]
            problems.append(f"unknown key {dotted} in {source}{_suggest(dotted, known)}")
        elif dotted not in settings.pinned:
            layer[section, key] = _Given(value, source)
    settings = _apply(settings, [layer], Path.cwd(), problems)
    if problems:
        raise ConfigError(*problems)
    return settings


def _plain(value: object) -> object:
    if isinstance(value, PurePath | ipaddress.IPv4Network | ipaddress.IPv6Network):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset):
        return [_plain(v) for v in value]
    return value


def settings_to_dict(settings: Settings) -> dict[str, dict[str, object]]:
    """JSON-able settings by section: paths and networks as strings, secrets as None."""
    return {
        section: {
            field.name: None
            if not field.repr
            else _plain(getattr(getattr(settings, section), field.name))
            for field in attrs.fields(cls)
        }
        for section, cls in _SECTIONS.items()
    }
