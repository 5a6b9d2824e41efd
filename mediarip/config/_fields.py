"""The settings, each declared once, on its field: type, default, how it is read and checked,
its help text, whether the admin panel may change it and whether it applies at once.

A setting is ``name: type = setting(default, kind, help, ...)``. The :class:`~._parse.Kind`
carries the parser and what a form needs (bounds, choices); ``panel=False`` keeps it out of the
panel's reach (where the server listens, its data folder, the admin's own credentials: a wrong
value there could lock the admin out with no way back through the panel); ``restart=True`` says
it is read once at startup; ``secret=True`` keeps it out of every listing and message (the
API key and the password have their own endpoints). Everything else is derived from these
declarations: the loader's checks, the panel's read-only and restart lists, and the facts the
settings API gives the panel (:func:`setting_facts`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

import attrs

from ._parse import (
    API_KEY,
    BCRYPT_HASH,
    CRON,
    DATABASE_URL,
    DEFAULT_TEMPLATE,
    EXTRA_OPTIONS,
    EXTRACTOR_ARGS,
    INDEX_URL,
    NETWORKS,
    ORIGINS,
    PATH,
    RATE,
    SECURE_COOKIES,
    TEMPLATES,
    IPNetwork,
    Kind,
    boolean,
    choice,
    integer,
    number,
    optional,
    text,
)

LogLevel = Literal["debug", "info", "warning", "error"]
SessionMode = Literal["isolated", "shared", "open"]
ThemeMode = Literal["dark", "light", "system"]
RecoverMode = Literal["resume", "fail"]
YtdlpChannel = Literal["stable", "nightly"]
AuthMode = Literal["none", "local", "proxy"]  # issue 14

_DECLARED: Final = "mediarip.setting"


@attrs.frozen
class Declared:
    """What a setting's field declares besides its type and default."""

    kind: Kind
    help: str
    panel: bool = True
    restart: bool = False


def setting(
    default: Any,
    kind: Kind,
    help: str,
    *,
    panel: bool = True,
    restart: bool = False,
    secret: bool = False,
) -> Any:
    """Declare a setting (see the module's docstring)."""
    declared = Declared(kind, help, panel and not secret, restart)
    return attrs.field(default=default, repr=not secret, metadata={_DECLARED: declared})


def declared(field: attrs.Attribute[Any]) -> Declared:
    found = field.metadata[_DECLARED]
    assert isinstance(found, Declared)
    return found


_HOST = text("a host name or IP address", r"\S+")
_THEME = text("a theme name (letters, digits, - and _)", r"[A-Za-z0-9][A-Za-z0-9_-]*")
_USERNAME = text("a non-empty name without surrounding spaces", r"\S(.*\S)?")


@attrs.frozen
class ServerSettings:
    """``server``: where and how the app listens (the deployment's business, not the panel's)."""

    host: str = setting("127.0.0.1", _HOST, "Address to listen on.", panel=False)
    port: int = setting(8000, integer(0, 65535), "Port to listen on.", panel=False)
    data_dir: Path = setting(
        Path("data"), PATH, "Folder for the database, cookies and settings.", panel=False
    )
    log_level: LogLevel = setting(
        "info", choice(LogLevel), "How much the server logs.", panel=False
    )
    api_key: str | None = setting(
        None,
        optional(API_KEY),
        "Key that scripts send to change things (at least 16 characters).",
        secret=True,
    )
    trusted_proxies: tuple[IPNetwork, ...] = setting(
        (),
        NETWORKS,
        "Reverse proxies whose X-Forwarded-* headers are believed (IPs or networks).",
        panel=False,
    )
    secure_cookies: bool | None = setting(
        None,
        SECURE_COOKIES,
        "Mark cookies Secure: true, false, or auto (when the request came over https).",
        panel=False,
    )
    cors_origins: tuple[str, ...] = setting(
        (),
        ORIGINS,
        "Other origins (a browser extension's chrome-extension://<id>, another dashboard's "
        "https://host) whose scripts may call the API with the API key; cookies are never "
        "accepted from them. Empty: none.",
    )


