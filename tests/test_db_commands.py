"""``mediarip db migrate`` and ``mediarip db copy``: the command line a self-hoster runs to
prepare a database and to move an install from SQLite to PostgreSQL (or back)."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import pytest
import trio

from mediarip.cli import main
from mediarip.models import Job, JobError, JobStatus, new_job_id
from mediarip.notifications.models import Event, Target, TargetKind
from mediarip.presets import Preset
from mediarip.store import AdminSession, ArchiveEntry, ErrorEntry, Store
from mediarip.store._accounts import ApiKeyView, KeyRow
from mediarip.store._migrate import HEAD
from mediarip.subscriptions.models import CheckRecord, CheckResult, Subscription
from mediarip.subscriptions.models import SubscriptionSettings as SubSettings

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _url(location: Path | str) -> str:
    return f"sqlite:///{location}" if isinstance(location, Path) else location


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The settings of a fresh install in ``tmp_path`` (the command reads the environment)."""
    for name in [n for n in os.environ if n.startswith("MEDIARIP__")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MEDIARIP__SERVER__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


def test_db_migrate_makes_the_database_and_exits(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "migrate"]) == 0
    assert f"schema at revision {HEAD}" in capsys.readouterr().out
    db = sqlite3.connect(environment / "mediarip.sqlite3")
    assert db.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)


def test_db_migrate_on_postgresql(
    environment: Path,
    database: Path | str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEDIARIP__DATABASE__URL", _url(database))
    assert main(["db", "migrate"]) == 0
    assert f"revision {HEAD}" in capsys.readouterr().out


def test_a_bad_database_url_is_a_startup_error_naming_the_setting(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEDIARIP__DATABASE__URL", "mysql://me@host/db")
    assert main(["db", "migrate"]) == 2
    assert "database.url" in capsys.readouterr().err


async def _fill(store: Store) -> None:
    """A little of everything an install holds."""
    parent = Job(id=new_job_id(), session_id="s1", url="https://e/list", created_at=NOW)
    child = Job(
        id=new_job_id(),
        session_id="s1",
        url="https://e/v",
        created_at=NOW,
        parent_id=parent.id,
        status=JobStatus.FAILED,
        error=JobError("not_found", "gone"),
        progress=12.25,
    )
    await store.insert_jobs([parent, child])
    await store.touch_session("s1", NOW)
    await store.set_meta("server_secret", "s3cret")
    await store.set_setting_overrides({"downloads.max_concurrent": 5})
    await store.insert_admin_session(
        "hash", AdminSession(NOW, "g1"), expired_before=NOW - dt.timedelta(days=1)
    )
    await store.insert_error(ErrorEntry(NOW, child.id, "s1", child.url, "not_found", "gone"))
    await store.add_to_archive([ArchiveEntry("s1", "youtube abc", "https://e/v", NOW, "T")])
    sub = Subscription("sub-1", "s1", SubSettings(url="https://e/feed", interval_minutes=60), NOW)
    await store.insert_subscription(sub)
    record = CheckRecord(NOW, NOW, CheckResult(found=1, queued=1, skipped=0), [])
    await store.record_check(sub, record, [("item-1", "downloaded")])
    await store.insert_preset(Preset(id="mine", name="Mine", quality="best"))
    await store.delete_preset("video-mp4-subs")
    events = (Event.COMPLETED,)
    await store.insert_target(
        Target("t1", "Phone", TargetKind.WEBHOOK, "https://hook", events, "k", True, NOW)
    )
    user = await store.insert_user("Ann", "ann", "hash", "admin", "local", NOW)
    await store.insert_login_session("login", user.id, NOW, NOW + dt.timedelta(days=30))
    await store.insert_api_key(KeyRow(ApiKeyView("k1", "cli", "ab…cd", NOW, None, user.id), "kh"))
    await store.insert_invite("invite", "user", NOW, NOW + dt.timedelta(days=1))


async def _snapshot(store: Store) -> dict[str, object]:
    return {
        "jobs": await store.list_jobs(),
        "sessions": [(s.id, s.jobs) for s in await store.session_summaries()],
        "meta": await store.get_meta("server_secret"),
        "overrides": await store.get_setting_overrides(),
        "errors": await store.list_errors(10),
        "archive": await store.archive_keys(None),
        "subscriptions": await store.list_subscriptions(),
        "seen": await store.seen_items("sub-1"),
        "history": await store.check_history("sub-1"),
        "presets": await store.list_presets(),
        "targets": await store.list_targets(),
        "users": await store.list_users(),
        "keys": await store.list_api_keys(None),
        "login": await store.login_session_user("login", NOW),
        "invite": await store.invite_valid("invite", NOW),
    }


def test_db_copy_moves_every_table_into_an_empty_database(
    environment: Path, database: Path | str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "old.sqlite3"
    target = tmp_path / "new.sqlite3" if isinstance(database, Path) else database

    async def fill() -> dict[str, object]:
        async with Store.open(source) as store:
            await _fill(store)
            return await _snapshot(store)

    before = trio.run(fill)
    assert main(["db", "copy", "--from", _url(source), "--to", _url(target), "--batch", "1"]) == 0
    out = capsys.readouterr().out
    assert "jobs" in out and "copied" in out

    async def check() -> None:
        async with Store.open(target) as store:
            assert await _snapshot(store) == before
            # new rows get new ids after the copied ones
            user = await store.insert_user("Bob", "bob", None, "user", "local", NOW)
            assert user.id == 2
            await store.insert_preset(Preset(id="later", name="Later"))
            await store.insert_error(ErrorEntry(NOW, "j", "s", "u", "c", "m"))
            assert len(await store.list_errors(10)) == 2

    trio.run(check)
    # a second copy into the same (now full) database is refused, and says why
    assert main(["db", "copy", "--from", _url(source), "--to", _url(target)]) == 1
    assert "not empty" in capsys.readouterr().err
