"""Sending files from disk under trio, with Range, ETag and a proper Content-Disposition.

Quart's own ``send_file`` reads through aiofiles, which needs an asyncio loop; there is none in
this process, so this module streams with ``trio.open_file`` instead.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import trio
from quart import Request, Response
from quart.wrappers.response import ResponseBody

__all__ = ["content_disposition", "file_response"]

CHUNK = 256 * 1024


class TrioFileBody(ResponseBody):
    """A file (or a range of it) as an async iterable of chunks."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self.begin = 0
        self.end = size
        self._file: Any = None
        self._position = 0

    async def __aenter__(self) -> TrioFileBody:
        self._file = await trio.open_file(self.path, "rb")
        await self._file.seek(self.begin)
        self._position = self.begin
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            with trio.CancelScope(shield=True):
                await self._file.aclose()

    def __aiter__(self) -> TrioFileBody:
        return self

    async def __anext__(self) -> bytes:
        if self._position >= self.end:
            raise StopAsyncIteration
        chunk: bytes = await self._file.read(min(CHUNK, self.end - self._position))
        if not chunk:
            raise StopAsyncIteration
        self._position += len(chunk)
        return chunk

    async def make_conditional(self, begin: int, end: int | None) -> int:
        if begin < 0 or begin >= self.size:
            from werkzeug.exceptions import RequestedRangeNotSatisfiable

            raise RequestedRangeNotSatisfiable(length=self.size)
        self.begin = begin
        self.end = self.size if end is None else min(end, self.size)
        return self.size


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the real name per RFC 6266 / RFC 5987."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def file_response(
    request: Request,
    path: Path,
    *,
    attachment_name: str | None = None,
    cache_control: str | None = None,
    content_type: str | None = None,
) -> Response:
    stat = await trio.to_thread.run_sync(os.stat, path)
    mimetype = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = Response(TrioFileBody(path, stat.st_size), content_type=mimetype)
    response.content_length = stat.st_size
    response.last_modified = stat.st_mtime  # type: ignore[assignment]
    response.set_etag(f"{stat.st_ino:x}-{stat.st_size:x}-{int(stat.st_mtime * 1000):x}")
    if attachment_name is not None:
        response.headers["Content-Disposition"] = content_disposition(attachment_name)
    if cache_control is not None:
        response.headers["Cache-Control"] = cache_control
    return await response.make_conditional(
        request, accept_ranges=True, complete_length=stat.st_size
    )
