"""The schema, declared once for both engines: SQLAlchemy Core tables in one :data:`metadata`.

The columns keep the types the SQLite store always had, on PostgreSQL too: moments are ISO 8601
text in UTC (so comparing the strings compares the times, and a row copied between engines is
the same row), flags are integers 0/1 and collections JSON text. Native types would be nicer
on PostgreSQL but would make every row conversion depend on the engine; one shape keeps the
mixins engine-blind and ``mediarip db copy`` a plain copy.

Changing a table means a new Alembic revision in ``migrations/versions`` as well: this module
is what the code expects, the revisions are how a database gets there.
"""

from __future__ import annotations

from sqlalchemy import (
    REAL,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)

__all__ = ["SEEDED_PRESETS", "TABLES_IN_ORDER", "metadata"]

metadata = MetaData()

# Byte counts pass 2 GiB: BIGINT on PostgreSQL (its INTEGER has 32 bits); INTEGER on SQLite,
# as version 1 declared it (64 bits there).
_BYTES = BigInteger().with_variant(Integer(), "sqlite")
# Floating point: REAL on SQLite, as version 1 declared it; double precision on PostgreSQL.
_FLOAT = Float().with_variant(REAL(), "sqlite")
# A name unique in any case: SQLite's NOCASE collation on the column (what version 4 made);
# PostgreSQL has no such collation by default, so there a unique index on lower(name) does it.
_NOCASE_TEXT = Text().with_variant(Text(collation="NOCASE"), "sqlite")


def _seq() -> Column[int]:
    """The insertion order of a table's rows (SQLite's AUTOINCREMENT: never reused)."""
    return Column("seq", Integer, primary_key=True)


