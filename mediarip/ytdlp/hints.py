"""The line a failure message gains when its kind often means an outdated yt-dlp.

Sites change weekly and yt-dlp ships fixes within days, so a 403 from the media host, a
bot-check page, an extractor that breaks, or "Unsupported URL" for a site yt-dlp supports in
newer releases are, more often than not, an old yt-dlp. The message then says how old the
installed one is, whether a newer one is known to exist, and what to do.

What the updater last learned about the newest release is held here (:func:`note_latest`):
like the running yt-dlp it describes, it is a fact about the whole process.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs

from ..models import JobError
from .release import Release, is_newer, running_release

__all__ = [
    "OUTDATED_KINDS",
    "STALE_AFTER_DAYS",
    "note_latest",
    "outdated_hint",
    "with_outdated_hint",
]

#: Failure codes (see engine/errors.py) that an outdated yt-dlp often causes.
OUTDATED_KINDS: Final = frozenset({"forbidden", "bot_check", "extractor_error", "unsupported_url"})
#: Without knowing of a newer release, a yt-dlp this old is called out anyway.
STALE_AFTER_DAYS: Final = 14

_latest: Release | None = None


def note_latest(latest: Release | None) -> None:
    """What the last check found (None: not known)."""
    global _latest
    _latest = latest


def outdated_hint(code: str, today: dt.date | None = None) -> str | None:
    """The sentence to add to a failure of kind ``code``, or None."""
    if code not in OUTDATED_KINDS:
        return None
    running = running_release()
    age = running.age_days(today)
    aged = f"yt-dlp {running.version}" + (
        f" ({age} day{'s' if age != 1 else ''} old)" if age is not None else ""
    )
    cookies = " or add cookies" if code in ("forbidden", "bot_check") else ""
    if _latest is not None and is_newer(_latest.version, running.version):
        return (
            f"This often means yt-dlp is out of date: this server runs {aged}, and "
            f"{_latest.version} is out. Ask the admin to update yt-dlp in the admin panel"
            f"{cookies}, then retry."
        )
    if _latest is not None:
        return None  # the newest release runs: the site, not yt-dlp, is the likely cause
    if age is not None and age >= STALE_AFTER_DAYS:
        return (
            f"This often means yt-dlp is out of date: this server runs {aged}. Ask the admin "
            f"to update yt-dlp in the admin panel{cookies}, then retry."
        )
    return None


def with_outdated_hint(error: JobError) -> JobError:
    hint = outdated_hint(error.code)
    if hint is None or hint in error.message:
        return error
    return attrs.evolve(error, message=f"{error.message} {hint}")