@attrs.frozen
class DownloadSettings:
    """``downloads``: where files go and how hard the engine works."""

    output_dir: Path = setting(
        Path("downloads"), PATH, "Folder the finished files go to.", restart=True
    )
    max_concurrent: int = setting(3, integer(1, 32), "Downloads that run at the same time.")
    max_probes: int = setting(
        4, integer(1, 32), "URL look-ups (previews, formats) that run at the same time."
    )
    source_templates: Mapping[str, str] = setting(
        MappingProxyType({"*": DEFAULT_TEMPLATE}),
        TEMPLATES,
        'yt-dlp output template per site domain, "*" for every other site; relative to the '
        "downloads folder, which a template cannot leave.",
    )
    allow_private_networks: bool = setting(
        False, boolean(), "Let downloads reach private and local network addresses."
    )
    private_allowlist: tuple[IPNetwork, ...] = setting(
        (),
        NETWORKS,
        "Private addresses downloads may reach even so (a NAS on the LAN, say): IPs or networks.",
    )
    socket_timeout: float = setting(
        20.0,
        number("a number of seconds above 0 and at most 300", 0, 300, above=True),
        "Seconds without data before a connection is given up.",
    )
    rate_limit: int | None = setting(
        None,
        RATE,
        'Download speed limit per job in bytes per second ("500K", "1.5M"); empty for none.',
    )
    recover_on_start: RecoverMode = setting(
        "resume",
        choice(RecoverMode),
        "What happens at startup to jobs a crash left running: resume them, or mark them failed.",
        restart=True,
    )
    max_jobs_per_minute: int = setting(
        60,
        integer(0, 100_000),
        "New jobs one session may add per minute (bursts up to as many); 0 for no limit. "
        "A batch counts each of its jobs.",
    )
    autostart: bool = setting(
        True,
        boolean(),
        "New jobs start on their own; off, they wait 'paused' until someone starts them.",
    )
    min_free_mb: int = setting(
        500,
        integer(0),
        "Free space (MB) the downloads folder's disk needs for /api/health/ready to say "
        "ready; 0: no check.",
    )


@attrs.frozen
class YtdlpSettings:
    """``ytdlp``: what is passed to yt-dlp as is, and how yt-dlp itself is kept current
    (:mod:`mediarip.ytdlp`)."""

    extractor_args: Mapping[str, Mapping[str, tuple[str, ...]]] = setting(
        MappingProxyType({}),
        EXTRACTOR_ARGS,
        "yt-dlp's extractor_args: extractor -> argument -> list of values.",
    )
    extra_options: Mapping[str, object] = setting(
        MappingProxyType({}),
        EXTRA_OPTIONS,
        "Allow-listed yt-dlp options (retries, proxy, format_sort, ...) passed as they are.",
    )
    channel: YtdlpChannel = setting(
        "stable",
        choice(YtdlpChannel),
        "Which yt-dlp the check and updates take: stable releases or nightly builds.",
    )
    check_updates: bool = setting(
        True, boolean(), "Ask the package index once a day whether a newer yt-dlp exists."
    )
    auto_update: bool = setting(
        False,
        boolean(),
        "Install a newer yt-dlp as soon as the daily check finds one, then restart gracefully.",
    )
    index_url: str | None = setting(
        None,
        optional(INDEX_URL),
        "A PEP 503 simple index to check and install yt-dlp from instead of PyPI (a mirror).",
    )
    sponsorblock_api: str = setting(
        "https://sponsor.ajay.app",
        text("an http:// or https:// address", r"https?://[^\s/?#]+(/[^\s?#]*)?"),
        "The SponsorBlock server a job's sponsorblock option asks (a mirror, or a test double).",
    )


@attrs.frozen
class SessionSettings:
    """``session``: who sees which queue."""

    mode: SessionMode = setting(
        "isolated",
        choice(SessionMode),
        "isolated: each browser its own queue; shared: one queue for everyone; open: no "
        "sessions at all.",
        restart=True,
    )
    timeout_hours: int = setting(
        72, integer(1), "Hours an idle session (and its cookie) lives.", restart=True
    )


@attrs.frozen
class PurgeSettings:
    """``purge``: removal of old finished jobs and idle sessions, on a cron schedule."""

    enabled: bool = setting(True, boolean(), "Purge on the schedule.")
    max_age_minutes: int = setting(
        1440, integer(1), "Minutes after which a finished job is removed with its file."
    )
    schedule: str = setting("*/15 * * * *", CRON, "When the purge runs (cron, local time).")
    privacy_mode: bool = setting(
        False, boolean(), "Also remove the error log and session data after the retention time."
    )
    privacy_retention_minutes: int = setting(
        1440, integer(1), "Minutes the error log and session data are kept in privacy mode."
    )


@attrs.frozen
class SubscriptionsSettings:
    """``subscriptions``: how the checker of channels, playlists and feeds works."""

    check_timeout_seconds: int = setting(
        120,
        integer(10, 3600),
        "Seconds a check (listing the channel, playlist or feed) may take before it counts as "
        "failed and backs off.",
    )
    max_parallel_checks: int = setting(
        0,
        integer(0, 32),
        "Checks at once; 0: half of downloads.max_probes, so previews always find a slot free.",
        restart=True,
    )


