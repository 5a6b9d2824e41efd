"""The only module that speaks SQL.

Why one connection and a one-token limiter: sqlite3 connections are not safe to share between
threads without a lock, and trio's worker threads are many. Every call goes through
``trio.to_thread.run_sync`` with a ``CapacityLimiter(1)``, so statements never run on the event
loop and never run two at a time; that measured ~4,100 transactions/s here, far more than
the app needs. Writes are explicit ``BEGIN IMMEDIATE`` transactions (``isolation_level=None``).

Why the journal mode depends on the filesystem: WAL needs shared memory that network
filesystems (NFS, SMB, 9p, sshfs) do not give reliably, so on those we fall back to the
DELETE journal; everywhere else WAL lets readers and the writer get along.

Cancellation: a call cancelled while its statement runs cannot stop the thread, so the thread
finishes (``abandon_on_cancel=False``) and the transaction is either committed or rolled back
as a whole; the caller then sees ``trio.Cancelled``. Nothing is left half-written.

The store knows nothing of business rules: it stores and returns :class:`~mediarip.models.Job`
values, session rows and the admin side's records (single values such as the server secret,
admin sessions, settings overrides, the error log). A job row is the Job as the one converter
of :mod:`mediarip.models` unstructures it (enums as their values, moments as ISO 8601 strings
in UTC, so comparing the strings compares the times), with ``error`` in two columns
(``error_code``, ``error_message``) and collections as JSON: :data:`JOB_COLUMNS` is derived from
the Job's fields, so a new field is a new column by the same name (and a migration).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sqlite3
import typing
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import attrs
import trio

from .models import Job, JobStatus, converter
from .presets import Preset, preset_body
from .subscriptions.models import (
    CheckItem,
    CheckRecord,
    CheckResult,
    Subscription,
)

__all__ = [
    "JOB_COLUMNS",
    "NETWORK_FILESYSTEMS",
    "AdminSession",
    "ArchiveEntry",
    "ErrorEntry",
    "NameTaken",
    "SessionSummary",
    "Store",
    "choose_journal_mode",
    "filesystem_of",
]

T = TypeVar("T")

NETWORK_FILESYSTEMS = frozenset({"cifs", "nfs", "nfs4", "smb", "smbfs", "smb3", "9p", "fuse.sshfs"})

# Each migration takes the schema from version N to N+1; never edit one that has shipped.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT NOT NULL UNIQUE,
        session_id       TEXT NOT NULL,
        kind             TEXT NOT NULL,
        parent_id        TEXT,
        playlist_index   INTEGER,
        url              TEXT NOT NULL,
        title            TEXT,
        thumbnail        TEXT,
        status           TEXT NOT NULL,
        media_type       TEXT NOT NULL,
        format_id        TEXT,
        quality          TEXT,
        output_format    TEXT,
        playlist_items   TEXT,
        progress         REAL NOT NULL DEFAULT 0,
        downloaded_bytes INTEGER,
        total_bytes      INTEGER,
        speed            REAL,
        eta              INTEGER,
        filename         TEXT,
        filesize         INTEGER,
        error_code       TEXT,
        error_message    TEXT,
        created_at       TEXT NOT NULL,
        started_at       TEXT,
        finished_at      TEXT
    );
    -- GET /api/downloads in a session, newest first, and paging by seq.
    CREATE INDEX jobs_by_session ON jobs (session_id, seq DESC);
    -- Startup recovery and the queue depth look jobs up by status.
    CREATE INDEX jobs_by_status ON jobs (status);
    -- A playlist's children.
    CREATE INDEX jobs_by_parent ON jobs (parent_id) WHERE parent_id IS NOT NULL;
    CREATE TABLE sessions (
        id         TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        last_seen  TEXT NOT NULL
    );
    CREATE INDEX sessions_by_last_seen ON sessions (last_seen);
    """,
    # 2: the admin side. `meta` holds single values (server secret, admin credentials, API key);
    # `setting_overrides` the admin panel's settings as JSON; `admin_sessions` the sha256 of
    # each admin cookie; `error_log` one row per failed job. The purge looks jobs up by age.
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE setting_overrides (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE admin_sessions (
        token_hash TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        generation TEXT NOT NULL
    );
    CREATE TABLE error_log (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        at         TEXT NOT NULL,
        job_id     TEXT NOT NULL,
        session_id TEXT NOT NULL,
        url        TEXT NOT NULL,
        code       TEXT NOT NULL,
        message    TEXT NOT NULL
    );
    CREATE INDEX error_log_by_at ON error_log (at);
    CREATE INDEX jobs_by_finished_at ON jobs (finished_at) WHERE finished_at IS NOT NULL;
    """,
    # 3: subscriptions and the download archive. `archive` holds yt-dlp's archive keys
    # ("<extractor> <id>") of everything downloaded, per session, and outlives the jobs;
    # `subscription_seen` the items each subscription has dealt with; `subscription_checks`
    # each check with what it did per item (JSON). A subscription's settings are one JSON
    # document; its state (the checker's) has columns.
    """
    ALTER TABLE jobs ADD COLUMN subscription_id TEXT;
    CREATE INDEX jobs_by_subscription ON jobs (subscription_id) WHERE subscription_id IS NOT NULL;
    CREATE TABLE archive (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id      TEXT NOT NULL,
        key             TEXT,
        url             TEXT,
        title           TEXT,
        job_id          TEXT,
        subscription_id TEXT,
        at              TEXT NOT NULL,
        UNIQUE (session_id, key)
    );
    CREATE INDEX archive_by_key ON archive (key) WHERE key IS NOT NULL;
    CREATE INDEX archive_by_url ON archive (url) WHERE url IS NOT NULL;
    CREATE TABLE subscriptions (
        seq            INTEGER PRIMARY KEY AUTOINCREMENT,
        id             TEXT NOT NULL UNIQUE,
        session_id     TEXT NOT NULL,
        settings       TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        paused         INTEGER NOT NULL DEFAULT 0,
        title          TEXT,
        last_check_at  TEXT,
        next_check_at  TEXT,
        error_code     TEXT,
        error_message  TEXT,
        failures       INTEGER NOT NULL DEFAULT 0,
        checks         INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX subscriptions_by_session ON subscriptions (session_id, seq DESC);
    CREATE TABLE subscription_seen (
        subscription_id TEXT NOT NULL,
        item            TEXT NOT NULL,
        outcome         TEXT NOT NULL,
        PRIMARY KEY (subscription_id, item)
    ) WITHOUT ROWID;
    CREATE TABLE subscription_checks (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        subscription_id TEXT NOT NULL,
        started_at      TEXT NOT NULL,
        finished_at     TEXT NOT NULL,
        result          TEXT NOT NULL,
        items           TEXT NOT NULL
    );
    CREATE INDEX subscription_checks_by_subscription
        ON subscription_checks (subscription_id, seq DESC);
    """,
    # 4: a job's download options and its files (JSON), and the admin's presets (the preset's
    # fields as JSON; the default preset's id is the meta key "default_preset"). Two presets
    # exist out of the box; the admin may edit or delete them like any other.
    """
    ALTER TABLE jobs ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE jobs ADD COLUMN files TEXT NOT NULL DEFAULT '[]';
    CREATE TABLE presets (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         TEXT NOT NULL UNIQUE,
        name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
        body       TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    INSERT INTO presets (id, name, body, created_at) VALUES (
        'audio-mp3-cover', 'Audio: mp3 with cover art',
        '{"media_type": "audio", "output_format": "mp3", "quality": "best",
          "options": {"embed_thumbnail": true, "embed_metadata": true}}',
        '2026-12-02T00:00:00.000+00:00'
    );
    INSERT INTO presets (id, name, body, created_at) VALUES (
        'video-mp4-subs', 'Video: best mp4 with subtitles embedded',
        '{"media_type": "video", "output_format": "mp4", "quality": "best",
          "options": {"subtitles": {"languages": ["en"], "mode": "embed"},
                      "embed_thumbnail": true, "embed_metadata": true}}',
        '2026-12-02T00:00:00.000+00:00'
    );
    """,
    # issue 14: accounts (mediarip/accounts). `users` by a numeric id that is never reused
    # (a user's jobs are owned by "user:<id>"); `name_key` is the name folded for confusables,
    # unique; `preferences` the web app's remembered choices (JSON). `user_sessions` holds the
    # sha256 of each login cookie, `user_keys` of each API key, `user_invites` of each unused
    # invite link.
    """
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        username      TEXT NOT NULL,
        name_key      TEXT NOT NULL UNIQUE,
        password_hash TEXT,
        role          TEXT NOT NULL,
        disabled      INTEGER NOT NULL DEFAULT 0,
        source        TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        last_login_at TEXT,
        preferences   TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE user_sessions (
        token_hash TEXT PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX user_sessions_by_user ON user_sessions (user_id);
    CREATE TABLE user_keys (
        id         TEXT PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        key_hash   TEXT NOT NULL UNIQUE,
        name       TEXT NOT NULL,
        hint       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used  TEXT
    );
    CREATE INDEX user_keys_by_user ON user_keys (user_id);
    CREATE TABLE user_invites (
        token_hash TEXT PRIMARY KEY,
        role       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    """,
)


def _columns_of(field: attrs.Attribute[Any]) -> tuple[str, ...]:
    return ("error_code", "error_message") if field.name == "error" else (field.name,)


#: The jobs table's columns, from the Job's fields.
JOB_COLUMNS: tuple[str, ...] = tuple(c for f in attrs.fields(Job) for c in _columns_of(f))
_JOB_FIELDS = attrs.fields_dict(attrs.resolve_types(Job))
_SCALARS = (str, int, float, bool, dt.datetime)
# Fields whose values are collections: stored as JSON text.
_JSON_FIELDS = frozenset(
    name
    for name, field in _JOB_FIELDS.items()
    if name != "error"
    and not all(
        t is type(None) or (isinstance(t, type) and issubclass(t, _SCALARS))
        for t in (typing.get_args(field.type) or (field.type,))
    )
)
_SELECT_JOB = f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs"


@attrs.frozen
class ErrorEntry:
    """One failed job in the error log."""

    at: dt.datetime
    job_id: str
    session_id: str
    url: str
    code: str
    message: str


@attrs.frozen
class ArchiveEntry:
    """An item downloaded through media-rip: yt-dlp's archive key (None when yt-dlp did not
    tell one), where it came from, and which job and subscription got it."""

    session_id: str
    key: str | None
    url: str | None
    at: dt.datetime
    title: str | None = None
    job_id: str | None = None
    subscription_id: str | None = None


@attrs.frozen
class SessionSummary:
    """A session and what it holds: job counts by status and the bytes of its files."""

    id: str
    created_at: dt.datetime | None  # None: jobs remain of a session whose row is gone
    last_seen: dt.datetime | None
    jobs: dict[str, int]
    bytes: int


@attrs.frozen
class AdminSession:
    created_at: dt.datetime
    generation: str


def filesystem_of(path: Path, mounts: str | None = None) -> str:
    """The filesystem type of the mount that holds ``path``, read from /proc/mounts."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError:
            return "unknown"
    target = path.resolve()
    best, best_type = -1, "unknown"
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = Path(fields[1].replace("\\040", " "))
        if (target == mount_point or mount_point in target.parents) and len(
            mount_point.parts
        ) > best:
            best, best_type = len(mount_point.parts), fields[2]
    return best_type


def choose_journal_mode(fs_type: str) -> str:
    return "DELETE" if fs_type in NETWORK_FILESYSTEMS else "WAL"


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


def _utc_iso(value: dt.datetime) -> str:
    """A moment to compare with stored stamps, which are UTC: ISO strings then sort by time."""
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _from_iso(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _to_column(name: str, value: Any) -> Any:
    plain = converter.unstructure(value)
    return json.dumps(plain) if name in _JSON_FIELDS and plain is not None else plain


def _job_to_row(job: Job) -> dict[str, Any]:
    return _changes_to_columns(
        {field.name: getattr(job, field.name) for field in attrs.fields(Job)}
    )


def _job_from_row(row: Sequence[Any]) -> Job:
    data = dict(zip(JOB_COLUMNS, row, strict=True))
    code, message = data.pop("error_code"), data.pop("error_message")
    data["error"] = {"code": code, "message": message or ""} if code else None
    for name in _JSON_FIELDS:
        if data[name] is not None:
            data[name] = json.loads(data[name])
    return converter.structure(data, Job)


def _changes_to_columns(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Job field changes (as :func:`attrs.evolve` would take them) to column values."""
    columns: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "error":
            columns["error_code"] = value.code if value else None
            columns["error_message"] = value.message if value else None
        elif name in _JOB_FIELDS:
            columns[name] = _to_column(name, value)
        else:
            raise KeyError(f"not a stored job field: {name}")
    return columns


class NameTaken(ValueError):
    """Another preset already has this name: name_taken."""


def _unique_name(statements: Callable[[sqlite3.Connection], Any]) -> Callable[..., None]:
    def run(db: sqlite3.Connection) -> None:
        try:
            statements(db)
        except sqlite3.IntegrityError as exc:
            raise NameTaken(str(exc)) from None

    return run


def _preset(preset_id: str, name: str, body: str) -> Preset:
    return converter.structure({**json.loads(body), "id": preset_id, "name": name}, Preset)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Store:
    """SQLite behind ``trio.to_thread``; open it with :meth:`open`."""

    def __init__(self, connection: sqlite3.Connection, journal_mode: str) -> None:
        self._db = connection
        self._limiter = trio.CapacityLimiter(1)
        self.journal_mode = journal_mode

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path, *, journal_mode: str | None = None) -> AsyncIterator[Store]:
        """Open (creating and migrating) the database at ``path``; close it on exit."""
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = journal_mode or choose_journal_mode(filesystem_of(path.parent))
        db = await trio.to_thread.run_sync(_connect, path, mode)
        store = cls(db, mode)
        try:
            yield store
        finally:
            # Shielded: closing must happen even when the whole app is being cancelled.
            with trio.CancelScope(shield=True):
                await store._call(db.close)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await trio.to_thread.run_sync(functools.partial(fn, *args), limiter=self._limiter)

    def _write(self, statements: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``statements`` in one immediate transaction (in the worker thread)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = statements(self._db)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return result

    # -- jobs ---------------------------------------------------------------------------------

    async def insert_jobs(self, jobs: Iterable[Job]) -> None:
        """Insert jobs in one transaction: all of them, or none."""
        rows = [_job_to_row(job) for job in jobs]
        sql = (
            f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) "
            f"VALUES ({', '.join(':' + c for c in JOB_COLUMNS)})"
        )
        await self._call(self._write, lambda db: db.executemany(sql, rows))

    async def update_job(
        self, job_id: str, *, archive: ArchiveEntry | None = None, **changes: Any
    ) -> None:
        """Change a job; with ``archive``, record it in the download archive in the same
        transaction (a completed job is never left out of the archive)."""
        columns = _changes_to_columns(changes)
        if not columns:
            return
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        sql = f"UPDATE jobs SET {assignments} WHERE id = :_id"

        def statements(db: sqlite3.Connection) -> None:
            db.execute(sql, {**columns, "_id": job_id})
            if archive is not None:
                _insert_archive(db, [archive])

        await self._call(self._write, statements)

    async def update_jobs(self, job_ids: Iterable[str], **changes: Any) -> None:
        """The same ``changes`` on many jobs, in one transaction."""
        columns = _changes_to_columns(changes)
        ids = [{**columns, "_id": job_id} for job_id in job_ids]
        if not columns or not ids:
            return
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        sql = f"UPDATE jobs SET {assignments} WHERE id = :_id"
        await self._call(self._write, lambda db: db.executemany(sql, ids))

    async def expand_playlist(
        self, parent_id: str, children: Sequence[Job], **changes: Any
    ) -> None:
        """Turn a job into a playlist parent and insert its children, in one transaction: after
        a crash there is either a parent with all its children or a job still to expand."""
        rows = [_job_to_row(job) for job in children]
        columns = _changes_to_columns(changes)
        insert = (
            f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) "
            f"VALUES ({', '.join(':' + c for c in JOB_COLUMNS)})"
        )
        update = f"UPDATE jobs SET {', '.join(f'{n} = :{n}' for n in columns)} WHERE id = :_id"

        def statements(db: sqlite3.Connection) -> None:
            db.execute(update, {**columns, "_id": parent_id})
            db.executemany(insert, rows)

        await self._call(self._write, statements)

    async def update_jobs_where_status(
        self, statuses: Iterable[JobStatus], **changes: Any
    ) -> list[str]:
        """Set ``changes`` on every job in one of ``statuses``; return their ids."""
        wanted = [s.value for s in statuses]
        columns = _changes_to_columns(changes)
        marks = ", ".join("?" for _ in wanted)
        assignments = ", ".join(f"{name} = ?" for name in columns)

        def statements(db: sqlite3.Connection) -> list[str]:
            ids = [
                r[0] for r in db.execute(f"SELECT id FROM jobs WHERE status IN ({marks})", wanted)
            ]
            db.execute(
                f"UPDATE jobs SET {assignments} WHERE status IN ({marks})",
                [*columns.values(), *wanted],
            )
            return ids

        ids: list[str] = await self._call(self._write, statements)
        return ids

    async def delete_jobs(self, job_ids: Iterable[str]) -> None:
        ids = [(i,) for i in job_ids]
        await self._call(
            self._write, lambda db: db.executemany("DELETE FROM jobs WHERE id = ?", ids)
        )

    async def get_job(self, job_id: str) -> Job | None:
        def query() -> Job | None:
            row = self._db.execute(f"{_SELECT_JOB} WHERE id = ?", (job_id,)).fetchone()
            return None if row is None else _job_from_row(row)

        return await self._call(query)

    async def list_jobs(
        self,
        *,
        session_id: str | None = None,
        statuses: Iterable[JobStatus] | None = None,
        parent_id: str | None = None,
        limit: int | None = None,
        before: str | None = None,
        subscription_id: str | None = None,
    ) -> list[Job]:
        """Jobs newest first; ``session_id=None`` means every session's."""
        where: list[str] = []
        params: list[Any] = []
        if session_id is not None:
            where.append("session_id = ?")
            params.append(session_id)
        if statuses is not None:
            wanted = [s.value for s in statuses]
            where.append(f"status IN ({', '.join('?' for _ in wanted)})")
            params.extend(wanted)
        if parent_id is not None:
            where.append("parent_id = ?")
            params.append(parent_id)
        if subscription_id is not None:
            where.append("subscription_id = ?")
            params.append(subscription_id)
        if before is not None:
            where.append("seq < (SELECT seq FROM jobs WHERE id = ?)")
            params.append(before)
        sql = (
            _SELECT_JOB + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY seq DESC"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)

        def query() -> list[Job]:
            return [_job_from_row(row) for row in self._db.execute(sql, params)]

        return await self._call(query)

    async def count_jobs(self, statuses: Iterable[JobStatus]) -> int:
        wanted = [s.value for s in statuses]
        sql = f"SELECT count(*) FROM jobs WHERE status IN ({', '.join('?' for _ in wanted)})"
        return await self._call(lambda: int(self._db.execute(sql, wanted).fetchone()[0]))

    # -- presets ------------------------------------------------------------------------------

    async def list_presets(self) -> list[Preset]:
        sql = "SELECT id, name, body FROM presets ORDER BY seq"
        return await self._call(lambda: [_preset(*row) for row in self._db.execute(sql)])

    async def get_preset(self, preset_id: str) -> Preset | None:
        sql = "SELECT id, name, body FROM presets WHERE id = ?"

        def query() -> Preset | None:
            row = self._db.execute(sql, (preset_id,)).fetchone()
            return None if row is None else _preset(*row)

        return await self._call(query)

    async def insert_preset(self, preset: Preset) -> None:
        """Raises :class:`NameTaken` when another preset has the name (in any case)."""
        sql = "INSERT INTO presets (id, name, body, created_at) VALUES (?, ?, ?, ?)"
        params = (preset.id, preset.name, json.dumps(preset_body(preset)), _iso(_now()))
        await self._call(self._write, _unique_name(lambda db: db.execute(sql, params)))

    async def update_preset(self, preset: Preset) -> None:
        sql = "UPDATE presets SET name = ?, body = ? WHERE id = ?"
        params = (preset.name, json.dumps(preset_body(preset)), preset.id)
        await self._call(self._write, _unique_name(lambda db: db.execute(sql, params)))

    async def delete_preset(self, preset_id: str) -> None:
        sql = "DELETE FROM presets WHERE id = ?"
        await self._call(self._write, lambda db: db.execute(sql, (preset_id,)))

    # -- sessions -----------------------------------------------------------------------------

    async def session_exists(self, session_id: str) -> bool:
        sql = "SELECT 1 FROM sessions WHERE id = ?"
        return await self._call(lambda: self._db.execute(sql, (session_id,)).fetchone() is not None)

    async def touch_session(self, session_id: str, now: dt.datetime) -> None:
        """Create the session, or move its ``last_seen`` to ``now``."""
        sql = (
            "INSERT INTO sessions (id, created_at, last_seen) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen"
        )
        stamp = _iso(now)
        await self._call(self._write, lambda db: db.execute(sql, (session_id, stamp, stamp)))

    async def delete_idle_sessions(
        self, idle_since: dt.datetime, *, unless_jobs_in: Iterable[JobStatus] | None = None
    ) -> list[str]:
        """Delete sessions last seen before ``idle_since`` and return their ids. A session
        with jobs is kept: with any job (``unless_jobs_in=None``) or with a job in one of
        ``unless_jobs_in``."""
        where = "s.last_seen < ? AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.session_id = s.id"
        params: list[Any] = [_utc_iso(idle_since)]
        if unless_jobs_in is not None:
            wanted = [s.value for s in unless_jobs_in]
            where += f" AND j.status IN ({', '.join('?' for _ in wanted)})"
            params.extend(wanted)
        where += ")"

        def statements(db: sqlite3.Connection) -> list[str]:
            ids = [r[0] for r in db.execute(f"SELECT s.id FROM sessions s WHERE {where}", params)]
            db.executemany("DELETE FROM sessions WHERE id = ?", [(i,) for i in ids])
            return ids

        return await self._call(self._write, statements)

    async def session_summaries(self) -> list[SessionSummary]:
        """Every session (and every session id that still has jobs), most recently seen first."""

        def query() -> list[SessionSummary]:
            rows = self._db.execute(
                "SELECT session_id, status, count(*), coalesce(sum(filesize), 0) "
                "FROM jobs GROUP BY session_id, status"
            ).fetchall()
            counts: dict[str, dict[str, int]] = {}
            sizes: dict[str, int] = {}
            for session_id, status, count, size in rows:
                counts.setdefault(session_id, {})[status] = count
                sizes[session_id] = sizes.get(session_id, 0) + size
            summaries = []
            for session_id, created, seen in self._db.execute(
                "SELECT id, created_at, last_seen FROM sessions"
            ):
                summaries.append(
                    SessionSummary(
                        session_id,
                        _from_iso(created),
                        _from_iso(seen),
                        counts.pop(session_id, {}),
                        sizes.get(session_id, 0),
                    )
                )
            for session_id, jobs in counts.items():  # jobs whose session row is gone
                summaries.append(SessionSummary(session_id, None, None, jobs, sizes[session_id]))
            epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
            summaries.sort(key=lambda s: s.last_seen or epoch, reverse=True)
            return summaries

        return await self._call(query)

    # -- jobs, for the purge and the admin ----------------------------------------------------

    async def list_jobs_finished_before(
        self, cutoff: dt.datetime, statuses: Iterable[JobStatus]
    ) -> list[Job]:
        """Jobs in ``statuses`` whose ``finished_at`` is before ``cutoff``, oldest first."""
        wanted = [s.value for s in statuses]
        sql = (
            f"{_SELECT_JOB} WHERE finished_at IS NOT NULL AND finished_at < ? "
            f"AND status IN ({', '.join('?' for _ in wanted)}) ORDER BY finished_at"
        )
        params = [_utc_iso(cutoff), *wanted]
        return await self._call(
            lambda: [_job_from_row(row) for row in self._db.execute(sql, params)]
        )

    async def job_counts(self) -> dict[str, int]:
        """How many jobs there are in each status (statuses with none are left out)."""
        sql = "SELECT status, count(*) FROM jobs GROUP BY status"
        return await self._call(lambda: {s: int(n) for s, n in self._db.execute(sql)})

    # -- single values: the server secret, admin credentials, the API key ---------------------

    async def get_meta(self, key: str) -> str | None:
        sql = "SELECT value FROM meta WHERE key = ?"

        def query() -> str | None:
            row = self._db.execute(sql, (key,)).fetchone()
            return None if row is None else str(row[0])

        return await self._call(query)

    async def set_meta(self, key: str, value: str | None) -> None:
        """Store ``value`` under ``key``; None removes it."""
        params: tuple[str, ...]
        if value is None:
            sql, params = "DELETE FROM meta WHERE key = ?", (key,)
        else:
            sql = (
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            )
            params = (key, value)
        await self._call(self._write, lambda db: db.execute(sql, params))

    async def ensure_meta(self, key: str, value: str) -> str:
        """The value stored under ``key``, storing ``value`` first if there is none."""

        def statements(db: sqlite3.Connection) -> str:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
            return str(db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

        return await self._call(self._write, statements)

    async def set_admin_credentials(self, values: Mapping[str, str]) -> None:
        """Store the admin's credentials (meta keys) and end every admin session, together:
        a new password never leaves an old admin cookie valid."""

        def statements(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )
            db.execute("DELETE FROM admin_sessions")

        await self._call(self._write, statements)

    # -- admin sessions -----------------------------------------------------------------------

    async def insert_admin_session(
        self, token_hash: str, session: AdminSession, *, expired_before: dt.datetime
    ) -> None:
        """Store an admin session, and forget those created before ``expired_before``."""
        insert = "INSERT INTO admin_sessions (token_hash, created_at, generation) VALUES (?, ?, ?)"
        row = (token_hash, _utc_iso(session.created_at), session.generation)
        cutoff = _utc_iso(expired_before)

        def statements(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM admin_sessions WHERE created_at < ?", (cutoff,))
            db.execute(insert, row)

        await self._call(self._write, statements)

    async def get_admin_session(self, token_hash: str) -> AdminSession | None:
        sql = "SELECT created_at, generation FROM admin_sessions WHERE token_hash = ?"

        def query() -> AdminSession | None:
            row = self._db.execute(sql, (token_hash,)).fetchone()
            return None if row is None else AdminSession(dt.datetime.fromisoformat(row[0]), row[1])

        return await self._call(query)

    async def delete_admin_session(self, token_hash: str) -> None:
        sql = "DELETE FROM admin_sessions WHERE token_hash = ?"
        await self._call(self._write, lambda db: db.execute(sql, (token_hash,)))

    # -- settings changed in the admin panel --------------------------------------------------

    async def get_setting_overrides(self) -> dict[str, object]:
        """Dotted key -> value, as the admin gave it (JSON)."""
        sql = "SELECT key, value FROM setting_overrides ORDER BY key"
        return await self._call(lambda: {k: json.loads(v) for k, v in self._db.execute(sql)})

    async def set_setting_overrides(
        self, changes: Mapping[str, object], removed: Iterable[str] = ()
    ) -> None:
        """Store ``changes`` and drop the overrides of ``removed``, in one transaction."""
        rows = [(key, json.dumps(value)) for key, value in changes.items()]
        gone = [(key,) for key in removed]

        def statements(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT INTO setting_overrides (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rows,
            )
            db.executemany("DELETE FROM setting_overrides WHERE key = ?", gone)

        await self._call(self._write, statements)

    # -- the error log ------------------------------------------------------------------------

    async def insert_error(self, entry: ErrorEntry) -> None:
        sql = (
            "INSERT INTO error_log (at, job_id, session_id, url, code, message) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        row = (
            _utc_iso(entry.at),
            entry.job_id,
            entry.session_id,
            entry.url,
            entry.code,
            entry.message,
        )
        await self._call(self._write, lambda db: db.execute(sql, row))

    async def list_errors(self, limit: int) -> list[ErrorEntry]:
        """The newest ``limit`` entries, newest first."""
        sql = (
            "SELECT at, job_id, session_id, url, code, message FROM error_log "
            "ORDER BY seq DESC LIMIT ?"
        )

        def query() -> list[ErrorEntry]:
            return [
                ErrorEntry(dt.datetime.fromisoformat(at), *rest)
                for at, *rest in self._db.execute(sql, (limit,))
            ]

        return await self._call(query)

    async def delete_errors(self, before: dt.datetime | None = None) -> int:
        """Delete the entries older than ``before`` (None: all of them); return how many."""
        params: tuple[str, ...]
        if before is None:
            sql, params = "DELETE FROM error_log", ()
        else:
            sql, params = "DELETE FROM error_log WHERE at < ?", (_utc_iso(before),)
        return await self._call(self._write, lambda db: db.execute(sql, params).rowcount)

    # -- the download archive -----------------------------------------------------------------

    async def archived(
        self, session_id: str | None, keys: Iterable[str], urls: Iterable[str]
    ) -> tuple[set[str], set[str]]:
        """Which of ``keys`` and which of ``urls`` the archive holds (``session_id=None``:
        anyone's archive)."""
        wanted_keys, wanted_urls = sorted(set(keys)), sorted(set(urls))
        scope = "" if session_id is None else " AND session_id = ?"
        extra = [] if session_id is None else [session_id]

        def query() -> tuple[set[str], set[str]]:
            found_keys: set[str] = set()
            found_urls: set[str] = set()
            for column, values, found in (
                ("key", wanted_keys, found_keys),
                ("url", wanted_urls, found_urls),
            ):
                for start in range(0, len(values), 500):
                    chunk = values[start : start + 500]
                    marks = ", ".join("?" for _ in chunk)
                    sql = (
                        f"SELECT DISTINCT {column} FROM archive WHERE {column} IN ({marks}){scope}"
                    )
                    found.update(r[0] for r in self._db.execute(sql, [*chunk, *extra]))
            return found_keys, found_urls

        return await self._call(query)

    async def add_to_archive(self, entries: Iterable[ArchiveEntry]) -> int:
        """Record entries (a key already there for that session is kept); how many were new."""
        batch = list(entries)
        return await self._call(self._write, lambda db: _insert_archive(db, batch))

    async def archive_keys(self, session_id: str | None) -> list[str]:
        """Every archive key (``session_id=None``: everyone's), oldest first, each once."""
        if session_id is None:
            sql, params = (
                "SELECT key FROM archive WHERE key IS NOT NULL GROUP BY key ORDER BY min(seq)",
                [],
            )
        else:
            sql = "SELECT key FROM archive WHERE key IS NOT NULL AND session_id = ? ORDER BY seq"
            params = [session_id]
        return await self._call(lambda: [r[0] for r in self._db.execute(sql, params)])

    async def forget_archived(self, session_id: str | None, key: str) -> int:
        """Remove ``key`` from the archive (so it can be taken again); how many rows went."""
        sql, params = "DELETE FROM archive WHERE key = ?", [key]
        if session_id is not None:
            sql, params = f"{sql} AND session_id = ?", [key, session_id]
        return await self._call(self._write, lambda db: db.execute(sql, params).rowcount)

    # -- subscriptions ------------------------------------------------------------------------

    async def insert_subscription(self, sub: Subscription) -> None:
        row = _subscription_to_row(sub)
        sql = (
            f"INSERT INTO subscriptions ({', '.join(row)}) "
            f"VALUES ({', '.join(':' + c for c in row)})"
        )
        await self._call(self._write, lambda db: db.execute(sql, row))

    async def get_subscription(self, subscription_id: str) -> Subscription | None:
        sql = f"{_SELECT_SUBSCRIPTION} WHERE id = ?"

        def query() -> Subscription | None:
            row = self._db.execute(sql, (subscription_id,)).fetchone()
            return None if row is None else _subscription_from_row(row)

        return await self._call(query)

    async def list_subscriptions(self, session_id: str | None = None) -> list[Subscription]:
        """Subscriptions newest first; ``session_id=None`` means everyone's."""
        sql, params = _SELECT_SUBSCRIPTION, []
        if session_id is not None:
            sql, params = f"{sql} WHERE session_id = ?", [session_id]
        sql += " ORDER BY seq DESC"
        return await self._call(
            lambda: [_subscription_from_row(r) for r in self._db.execute(sql, params)]
        )

    async def update_subscription(self, sub: Subscription) -> None:
        """Store ``sub`` as it is now (settings and state; the owner never changes)."""
        row = _subscription_to_row(sub)
        assignments = ", ".join(f"{c} = :{c}" for c in row if c not in ("id", "session_id"))
        sql = f"UPDATE subscriptions SET {assignments} WHERE id = :id"
        await self._call(self._write, lambda db: db.execute(sql, row))

    async def delete_subscription(self, subscription_id: str) -> None:
        """Remove the subscription, what it has seen and its history (not its jobs, not the
        archive)."""

        def statements(db: sqlite3.Connection) -> None:
            for table, column in (
                ("subscription_seen", "subscription_id"),
                ("subscription_checks", "subscription_id"),
                ("subscriptions", "id"),
            ):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (subscription_id,))

        await self._call(self._write, statements)

    async def seen_items(self, subscription_id: str) -> set[str]:
        sql = "SELECT item FROM subscription_seen WHERE subscription_id = ?"
        return await self._call(lambda: {r[0] for r in self._db.execute(sql, (subscription_id,))})

    async def record_check(
        self,
        sub: Subscription,
        record: CheckRecord,
        seen: Sequence[tuple[str, str]],
        jobs: Sequence[Job] = (),
        *,
        keep: int = 50,
    ) -> None:
        """Everything one check changes, in one transaction: the jobs it queued, the items it
        dealt with (identity, outcome), its history entry (keeping the last ``keep``), and the
        subscription's new state. After a crash or a cancel, a check happened whole or not at
        all."""
        job_rows = [_job_to_row(job) for job in jobs]
        insert_job = (
            f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) "
            f"VALUES ({', '.join(':' + c for c in JOB_COLUMNS)})"
        )
        sub_row = _subscription_to_row(sub)
        assignments = ", ".join(f"{c} = :{c}" for c in sub_row if c not in ("id", "session_id"))
        check_row = (
            sub.id,
            _utc_iso(record.started_at),
            _utc_iso(record.finished_at),
            converter.dumps(record.result),  # type: ignore[attr-defined]
            converter.dumps(record.items),  # type: ignore[attr-defined]
        )

        def statements(db: sqlite3.Connection) -> None:
            exists = db.execute("SELECT 1 FROM subscriptions WHERE id = ?", (sub.id,)).fetchone()
            if exists is None:
                raise LookupError(sub.id)  # deleted while it was being checked
            db.executemany(insert_job, job_rows)
            db.executemany(
                "INSERT OR REPLACE INTO subscription_seen (subscription_id, item, outcome) "
                "VALUES (?, ?, ?)",
                [(sub.id, item, outcome) for item, outcome in seen],
            )
            db.execute(
                "INSERT INTO subscription_checks "
                "(subscription_id, started_at, finished_at, result, items) VALUES (?, ?, ?, ?, ?)",
                check_row,
            )
            db.execute(
                "DELETE FROM subscription_checks WHERE subscription_id = ? AND seq <= ("
                "SELECT seq FROM subscription_checks WHERE subscription_id = ? "
                "ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (sub.id, sub.id, keep),
            )
            db.execute(f"UPDATE subscriptions SET {assignments} WHERE id = :id", sub_row)

        await self._call(self._write, statements)

    async def check_history(self, subscription_id: str, limit: int = 50) -> list[CheckRecord]:
        """The subscription's last ``limit`` checks, newest first."""
        sql = (
            "SELECT started_at, finished_at, result, items FROM subscription_checks "
            "WHERE subscription_id = ? ORDER BY seq DESC LIMIT ?"
        )

        def query() -> list[CheckRecord]:
            return [
                CheckRecord(
                    dt.datetime.fromisoformat(started),
                    dt.datetime.fromisoformat(finished),
                    converter.loads(result, CheckResult),  # type: ignore[attr-defined]
                    converter.loads(items, list[CheckItem]),  # type: ignore[attr-defined]
                )
                for started, finished, result, items in self._db.execute(
                    sql, (subscription_id, limit)
                )
            ]

        return await self._call(query)


_SUBSCRIPTION_COLUMNS = [
    "id",
    "session_id",
    "settings",
    "created_at",
    "paused",
    "title",
    "last_check_at",
    "next_check_at",
    "error_code",
    "error_message",
    "failures",
    "checks",
]
_SELECT_SUBSCRIPTION = f"SELECT {', '.join(_SUBSCRIPTION_COLUMNS)} FROM subscriptions"


def _subscription_to_row(sub: Subscription) -> dict[str, Any]:
    """A subscription as its row: through the one converter; the settings as one JSON
    document, the last error as two columns."""
    data: dict[str, Any] = converter.unstructure(sub)
    error = data.pop("last_error")
    data["settings"] = json.dumps(data["settings"])
    data["created_at"] = _utc_iso(sub.created_at)
    data["error_code"] = error["code"] if error else None
    data["error_message"] = error["message"] if error else None
    return data


def _subscription_from_row(row: Sequence[Any]) -> Subscription:
    data = dict(zip(_SUBSCRIPTION_COLUMNS, row, strict=True))
    code, message = data.pop("error_code"), data.pop("error_message")
    data["last_error"] = {"code": code, "message": message or ""} if code else None
    data["settings"] = json.loads(data["settings"])
    data["paused"] = bool(data["paused"])
    return converter.structure(data, Subscription)


def _insert_archive(db: sqlite3.Connection, entries: Sequence[ArchiveEntry]) -> int:
    before = db.total_changes
    db.executemany(
        "INSERT OR IGNORE INTO archive (session_id, key, url, title, job_id, subscription_id, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (e.session_id, e.key, e.url, e.title, e.job_id, e.subscription_id, _utc_iso(e.at))
            for e in entries
        ],
    )
    return db.total_changes - before


def _connect(path: Path, journal_mode: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute(f"PRAGMA journal_mode = {journal_mode}")
    # NORMAL is durable across application crashes in WAL mode; FULL for the rollback journal.
    db.execute(f"PRAGMA synchronous = {'NORMAL' if journal_mode == 'WAL' else 'FULL'}")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 5000")
    _migrate(db)
    return db


def _migrate(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(_MIGRATIONS):
        raise RuntimeError(
            f"the database is at schema version {version}, newer than this mediarip knows "
            f"({len(_MIGRATIONS)}); upgrade mediarip or restore a backup"
        )
    for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in script.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
