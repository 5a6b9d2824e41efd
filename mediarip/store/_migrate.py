"""Bringing a database to the schema this code expects, on either engine, at every start.

Alembic's revisions (``migrations/versions``, shipped in the package and run from here: no
``alembic.ini`` at runtime) are the one history from now on. Before them, SQLite databases were
migrated by the hand-written chain of :mod:`._migrations`, counted in ``PRAGMA user_version``
(1-7). The first revision *is* version 7, so the two histories meet there:

- a new, empty database (either engine) is built at the newest revision in one step, as
  Alembic's cookbook has it ("create_all, then stamp head"): the tables from :mod:`._schema`,
  the seeded rows and the version, without importing Alembic (~10 MB that stayed in a new
  install's memory, and every test server's start-up). A test holds the result equal to what
  the revisions build;
- a SQLite database at version 7 is stamped with the first revision and carries on;
- an older SQLite database (1-6) first runs the rest of the old chain to 7, then is stamped;
- a ``user_version`` above 7 is a newer mediarip's: refused, as before.

``user_version`` stays at 7 while the schema is version 7's, so the mediarip that came before
Alembic still opens a database made now; a revision that changes the schema should raise it to
lock that mediarip out with its own "newer than this mediarip knows" message.

On PostgreSQL a session-level advisory lock serialises migrations, so several processes
starting together against one database do not race to create the same tables.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    column,
    func,
    insert,
    inspect,
    select,
    table,
)

from ._migrations import MIGRATIONS, migrate
from ._schema import SEEDED_PRESETS, metadata, presets

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

__all__ = ["BASELINE", "HEAD", "current_revision", "head_revision", "upgrade"]

#: The first Alembic revision: the schema of the old chain's version 7.
BASELINE = "0001"
#: The newest revision under ``migrations/versions`` (a test holds it to Alembic's own head).
#: A database already there, the usual start, is checked without importing Alembic: its
#: ~10 MB would otherwise stay in the server's memory for good. Raise it with each revision.
HEAD = "0002"
_VERSION_TABLE = table("alembic_version", column("version_num"))
#: Alembic's version table as Alembic itself declares it (``MigrationContext``), for the
#: one-step build of a new database.
_NEW_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)
_LEGACY_VERSION = len(MIGRATIONS)
log = logging.getLogger("mediarip.store")
#: Serialises migrations on PostgreSQL ("migrate" in ASCII; any 64-bit number would do).
_MIGRATION_LOCK = 0x6D696772617465


def _scripts() -> ScriptDirectory:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection) -> None:
    """Migrate the database behind ``connection`` to the newest revision, then commit.
    Runs in a worker thread (it blocks)."""
    if _at_head(connection):
        return
    if connection.dialect.name == "postgresql":
        # PostgreSQL-only SQL: held until unlocked below, across Alembic's own transaction.
        connection.execute(select(func.pg_advisory_lock(_MIGRATION_LOCK)))
        connection.commit()
        try:
            _build_or_upgrade(connection)  # another process may have done it meanwhile
        finally:
            connection.execute(select(func.pg_advisory_unlock(_MIGRATION_LOCK)))
            connection.commit()
    else:
        _adopt_legacy_sqlite(connection)
        _build_or_upgrade(connection)


def _build_or_upgrade(connection: Connection) -> None:
    if _is_empty(connection):
        _build_new(connection)
    else:
        _upgrade(connection)


def _is_empty(connection: Connection) -> bool:
    """No table at all (and, on SQLite, no version of the old chain either)."""
    try:
        if inspect(connection).get_table_names():
            return False
        if connection.dialect.name == "sqlite":
            version: int = connection.exec_driver_sql("PRAGMA user_version").scalar_one()
            return version == 0
        return True
    finally:
        connection.rollback()


def _build_new(connection: Connection) -> None:
    """Build an empty database at :data:`HEAD` in one transaction, without Alembic."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # as in _upgrade: all of it or nothing
    try:
        metadata.create_all(connection)
        connection.execute(insert(presets), list(SEEDED_PRESETS))
        if sqlite:  # the old chain's counter, as the first revision sets it
            connection.exec_driver_sql(f"PRAGMA user_version = {_LEGACY_VERSION}")
        _NEW_VERSION_TABLE.create(connection)
        connection.execute(insert(_NEW_VERSION_TABLE).values(version_num=HEAD))
    except BaseException:
        connection.rollback()
        raise
    connection.commit()
    log.info("new database built at schema revision %s", HEAD)


def _at_head(connection: Connection) -> bool:
    """Whether the database is at :data:`HEAD` already (read with plain SQL, no Alembic)."""
    try:
        if "alembic_version" not in inspect(connection).get_table_names():
            return False
        versions = connection.execute(select(_VERSION_TABLE.c.version_num)).scalars().all()
    finally:
        connection.rollback()  # end the read's transaction: the migration opens its own
    return versions == [HEAD]


def _upgrade(connection: Connection) -> None:
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext
    from alembic.util import CommandError

    scripts = _scripts()
    before = current_revision(connection)
    if before == scripts.get_current_head():
        return  # the usual start: nothing to do, and no Alembic environment to set up

    def steps(revision: Any, context: Any) -> Any:
        return scripts._upgrade_revs("head", revision)  # what `alembic upgrade head` does

    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # The driver is in autocommit; our own transaction makes the whole upgrade (DDL
        # included: SQLite's is transactional) happen or not.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        with EnvironmentContext(Config(), scripts, fn=steps, destination_rev="head") as env:
            env.configure(connection=connection, target_metadata=metadata)
            with env.begin_transaction():
                env.run_migrations()
    except CommandError as exc:
        connection.rollback()
        raise RuntimeError(
            f"the database's schema ({exc}) is newer than this mediarip knows; upgrade "
            "mediarip or restore a backup"
        ) from None
    except BaseException:
        connection.rollback()
        raise
    connection.commit()
    log.info("database schema migrated from %s to %s", before or "nothing", head_revision())


def _adopt_legacy_sqlite(connection: Connection) -> None:
    """Run the rest of the old chain on a SQLite database made before Alembic, and stamp it."""
    raw = connection.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    version = raw.execute("PRAGMA user_version").fetchone()[0]
    if version > _LEGACY_VERSION:
        raise RuntimeError(
            f"the database is at schema version {version}, newer than this mediarip knows "
            f"({_LEGACY_VERSION}); upgrade mediarip or restore a backup"
        )
    if version == 0:
        return  # a new database: the revisions build it
    if "alembic_version" in inspect(connection).get_table_names():
        return  # adopted already
    from alembic.runtime.migration import MigrationContext

    migrate(raw)  # to version 7, each step its own transaction (as it always was)
    connection.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        MigrationContext.configure(connection).stamp(_scripts(), BASELINE)
    except BaseException:
        connection.rollback()
        raise
    connection.commit()
