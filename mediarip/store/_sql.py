"""Two helpers over Core.

The few statements portable Core cannot say: an insert that skips, or updates, a row whose key
is already there. Both engines have ``INSERT … ON CONFLICT``, but SQLAlchemy offers it only
through each dialect's own ``insert``; :func:`insert_ignore` and :func:`upsert` pick the one the
connection speaks.

And :func:`run_hot`, for the two statements the app runs most (a job's progress write, a job
read). Going through SQLAlchemy's execution (context, result, row objects) costs ~50 µs a
statement, as much as SQLite takes to run it; on SQLite these statements are compiled once by
SQLAlchemy and then run on the sqlite3 connection directly. They are still Core expressions,
compiled by SQLAlchemy: only the per-call machinery is skipped. On PostgreSQL the network costs
more than that machinery, and they go through SQLAlchemy as usual.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Insert, Select, Table, Update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

__all__ = ["insert_ignore", "run_hot", "run_hot_many", "upsert"]

_SQLITE = sqlite.dialect()


@functools.cache
def _compiled_for_sqlite(
    statement: Select[Any] | Update | Insert, columns: tuple[str, ...] | None = None
) -> tuple[str, tuple[str, ...]]:
    """The SQL and the order of its parameters (``?`` placeholders); for an INSERT without
    values, ``columns`` names the columns given."""
    compiled = statement.compile(dialect=_SQLITE, column_keys=list(columns or ()) or None)
    names = compiled.positiontup
    assert names is not None
    return compiled.string, tuple(names)


def run_hot(
    connection: Connection, statement: Select[Any] | Update, params: Mapping[str, Any]
) -> Sequence[Any] | None:
    """Run one of the hot statements (made once, at import or by a cached builder: the SQL is
    cached per statement object) with ``params`` by name; its first row, if it gives rows.
    Without expanding parameters (``IN``) and only with values sqlite3 takes as they are
    (text, numbers, None)."""
    if connection.dialect.name != "sqlite":
        result = connection.execute(statement, dict(params))
        return result.first() if result.returns_rows else None
    sql, names = _compiled_for_sqlite(statement)
    db = _sqlite3(connection)
    try:
        cursor = db.execute(sql, [params[name] for name in names])
    except sqlite3.Error as exc:
        raise _wrapped(sql, params, exc) from exc
    try:
        row: Sequence[Any] | None = cursor.fetchone()
    finally:
        # Closed here, in the thread that holds the connection: a cursor finalised later by
        # another thread resets its statement under whoever holds the connection then.
        cursor.close()
    return row


def run_hot_many(
    connection: Connection, statement: Insert, rows: Sequence[Mapping[str, Any]]
) -> None:
    """:func:`run_hot` for an INSERT of ``rows`` (each with the same columns)."""
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        connection.execute(statement, [dict(row) for row in rows])
        return
    sql, names = _compiled_for_sqlite(statement, tuple(rows[0]))
    db = _sqlite3(connection)
    try:
        db.executemany(sql, [[row[name] for name in names] for row in rows]).close()
    except sqlite3.Error as exc:
        raise _wrapped(sql, rows, exc) from exc


def _sqlite3(connection: Connection) -> sqlite3.Connection:
    db = connection.connection.driver_connection
    assert isinstance(db, sqlite3.Connection)
    return db


def _wrapped(
    sql: str, params: Mapping[str, Any] | Sequence[Mapping[str, Any]], exc: sqlite3.Error
) -> BaseException:
    """The error SQLAlchemy would have raised (``IntegrityError`` for a clash...), so callers
    see the same errors on both paths and both engines."""
    return DBAPIError.instance(sql, params, exc, sqlite3.Error, hide_parameters=True)


def _insert(connection: Connection, table: Table) -> Any:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(connection: Connection, table: Table, row: Mapping[str, Any]) -> int:
    """Insert ``row`` unless it clashes with a unique key; 1 when it went in, else 0."""
    statement = _insert(connection, table).values(row).on_conflict_do_nothing()
    return int(connection.execute(statement).rowcount)


def upsert(
    connection: Connection,
    table: Table,
    rows: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    changes: Sequence[str] | None = None,
) -> None:
    """Insert ``rows``; a row whose ``keys`` (a unique key) are there already gets its
    ``changes`` columns (None: every other column) from the new one."""
    statement = _insert(connection, table)
    first = rows if isinstance(rows, Mapping) else (rows[0] if rows else None)
    if first is None:
        return
    names = [name for name in first if name not in keys] if changes is None else changes
    updated = {name: statement.excluded[name] for name in names}
    statement = statement.on_conflict_do_update(index_elements=list(keys), set_=updated)
    connection.execute(statement, rows if not isinstance(rows, Mapping) else [rows])
