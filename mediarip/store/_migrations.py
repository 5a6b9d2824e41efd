"""The schema, as the migrations that build it, and the function that applies them.

Each migration takes the schema from version N to N+1 (SQLite's ``user_version``) in one
transaction; never edit one that has shipped: append a new one.
"""

from __future__ import annotations

import sqlite3

__all__ = ["MIGRATIONS", "migrate"]

MIGRATIONS: tuple[str, ...] = (
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
    # 5: the admin's notification targets. `events` is a JSON list of event names; `secret` is
    # a webhook's HMAC key (NULL for Apprise URLs, which carry their own).
    """
    CREATE TABLE notification_targets (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         TEXT NOT NULL UNIQUE,
        name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
        kind       TEXT NOT NULL,
        url        TEXT NOT NULL,
        secret     TEXT,
        events     TEXT NOT NULL,
        enabled    INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );
    """,
    # 6: the error log keeps the whole text of a failure (server paths included) for the
    # admin; the job's own message names none.
    """
    ALTER TABLE error_log ADD COLUMN detail TEXT
    """,
    # 7: accounts (mediarip/accounts). `users` by a numeric id that is never reused
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


def migrate(db: sqlite3.Connection) -> None:
    """Bring the database up to the newest schema; refuse one newer than this code knows."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"the database is at schema version {version}, newer than this mediarip knows "
            f"({len(MIGRATIONS)}); upgrade mediarip or restore a backup"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
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
