"""Accounts: users, their logins on each device, and their API keys (issue 14).

What a user is for. Everything a person owns (jobs, the cookies file, subscriptions, the
archive) carries an *owner id* where it carried a browser's session id before. A logged-in
user's owner id is ``user:<id>`` on every device, so the same queue shows on each of them, and
the broker, which routes events by that id, sends the same live progress to all of them.
``auth.mode: none`` never makes a user, and everything stays exactly as it was.

Logins (``local`` mode). A name and a password, checked with bcrypt in the admin side's one
worker thread and throttled per client address by the admin side's :class:`LoginThrottle` (the
same failures count against both doors). A wrong name costs one check of a decoy hash, so the
answer's timing does not say whether the name exists. A login is a cookie of 256 random bits
whose sha256 is stored with its expiry (``auth.session_days``): it survives a restart, and a
password change, disabling or deleting the user deletes every one of the user's logins in the
same transaction. A disabled or deleted user's open event streams are closed at once
(:meth:`Broker.close_owner`); their reconnect then meets the login wall.

The admin. In ``local`` mode the admin is a user with the ``admin`` role. An install that
already has an admin password (from setup, or the config) gets that admin as its first user
with the same name and hash at the first start in ``local`` mode, so nobody has to set anything
up again; a fresh install's first-run setup makes that user (:meth:`Accounts.ensure_first_admin`).
The admin panel's own login keeps working beside it.

Proxy mode. The reverse proxy names the user; a name seen for the first time becomes a user
with the ``user`` role and no password (the admin may promote them). Which addresses are
believed is the HTTP layer's business (:mod:`mediarip.api.identity`).

API keys. ``mrk_`` + 256 random bits, shown once; only the sha256 is kept, with the last four
characters so a person can tell their keys apart. A key acts as its user; disabling or deleting
the user kills it with the user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from typing import TYPE_CHECKING

import trio

from ..auth import BadCredentials, WrongPassword
from ..cookies import remove_cookies
from ..models import utcnow
from ..passwords import DECOY_HASH, CredentialsRejected, check_password
from .names import NameRefused, check_name, name_key
from .records import ApiKeyView, KeyRow, NameInUse, Records, Role, User

if TYPE_CHECKING:
    from ..auth import Auth
    from ..broker import Broker
    from ..config import Settings
    from ..engine import DownloadService
    from ..store import Store

__all__ = [
    "Accounts",
    "InviteInvalid",
    "KeyNotFound",
    "LastAdmin",
    "NewKey",
    "UserNotFound",
    "UsernameTaken",
]

log = logging.getLogger("mediarip.accounts")

KEY_PREFIX = "mrk_"
MAX_KEY_NAME = 64
MAX_PREFERENCES = 50
INVITE_DAYS = 7
MAX_PREFERENCES_BYTES = 16 * 1024
#: Statuses whose jobs can change owners (nothing runs or waits for a slot in them).
SETTLED = ("completed", "failed", "cancelled", "paused")


class UserNotFound(Exception):
    """No such user: user_not_found."""


class KeyNotFound(Exception):
    """No such API key among yours: key_not_found."""


class UsernameTaken(Exception):
    """Another user has this name or one too like it ("Bob" and "b0b"): username_taken."""

    def __init__(self, username: str) -> None:
        super().__init__(f"username: {username!r} is taken, or too like a name that is")
        self.message = str(self)


class InviteInvalid(Exception):
    """No such invite, or it was used or has expired: invalid_invite."""


class LastAdmin(Exception):
    """The last enabled admin cannot be disabled, demoted or deleted: last_admin."""

    def __init__(self) -> None:
        super().__init__("This is the last enabled admin: make another admin first.")
        self.message = str(self)


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _checked_name(username: str) -> str:
    try:
        return check_name(username)
    except NameRefused as exc:
        raise CredentialsRejected(str(exc)) from None


class NewKey:
    """A key just made: its view, and the key itself (shown this once)."""

    def __init__(self, view: ApiKeyView, key: str) -> None:
        self.view = view
        self.key = key


class Accounts:
    """Create with :meth:`open`. Changes are shielded: a cancelled request leaves all of a
    change or none of it."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        auth: Auth,
        broker: Broker,
        downloads: DownloadService,
    ) -> None:
        self.mode = settings.auth.mode
        self._session_days = settings.auth.session_days
        self._records = Records(store)
        self._auth = auth
        self._broker = broker
        self._downloads = downloads
        self._key_touched: dict[str, float] = {}

    @property
    def active(self) -> bool:
        """Whether there are users at all (``local`` or ``proxy``)."""
        return self.mode != "none"

    async def ensure_first_admin(self) -> User | None:
        """In ``local`` mode with no users yet, make the admin (name and password hash of the
        admin side) the first user, an admin. Returns that user, if made."""
        if self.mode != "local" or await self._records.count_users():
            return None
        username, password_hash = self._auth.admin_credentials()
        if password_hash is None:
            return None
        try:
            check_name(username)
        except NameRefused:
            log.warning("the admin's name %r is not a valid user name; no user was made", username)
            return None
        try:
            with trio.CancelScope(shield=True):
                user = await self._records.insert_user(
                    username, name_key(username), password_hash, "admin", "local", utcnow()
                )
        except NameInUse:  # another process of a cluster, starting with this one, made it
            return None
        log.info("local accounts: the admin %r is the first user", username)
        return user

    async def setup_required(self) -> bool:
        """``local`` mode without any user: the admin's first-run setup makes the first."""
        return self.mode == "local" and not await self._records.count_users()

    # -- logins -------------------------------------------------------------------------------

    async def login(self, username: str, password: str, client: str) -> tuple[str, User]:
        """Check the name and password (throttled per client); a new login token."""
        found = await self._records.user_by_key(name_key(username))
        user, password_hash = found if found is not None else (None, None)
        bcrypt = self._auth.bcrypt

        async def credentials_match() -> bool:
            usable = user is not None and password_hash is not None and not user.disabled
            checked = password_hash if usable and password_hash else DECOY_HASH
            ok = await bcrypt.verify(password, checked)
            return usable and ok

        if not await self._auth.throttle.attempt(client, credentials_match):
            raise BadCredentials("Wrong username or password.")
        assert user is not None
        with trio.CancelScope(shield=True):
            token = await self._new_session(user.id)
        log.info("user %r logged in", user.username)
        return token, user

    async def start_session(self, user: User) -> str:
        """A login for ``user`` without a password check: first-run setup's, which proved
        itself with the setup token."""
        with trio.CancelScope(shield=True):
            token = await self._new_session(user.id)
        return token

    async def _new_session(self, user_id: int) -> str:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + dt.timedelta(days=self._session_days)
        await self._records.insert_session(_sha(token), user_id, now, expires)
        return token

    async def session_user(self, token: str | None) -> User | None:
        """The user of a live login token, or None (unknown, expired, disabled)."""
        if not token or len(token) > 128:
            return None
        return await self._records.session_user(_sha(token), utcnow())

    async def logout(self, token: str | None) -> None:
        if token:
            with trio.CancelScope(shield=True):
                await self._records.delete_session(_sha(token))

    async def change_password(self, user: User, current: str, new: str, client: str) -> str:
        """A user changes their own password: every login of theirs ends (other devices'
        streams close too), and this device gets a new one."""
        check_password(new, "new")
        found = await self._records.user_by_key(name_key(user.username))
        password_hash = found[1] if found else None
        bcrypt = self._auth.bcrypt

        async def current_matches() -> bool:
            return password_hash is not None and await bcrypt.verify(current, password_hash)

        if not await self._auth.throttle.attempt(client, current_matches):
            raise WrongPassword("current: that is not your current password")
        new_hash = await bcrypt.hash(new)
        with trio.CancelScope(shield=True):
            await self._records.update_user(user.id, end_sessions=True, password_hash=new_hash)
            self._broker.close_owner(user.owner)
            token = await self._new_session(user.id)
        log.info("user %r changed their password; their other logins ended", user.username)
        return token

    # -- invites ------------------------------------------------------------------------------

    async def make_invite(self, role: Role) -> tuple[str, dt.datetime]:
        """A one-time invite (256 random bits, only its sha256 kept), valid for a week."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + dt.timedelta(days=INVITE_DAYS)
        with trio.CancelScope(shield=True):
            await self._records.insert_invite(_sha(token), role, now, expires)
        log.info("the admin made an invite link (%s)", role)
        return token, expires

    async def register(
        self, invite: str, username: str, password: str, client: str
    ) -> tuple[str, User]:
        """Redeem an invite: a new user, logged in. Wrong invites count as failed logins."""
        token_hash = _sha(invite) if 0 < len(invite) <= 128 else ""

        async def invite_matches() -> bool:
            return bool(token_hash) and await self._records.invite_valid(token_hash, utcnow())

        if not await self._auth.throttle.attempt(client, invite_matches):
            raise InviteInvalid("This invite link is not valid (used, expired or mistyped).")
        _checked_name(username)
        check_password(password)
        password_hash = await self._auth.bcrypt.hash(password)
        with trio.CancelScope(shield=True):
            try:
                user = await self._records.redeem_invite(
                    token_hash, utcnow(), username, name_key(username), password_hash
                )
            except NameInUse:
                raise UsernameTaken(username) from None
            if user is None:  # used by someone else a moment ago
                raise InviteInvalid("This invite link is not valid (used, expired or mistyped).")
            token = await self._new_session(user.id)
        assert user is not None
        log.info("user %r registered with an invite", username)
        return token, user

    # -- preferences --------------------------------------------------------------------------

    async def preferences(self, user: User) -> dict[str, object]:
        """What the web app remembers for the user (colour mode, theme, format choices): the
        same on every device. Opaque here: the web app owns the keys."""
        loaded = json.loads(await self._records.get_preferences(user.id))
        return loaded if isinstance(loaded, dict) else {}

    async def set_preferences(self, user: User, preferences: dict[str, object]) -> None:
        if len(preferences) > MAX_PREFERENCES or any(len(k) > 64 for k in preferences):
            raise CredentialsRejected(
                f"preferences: at most {MAX_PREFERENCES} keys of at most 64 characters"
            )
        encoded = json.dumps(preferences, separators=(",", ":"))
        if len(encoded) > MAX_PREFERENCES_BYTES:
            raise CredentialsRejected(f"preferences: at most {MAX_PREFERENCES_BYTES} bytes")
        with trio.CancelScope(shield=True):
            await self._records.set_preferences(user.id, encoded)

    # -- proxy mode ---------------------------------------------------------------------------

    async def proxy_user(self, username: str) -> User | None:
        """The user the proxy names, made on first sight; None for a disabled user. Raises
        :class:`CredentialsRejected` for a name that breaks the rules."""
        key = name_key(_checked_name(username))
        found = await self._records.user_by_key(key)
        if found is None:
            with trio.CancelScope(shield=True):
                try:
                    user = await self._records.insert_user(
                        username, key, None, "user", "proxy", utcnow()
                    )
                    log.info("proxy mode: first sight of user %r", username)
                except NameInUse:  # made by a parallel request a moment ago
                    again = await self._records.user_by_key(key)
                    assert again is not None
                    user = again[0]
        else:
            user = found[0]
        return None if user.disabled else user

    # -- API keys -----------------------------------------------------------------------------

    async def key_user(self, presented: str) -> User | None:
        """The user whose key this is (None: not a user key, or its user is disabled)."""
        if not presented.startswith(KEY_PREFIX) or len(presented) > 128:
            return None
        found = await self._records.key_user(_sha(presented))
        if found is None:
            return None
        user, key_id = found
        now = trio.current_time()
        if now - self._key_touched.get(key_id, -120.0) >= 60.0:  # last_used, once a minute
            self._key_touched[key_id] = now
            with trio.CancelScope(shield=True):
                await self._records.key_used(key_id, utcnow())
        return user

    async def make_key(self, user: User, name: str) -> NewKey:
        name = name.strip()
        if not name or len(name) > MAX_KEY_NAME:
            raise CredentialsRejected(f"name: 1 to {MAX_KEY_NAME} characters")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        view = ApiKeyView(secrets.token_hex(8), name, "…" + key[-4:], utcnow(), None, user.id)
        with trio.CancelScope(shield=True):
            await self._records.insert_key(KeyRow(view, _sha(key)))
        log.info("user %r made an API key %r", user.username, name)
        return NewKey(view, key)

    async def keys(self, user: User | None) -> list[ApiKeyView]:
        """A user's keys; None: everyone's (the admin's view)."""
        return await self._records.list_keys(None if user is None else user.id)

    async def revoke_key(self, key_id: str, user: User | None) -> None:
        """Revoke one of ``user``'s keys (None: anyone's, for the admin)."""
        with trio.CancelScope(shield=True):
            if not await self._records.delete_key(key_id, None if user is None else user.id):
                raise KeyNotFound("No such API key.")

    # -- the admin's side ---------------------------------------------------------------------

    async def users(self) -> list[User]:
        return await self._records.list_users()

    async def user(self, user_id: int) -> User:
        found = await self._records.get_user(user_id)
        if found is None:
            raise UserNotFound("No such user.")
        return found

    async def create_user(self, username: str, password: str | None, role: Role) -> User:
        _checked_name(username)
        if password is not None:
            check_password(password)
        password_hash = None if password is None else await self._auth.bcrypt.hash(password)
        with trio.CancelScope(shield=True):
            try:
                user = await self._records.insert_user(
                    username, name_key(username), password_hash, role, "local", utcnow()
                )
            except NameInUse:
                raise UsernameTaken(username) from None
        log.info("the admin made user %r (%s)", username, role)
        return user

    async def update_user(
        self,
        user_id: int,
        *,
        username: str | None = None,
        password: str | None = None,
        role: Role | None = None,
        disabled: bool | None = None,
    ) -> User:
        """Rename, reset the password, change the role, disable or enable. A password reset or
        disabling ends the user's logins and closes their event streams."""
        user = await self.user(user_id)
        columns: dict[str, object] = {}
        if username is not None and username != user.username:
            columns["username"] = _checked_name(username)
            columns["name_key"] = name_key(username)
        if password is not None:
            check_password(password)
            columns["password_hash"] = await self._auth.bcrypt.hash(password)
        if role is not None and role != user.role:
            columns["role"] = role
        if disabled is not None and disabled != user.disabled:
            columns["disabled"] = disabled
        losing_admin = user.role == "admin" and not user.disabled
        if losing_admin and (columns.get("role") == "user" or columns.get("disabled")):
            await self._refuse_last_admin(user)
        ending = "password_hash" in columns or bool(columns.get("disabled"))
        with trio.CancelScope(shield=True):
            try:
                await self._records.update_user(user.id, end_sessions=ending, **columns)
            except NameInUse:
                raise UsernameTaken(str(username)) from None
            if ending:
                self._broker.close_owner(user.owner)
        log.info("the admin changed user %r: %s", user.username, ", ".join(columns) or "nothing")
        return await self.user(user_id)

    async def delete_user(self, user_id: int) -> None:
        """The user, their logins and keys, their jobs with their files and their cookies."""
        user = await self.user(user_id)
        if user.role == "admin" and not user.disabled:
            await self._refuse_last_admin(user)
        with trio.CancelScope(shield=True):
            await self._records.delete_user(user.id)
            self._broker.close_owner(user.owner)
            for job in await self._downloads.list_jobs(user.owner, limit=None):
                if job.parent_id is None:
                    try:
                        await self._downloads.delete(job.id)
                    except Exception as exc:  # a file that cannot go: the purge tries later
                        log.warning("could not delete job %s of user %r: %r", job.id, user, exc)
            path = self._downloads.cookie_file(user.owner)
            await trio.to_thread.run_sync(remove_cookies, path)
        log.info("the admin deleted user %r", user.username)

    async def _refuse_last_admin(self, user: User) -> None:
        admins = [u for u in await self._records.list_users() if u.role == "admin"]
        if not [u for u in admins if not u.disabled and u.id != user.id]:
            raise LastAdmin()

    async def give_sessions(self, user_id: int, session_ids: list[str] | None) -> int:
        """Give anonymous sessions' settled jobs (and subscriptions, archive) to a user: what
        switching from ``none`` to ``local`` offers. Returns how many jobs moved."""
        user = await self.user(user_id)
        with trio.CancelScope(shield=True):
            moved = await self._records.give_to(user.owner, session_ids, SETTLED)
            self._downloads.revision += 1  # listings cached under the old owners are stale
            self._broker.resync_all()
        log.info("gave %d jobs of anonymous sessions to user %r", moved, user.username)
        return moved
