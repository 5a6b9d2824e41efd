"""Reading one setting's raw value: the parsers, and the :class:`Kind` each setting declares.

A parser takes a raw value, from YAML, the environment or the admin panel, and returns the
checked value or raises :class:`Invalid` with one :class:`Flaw` per problem, saying what it
expected; for a map or list a flaw also says where inside the value (``at``) and which part was
wrong (``got``), so a bad template names its domain. A :class:`Kind` wraps a parser with what the
admin panel needs to offer the setting (a type, bounds, choices), so those facts are said once,
where the check is.

Why not cattrs' structuring: the loader must name, for each bad value, the layer it came from
(a YAML file, a variable, the panel), take environment text verbatim for text settings, and
report every problem of every layer at once; a parser per setting does that in a few lines each,
and the error paths inside maps (``downloads.source_templates['example.com']``) come from
:class:`Flaws`.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath
from types import MappingProxyType
from typing import Final, get_args

import attrs
from croniter import CroniterError, croniter

from ..outtmpl import template_problem

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_TEMPLATE: Final = "%(title)s [%(id)s].%(ext)s"

Parser = Callable[[object], object]


class Whole(enum.Enum):
    VALUE = enum.auto()  # the flaw is about the whole value the parser was given


@attrs.frozen
class Flaw:
    expected: str
    at: str = ""
    got: object = Whole.VALUE


class Invalid(Exception):
    def __init__(self, *flaws: Flaw) -> None:
        super().__init__(*flaws)
        self.flaws = flaws


def _invalid(expected: str) -> Invalid:
    return Invalid(Flaw(expected))


class Flaws:
    """Collects the flaws of the parts of a map or list, so one bad part hides no other."""

    def __init__(self) -> None:
        self.items: list[Flaw] = []

    def add(self, expected: str, at: str, got: object) -> None:
        self.items.append(Flaw(expected, at, got))

    def check(self, parse: Parser, value: object, at: str) -> tuple[bool, object]:
        try:
            return True, parse(value)
        except Invalid as error:
            for flaw in error.flaws:
                got = value if flaw.got is Whole.VALUE else flaw.got
                self.items.append(Flaw(flaw.expected, at + flaw.at, got))
            return False, None

    def raise_any(self) -> None:
        if self.items:
            raise Invalid(*self.items)


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


def _database_url(value: object) -> str:
    """A URL :func:`mediarip.database_url.parse_database_url` takes, kept as given."""
    from ..database_url import EXPECTED, parse_database_url  # imports SQLAlchemy: when set

    if isinstance(value, str):
        try:
            parse_database_url(value)
        except ValueError as exc:
            raise _invalid(f"{EXPECTED} ({exc})") from None
        return value
    raise _invalid(EXPECTED)


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
    flaws = Flaws()
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
    problem = template_problem(value)
    if problem is not None:
        raise _invalid(f"a yt-dlp output template ({problem})")
    return value


def _templates(value: object) -> Mapping[str, str]:
    """Domain -> template, over the default so that "*" is always there."""
    if not isinstance(value, Mapping):
        raise _invalid('a map from domain (or "*") to output template')
    flaws = Flaws()
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


def _cron(value: object) -> str:
    """A cron schedule croniter can use, that fires at least once: checked here, once."""
    expected = (
        'a cron expression of 5 fields, like "*/15 * * * *" (minutes from 0 to 59, hours 0 to 23, '
        "days 1 to 31, months 1 to 12, weekdays 0 to 7; steps above 0)"
    )
    fields = value.split() if isinstance(value, str) else []
    if len(fields) != 5:
        raise _invalid(expected)
    schedule = " ".join(fields)
    try:
        croniter(schedule, dt.datetime.now().astimezone()).get_next(dt.datetime)
    except (CroniterError, ValueError) as error:
        raise _invalid(f"{expected}; croniter says: {error}") from None
    return schedule


def _strings(value: object) -> tuple[str, ...]:
    """A list of strings (numbers allowed and turned to text), or one comma-separated string."""
    items = _split(value)
    if items is None or not all(
        isinstance(item, str | int) and not isinstance(item, bool) for item in items
    ):
        raise _invalid("a list of strings")
    return tuple(str(item) for item in items)


_ORIGIN = re.compile(
    r"(https?://[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?"
    r"|(chrome|moz|safari-web)-extension://[A-Za-z0-9._-]+)"
)


def _origin(value: object) -> str:
    expected = (
        "an origin: scheme://host[:port] with no path (https://dash.example.com, "
        "chrome-extension://<id>, moz-extension://<uuid>)"
    )
    if not isinstance(value, str):
        raise _invalid(expected)
    origin = value.strip().rstrip("/")
    scheme, _, rest = origin.partition("://")
    if rest.startswith("["):
        origin_ok = scheme in ("http", "https") and _ORIGIN.fullmatch(rest) is not None
    else:
        origin_ok = _ORIGIN.fullmatch(origin) is not None
    if not origin_ok:
        raise _invalid(expected)
    # Browsers send the scheme and host in lower case; extension ids are compared as given.
    return f"{scheme.lower()}://{rest.lower() if scheme in ('http', 'https') else rest}"


def _origins(value: object) -> tuple[str, ...]:
    items = _split(value)
    if items is None:
        raise _invalid("a list of origins")
    flaws = Flaws()
    origins: list[str] = []
    for index, item in enumerate(items):
        ok, origin = flaws.check(_origin, item, f"[{index}]")
        if ok and isinstance(origin, str) and origin not in origins:
            origins.append(origin)
    flaws.raise_any()
    return tuple(origins)


def _extractor_args(value: object) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    """extractor -> argument -> values, as yt-dlp's ``extractor_args``."""
    expected = "a map from extractor to a map from argument to a list of strings"
    if not isinstance(value, Mapping):
        raise _invalid(expected)
    flaws = Flaws()
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
    flaws = Flaws()
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