@attrs.frozen
class UiSettings:
    """``ui``: what the web app shows first."""

    welcome_message: str = setting("", text(), "A line shown above the URL box.")
    theme_dark: str = setting("cyberpunk", _THEME, "The default dark theme.")
    theme_light: str = setting("light", _THEME, "The default light theme.")
    theme_default_mode: ThemeMode = setting(
        "system", choice(ThemeMode), "Dark, light, or as the visitor's system prefers."
    )
    themes_dir: Path | None = setting(
        None, optional(PATH), "Folder of custom themes (read at startup).", restart=True
    )
    share_queues: bool = setting(
        False,
        boolean(),
        "Links shared to the installed app (or sent by the bookmarklet) are queued at once "
        "with the default preset, instead of opening the preview.",
    )


@attrs.frozen
class MetricsSettings:
    """``metrics``: Prometheus' view of the server (``GET /metrics``)."""

    enabled: bool = setting(False, boolean(), "Serve /metrics in Prometheus' text format.")
    token: str | None = setting(
        None,
        optional(API_KEY),
        "A bearer token /metrics then requires (at least 16 characters); none: open to "
        "whoever reaches the server.",
        secret=True,
    )


@attrs.frozen
class AdminSettings:
    """``admin``: the admin panel. ``password`` is plain text as configured; startup hashes it
    and drops it. ``password_hash`` is a bcrypt hash."""

    enabled: bool = setting(True, boolean(), "Whether there is an admin side.", panel=False)
    username: str = setting("admin", _USERNAME, "The admin's user name.", panel=False)
    password: str | None = setting(
        None, optional(text()), "The admin password, as plain text.", secret=True
    )
    password_hash: str | None = setting(
        None, optional(BCRYPT_HASH), "The admin password as a bcrypt hash.", secret=True
    )


@attrs.frozen
class AuthSettings:
    """``auth``: who may use the app at all (issue 14; :mod:`mediarip.accounts`)."""

    mode: AuthMode = setting(
        "none",
        choice(AuthMode),
        "none: no login (sessions only); local: people log in with a name and password; "
        "proxy: a trusted reverse proxy names the user in a header.",
        panel=False,
        restart=True,
    )
    proxy_header: str = setting(
        "Remote-User",
        text("an HTTP header name", r"[A-Za-z0-9-]+"),
        "In proxy mode, the header that names the user (believed only from "
        "server.trusted_proxies).",
        panel=False,
        restart=True,
    )
    session_days: int = setting(
        30,
        integer(1, 3650),
        "Days a login lasts on a device (local mode); a password change ends every login.",
        restart=True,
    )


@attrs.frozen
class DatabaseSettings:
    """``database``: where the store keeps everything (issue 16)."""

    url: str | None = setting(
        None,
        optional(DATABASE_URL),
        "The database: sqlite:///PATH (a file; empty: mediarip.sqlite3 in server.data_dir) or "
        "postgresql://USER:PASSWORD@HOST:PORT/NAME. `mediarip db copy` moves an install "
        "from one to the other.",
        restart=True,
        secret=True,  # a PostgreSQL URL carries its password
    )
    lease_seconds: int = setting(
        15,
        integer(3, 600),
        "With PostgreSQL and several processes (mediarip serve, mediarip worker): seconds a "
        "worker holds a job without renewing it before another worker may take the job over "
        "(its host died). Renewed every third of that.",
        panel=False,
        restart=True,
    )


@attrs.frozen
class Settings:
    """All settings. ``pinned`` holds the dotted keys ("downloads.max_concurrent") the
    environment set, which the admin panel shows read-only and ``with_overrides`` skips."""

    server: ServerSettings = ServerSettings()
    downloads: DownloadSettings = DownloadSettings()
    ytdlp: YtdlpSettings = YtdlpSettings()
    session: SessionSettings = SessionSettings()
    purge: PurgeSettings = PurgeSettings()
    subscriptions: SubscriptionsSettings = SubscriptionsSettings()
    ui: UiSettings = UiSettings()
    admin: AdminSettings = AdminSettings()
    metrics: MetricsSettings = MetricsSettings()
    auth: AuthSettings = AuthSettings()
    database: DatabaseSettings = DatabaseSettings()
    pinned: frozenset[str] = frozenset()


#: Section name -> its class, as :class:`Settings` declares them.
SECTIONS: Final[Mapping[str, type[Any]]] = MappingProxyType(
    {
        field.name: field.type
        for field in attrs.fields(attrs.resolve_types(Settings))
        if field.type is not None and field.name != "pinned"
    }
)


def fields_of(section: str) -> dict[str, attrs.Attribute[Any]]:
    return {field.name: field for field in attrs.fields(SECTIONS[section])}


def every_setting() -> Iterator[tuple[str, attrs.Attribute[Any], Declared]]:
    """``(dotted key, field, declaration)`` of every setting, in the sections' order."""
    for section, cls in SECTIONS.items():
        for field in attrs.fields(cls):
            yield f"{section}.{field.name}", field, declared(field)
