"""The download archive: yt-dlp's archive keys ("<extractor> <id>") of everything downloaded
through media-rip, per session. It outlives the jobs, so nothing is fetched twice by accident."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence

import attrs

from ._base import StoreBase, utc_iso

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
        scope = "" if session_id is None else " AND session_id = ?"
        extra = [] if session_id is None else [session_id]

        def query() -> tuple[set[str], set[str]]:
            found_keys: set[str] = set()
            found_urls: set[str] = set()
            for column, values, found in (
                ("key", wanted_keys, found_keys),
                ("url", wanted_urls, found_urls),
            ):
                for start in range(0, len(values), 500):
                    chunk = values[start : start + 500]
                    marks = ", ".join("?" for _ in chunk)
                    sql = (
                        f"SELECT DISTINCT {column} FROM archive WHERE {column} IN ({marks}){scope}"
                    )
                    found.update(r[0] for r in self._db.execute(sql, [*chunk, *extra]))
            return found_keys, found_urls

        return await self._call(query)

    async def add_to_archive(self, entries: Iterable[ArchiveEntry]) -> int:
        """Record entries (a key already there for that session is kept); how many were new."""
        batch = list(entries)
        return await self._call(self._write, lambda db: insert_archive(db, batch))

    async def archive_keys(self, session_id: str | None) -> list[str]:
        """Every archive key (``session_id=None``: everyone's), oldest first, each once."""
        if session_id is None:
            sql, params = (
                "SELECT key FROM archive WHERE key IS NOT NULL GROUP BY key ORDER BY min(seq)",
                [],
            )
        else:
            sql = "SELECT key FROM archive WHERE key IS NOT NULL AND session_id = ? ORDER BY seq"
            params = [session_id]
        return await self._call(lambda: [r[0] for r in self._db.execute(sql, params)])

    async def forget_archived(self, session_id: str | None, key: str) -> int:
        """Remove ``key`` from the archive (so it can be taken again); how many rows went."""
        sql, params = "DELETE FROM archive WHERE key = ?", [key]
        if session_id is not None:
            sql, params = f"{sql} AND session_id = ?", [key, session_id]
        return await self._call(self._write, lambda db: db.execute(sql, params).rowcount)


def insert_archive(db: sqlite3.Connection, entries: Sequence[ArchiveEntry]) -> int:
    before = db.total_changes
    db.executemany(
        "INSERT OR IGNORE INTO archive (session_id, key, url, title, job_id, subscription_id, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (e.session_id, e.key, e.url, e.title, e.job_id, e.subscription_id, utc_iso(e.at))
            for e in entries
        ],
    )
    return db.total_changes - before
