"""``mediarip db copy``: every row of one database into another, engine to engine.

The target must be migrated and empty (a database holding anything but the two presets a new
database starts with is refused: merging two installs' ids is not something to guess at). The
whole copy is one transaction on the target, so a failure leaves it empty and the command can
simply be run again. Tables go parents first (:data:`._schema.TABLES_IN_ORDER`), each in
batches in primary-key order (keyset paging: no OFFSET that slows down as it goes), with the
ids kept, since other rows and cookies refer to them. PostgreSQL's sequences are then moved
past the copied ids; SQLite's AUTOINCREMENT follows inserted ids by itself.

The copy runs in the target's worker thread and reads the source from there: it is meant for
a process that uses both databases for nothing else (the command), not for a running server.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Table, func, insert, select, tuple_

from ._schema import SEEDED_PRESETS, TABLES_IN_ORDER, presets
from ._store import Store

__all__ = ["TargetNotEmpty", "copy_database"]

#: The preset ids a new database starts with: not "data" to refuse.
_SEEDED_PRESETS = frozenset(preset["id"] for preset in SEEDED_PRESETS)


class TargetNotEmpty(Exception):
    """The target database holds data already."""


async def copy_database(
    source: Store, target: Store, *, batch: int = 1000, progress: Callable[[str, int], None]
) -> dict[str, int]:
    """Copy every table of ``source`` into ``target``; rows copied per table. Calls
    ``progress(table, rows so far)`` after each batch (from the worker thread)."""

    def copy_all(into: Connection) -> dict[str, int]:
        _refuse_unless_empty(into)
        into.execute(presets.delete())  # the source's presets replace the seeded ones
        return source._run_read(lambda origin: _copy_tables(origin, into, batch, progress))

    return await target._write(copy_all)


def _refuse_unless_empty(into: Connection) -> None:
    filled = []
    for table in TABLES_IN_ORDER:
        if table is presets:
            ids = set(into.execute(select(presets.c.id)).scalars())
            if ids - _SEEDED_PRESETS:
                filled.append(table.name)
        elif into.execute(select(func.count()).select_from(table)).scalar_one():
            filled.append(table.name)
    if filled:
        raise TargetNotEmpty(
            "the target database is not empty (it has rows in "
            f"{', '.join(filled)}): copy into a new, empty database"
        )


def _copy_tables(
    origin: Connection, into: Connection, batch: int, progress: Callable[[str, int], None]
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in TABLES_IN_ORDER:
        counts[table.name] = _copy_table(origin, into, table, batch, progress)
    if into.dialect.name == "postgresql":
        _move_sequences(into)
    return counts


def _copy_table(
    origin: Connection,
    into: Connection,
    table: Table,
    batch: int,
    progress: Callable[[str, int], None],
) -> int:
    key = list(table.primary_key.columns)
    copied, last = 0, None
    while True:
        query = select(table).order_by(*key).limit(batch)
        if last is not None:
            query = query.where(tuple_(*key) > tuple_(*last))
        rows = origin.execute(query).mappings().all()
        if not rows:
            return copied
        into.execute(insert(table), [dict(row) for row in rows])
        copied += len(rows)
        last = [rows[-1][column.name] for column in key]
        progress(table.name, copied)


def _move_sequences(into: Connection) -> None:
    """Each serial column's sequence past the largest id copied (PostgreSQL-only functions)."""
    for table in TABLES_IN_ORDER:
        column = table.autoincrement_column
        if column is None:
            continue
        largest = func.coalesce(select(func.max(column)).scalar_subquery(), 0)
        sequence = func.pg_get_serial_sequence(table.name, column.name)
        into.execute(select(func.setval(sequence, largest + 1, False)))
