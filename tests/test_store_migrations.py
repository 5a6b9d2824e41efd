"""Migrations: a database from before Alembic carries on with its data, and a new one is built
the same as the old chain built it.

The "old" databases here are made by the old chain itself (``mediarip.store.MIGRATIONS``, the
SQL that made every SQLite database before Alembic, kept unchanged in the package), run on a
raw sqlite3 connection exactly as the pre-Alembic store ran it, with rows written in plain SQL.
That is a real version-7 file as the previous code left it, without a binary fixture to keep.
"""

from __future__ import annotations

import importlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from sqlalchemy import create_engine, inspect

from mediarip.models import JobStatus
from mediarip.store import MIGRATIONS, Store, _migrate
from mediarip.store._migrate import HEAD, head_revision
from mediarip.store._migrations import migrate
from mediarip.store._schema import SEEDED_PRESETS, metadata
from tests.postgres import Cluster

STAMP = "2026-11-30T10:00:00.000+00:00"


def _old_database(path: Path, version: int = len(MIGRATIONS)) -> None:
    """A SQLite file at ``version`` as the old chain made it."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    if version == len(MIGRATIONS):
        migrate(db)
    else:
        for number, script in enumerate(MIGRATIONS[:version], start=1):
            for statement in script.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
    db.close()


def _fill(path: Path) -> None:
    """Rows in the tables the old store wrote, in its own SQL."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "INSERT INTO jobs (id, session_id, kind, url, title, status, media_type, progress, "
        "created_at, finished_at, filesize) VALUES ('job-1', 's1', 'single', 'https://e/v', "
        f"'Old title', 'completed', 'video', 100, '{STAMP}', '{STAMP}', 1234)"
    )
    db.execute(f"INSERT INTO sessions VALUES ('s1', '{STAMP}', '{STAMP}')")
    db.execute("INSERT INTO meta VALUES ('server_secret', 'old-secret')")
    db.execute("""INSERT INTO setting_overrides VALUES ('downloads.max_concurrent', '5')""")
    db.execute(
        "INSERT INTO archive (session_id, key, url, at) "
        f"VALUES ('s1', 'youtube abc', 'https://e/v', '{STAMP}')"
    )
    db.execute(
        "INSERT INTO users (username, name_key, role, source, created_at) "
        f"VALUES ('Ann', 'ann', 'admin', 'local', '{STAMP}')"
    )
    db.close()


async def test_a_version_7_database_keeps_its_data_and_is_stamped(tmp_path: Path) -> None:
    path = tmp_path / "mediarip.sqlite3"
    _old_database(path)
    _fill(path)
    async with Store.open(path) as store:
        job = await store.get_job("job-1")
        assert job is not None
        assert (job.title, job.status, job.filesize) == ("Old title", JobStatus.COMPLETED, 1234)
        assert await store.get_meta("server_secret") == "old-secret"
        assert await store.get_setting_overrides() == {"downloads.max_concurrent": 5}
        assert await store.archived("s1", ["youtube abc"], []) == ({"youtube abc"}, set())
        assert [u.username for u in await store.list_users()] == ["Ann"]
        assert len(await store.list_presets()) == 2  # version 4's, not added twice
        # and it takes writes: a new user gets the next id
        user = await store.insert_user("Bob", "bob", None, "user", "local", job.created_at)
        assert user.id == 2
    db = sqlite3.connect(path)
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_an_older_database_runs_the_rest_of_the_old_chain_first(tmp_path: Path) -> None:
    path = tmp_path / "mediarip.sqlite3"
    _old_database(path, version=3)
    async with Store.open(path) as store:
        assert len(await store.list_presets()) == 2  # made by version 4
        assert await store.count_users() == 0  # version 7's table
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD


def _shape(path: Path) -> dict[str, object]:
    """Everything about a SQLite schema that matters: columns (name, type, nullability,
    default, key), indexes (unique, partial, columns with their collation)."""
    db = sqlite3.connect(path)
    shape: dict[str, object] = {}
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in sorted(set(tables) - {"sqlite_sequence", "alembic_version"}):
        shape[table] = [
            # an INTEGER PRIMARY KEY is never NULL, however it was declared
            (name, kind, bool(notnull) and not pk, default, pk)
            for _, name, kind, notnull, default, pk in db.execute(f"PRAGMA table_info({table})")
        ]
        for _, index, unique, _origin, partial in db.execute(f"PRAGMA index_list({table})"):
            columns = [
                (r[2], r[3], r[4]) for r in db.execute(f"PRAGMA index_xinfo({index})") if r[5]
            ]
            shape[f"{table}.{index}"] = (unique, partial, columns)
    db.close()
    return shape


