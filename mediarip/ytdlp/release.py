"""Which yt-dlp is running, how old it is, and what a newer one would be.

yt-dlp's version *is* its release date: ``2026.10.26`` is the stable release of that day, and a
nightly build adds the time, ``2026.11.20.232938`` (on PyPI a pre-release,
``2026.11.20.232938.dev0``). So the age of the running yt-dlp needs no network at all; only
*whether a newer one exists* does (:mod:`.index`).

The running yt-dlp is a fact of the process (one module, imported once), so it is read from
``yt_dlp.version`` when asked; the bundled one is the distribution the virtualenv carries,
which :mod:`.folder` notes before it puts an updated one ahead of it.
"""

from __future__ import annotations

import datetime as dt
import re

import attrs
from packaging.version import InvalidVersion, Version

__all__ = ["Release", "is_newer", "release_date", "running_release"]

_DATE = re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})")


def release_date(version: str) -> dt.date | None:
    """The day a yt-dlp version was released (its first three parts), or None."""
    match = _DATE.match(version)
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def is_newer(candidate: str, than: str) -> bool:
    """True when ``candidate`` is a later version than ``than`` (PEP 440 order)."""
    try:
        return Version(candidate) > Version(than)
    except InvalidVersion:
        return False


@attrs.frozen
class Release:
    """A yt-dlp version and the day it came out (None when the version does not say)."""

    version: str
    date: dt.date | None = None

    @classmethod
    def of(cls, version: str, date: dt.date | None = None) -> Release:
        return cls(version, date or release_date(version))

    def age_days(self, today: dt.date | None = None) -> int | None:
        if self.date is None:
            return None
        return max(0, ((today or dt.date.today()) - self.date).days)


def running_release() -> Release:
    """The yt-dlp this process imported (imports it if nothing has yet)."""
    import yt_dlp.version

    return Release.of(yt_dlp.version.__version__)
