"""The accounts' rows: users, their login sessions and their API keys (issue 14).

The SQL for accounts lives here rather than in :mod:`mediarip.store`, next to the rules that
use it, so the store's module stays about jobs; it runs through the store's one connection,
lock and transactions (:meth:`Store._call`, :meth:`Store._write`) like every other query. The
tables are made by the store's migration marked "issue 14".
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, Literal, cast

import attrs

from ..store import Store

__all__ = ["ApiKeyView", "KeyRow", "NameInUse", "Records", "Role", "Source", "User"]

Role = Literal["user", "admin"]
#: How the user came to be: made in the panel (or setup), or first seen through the proxy.
Source = Literal["local", "proxy"]


class NameInUse(ValueError):
    """Another user has this name, or one too like it."""


@attrs.frozen
class User:
    id: int
    username: str
    role: Role
    disabled: bool
    source: Source
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    #: Whether the user can log in with a password (proxy users have none).
    has_password: bool

    @property
    def owner(self) -> str:
        """The owner id of everything the user has: jobs, cookies, subscriptions."""
        return owner_of(self.id)


def owner_of(user_id: int) -> str:
    return f"user:{user_id}"


@attrs.frozen
class ApiKeyView:
    """A key as its owner sees it later: never the key itself."""

    id: str
    name: str
    masked: str
    created_at: dt.datetime
    last_used: dt.datetime | None
    user_id: int


@attrs.frozen
class KeyRow:
    view: ApiKeyView
    key_hash: str


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


_USER_COLUMNS = "id, username, role, disabled, source, created_at, last_login_at, password_hash"


def _user(row: Sequence[Any]) -> User:
    return User(
        int(row[0]),
        str(row[1]),
        cast("Role", row[2]),
        bool(row[3]),
        cast("Source", row[4]),
        dt.datetime.fromisoformat(row[5]),
        _time(row[6]),
        row[7] is not None,
    )


class Records:
    """Every query of the accounts, each a checkpoint run in the store's thread."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def _read(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        args = tuple(params)
        db = self._store._db
        return await self._store._call(lambda: db.execute(sql, args).fetchall())

    # -- users ------------------------------------------------------------------------------

    async def count_users(self) -> int:
        return int((await self._read("SELECT count(*) FROM users"))[0][0])

    async def list_users(self) -> list[User]:
        rows = await self._read(f"SELECT {_USER_COLUMNS} FROM users ORDER BY id")
        return [_user(row) for row in rows]

    async def get_user(self, user_id: int) -> User | None:
        rows = await self._read(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    async def user_by_key(self, name_key: str) -> tuple[User, str | None] | None:
        """The user whose name folds to ``name_key``, with the password hash."""
        rows = await self._read(
            f"SELECT {_USER_COLUMNS} FROM users WHERE name_key = ?", (name_key,)
        )
        return (_user(rows[0]), rows[0][7]) if rows else None

    async def insert_user(
        self,
        username: str,
        name_key: str,
        password_hash: str | None,
        role: Role,
        source: Source,
        now: dt.datetime,
    ) -> User:
        sql = (
            "INSERT INTO users (username, name_key, password_hash, role, source, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )

        def statements(db: sqlite3.Connection) -> int:
            try:
                cursor = db.execute(
                    sql, (username, name_key, password_hash, role, source, _iso(now))
                )
            except sqlite3.IntegrityError:
                raise NameInUse(username) from None
            return int(cursor.lastrowid or 0)

        user_id = await self._store._call(self._store._write, statements)
        found = await self.get_user(user_id)
        assert found is not None
        return found

    async def update_user(
        self, user_id: int, *, end_sessions: bool = False, **columns: Any
    ) -> None:
        """Change columns of a user; with ``end_sessions``, delete their login sessions in the
        same transaction (a password change or disabling never leaves a login alive)."""
        names = ", ".join(f"{name} = ?" for name in columns)
        values = [int(v) if isinstance(v, bool) else v for v in columns.values()]

        def statements(db: sqlite3.Connection) -> None:
            if columns:
                try:
                    db.execute(f"UPDATE users SET {names} WHERE id = ?", (*values, user_id))
                except sqlite3.IntegrityError:
                    raise NameInUse(str(columns.get("username"))) from None
            if end_sessions:
                db.execute("DELETE FROM user_sessions WHERE user_id = ?", (user_id,))

        await self._store._call(self._store._write, statements)

    async def delete_user(self, user_id: int) -> None:
        """The user with their sessions and keys (ON DELETE CASCADE)."""

        def statements(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM user_sessions WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM user_keys WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM users WHERE id = ?", (user_id,))

        await self._store._call(self._store._write, statements)

    async def get_preferences(self, user_id: int) -> str:
        rows = await self._read("SELECT preferences FROM users WHERE id = ?", (user_id,))
        return str(rows[0][0]) if rows else "{}"

    async def set_preferences(self, user_id: int, encoded: str) -> None:
        sql = "UPDATE users SET preferences = ? WHERE id = ?"
        await self._store._call(self._store._write, lambda db: db.execute(sql, (encoded, user_id)))

    # -- login sessions ---------------------------------------------------------------------

    async def insert_session(
        self, token_hash: str, user_id: int, now: dt.datetime, expires: dt.datetime
    ) -> None:
        def statements(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM user_sessions WHERE expires_at < ?", (_iso(now),))
            db.execute(
                "INSERT INTO user_sessions (token_hash, user_id, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (token_hash, user_id, _iso(now), _iso(expires)),
            )
            db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", (_iso(now), user_id))

        await self._store._call(self._store._write, statements)

    async def session_user(self, token_hash: str, now: dt.datetime) -> User | None:
        """The enabled user of a live session, or None."""
        columns = ", ".join(f"u.{c.strip()}" for c in _USER_COLUMNS.split(","))
        rows = await self._read(
            f"SELECT {columns} FROM user_sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0",
            (token_hash, _iso(now)),
        )
        return _user(rows[0]) if rows else None

    async def delete_session(self, token_hash: str) -> None:
        sql = "DELETE FROM user_sessions WHERE token_hash = ?"
        await self._store._call(self._store._write, lambda db: db.execute(sql, (token_hash,)))

    async def count_sessions(self, user_id: int) -> int:
        sql = "SELECT count(*) FROM user_sessions WHERE user_id = ?"
        return int((await self._read(sql, (user_id,)))[0][0])

    # -- API keys ---------------------------------------------------------------------------

    async def insert_key(self, row: KeyRow) -> None:
        view = row.view
        sql = (
            "INSERT INTO user_keys (id, user_id, key_hash, name, hint, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        params = (
            view.id,
            view.user_id,
            row.key_hash,
            view.name,
            view.masked,
            _iso(view.created_at),
        )
        await self._store._call(self._store._write, lambda db: db.execute(sql, params))

    async def list_keys(self, user_id: int | None) -> list[ApiKeyView]:
        where, params = ("WHERE user_id = ?", (user_id,)) if user_id is not None else ("", ())
        rows = await self._read(
            f"SELECT id, name, hint, created_at, last_used, user_id FROM user_keys {where} "
            "ORDER BY created_at DESC",
            params,
        )
        return [
            ApiKeyView(r[0], r[1], r[2], dt.datetime.fromisoformat(r[3]), _time(r[4]), int(r[5]))
            for r in rows
        ]

    async def key_user(self, key_hash: str) -> tuple[User, str] | None:
        """The enabled user a key belongs to, with the key's id."""
        columns = ", ".join(f"u.{c.strip()}" for c in _USER_COLUMNS.split(","))
        rows = await self._read(
            f"SELECT {columns}, k.id FROM user_keys k JOIN users u ON u.id = k.user_id "
            "WHERE k.key_hash = ? AND u.disabled = 0",
            (key_hash,),
        )
        return (_user(rows[0]), str(rows[0][8])) if rows else None

    async def key_used(self, key_id: str, now: dt.datetime) -> None:
        sql = "UPDATE user_keys SET last_used = ? WHERE id = ?"
        await self._store._call(self._store._write, lambda db: db.execute(sql, (_iso(now), key_id)))

    async def delete_key(self, key_id: str, user_id: int | None) -> bool:
        """Delete a key (only of ``user_id``, unless None); whether there was one."""
        sql = "DELETE FROM user_keys WHERE id = ?" + (" AND user_id = ?" if user_id else "")
        params: tuple[Any, ...] = (key_id, user_id) if user_id else (key_id,)

        def statements(db: sqlite3.Connection) -> bool:
            return db.execute(sql, params).rowcount > 0

        return await self._store._call(self._store._write, statements)

    # -- invites ----------------------------------------------------------------------------

    async def insert_invite(
        self, token_hash: str, role: Role, now: dt.datetime, expires: dt.datetime
    ) -> None:
        def statements(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM user_invites WHERE expires_at < ?", (_iso(now),))
            db.execute(
                "INSERT INTO user_invites (token_hash, role, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (token_hash, role, _iso(now), _iso(expires)),
            )

        await self._store._call(self._store._write, statements)

    async def invite_valid(self, token_hash: str, now: dt.datetime) -> bool:
        sql = "SELECT 1 FROM user_invites WHERE token_hash = ? AND expires_at > ?"
        return bool(await self._read(sql, (token_hash, _iso(now))))

    async def redeem_invite(
        self,
        token_hash: str,
        now: dt.datetime,
        username: str,
        name_key: str,
        password_hash: str,
    ) -> User | None:
        """Make the invited user and use the invite up, together; None: no such live invite.
        Raises :class:`NameInUse` (the invite stays usable)."""

        def statements(db: sqlite3.Connection) -> int | None:
            row = db.execute(
                "SELECT role FROM user_invites WHERE token_hash = ? AND expires_at > ?",
                (token_hash, _iso(now)),
            ).fetchone()
            if row is None:
                return None
            try:
                cursor = db.execute(
                    "INSERT INTO users (username, name_key, password_hash, role, source, "
                    "created_at) VALUES (?, ?, ?, ?, 'local', ?)",
                    (username, name_key, password_hash, row[0], _iso(now)),
                )
            except sqlite3.IntegrityError:
                raise NameInUse(username) from None
            db.execute("DELETE FROM user_invites WHERE token_hash = ?", (token_hash,))
            return int(cursor.lastrowid or 0)

        user_id = await self._store._call(self._store._write, statements)
        return None if user_id is None else await self.get_user(user_id)

    # -- anonymous sessions' things, given to a user ----------------------------------------

    async def give_to(
        self, owner: str, session_ids: Sequence[str] | None, statuses: Sequence[str]
    ) -> int:
        """Move the jobs in ``statuses`` (a playlist's entries only with their playlist), the
        subscriptions and
        archive entries of anonymous sessions (``session_ids``; None: every session that is not
        a user's nor the API key's) to ``owner``. Returns how many jobs moved."""
        if session_ids is None:
            scope = "session_id NOT LIKE 'user:%' AND session_id <> 'api'"
            params: tuple[Any, ...] = ()
        else:
            # Anonymous ones only: never another user's, even when named.
            scope = (
                f"session_id IN ({', '.join('?' for _ in session_ids)}) "
                "AND session_id NOT LIKE 'user:%'"
            )
            params = tuple(session_ids)
        wanted = ", ".join("?" for _ in statuses)

        def statements(db: sqlite3.Connection) -> int:
            moved = db.execute(
                f"UPDATE jobs SET session_id = ? WHERE {scope} AND status IN ({wanted}) AND "
                f"(parent_id IS NULL OR parent_id IN (SELECT id FROM jobs WHERE {scope} "
                f"AND status IN ({wanted})) OR parent_id NOT IN (SELECT id FROM jobs))",
                (owner, *params, *statuses, *params, *statuses),
            ).rowcount
            db.execute(f"UPDATE subscriptions SET session_id = ? WHERE {scope}", (owner, *params))
            db.execute(
                f"UPDATE OR IGNORE archive SET session_id = ? WHERE {scope}", (owner, *params)
            )
            return int(moved)

        return await self._store._call(self._store._write, statements)
