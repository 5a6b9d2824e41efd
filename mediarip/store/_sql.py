"""The few statements portable Core cannot say: an insert that skips, or updates, a row whose
key is already there. Both engines have ``INSERT … ON CONFLICT``, but SQLAlchemy offers it only
through each dialect's own ``insert``; this module picks the one the connection speaks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_ignore", "upsert"]


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
