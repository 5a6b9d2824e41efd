"""Asking a package index for the newest yt-dlp of a channel.

Two kinds of index are understood. Without ``ytdlp.index_url``, PyPI's JSON API
(``/pypi/yt-dlp/json``), which also says when each release was uploaded. With it, a PEP 503
"simple" index, the kind pip's ``--index-url`` takes (a mirror, devpi, a folder served over
HTTP): the project page ``<index_url>/yt-dlp/`` lists files, whose names carry the versions.

Channels: ``stable`` takes final releases only; ``nightly`` takes pre-releases too, which is how
yt-dlp publishes its nightly builds on PyPI (``2026.11.20.232938.dev0``, installed by
``pip install --pre``). Yanked files are skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from packaging.version import InvalidVersion, Version

from .release import Release

if TYPE_CHECKING:
    import httpx

__all__ = [
    "PYPI_JSON",
    "PYPI_SIMPLE",
    "IndexProblem",
    "fetch_latest",
    "pip_index_url",
]

PYPI_JSON = "https://pypi.org/pypi/yt-dlp/json"
PYPI_SIMPLE = "https://pypi.org/simple/"
TIMEOUT = 20.0

# yt_dlp-2026.10.26-py3-none-any.whl, yt_dlp-2026.10.26.tar.gz (any normalisation of the name)
_FILE = re.compile(
    r"yt[-_.]dlp-(?P<version>[^-]+?)(?:-[^-]+-[^-]+-[^-]+\.whl|\.tar\.gz|\.zip)$", re.IGNORECASE
)


class IndexProblem(Exception):
    """The index could not say which yt-dlp is newest; the message says why, for people."""


def pip_index_url(index_url: str | None) -> str:
    """The simple index pip installs from."""
    return index_url or PYPI_SIMPLE


def _wanted(version: str, channel: str) -> Version | None:
    try:
        parsed = Version(version)
    except InvalidVersion:
        return None
    if channel == "stable" and (parsed.is_prerelease or parsed.is_devrelease):
        return None
    return parsed


def _from_pypi_json(data: object, channel: str) -> Release | None:
    releases = data.get("releases") if isinstance(data, dict) else None
    if not isinstance(releases, dict):
        raise IndexProblem("PyPI's answer about yt-dlp had no list of releases.")
    best: tuple[Version, str, dt.date | None] | None = None
    for version, files in releases.items():
        parsed = _wanted(str(version), channel)
        live = [f for f in files or [] if isinstance(f, dict) and not f.get("yanked")]
        if parsed is None or not live or (best is not None and parsed <= best[0]):
            continue
        uploaded = str(live[0].get("upload_time_iso_8601") or live[0].get("upload_time") or "")
        try:
            day: dt.date | None = dt.datetime.fromisoformat(uploaded.replace("Z", "+00:00")).date()
        except ValueError:
            day = None
        best = (parsed, str(version), day)
    return None if best is None else Release.of(best[1], best[2])


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[str, bool]] = []  # (file name, yanked)
        self._href: str | None = None
        self._yanked = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            found = dict(attrs)
            self._href = found.get("href") or ""
            self._yanked = "data-yanked" in found

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            name = urlsplit(self._href).path.rsplit("/", 1)[-1]
            self.files.append((name, self._yanked))
            self._href = None


def _from_simple_page(html: str, channel: str) -> Release | None:
    links = _Links()
    links.feed(html)
    best: tuple[Version, str] | None = None
    for name, yanked in links.files:
        match = _FILE.match(name)
        if match is None or yanked:
            continue
        parsed = _wanted(match["version"], channel)
        if parsed is not None and (best is None or parsed > best[0]):
            best = (parsed, match["version"])
    return None if best is None else Release.of(best[1])


async def fetch_latest(client: httpx.AsyncClient, index_url: str | None, channel: str) -> Release:
    """The newest yt-dlp of ``channel`` on the index; :class:`IndexProblem` if it cannot say.
    A checkpoint; cancelling it abandons the request."""
    import httpx  # only a server that checks pays for importing it

    url = PYPI_JSON if index_url is None else urljoin(index_url.rstrip("/") + "/", "yt-dlp/")
    where = "PyPI" if index_url is None else f"the package index at {index_url}"
    try:
        response = await client.get(
            url, headers={"Accept": "application/json" if index_url is None else "text/html"}
        )
    except httpx.TimeoutException:
        raise IndexProblem(f"{where} did not answer within {TIMEOUT:.0f} s.") from None
    except httpx.HTTPError as error:
        raise IndexProblem(f"Could not reach {where}: {error or type(error).__name__}.") from None
    if response.status_code != 200:
        raise IndexProblem(f"{where} answered HTTP {response.status_code} for yt-dlp.")
    try:
        latest = (
            _from_pypi_json(response.json(), channel)
            if index_url is None
            else _from_simple_page(response.text, channel)
        )
    except ValueError as error:
        raise IndexProblem(f"{where} gave an answer that could not be read: {error}") from None
    if latest is None:
        raise IndexProblem(f"{where} lists no yt-dlp release for the {channel} channel.")
    return latest