# --- kinds: a parser and what the panel needs to know about it ------------------------------


@attrs.frozen
class Kind:
    """How one setting is read (``parse``), and what a form needs to offer it.

    ``type`` is what control fits (``boolean``, ``integer``, ``number``, ``text``, ``choice``,
    ``path``, ``list``, ``map``, ``templates``, ``cron``, ``rate``, ``options`` (values of
    any JSON type under the names in ``choices``), ``extractor_args`` (extractor -> argument ->
    values)); ``text`` says the
    environment's value is taken verbatim rather than read as YAML."""

    parse: Parser
    type: str
    text: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False


def boolean() -> Kind:
    return Kind(_boolean, "boolean")


def integer(low: int, high: int | None = None) -> Kind:
    return Kind(_integer(low, high), "integer", minimum=low, maximum=high)


def number(expected: str, low: float, high: float | None = None, *, above: bool = False) -> Kind:
    """A number from ``low`` (or above it) to ``high``."""

    def accept(x: float) -> bool:
        return (x > low if above else x >= low) and (high is None or x <= high)

    return Kind(_number(expected, accept), "number", minimum=low, maximum=high)


def text(expected: str = "a string", pattern: str | None = None) -> Kind:
    return Kind(_text(expected, pattern), "text", text=True)


def choice(literal: object) -> Kind:
    """One of the strings of a ``Literal`` type."""
    return Kind(_choice(literal), "choice", text=True, choices=get_args(literal))


def optional(kind: Kind) -> Kind:
    """Not set (None, or an empty variable) is a value too."""
    return attrs.evolve(kind, parse=_optional(kind.parse), optional=True)


PATH: Final = Kind(_path, "path", text=True)
INDEX_URL: Final = Kind(
    _text(
        "an http(s) URL of a package index, like https://pypi.org/simple/",
        r"https?://[^\s/?#]+(/[^\s?#]*)?",
    ),
    "text",
    text=True,
)
API_KEY: Final = Kind(_api_key, "text", text=True)
DATABASE_URL: Final = Kind(_database_url, "text", text=True)
BCRYPT_HASH: Final = Kind(_bcrypt_hash, "text", text=True)
SECURE_COOKIES: Final = Kind(_secure_cookies, "choice", choices=("auto", "true", "false"))
NETWORKS: Final = Kind(_networks, "list")
ORIGINS: Final = Kind(_origins, "list")
TEMPLATES: Final = Kind(_templates, "templates")
RATE: Final = Kind(_rate_limit, "rate")
CRON: Final = Kind(_cron, "cron", text=True)
EXTRACTOR_ARGS: Final = Kind(_extractor_args, "extractor_args")
EXTRA_OPTIONS: Final = Kind(_extra_options, "options", choices=tuple(_YTDLP_OPTIONS))
