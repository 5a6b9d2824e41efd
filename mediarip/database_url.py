"""``database.url``: which engine, and where.

``sqlite:///path`` (three slashes, then the path: four for an absolute one) or
``postgresql://user:password@host:port/name``. PostgreSQL always goes through psycopg 3, so a
URL naming another driver (``postgresql+asyncpg://``) is refused rather than half-honoured.
"""

from __future__ import annotations

from pathlib import Path

import attrs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["EXPECTED", "DatabaseUrl", "parse_database_url"]

#: What a ``database.url`` looks like, for messages.
EXPECTED = "sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME"

_POSTGRESQL_DRIVERS = ("postgresql", "postgresql+psycopg", "postgres")


@attrs.frozen
class DatabaseUrl:
    """A checked ``database.url``: ``backend`` "sqlite" with a file, or "postgresql"."""

    backend: str
    sqlite_path: Path | None = None
    sqlalchemy_url: str = ""
    #: The URL with its password hidden, for logs and messages.
    shown: str = ""


def parse_database_url(value: str) -> DatabaseUrl:
    """Raises ValueError saying in a few words what is wrong (the caller names the setting
    and shows :data:`EXPECTED`)."""
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError("not a URL") from None
    if url.drivername == "sqlite":
        if not url.database or url.database == ":memory:" or url.host:
            raise ValueError("a SQLite URL names a file after three slashes")
        path = Path(url.database)
        return DatabaseUrl("sqlite", path, str(url), str(url))
    if url.drivername in _POSTGRESQL_DRIVERS:
        if not url.database:
            raise ValueError("no database name after the host")
        real = url.set(drivername="postgresql+psycopg")
        shown = real.set(drivername="postgresql").render_as_string(hide_password=True)
        return DatabaseUrl("postgresql", None, real.render_as_string(hide_password=False), shown)
    raise ValueError(f"{url.drivername} is not supported")
