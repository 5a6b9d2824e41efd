"""The admin's credentials and the API key (mediarip.auth), against a real store (SQLite and
PostgreSQL).

The HTTP side is in test_admin.py; here are the rules themselves: where the password comes
from, what survives a restart, the lock-out's arithmetic, the API key's interface for the guard.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio

from mediarip.auth import (
    Auth,
    CredentialsRejected,
    Locked,
    LoginThrottle,
    PinnedByConfig,
    SetupNotNeeded,
    SetupTokenMissing,
    SetupTokenWrong,
    check_password,
    forget_password_env,
    without_plaintext,
)
from mediarip.config import ConfigError
from mediarip.store import Store
from tests.conftest import make_settings

PASSWORD = "correct horse battery"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def fail(throttle: LoginThrottle, client: str = "10.0.0.1") -> None:
    async def wrong() -> bool:
        return False

    await throttle.attempt(client, wrong)


async def succeed(throttle: LoginThrottle, client: str = "10.0.0.1") -> None:
    async def right() -> bool:
        return True

    await throttle.attempt(client, right)


# -- the lock-out -------------------------------------------------------------------------------


async def test_five_failures_are_free_then_the_wait_doubles_up_to_fifteen_minutes() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock)
    for _ in range(5):
        await fail(throttle)
    waits = []
    for _ in range(14):
        with pytest.raises(Locked) as locked:
            throttle.begin("10.0.0.1")
        waits.append(locked.value.retry_after)
        clock.now += locked.value.retry_after
        await fail(throttle)
    assert waits[:6] == [1, 2, 4, 8, 16, 32]
    assert waits[-1] == 900 and max(waits) == 900


async def test_a_success_resets_the_count_and_other_clients_are_not_affected() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock)
    for _ in range(4):
        await fail(throttle)
    await succeed(throttle)
    for _ in range(4):
        await fail(throttle)
    throttle.begin("10.0.0.1")  # still free: the success wiped the first four
    throttle.end("10.0.0.1", success=True)
    for _ in range(5):
        await fail(throttle)
    with pytest.raises(Locked):
        throttle.begin("10.0.0.1")
    throttle.begin("10.0.0.2")  # another address is not locked out


async def test_parallel_guesses_cannot_slip_past_the_limit() -> None:
    throttle = LoginThrottle(FakeClock())
    for _ in range(5):
        throttle.begin("10.0.0.1")  # five attempts in flight at once
    with pytest.raises(Locked):
        throttle.begin("10.0.0.1")


# -- password rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "words"),
    [
        pytest.param("short", "at least 8 characters", id="too-short"),
        pytest.param("x" * 73, "at most 72 bytes", id="73-bytes"),
        pytest.param("é" * 37, "74 bytes", id="37-chars-but-74-bytes"),
    ],
)
def test_passwords_must_fit_the_rules(password: str, words: str) -> None:
    with pytest.raises(CredentialsRejected, match=words):
        check_password(password)


def test_a_72_byte_password_is_fine() -> None:
    check_password("x" * 72)


# -- where the password comes from ------------------------------------------------------------


async def test_without_a_password_setup_needs_the_token_printed_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, database: Path | str
) -> None:
    settings = make_settings(tmp_path)
    async with Store.open(database) as store:
        with caplog.at_level(logging.WARNING, logger="mediarip.auth"):
            auth = await Auth.open(settings, store)
        assert auth.setup_required
        token = auth.setup_token
        assert token is not None and len(token) >= 32
        assert any(token in record.getMessage() for record in caplog.records)
        with pytest.raises(SetupTokenMissing):
            await auth.setup(None, None, PASSWORD, "10.0.0.1")
        with pytest.raises(SetupTokenWrong):
            await auth.setup(
                token[:-1] + ("y" if token.endswith("x") else "x"), None, PASSWORD, "10.0.0.1"
            )
        session = await auth.setup(token, "boss", PASSWORD, "10.0.0.1")
        assert await auth.session_valid(session)
        assert auth.setup_token is None and not auth.setup_required
        assert auth.username == "boss"
        with pytest.raises(SetupNotNeeded):
            await auth.setup(token, None, PASSWORD, "10.0.0.1")
    async with Store.open(database) as store:  # after a restart
        auth = await Auth.open(settings, store)
        assert not auth.setup_required and auth.setup_token is None
        assert auth.username == "boss"
        assert await auth.session_valid(session)
        assert await auth.session_valid(await auth.login("boss", PASSWORD, "10.0.0.1"))


async def test_a_configured_password_keeps_admin_sessions_across_restarts(
    tmp_path: Path, database: Path | str
) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__ADMIN__PASSWORD": PASSWORD})
    async with Store.open(database) as store:
        auth = await Auth.open(settings, store)
        assert not auth.setup_required and auth.password_pinned
        session = await auth.login("admin", PASSWORD, "10.0.0.1")
        with pytest.raises(PinnedByConfig):
            await auth.change_password(PASSWORD, "another password", "10.0.0.1")
    async with Store.open(database) as store:
        assert await (await Auth.open(settings, store)).session_valid(session)
    changed = make_settings(tmp_path, {"MEDIARIP__ADMIN__PASSWORD": "a new password"})
    async with Store.open(database) as store:
        # A new password in the config ends the sessions of the old one.
        assert not await (await Auth.open(changed, store)).session_valid(session)


async def test_a_configured_password_beats_one_set_in_the_panel(
    tmp_path: Path, database: Path | str
) -> None:
    async with Store.open(database) as store:
        auth = await Auth.open(make_settings(tmp_path), store)
        assert auth.setup_token is not None
        await auth.setup(auth.setup_token, None, "panel password", "10.0.0.1")
        configured = make_settings(tmp_path, {"MEDIARIP__ADMIN__PASSWORD": PASSWORD})
        auth = await Auth.open(configured, store)
        await auth.login("admin", PASSWORD, "10.0.0.1")


async def test_a_configured_password_longer_than_bcrypt_allows_stops_startup(
    tmp_path: Path,
    database: Path | str,
) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__ADMIN__PASSWORD": "x" * 73})
    async with Store.open(database) as store:
        with pytest.raises(ConfigError, match=r"admin\.password"):
            await Auth.open(settings, store)


def test_the_plain_text_password_is_dropped_from_settings_and_environment(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, {"MEDIARIP__ADMIN__PASSWORD": PASSWORD})
    assert settings.admin.password == PASSWORD
    assert without_plaintext(settings).admin.password is None
    environ = {"MEDIARIP__ADMIN__PASSWORD": PASSWORD, "mediarip__admin__password": "x", "HOME": "/"}
    forget_password_env(environ)
    assert environ == {"HOME": "/"}


# -- the API key --------------------------------------------------------------------------------


async def test_a_generated_api_key_matches_and_is_shown_masked(
    tmp_path: Path, database: Path | str
) -> None:
    async with Store.open(database) as store:
        auth = await Auth.open(make_settings(tmp_path), store)
        assert not auth.api_key_required
        assert not auth.api_key_matches("")
        key = await auth.generate_api_key()
        assert auth.api_key_required and auth.api_key_matches(key)
        assert not auth.api_key_matches(key[:-1])
        assert not auth.api_key_matches(key + "x")
        assert not auth.api_key_matches("ünïcode")
        state = auth.api_key_state()
        assert state.configured and not state.pinned
        assert state.masked is not None and state.masked.endswith(key[-4:])
        assert key[:-4] not in state.masked
    async with Store.open(database) as store:  # kept across restarts
        auth = await Auth.open(make_settings(tmp_path), store)
        assert auth.api_key_matches(key)
        await auth.revoke_api_key()
        assert not auth.api_key_required and not auth.api_key_matches(key)


async def test_a_configured_api_key_is_pinned(tmp_path: Path, database: Path | str) -> None:
    key = "k" * 24
    settings = make_settings(tmp_path, {"MEDIARIP__SERVER__API_KEY": key})
    async with Store.open(database) as store:
        auth = await Auth.open(settings, store)
        assert auth.api_key_matches(key) and auth.api_key_state().pinned
        with pytest.raises(PinnedByConfig):
            await auth.generate_api_key()
        with pytest.raises(PinnedByConfig):
            await auth.revoke_api_key()


async def test_the_server_secret_is_made_once(tmp_path: Path, database: Path | str) -> None:
    async with Store.open(database) as store:
        first = (await Auth.open(make_settings(tmp_path), store)).secret
        assert len(first) == 32
        assert (await Auth.open(make_settings(tmp_path), store)).secret == first


async def test_a_wrong_username_costs_as_much_as_a_wrong_password(tmp_path: Path) -> None:
    # On SQLite only: the decoy hash does not depend on the engine, and one timed login on the
    # PostgreSQL side also timed its network writes (1.06 s once, under a loaded CI).
    settings = make_settings(tmp_path, {"MEDIARIP__ADMIN__PASSWORD": PASSWORD})
    async with Store.open(tmp_path / "mediarip.sqlite3") as store:
        auth = await Auth.open(settings, store)
        # Interleaved rounds, and the fastest of each: a loaded machine (CI runs two test
        # workers on two cores) once stretched a single wrong-password login to 0.65 s against
        # 0.28 s for the wrong name before it, which says nothing about the code.
        timings: dict[str, list[float]] = {"wrong name": [], "wrong password": []}
        for attempt in range(3):
            for name, username in (("wrong name", "root"), ("wrong password", "admin")):
                start = trio.current_time()
                with pytest.raises(Exception, match="Wrong username or password"):
                    await auth.login(username, "not it at all", f"10.0.{attempt}.{len(name)}")
                timings[name].append(trio.current_time() - start)
        assert min(timings["wrong name"]) > 0.5 * min(timings["wrong password"]), timings