async def test_a_new_database_is_built_as_the_old_chain_built_version_7(tmp_path: Path) -> None:
    """The old chain's version 7, stamped and taken through the later revisions, has the
    shape a new database is given in one step; and version 7's tables are as the chain made
    them (the baseline revision is version 7)."""
    _old_database(tmp_path / "old.sqlite3")
    version_7 = _shape(tmp_path / "old.sqlite3")
    async with Store.open(tmp_path / "old.sqlite3"):
        pass
    async with Store.open(tmp_path / "new.sqlite3"):
        pass
    new = _shape(tmp_path / "new.sqlite3")
    assert _shape(tmp_path / "old.sqlite3") == new
    baseline = importlib.import_module("mediarip.store.migrations.versions.0001_baseline")
    kept = {k: v for k, v in new.items() if k.split(".")[0] in baseline.VERSION_7_TABLES}
    assert kept == version_7


async def test_every_table_is_made_on_either_engine(database: Path | str) -> None:
    async with Store.open(database) as store:
        tables = await store._read(lambda db: set(inspect(db).get_table_names()))
    assert tables == set(metadata.tables) | {"alembic_version"}


def test_a_database_of_a_newer_mediarip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mediarip.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA user_version = 7")
        connection.exec_driver_sql("CREATE TABLE alembic_version (version_num TEXT)")
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('9999')")
    engine.dispose()

    async def open_it() -> None:
        async with Store.open(path):
            pass

    with pytest.raises(RuntimeError, match="newer than this mediarip"):
        trio.run(open_it)


def test_the_head_the_usual_start_checks_is_alembics_own() -> None:
    """``HEAD`` lets a start skip importing Alembic; it must name the newest revision."""
    assert head_revision() == HEAD


def test_a_database_at_the_head_opens_without_importing_alembic(tmp_path: Path) -> None:
    code = (
        "import sys, trio\n"
        "from pathlib import Path\n"
        "from mediarip.store import Store\n"
        "async def main():\n"
        "    async with Store.open(Path(sys.argv[1])):\n"
        "        pass\n"
        "trio.run(main)\n"
        "print('alembic' in sys.modules)\n"
    )
    path = tmp_path / "mediarip.sqlite3"
    first = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    again = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert first.stdout.split() == ["False"]  # a new database: built in one step
    assert again.stdout.split() == ["False"]  # at the head already: Alembic not needed


def _everything(path: Path) -> dict[str, object]:
    """A SQLite database's whole schema as SQLite keeps it, its counter and its rows."""
    db = sqlite3.connect(path)
    everything: dict[str, object] = {
        "schema": sorted(db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")),
        "user_version": db.execute("PRAGMA user_version").fetchone()[0],
    }
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        everything[name] = sorted(db.execute(f"SELECT * FROM {name}"))
    db.close()
    return everything


def test_a_new_database_built_in_one_step_is_what_the_revisions_build(tmp_path: Path) -> None:
    """The one-step build (no Alembic) and Alembic's revisions run from nothing give the same
    file: every table, index and constraint as SQLite stores its SQL, the version, the rows."""
    one_step = tmp_path / "one-step.sqlite3"
    trio.run(_open_and_close, one_step)
    by_revisions = tmp_path / "revisions.sqlite3"
    engine = create_engine(f"sqlite:///{by_revisions}", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        _migrate._upgrade(connection)  # what a new database went through before
    engine.dispose()
    built = _everything(one_step)
    assert built == _everything(by_revisions)
    assert built["alembic_version"] == [(HEAD,)]
    assert len(built["presets"]) == len(SEEDED_PRESETS)  # type: ignore[arg-type]


async def _open_and_close(path: Path | str) -> None:
    async with Store.open(path):
        pass


def _reflected(url: str) -> dict[str, object]:
    """A PostgreSQL database's tables, columns, keys, indexes and constraints, and its rows."""
    engine = create_engine(url.replace("://", "+psycopg://", 1))
    with engine.connect() as connection:
        seen = inspect(connection)
        reflected: dict[str, object] = {}
        for name in sorted(seen.get_table_names()):
            reflected[name] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], c["default"])
                    for c in seen.get_columns(name)
                ],
                "key": seen.get_pk_constraint(name),
                "indexes": sorted(map(repr, seen.get_indexes(name))),
                "unique": sorted(map(repr, seen.get_unique_constraints(name))),
                "foreign": sorted(map(repr, seen.get_foreign_keys(name))),
                "rows": sorted(map(tuple, connection.exec_driver_sql(f'SELECT * FROM "{name}"'))),
            }
    engine.dispose()
    return reflected


def test_on_postgresql_too_the_one_step_build_is_what_the_revisions_build(
    postgres: Cluster,
) -> None:
    one_step = postgres.new_database("template0")
    trio.run(_open_and_close, one_step)
    by_revisions = postgres.new_database("template0")
    engine = create_engine(by_revisions.replace("://", "+psycopg://", 1))
    with engine.connect() as connection:
        _migrate._upgrade(connection)
    engine.dispose()
    built = _reflected(one_step)
    assert built == _reflected(by_revisions)
    assert set(built) == set(metadata.tables) | {"alembic_version"}
    assert built["alembic_version"]["rows"] == [(HEAD,)]  # type: ignore[index]