jobs = Table(
    "jobs",
    metadata,
    _seq(),
    Column("id", Text, nullable=False, unique=True),
    Column("session_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("parent_id", Text),
    Column("playlist_index", Integer),
    Column("url", Text, nullable=False),
    Column("title", Text),
    Column("thumbnail", Text),
    Column("status", Text, nullable=False),
    Column("media_type", Text, nullable=False),
    Column("format_id", Text),
    Column("quality", Text),
    Column("output_format", Text),
    Column("playlist_items", Text),
    Column("progress", _FLOAT, nullable=False, server_default=text("0")),
    Column("downloaded_bytes", _BYTES),
    Column("total_bytes", _BYTES),
    Column("speed", _FLOAT),
    Column("eta", Integer),
    Column("filename", Text),
    Column("filesize", _BYTES),
    Column("error_code", Text),
    Column("error_message", Text),
    Column("created_at", Text, nullable=False),
    Column("started_at", Text),
    Column("finished_at", Text),
    Column("subscription_id", Text),
    Column("options", Text, nullable=False, server_default=text("'{}'")),
    Column("files", Text, nullable=False, server_default=text("'[]'")),
    sqlite_autoincrement=True,
)
# GET /api/downloads in a session, newest first, and paging by seq.
Index("jobs_by_session", jobs.c.session_id, jobs.c.seq.desc())
# Startup recovery and the queue depth look jobs up by status.
Index("jobs_by_status", jobs.c.status)
# A playlist's children; the purge by age; a subscription's jobs.
Index(
    "jobs_by_parent",
    jobs.c.parent_id,
    sqlite_where=jobs.c.parent_id.is_not(None),
    postgresql_where=jobs.c.parent_id.is_not(None),
)
Index(
    "jobs_by_finished_at",
    jobs.c.finished_at,
    sqlite_where=jobs.c.finished_at.is_not(None),
    postgresql_where=jobs.c.finished_at.is_not(None),
)
Index(
    "jobs_by_subscription",
    jobs.c.subscription_id,
    sqlite_where=jobs.c.subscription_id.is_not(None),
    postgresql_where=jobs.c.subscription_id.is_not(None),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("created_at", Text, nullable=False),
    Column("last_seen", Text, nullable=False),
)
Index("sessions_by_last_seen", sessions.c.last_seen)

# Single values: the server secret, the admin's credentials, the API key, the default preset.
meta = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
# The admin panel's settings, as JSON.
setting_overrides = Table(
    "setting_overrides",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
# The sha256 of each admin cookie.
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column("created_at", Text, nullable=False),
    Column("generation", Text, nullable=False),
)
error_log = Table(
    "error_log",
    metadata,
    _seq(),
    Column("at", Text, nullable=False),
    Column("job_id", Text, nullable=False),
    Column("session_id", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("detail", Text),
    sqlite_autoincrement=True,
)
Index("error_log_by_at", error_log.c.at)

# yt-dlp's archive keys ("<extractor> <id>") of everything downloaded, per session.
archive = Table(
    "archive",
    metadata,
    _seq(),
    Column("session_id", Text, nullable=False),
    Column("key", Text),
    Column("url", Text),
    Column("title", Text),
    Column("job_id", Text),
    Column("subscription_id", Text),
    Column("at", Text, nullable=False),
    UniqueConstraint("session_id", "key"),
    sqlite_autoincrement=True,
)
Index(
    "archive_by_key",
    archive.c.key,
    sqlite_where=archive.c.key.is_not(None),
    postgresql_where=archive.c.key.is_not(None),
)
Index(
    "archive_by_url",
    archive.c.url,
    sqlite_where=archive.c.url.is_not(None),
    postgresql_where=archive.c.url.is_not(None),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    _seq(),
    Column("id", Text, nullable=False, unique=True),
    Column("session_id", Text, nullable=False),
    Column("settings", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("paused", Integer, nullable=False, server_default=text("0")),
    Column("title", Text),
    Column("last_check_at", Text),
    Column("next_check_at", Text),
    Column("error_code", Text),
    Column("error_message", Text),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("checks", Integer, nullable=False, server_default=text("0")),
    sqlite_autoincrement=True,
)
Index("subscriptions_by_session", subscriptions.c.session_id, subscriptions.c.seq.desc())
subscription_seen = Table(
    "subscription_seen",
    metadata,
    Column("subscription_id", Text, primary_key=True),
    Column("item", Text, primary_key=True),
    Column("outcome", Text, nullable=False),
    sqlite_with_rowid=False,
)
subscription_checks = Table(
    "subscription_checks",
    metadata,
    _seq(),
    Column("subscription_id", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text, nullable=False),
    Column("result", Text, nullable=False),
    Column("items", Text, nullable=False),
    sqlite_autoincrement=True,
)
Index(
    "subscription_checks_by_subscription",
    subscription_checks.c.subscription_id,
    subscription_checks.c.seq.desc(),
)

presets = Table(
    "presets",
    metadata,
    _seq(),
    Column("id", Text, nullable=False, unique=True),
    Column("name", _NOCASE_TEXT, nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    sqlite_autoincrement=True,
)
Index("presets_name_any_case", func.lower(presets.c.name), unique=True).ddl_if(dialect="postgresql")

#: The presets a new database starts with (version 4 added them; the first revision and a new
#: database's one-step build both insert them).
SEEDED_PRESETS = (
    {
        "id": "audio-mp3-cover",
        "name": "Audio: mp3 with cover art",
        "body": '{"media_type": "audio", "output_format": "mp3", "quality": "best",\n'
        '          "options": {"embed_thumbnail": true, "embed_metadata": true}}',
        "created_at": "2026-12-02T00:00:00.000+00:00",
    },
    {
        "id": "video-mp4-subs",
        "name": "Video: best mp4 with subtitles embedded",
        "body": '{"media_type": "video", "output_format": "mp4", "quality": "best",\n'
        '          "options": {"subtitles": {"languages": ["en"], "mode": "embed"},\n'
        '                      "embed_thumbnail": true, "embed_metadata": true}}',
        "created_at": "2026-12-02T00:00:00.000+00:00",
    },
)

notification_targets = Table(
    "notification_targets",
    metadata,
    _seq(),
    Column("id", Text, nullable=False, unique=True),
    Column("name", _NOCASE_TEXT, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", Text),
    Column("events", Text, nullable=False),
    Column("enabled", Integer, nullable=False, server_default=text("1")),
    Column("created_at", Text, nullable=False),
    sqlite_autoincrement=True,
)
Index(
    "notification_targets_name_any_case",
    func.lower(notification_targets.c.name),
    unique=True,
).ddl_if(dialect="postgresql")

# Accounts (issue 14): ids never reused (a user's jobs are owned by "user:<id>").
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", Text, nullable=False),
    Column("name_key", Text, nullable=False, unique=True),
    Column("password_hash", Text),
    Column("role", Text, nullable=False),
    Column("disabled", Integer, nullable=False, server_default=text("0")),
    Column("source", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("last_login_at", Text),
    Column("preferences", Text, nullable=False, server_default=text("'{}'")),
    sqlite_autoincrement=True,
)
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
)
Index("user_sessions_by_user", user_sessions.c.user_id)
user_keys = Table(
    "user_keys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("key_hash", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("hint", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("last_used", Text),
)
Index("user_keys_by_user", user_keys.c.user_id)
user_invites = Table(
    "user_invites",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column("role", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
)

#: Who runs each job in a cluster (issue 16): a worker holds a job while it renews the lease;
#: once ``expires`` (seconds since the epoch, by the database's clock, so hosts' clocks do not
#: matter) has passed, another worker may take the job over. No foreign key: a worker leases a
#: playlist's items before their rows are written, so no other worker can take one in between.
job_leases = Table(
    "job_leases",
    metadata,
    Column("job_id", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("expires", _FLOAT, nullable=False),
)
Index("job_leases_by_owner", job_leases.c.owner)

#: Every table, parents before the tables that refer to them (``db copy`` fills them so).
TABLES_IN_ORDER: tuple[Table, ...] = tuple(metadata.sorted_tables)
