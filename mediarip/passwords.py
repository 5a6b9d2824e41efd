"""Passwords, for the admin (:mod:`.auth`) and for people's accounts (:mod:`.accounts`): the
rules a new one must meet, bcrypt in a worker thread, and the lock-out after failed attempts.

bcrypt is slow on purpose (~0.3 s a check), so it runs in a worker thread, one check at a time
(a login flood cannot take every core). Lock-out: attempts are throttled per client address
(:class:`LoginThrottle`): five failures are free, then each further attempt waits 1 s, 2 s,
4 s ... up to 15 minutes; a success resets it. It lives in memory: a restart forgets it, which
costs an attacker a restart they cannot cause.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import attrs
import trio
from passlib.context import CryptContext

__all__ = [
    "DECOY_HASH",
    "MAX_PASSWORD_BYTES",
    "MAX_USERNAME_CHARS",
    "MIN_PASSWORD_CHARS",
    "AuthError",
    "Bcrypt",
    "CredentialsRejected",
    "Locked",
    "LoginThrottle",
    "check_password",
    "check_username",
]

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores (bcrypt >= 5: refuses) anything longer
MAX_USERNAME_CHARS = 64

_context = CryptContext(schemes=["bcrypt"], bcrypt__rounds=12)


class AuthError(Exception):
    """A refusal, with a message for the person at the panel."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CredentialsRejected(AuthError):
    """A new username or password breaks a rule; the message names the field."""


class Locked(AuthError):
    """Too many failures from this client: try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            f"Too many failed attempts. Try again in {self.retry_after} s "
            "(each further failure doubles the wait)."
        )


def check_password(password: str, field: str = "password") -> None:
    """The password rules: at least 8 characters, at most 72 bytes (bcrypt's limit)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise CredentialsRejected(f"{field}: at least {MIN_PASSWORD_CHARS} characters, please")
    size = len(password.encode("utf-8"))
    if size > MAX_PASSWORD_BYTES:
        raise CredentialsRejected(
            f"{field}: at most {MAX_PASSWORD_BYTES} bytes in UTF-8 (bcrypt's limit); this one "
            f"is {size} bytes"
        )


def check_username(username: str) -> None:
    if not username or username != username.strip() or len(username) > MAX_USERNAME_CHARS:
        raise CredentialsRejected(
            f"username: 1 to {MAX_USERNAME_CHARS} characters, without surrounding spaces"
        )


class Bcrypt:
    """bcrypt in worker threads (~0.3 s a call), one call at a time: a flood of logins from
    many addresses queues up instead of taking every core. Each call is a checkpoint."""

    def __init__(self) -> None:
        self._threads = trio.CapacityLimiter(1)

    async def hash(self, password: str) -> str:
        return await trio.to_thread.run_sync(_context.hash, password, limiter=self._threads)

    async def verify(self, password: str, password_hash: str) -> bool:
        def verify() -> bool:
            try:
                return bool(_context.verify(password, password_hash))
            except ValueError:  # too long for bcrypt, or a malformed hash: not a match
                return False

        return await trio.to_thread.run_sync(verify, limiter=self._threads)


# A valid hash to check against when the username is wrong, so a wrong name costs as long as a
# wrong password and the answer's timing does not tell which it was.
DECOY_HASH = "$2b$12$SdpQDds2geRgVjeEQ4qm4OFEDOrTHUQmRiHKgTbRU3xoS/811VyE."


# -- lock-out -----------------------------------------------------------------------------------


@attrs.define
class _Record:
    failures: int = 0
    locked_until: float = -math.inf
    in_flight: int = 0


class LoginThrottle:
    """Failures per client address: :data:`FREE` are free, then a lock-out that doubles with
    each further failure, from :data:`FIRST_WAIT` up to :data:`LONGEST_WAIT` seconds.

    Attempts being checked count too: otherwise fifty parallel guesses would all pass the
    check before the first failure was recorded. Uses trio's clock (tests can mock it)."""

    FREE = 5
    FIRST_WAIT = 1.0
    LONGEST_WAIT = 15 * 60.0
    MAX_CLIENTS = 10_000

    def __init__(self, clock: Callable[[], float] = trio.current_time) -> None:
        self._clock = clock
        self._clients: OrderedDict[str, _Record] = OrderedDict()

    def begin(self, client: str) -> None:
        """Start an attempt, or raise :class:`Locked`."""
        now = self._clock()
        record = self._clients.get(client)
        if record is None:
            record = self._clients[client] = _Record()
            while len(self._clients) > self.MAX_CLIENTS:
                self._clients.popitem(last=False)
        self._clients.move_to_end(client)
        if record.locked_until > now:
            raise Locked(record.locked_until - now)
        if record.in_flight and record.failures + record.in_flight >= self.FREE:
            raise Locked(self.FIRST_WAIT)
        record.in_flight += 1

    def end(self, client: str, *, success: bool) -> None:
        record = self._clients.get(client)
        if record is None:
            return
        record.in_flight = max(0, record.in_flight - 1)
        if success:
            if not record.in_flight:
                del self._clients[client]
            else:
                record.failures, record.locked_until = 0, -math.inf
            return
        record.failures += 1
        if record.failures >= self.FREE:
            wait = min(self.FIRST_WAIT * 2 ** (record.failures - self.FREE), self.LONGEST_WAIT)
            record.locked_until = self._clock() + wait

    async def attempt(self, client: str, check: Callable[[], Awaitable[bool]]) -> bool:
        """Run ``check`` as one attempt of ``client``; a cancelled attempt counts as failed."""
        self.begin(client)
        success = False
        try:
            success = await check()
        finally:
            self.end(client, success=success)
        return success
