"""``mediarip db migrate`` and ``mediarip db copy``: the database's maintenance, without the
server.

``migrate`` brings the database ``database.url`` names (or the default SQLite file) to the
schema this mediarip expects, and exits: what every start does anyway, for deployments that
want it as a step of its own (before starting several processes, say). ``copy`` moves an
install from one database to another (SQLite to PostgreSQL, typically): both are migrated
first, then every row is copied into the empty target (:mod:`mediarip.store._copy`).

Each prints what it did on stdout and returns the process's exit code; problems are one line on
stderr, exit code 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import trio

from .config import Settings
from .database_url import EXPECTED, parse_database_url
from .store import StorageError, Store, database_location, open_store
from .store._copy import TargetNotEmpty, copy_database
from .store._migrate import head_revision

__all__ = ["copy", "migrate"]


def _fail(message: str) -> int:
    print(f"mediarip: {message}", file=sys.stderr)
    return 1


def migrate(settings: Settings) -> int:
    async def run() -> None:
        async with open_store(settings) as store:
            where = store.path if store.dialect == "sqlite" else f"{store.path} (PostgreSQL)"
            print(f"database {where}: schema at revision {head_revision()}")

    try:
        trio.run(run)
    except (StorageError, RuntimeError) as exc:
        return _fail(f"cannot migrate the database: {exc}")
    return 0


def _location(value: str) -> Path | str:
    parse_database_url(value)  # raises ValueError with the reason
    return value


def copy(source: str, target: str, *, batch: int = 1000) -> int:
    """Copy every table of the database at ``source`` into the empty one at ``target``."""
    locations = []
    for name, value in (("--from", source), ("--to", target)):
        try:
            locations.append(_location(value))
        except ValueError as exc:
            return _fail(f"{name}: expected {EXPECTED} ({exc})")
    if parse_database_url(source) == parse_database_url(target):
        return _fail("--from and --to name the same database")

    shown: dict[str, int] = {}

    def progress(table: str, rows: int) -> None:
        shown[table] = rows  # the final counts are printed at the end

    async def run() -> dict[str, int]:
        async with Store.open(locations[0]) as origin, Store.open(locations[1]) as into:
            return await copy_database(origin, into, batch=batch, progress=progress)

    try:
        counts = trio.run(run)
    except TargetNotEmpty as exc:
        return _fail(str(exc))
    except (StorageError, RuntimeError) as exc:
        return _fail(f"cannot copy: {exc}")
    width = max(len(table) for table in counts)
    for table, rows in counts.items():
        print(f"{table:<{width}}  {rows:>9}")
    print(f"copied {sum(counts.values())} rows in {len(counts)} tables")
    return 0


def default_location(settings: Settings) -> str:
    """The database the settings name, as a URL (what ``--from`` defaults to)."""
    location = database_location(settings)
    return f"sqlite:///{location}" if isinstance(location, Path) else location
