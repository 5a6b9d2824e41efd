"""The accounts' rows (issue 14): users, their login sessions, their API keys and invites, and
giving an anonymous session's things to a user. The rules that use them are in
:mod:`mediarip.accounts`; :class:`mediarip.accounts.records.Records` names these methods as the
accounts service always has."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal, cast

import attrs
from sqlalchemy import Connection, CursorResult, delete, func, insert, not_, or_, select, update
from sqlalchemy.exc import IntegrityError

from ._base import StoreBase, utc_iso
from ._schema import archive, jobs, subscriptions, user_invites, user_keys, user_sessions, users

__all__ = [
    "AccountsTable",
    "ApiKeyView",
    "KeyRow",
    "NameInUse",
    "Role",
    "Source",
    "User",
    "owner_of",
]

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


def _time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


_USER_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.role,
    users.c.disabled,
    users.c.source,
    users.c.created_at,
    users.c.last_login_at,
    users.c.password_hash,
)


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


def _new_id(result: CursorResult[Any]) -> int:
    """The id the database gave the row just inserted (RETURNING on PostgreSQL)."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class AccountsTable(StoreBase):
    # -- users ------------------------------------------------------------------------------

    async def count_users(self) -> int:
        query = select(func.count()).select_from(users)
        return await self._read(lambda db: int(db.execute(query).scalar_one()))

    async def list_users(self) -> list[User]:
        query = select(*_USER_COLUMNS).order_by(users.c.id)
        return await self._read(lambda db: [_user(row) for row in db.execute(query)])

    async def get_user(self, user_id: int) -> User | None:
        query = select(*_USER_COLUMNS).where(users.c.id == user_id)

        def run(db: Connection) -> User | None:
            row = db.execute(query).first()
            return None if row is None else _user(row)

        return await self._read(run)

    async def user_by_key(self, name_key: str) -> tuple[User, str | None] | None:
        """The user whose name folds to ``name_key``, with the password hash."""
        query = select(*_USER_COLUMNS).where(users.c.name_key == name_key)

        def run(db: Connection) -> tuple[User, str | None] | None:
            row = db.execute(query).first()
            return None if row is None else (_user(row), row[7])

        return await self._read(run)

    async def insert_user(
        self,
        username: str,
        name_key: str,
        password_hash: str | None,
        role: Role,
        source: Source,
        now: dt.datetime,
    ) -> User:
        statement = insert(users).values(
            username=username,
            name_key=name_key,
            password_hash=password_hash,
            role=role,
            source=source,
            created_at=utc_iso(now),
        )

        def statements(db: Connection) -> int:
            try:
                return _new_id(db.execute(statement))
            except IntegrityError:
                raise NameInUse(username) from None

        user_id = await self._write(statements)
        found = await self.get_user(user_id)
        assert found is not None
        return found

    async def update_user(
        self, user_id: int, *, end_sessions: bool = False, **columns: Any
    ) -> None:
        """Change columns of a user; with ``end_sessions``, delete their login sessions in the
        same transaction (a password change or disabling never leaves a login alive)."""
        values = {k: int(v) if isinstance(v, bool) else v for k, v in columns.items()}
        change = update(users).where(users.c.id == user_id).values(values)
        end = delete(user_sessions).where(user_sessions.c.user_id == user_id)

        def statements(db: Connection) -> None:
            if values:
                try:
                    db.execute(change)
                except IntegrityError:
                    raise NameInUse(str(columns.get("username"))) from None
            if end_sessions:
                db.execute(end)

        await self._write(statements)

    async def delete_user(self, user_id: int) -> None:
        """The user with their sessions and keys (ON DELETE CASCADE, said out loud)."""

        def statements(db: Connection) -> None:
            db.execute(delete(user_sessions).where(user_sessions.c.user_id == user_id))
            db.execute(delete(user_keys).where(user_keys.c.user_id == user_id))
            db.execute(delete(users).where(users.c.id == user_id))

        await self._write(statements)

    async def get_preferences(self, user_id: int) -> str:
        query = select(users.c.preferences).where(users.c.id == user_id)

        def run(db: Connection) -> str:
            found = db.execute(query).scalar()
            return "{}" if found is None else str(found)

        return await self._read(run)

    async def set_preferences(self, user_id: int, encoded: str) -> None:
        statement = update(users).where(users.c.id == user_id).values(preferences=encoded)
        await self._write(lambda db: db.execute(statement))

    # -- login sessions ---------------------------------------------------------------------

    async def insert_login_session(
        self, token_hash: str, user_id: int, now: dt.datetime, expires: dt.datetime
    ) -> None:
        stamp = utc_iso(now)

        def statements(db: Connection) -> None:
            db.execute(delete(user_sessions).where(user_sessions.c.expires_at < stamp))
            db.execute(
                insert(user_sessions).values(
                    token_hash=token_hash,
                    user_id=user_id,
                    created_at=stamp,
                    expires_at=utc_iso(expires),
                )
            )
            db.execute(update(users).where(users.c.id == user_id).values(last_login_at=stamp))

        await self._write(statements)

    async def login_session_user(self, token_hash: str, now: dt.datetime) -> User | None:
        """The enabled user of a live session, or None."""
        query = (
            select(*_USER_COLUMNS)
            .join_from(user_sessions, users, users.c.id == user_sessions.c.user_id)
            .where(
                user_sessions.c.token_hash == token_hash,
                user_sessions.c.expires_at > utc_iso(now),
                users.c.disabled == 0,
            )
        )

        def run(db: Connection) -> User | None:
            row = db.execute(query).first()
            return None if row is None else _user(row)

        return await self._read(run)

    async def delete_login_session(self, token_hash: str) -> None:
        statement = delete(user_sessions).where(user_sessions.c.token_hash == token_hash)
        await self._write(lambda db: db.execute(statement))

    async def count_login_sessions(self, user_id: int) -> int:
        query = (
            select(func.count())
            .select_from(user_sessions)
            .where(user_sessions.c.user_id == user_id)
        )
        return await self._read(lambda db: int(db.execute(query).scalar_one()))

    # -- API keys ---------------------------------------------------------------------------

    async def insert_api_key(self, row: KeyRow) -> None:
        view = row.view
        statement = insert(user_keys).values(
            id=view.id,
            user_id=view.user_id,
            key_hash=row.key_hash,
            name=view.name,
            hint=view.masked,
            created_at=utc_iso(view.created_at),
        )
        await self._write(lambda db: db.execute(statement))

    async def list_api_keys(self, user_id: int | None) -> list[ApiKeyView]:
        k = user_keys.c
        query = select(k.id, k.name, k.hint, k.created_at, k.last_used, k.user_id).order_by(
            k.created_at.desc()
        )
        if user_id is not None:
            query = query.where(k.user_id == user_id)

        def run(db: Connection) -> list[ApiKeyView]:
            return [
                ApiKeyView(
                    r[0], r[1], r[2], dt.datetime.fromisoformat(r[3]), _time(r[4]), int(r[5])
                )
                for r in db.execute(query)
            ]

        return await self._read(run)

    async def api_key_user(self, key_hash: str) -> tuple[User, str] | None:
        """The enabled user a key belongs to, with the key's id."""
        query = (
            select(*_USER_COLUMNS, user_keys.c.id)
            .join_from(user_keys, users, users.c.id == user_keys.c.user_id)
            .where(user_keys.c.key_hash == key_hash, users.c.disabled == 0)
        )

        def run(db: Connection) -> tuple[User, str] | None:
            row = db.execute(query).first()
            return None if row is None else (_user(row), str(row[8]))

        return await self._read(run)

    async def api_key_used(self, key_id: str, now: dt.datetime) -> None:
        statement = update(user_keys).where(user_keys.c.id == key_id).values(last_used=utc_iso(now))
        await self._write(lambda db: db.execute(statement))

    async def delete_api_key(self, key_id: str, user_id: int | None) -> bool:
        """Delete a key (only of ``user_id``, unless None); whether there was one."""
        statement = delete(user_keys).where(user_keys.c.id == key_id)
        if user_id:
            statement = statement.where(user_keys.c.user_id == user_id)
        return await self._write(lambda db: db.execute(statement).rowcount > 0)

    # -- invites ----------------------------------------------------------------------------

    async def insert_invite(
        self, token_hash: str, role: Role, now: dt.datetime, expires: dt.datetime
    ) -> None:
        stamp = utc_iso(now)

        def statements(db: Connection) -> None:
            db.execute(delete(user_invites).where(user_invites.c.expires_at < stamp))
            db.execute(
                insert(user_invites).values(
                    token_hash=token_hash, role=role, created_at=stamp, expires_at=utc_iso(expires)
                )
            )

        await self._write(statements)

    async def invite_valid(self, token_hash: str, now: dt.datetime) -> bool:
        query = select(user_invites.c.role).where(
            user_invites.c.token_hash == token_hash, user_invites.c.expires_at > utc_iso(now)
        )
        return await self._read(lambda db: db.execute(query).first() is not None)

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
        stamp = utc_iso(now)
        live = select(user_invites.c.role).where(
            user_invites.c.token_hash == token_hash, user_invites.c.expires_at > stamp
        )

        def statements(db: Connection) -> int | None:
            role = db.execute(live).scalar()
            if role is None:
                return None
            try:
                made = db.execute(
                    insert(users).values(
                        username=username,
                        name_key=name_key,
                        password_hash=password_hash,
                        role=role,
                        source="local",
                        created_at=stamp,
                    )
                )
            except IntegrityError:
                raise NameInUse(username) from None
            db.execute(delete(user_invites).where(user_invites.c.token_hash == token_hash))
            return _new_id(made)

        user_id = await self._write(statements)
        return None if user_id is None else await self.get_user(user_id)

    # -- anonymous sessions' things, given to a user ----------------------------------------

    async def give_to(
        self, owner: str, session_ids: Sequence[str] | None, statuses: Sequence[str]
    ) -> int:
        """Move the jobs in ``statuses`` (a playlist's entries only with their playlist), the
        subscriptions and archive entries of anonymous sessions (``session_ids``; None: every
        session that is not a user's nor the API key's) to ``owner``. Returns how many jobs
        moved."""

        def scope(column: Any) -> Any:
            anonymous = not_(column.like("user:%"))
            if session_ids is None:
                return anonymous & (column != "api")
            # Anonymous ones only: never another user's, even when named.
            return column.in_(list(session_ids)) & anonymous

        parents = jobs.alias("parents")
        move_jobs = (
            update(jobs)
            .where(
                scope(jobs.c.session_id),
                jobs.c.status.in_(list(statuses)),
                or_(
                    jobs.c.parent_id.is_(None),
                    jobs.c.parent_id.in_(
                        select(parents.c.id).where(
                            scope(parents.c.session_id), parents.c.status.in_(list(statuses))
                        )
                    ),
                    jobs.c.parent_id.not_in(select(parents.c.id)),
                ),
            )
            .values(session_id=owner)
        )
        move_subscriptions = (
            update(subscriptions).where(scope(subscriptions.c.session_id)).values(session_id=owner)
        )
        owned_keys = select(archive.c.key).where(
            archive.c.session_id == owner, archive.c.key.is_not(None)
        )
        to_move = select(archive.c.seq, archive.c.key).where(scope(archive.c.session_id))

        def statements(db: Connection) -> int:
            moved = int(db.execute(move_jobs).rowcount)
            db.execute(move_subscriptions)
            # Archive entries whose key the owner has already stay where they are (what
            # SQLite's UPDATE OR IGNORE did; PostgreSQL has no such thing): row by row, in
            # order, so of two anonymous entries with one key the older moves.
            taken = {r[0] for r in db.execute(owned_keys)}
            for seq, key in db.execute(to_move.order_by(archive.c.seq)).all():
                if key is not None and key in taken:
                    continue
                db.execute(update(archive).where(archive.c.seq == seq).values(session_id=owner))
                if key is not None:
                    taken.add(key)
            return moved

        return await self._write(statements)
