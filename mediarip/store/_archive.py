"""The download archive: yt-dlp's archive keys ("<extractor> <id>") of everything downloaded
through media-rip, per session. It outlives the jobs, so nothing is fetched twice by accident."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import attrs
from sqlalchemy import Connection, delete, func, select

from ._base import StoreBase, utc_iso
from ._schema import archive
from ._sql import insert_ignore

__all__ = ["ArchiveEntry", "ArchiveTable", "insert_archive"]


@attrs.frozen
class ArchiveEntry:
    """An item downloaded through media-rip: yt-dlp's archive key (None when yt-dlp did not
    tell one), where it came from, and which job and subscription got it."""

    session_id: str
    key: str | None
    url: str | None
    at: dt.datetime
    title: str | None = None
    job_id: str | None = None
    subscription_id: str | None = None


class ArchiveTable(StoreBase):
    async def archived(
        self, session_id: str | None, keys: Iterable[str], urls: Iterable[str]
    ) -> tuple[set[str], set[str]]:
        """Which of ``keys`` and which of ``urls`` the archive holds (``session_id=None``:
        anyone's archive)."""
        wanted_keys, wanted_urls = sorted(set(keys)), sorted(set(urls))

        def query(db: Connection) -> tuple[set[str], set[str]]:
            found_keys: set[str] = set()
            found_urls: set[str] = set()
            for column, values, found in (
                (archive.c.key, wanted_keys, found_keys),
                (archive.c.url, wanted_urls, found_urls),
            ):
                for start in range(0, len(values), 500):
                    chunk = values[start : start + 500]
                    statement = select(column).distinct().where(column.in_(chunk))
                    if session_id is not None:
                        statement = statement.where(archive.c.session_id == session_id)
                    found.update(r[0] for r in db.execute(statement))
            return found_keys, found_urls

        return await self._read(query)

    async def add_to_archive(self, entries: Iterable[ArchiveEntry]) -> int:
        """Record entries (a key already there for that session is kept); how many were new."""
        batch = list(entries)
        return await self._write(lambda db: insert_archive(db, batch))

    async def archive_keys(self, session_id: str | None) -> list[str]:
        """Every archive key (``session_id=None``: everyone's), oldest first, each once."""
        key = archive.c.key
        if session_id is None:
            query = (
                select(key).where(key.is_not(None)).group_by(key).order_by(func.min(archive.c.seq))
            )
        else:
            query = (
                select(key)
                .where(key.is_not(None), archive.c.session_id == session_id)
                .order_by(archive.c.seq)
            )
        return await self._read(lambda db: [r[0] for r in db.execute(query)])

    async def forget_archived(self, session_id: str | None, key: str) -> int:
        """Remove ``key`` from the archive (so it can be taken again); how many rows went."""
        gone = delete(archive).where(archive.c.key == key)
        if session_id is not None:
            gone = gone.where(archive.c.session_id == session_id)
        return await self._write(lambda db: int(db.execute(gone).rowcount))


def insert_archive(db: Connection, entries: Sequence[ArchiveEntry]) -> int:
    """Insert each entry unless its session has its key already; how many went in."""
    return sum(
        insert_ignore(
            db,
            archive,
            {
                "session_id": e.session_id,
                "key": e.key,
                "url": e.url,
                "title": e.title,
                "job_id": e.job_id,
                "subscription_id": e.subscription_id,
                "at": utc_iso(e.at),
            },
        )
        for e in entries
    )
