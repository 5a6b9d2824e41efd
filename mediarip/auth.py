"""Who may use the admin panel, and the API key: credentials, admin sessions, lock-outs.

The password. It is kept only as a bcrypt hash (passlib's ``CryptContext``, cost 12). It comes
from the first of:

1. ``admin.password`` in the config (YAML or environment): hashed at startup, after which the
   plain text is dropped (:func:`without_plaintext`; the caller keeps only that copy of the
   settings). Hashing anew at every start would give a new salt, so a new hash, so every admin
   cookie would die with each restart; instead the hash is kept in SQLite and reused while the
   configured password still verifies against it (one bcrypt check at startup, the same cost);
2. ``admin.password_hash`` in the config;
3. what first-run setup or a password change stored in SQLite.

The config wins: a password it sets is *pinned*, and changing it in the panel is refused (the
next restart would undo the change). With no password anywhere, first-run setup is open, but
not to whoever comes first: it needs a one-time token that only the server log shows
(SPEC §7). The token lives in memory, a new one at every start, and is gone once used.

bcrypt is slow on purpose, so it runs only at login, setup and password change
(:mod:`.passwords` has the rules, the worker thread and the lock-out). Being
logged in is an admin *session*: a random cookie of 256 bits whose sha256 is stored with its
creation time and the password's *generation* (a digest of the current hash). Any change of the
hash, from the panel or the config, changes the generation, so every older cookie stops
working; the panel's password change also deletes them outright, in the same transaction.

Lock-out. Login, setup tokens and password changes are throttled per client address
(:class:`~.passwords.LoginThrottle`).

The API key. ``server.api_key`` from the config wins (pinned: it cannot be regenerated or
revoked here). Otherwise the admin can generate one, which is stored as is in SQLite: the data
folder is private to the server, and the panel must be able to show the end of the key to say
which one is in use. The panel shows it whole only once, when it is generated.

The server secret (:attr:`Auth.secret`) is 32 random bytes made once and kept in SQLite, for
anything that needs signing (CSRF tokens, the admin's view of session ids).

Public API::

    Auth.open(settings, store) -> Auth
    auth.enabled / setup_required / setup_token / username / password_pinned / secret
    auth.setup(token, username, password, client) -> session token
    auth.login(username, password, client) -> session token
    auth.session_valid(token) -> bool;  auth.logout(token)
    auth.change_password(current, new, client) -> new session token
    auth.api_key_required / api_key_matches(presented) / api_key_state()
    auth.generate_api_key() -> key;  auth.revoke_api_key()
    without_plaintext(settings) -> Settings
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import MutableMapping

import attrs
import trio

from .config import ENV_PREFIX, ConfigError, Settings
from .models import utcnow
from .passwords import (
    DECOY_HASH,
    MAX_PASSWORD_BYTES,
    MIN_PASSWORD_CHARS,
    AuthError,
    Bcrypt,
    CredentialsRejected,
    Locked,
    LoginThrottle,
    check_password,
    check_username,
)
from .store import AdminSession, Store

__all__ = [
    "MAX_PASSWORD_BYTES",
    "MIN_PASSWORD_CHARS",
    "SESSION_HOURS",
    "ApiKeyState",
    "Auth",
    "AuthError",
    "BadCredentials",
    "CredentialsRejected",
    "Locked",
    "LoginThrottle",
    "PinnedByConfig",
    "SetupNotNeeded",
    "SetupRequired",
    "SetupTokenMissing",
    "SetupTokenWrong",
    "WrongPassword",
    "forget_password_env",
    "without_plaintext",
]

log = logging.getLogger("mediarip.auth")

SESSION_HOURS = 8

# Keys in the store's ``meta`` table.
_SECRET = "server_secret"
_USERNAME = "admin_username"
_HASH = "admin_password_hash"
_CONFIG_HASH = "admin_config_password_hash"
_API_KEY = "api_key"


# -- errors -------------------------------------------------------------------------------------


class SetupNotNeeded(AuthError):
    """Setup is done (or the config sets the password); there is nothing to set up."""


class SetupRequired(AuthError):
    """No password exists yet: setup comes first."""


class SetupTokenMissing(AuthError):
    """Setup needs the one-time token from the server log, and none was given."""


class SetupTokenWrong(AuthError):
    """The token given is not the setup token from the server log."""


class BadCredentials(AuthError):
    """Wrong username or password."""


class WrongPassword(AuthError):
    """The current password given for a change is wrong."""


class PinnedByConfig(AuthError):
    """The config sets this; the panel cannot change it."""


# -- helpers ------------------------------------------------------------------------------------


def without_plaintext(settings: Settings) -> Settings:
    """The settings without ``admin.password``: what the running app keeps once it is hashed."""
    return attrs.evolve(settings, admin=attrs.evolve(settings.admin, password=None))


def forget_password_env(environ: MutableMapping[str, str] | None = None) -> None:
    """Drop ``MEDIARIP__ADMIN__PASSWORD`` (in any case) from the environment, so the child
    processes yt-dlp starts (ffmpeg) do not inherit the plain text."""
    environ = os.environ if environ is None else environ
    wanted = f"{ENV_PREFIX}ADMIN__PASSWORD"
    for name in [n for n in environ if n.upper() == wanted]:
        del environ[name]


def _generation(password_hash: str | None) -> str:
    if password_hash is None:
        return ""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of two strings (any characters)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _mask(key: str) -> str:
    return "…" + key[-4:]


# -- the API key's state, as the panel shows it -------------------------------------------------


@attrs.frozen
class ApiKeyState:
    configured: bool
    pinned: bool
    masked: str | None


# -- Auth ---------------------------------------------------------------------------------------


class Auth:
    """Create with :meth:`open`. Methods that change something are shielded: a request that is
    cancelled half-way leaves either the whole change or none."""

    def __init__(
        self,
        store: Store,
        *,
        enabled: bool,
        username: str,
        password_hash: str | None,
        password_pinned: bool,
        secret: bytes,
        api_key: str | None,
        api_key_pinned: bool,
        bcrypt: Bcrypt | None = None,
    ) -> None:
        self._store = store
        self._bcrypt = bcrypt or Bcrypt()
        self._enabled = enabled
        self._username = username
        self._hash = password_hash
        self._generation = _generation(password_hash)
        self._password_pinned = password_pinned
        self._secret = secret
        self._api_key = api_key
        self._api_key_pinned = api_key_pinned
        self.throttle = LoginThrottle()
        #: The one-time first-run setup token; None once a password exists.
        self.setup_token: str | None = None
        if enabled and password_hash is None:
            self.setup_token = secrets.token_urlsafe(24)

    @classmethod
    async def open(cls, settings: Settings, store: Store) -> Auth:
        """Load (or make) the secret, the password hash and the API key; log the setup token
        if there is no password. Hashing ``admin.password`` takes ~0.3 s in a worker thread."""
        secret = bytes.fromhex(await store.ensure_meta(_SECRET, secrets.token_hex(32)))
        bcrypt = Bcrypt()
        username, password_hash, pinned = await _load_password(settings, store, bcrypt)
        configured_key = settings.server.api_key
        auth = cls(
            store,
            enabled=settings.admin.enabled,
            username=username,
            password_hash=password_hash,
            password_pinned=pinned,
            secret=secret,
            api_key=configured_key or await store.get_meta(_API_KEY),
            api_key_pinned=configured_key is not None,
            bcrypt=bcrypt,
        )
        if auth.setup_token is not None:
            log.warning(
                "First-run setup: open the admin panel and use this token: %s", auth.setup_token
            )
        return auth

    # -- what the panel asks ------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def setup_required(self) -> bool:
        return self._enabled and self._hash is None

    @property
    def username(self) -> str:
        return self._username

    @property
    def password_pinned(self) -> bool:
        return self._password_pinned

    @property
    def bcrypt(self) -> Bcrypt:
        """The one bcrypt runner (one check at a time), shared with the accounts (issue 14)."""
        return self._bcrypt

    def admin_credentials(self) -> tuple[str, str | None]:
        """The admin's name and password hash (None before setup): local mode's first user."""
        return self._username, self._hash

    @property
    def secret(self) -> bytes:
        """32 random bytes, made once per data folder: sign things with it."""
        return self._secret

    # -- setup, login, sessions ---------------------------------------------------------------

    async def setup(
        self, token: str | None, username: str | None, password: str, client: str
    ) -> str:
        """First-run setup with the token from the log; returns an admin session token."""
        if self.setup_token is None:
            raise SetupNotNeeded("The admin password is already set; log in instead.")
        if not token:
            raise SetupTokenMissing(
                "Setup needs the one-time token that the server printed in its log at startup."
            )
        given = token
        username = self._username if username is None else username
        # Every problem at once: a wrong token and a short password are both said, so the
        # person fixes both before the next try (the rules are public; the token stays secret).
        problems: list[str] = []
        for check, value in ((check_username, username), (check_password, password)):
            try:
                check(value)
            except CredentialsRejected as exc:
                problems.append(str(exc))

        async def token_matches() -> bool:
            await trio.lowlevel.checkpoint()
            return self.setup_token is not None and _same(given, self.setup_token)

        if not await self.throttle.attempt(client, token_matches):
            also = "".join(f" Also, {p}." for p in problems)
            raise SetupTokenWrong(f"That is not the setup token from the server log.{also}")
        if problems:
            raise CredentialsRejected("; ".join(problems))
        password_hash = await self._bcrypt.hash(password)
        if self.setup_token is None:  # someone else finished setup meanwhile
            raise SetupNotNeeded("The admin password is already set; log in instead.")
        self.setup_token = None
        with trio.CancelScope(shield=True):
            try:
                await self._store_credentials(username, password_hash)
            except BaseException:
                self.setup_token = secrets.token_urlsafe(24)
                log.warning("Setup failed; the new setup token is: %s", self.setup_token)
                raise
            log.info("first-run setup done: the admin is %r", username)
            session = await self._new_session()
        return session

    async def login(self, username: str, password: str, client: str) -> str:
        """Check the credentials (throttled per client); returns an admin session token."""
        if self._hash is None:
            raise SetupRequired("No admin password is set yet: finish the first-run setup.")
        password_hash = self._hash

        async def credentials_match() -> bool:
            name_ok = _same(username, self._username)
            checked = password_hash if name_ok else DECOY_HASH
            password_ok = await self._bcrypt.verify(password, checked)
            return name_ok and password_ok

        if not await self.throttle.attempt(client, credentials_match):
            raise BadCredentials("Wrong username or password.")
        with trio.CancelScope(shield=True):
            session = await self._new_session()
        return session

    async def session_valid(self, token: str | None) -> bool:
        """Whether ``token`` is a live admin session of the current password."""
        if not token or len(token) > 128 or self._hash is None:
            return False
        session = await self._store.get_admin_session(_token_hash(token))
        if session is None or session.generation != self._generation:
            return False
        return session.created_at > utcnow() - dt.timedelta(hours=SESSION_HOURS)

    async def logout(self, token: str | None) -> None:
        if token:
            with trio.CancelScope(shield=True):
                await self._store.delete_admin_session(_token_hash(token))

    async def change_password(self, current: str, new: str, client: str) -> str:
        """Replace the password: every admin session ends, and the caller gets a new one."""
        if self._password_pinned:
            raise PinnedByConfig(
                "The admin password is set in the config (admin.password or "
                "admin.password_hash); change it there and restart."
            )
        check_password(new, "new")
        password_hash = self._hash
        if password_hash is None:
            raise SetupRequired("No admin password is set yet: finish the first-run setup.")

        async def current_matches() -> bool:
            return await self._bcrypt.verify(current, password_hash)

        if not await self.throttle.attempt(client, current_matches):
            raise WrongPassword("current: that is not the current password")
        new_hash = await self._bcrypt.hash(new)
        with trio.CancelScope(shield=True):
            await self._store_credentials(self._username, new_hash)
            log.info("the admin password was changed; every admin session has ended")
            session = await self._new_session()
        return session

    async def _store_credentials(self, username: str, password_hash: str) -> None:
        await self._store.set_admin_credentials({_USERNAME: username, _HASH: password_hash})
        self._username, self._hash = username, password_hash
        self._generation = _generation(password_hash)

    async def _new_session(self) -> str:
        token = secrets.token_urlsafe(32)  # 256 bits
        now = utcnow()
        await self._store.insert_admin_session(
            _token_hash(token),
            AdminSession(now, self._generation),
            expired_before=now - dt.timedelta(hours=SESSION_HOURS),
        )
        return token

    # -- the API key --------------------------------------------------------------------------

    @property
    def api_key_required(self) -> bool:
        """Whether an API key is set, so that outside clients must present it."""
        return self._api_key is not None

    def api_key_matches(self, presented: str) -> bool:
        """Whether ``presented`` is the API key (constant time)."""
        return self._api_key is not None and _same(presented, self._api_key)

    def api_key_state(self) -> ApiKeyState:
        key = self._api_key
        return ApiKeyState(key is not None, self._api_key_pinned, _mask(key) if key else None)

    async def generate_api_key(self) -> str:
        """A new random key, replacing any earlier one; the only time it is shown whole."""
        self._refuse_pinned_key()
        key = secrets.token_urlsafe(32)
        with trio.CancelScope(shield=True):
            await self._store.set_meta(_API_KEY, key)
            self._api_key = key
        log.info("a new API key was generated in the admin panel")
        return key

    async def revoke_api_key(self) -> None:
        self._refuse_pinned_key()
        with trio.CancelScope(shield=True):
            await self._store.set_meta(_API_KEY, None)
            self._api_key = None
        log.info("the API key was revoked in the admin panel")

    def _refuse_pinned_key(self) -> None:
        if self._api_key_pinned:
            raise PinnedByConfig(
                "The API key is set in the config (server.api_key); change it there and restart."
            )


async def _load_password(
    settings: Settings, store: Store, bcrypt: Bcrypt
) -> tuple[str, str | None, bool]:
    """(username, hash or None, pinned by the config), by the precedence in the module doc."""
    admin = settings.admin
    if admin.password is not None:
        if len(admin.password.encode("utf-8")) > MAX_PASSWORD_BYTES:
            raise ConfigError(
                f"admin.password: expected at most {MAX_PASSWORD_BYTES} bytes (bcrypt's limit), "
                "got a longer hidden value"
            )
        if len(admin.password) < MIN_PASSWORD_CHARS:
            log.warning(
                "admin.password is shorter than %d characters: choose a longer one",
                MIN_PASSWORD_CHARS,
            )
        kept = await store.get_meta(_CONFIG_HASH)
        if kept is None or not await bcrypt.verify(admin.password, kept):
            kept = await bcrypt.hash(admin.password)
            await store.set_meta(_CONFIG_HASH, kept)
        return admin.username, kept, True
    if admin.password_hash is not None:
        return admin.username, admin.password_hash, True
    stored = await store.get_meta(_HASH)
    if stored is None:
        return admin.username, None, False
    return (await store.get_meta(_USERNAME)) or admin.username, stored, False
