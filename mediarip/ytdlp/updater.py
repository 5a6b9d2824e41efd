"""Keeping yt-dlp current while the server runs: the daily check, updates and rollbacks.

:class:`YtdlpUpdater` lives in the root nursery (:meth:`YtdlpUpdater.run`, like the purge).
It does three things, one at a time where they could collide:

- **check**: once a day (``ytdlp.check_updates``), and when the admin asks, it asks the index
  for the newest release of ``ytdlp.channel`` (:mod:`.index`). The answer is kept in the
  database, so a restart neither forgets it nor asks again early, and handed to
  :mod:`.hints` for failure messages. A failed check is recorded with its reason and tried
  again at the next time; it never ends the task.
- **update**: installs a release into the update folder (:mod:`.install`) while downloads go
  on; then asks the server to restart (:attr:`restart_wanted`), since yt-dlp is imported
  in-process and only a new process can run the new one. With ``ytdlp.auto_update`` the daily
  check starts an update itself when it finds a newer release.
- **rollback**: forgets the update folder's choice and asks for a restart, after which the
  bundled yt-dlp runs.

The restart itself belongs to the server (``mediarip.server``): it stops the way SIGTERM
does, downloads left ``queued`` with their partial files, and re-executes the process.

Cancellation: the task and the update it runs are children of the root nursery; a stop
cancels them, which terminates pip and removes the half-made folder (:func:`install_release`
is cancel-safe), and the running yt-dlp stays what it was.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Protocol

import attrs
import trio

from ..config import Settings
from ..store import Store
from . import folder, hints
from .index import TIMEOUT, IndexProblem, fetch_latest
from .install import InstallFailed, install_release
from .release import Release, is_newer, running_release

__all__ = [
    "CHECK_INTERVAL",
    "CheckResult",
    "UpdateProgress",
    "UpdateRefused",
    "UpdaterContext",
    "YtdlpStatus",
    "YtdlpUpdater",
]

log = logging.getLogger("mediarip.ytdlp")

CHECK_INTERVAL = dt.timedelta(days=1)
#: A server that never checked waits this long after starting (not to slow its start).
FIRST_CHECK_DELAY = dt.timedelta(minutes=2)
LOG_LINES = 12
_META_KEY = "ytdlp.last_check"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UpdaterContext(Protocol):
    """What the updater works with (``Services`` is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...


class UpdateRefused(Exception):
    """An update or rollback cannot start now (one runs, the server is restarting, or the
    bundled yt-dlp runs already); the message says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@attrs.frozen
class CheckResult:
    """What the last check found: the newest release, or why it could not say."""

    checked_at: dt.datetime
    channel: str
    latest: Release | None = None
    error: str | None = None


@attrs.frozen
class UpdateProgress:
    """An update or rollback as it goes: ``idle``, ``installing``, ``restarting`` or
    ``failed``, with a line for people and pip's last lines."""

    state: str = "idle"
    target: str | None = None
    channel: str | None = None
    message: str = ""
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    log: tuple[str, ...] = ()


@attrs.frozen
class YtdlpStatus:
    """``GET /api/admin/ytdlp``."""

    version: str
    release_date: dt.date | None
    age_days: int | None
    bundled_version: str | None
    bundled_release_date: dt.date | None
    running_from: str  # "bundled" | "update folder"
    latest: str | None
    latest_release_date: dt.date | None
    update_available: bool
    channel: str
    check_updates: bool
    auto_update: bool
    index_url: str | None
    checked_at: dt.datetime | None
    check_error: str | None
    #: Why an installed update was set aside at start (it failed to import or to start).
    problem: str | None
    update: UpdateProgress


class YtdlpUpdater:
    """Create with the services; run :meth:`run` in the root nursery."""

    def __init__(
        self, context: UpdaterContext, *, wall_clock: Callable[[], dt.datetime] = utc_now
    ) -> None:
        self._context = context
        self._wall_clock = wall_clock
        self._check_lock = trio.Lock()
        self._rescheduled = trio.Event()
        self._nursery: trio.Nursery | None = None
        #: Whether this process may update on its own (``ytdlp.auto_update``): in a cluster,
        #: only the leading web node, so that one pip at a time installs into the shared data
        #: folder (every process takes the update at its next start).
        self.may_auto_update: Callable[[], bool] = lambda: True
        self.last_check: CheckResult | None = None
        self.progress = UpdateProgress()
        #: Set once an update or rollback is in place: the server then restarts.
        self.restart_wanted = trio.Event()
        hints.note_latest(None)

    # -- what the panel sees -------------------------------------------------------------------

    def status(self) -> YtdlpStatus:
        settings = self._context.settings.ytdlp
        running = running_release()
        activation = folder.activation()
        bundled = activation.bundled
        check = self.last_check
        latest = check.latest if check is not None and check.channel == settings.channel else None
        return YtdlpStatus(
            version=running.version,
            release_date=running.date,
            age_days=running.age_days(),
            bundled_version=bundled.version if bundled else None,
            bundled_release_date=bundled.date if bundled else None,
            running_from="update folder" if activation.updated else "bundled",
            latest=latest.version if latest else None,
            latest_release_date=latest.date if latest else None,
            update_available=latest is not None and is_newer(latest.version, running.version),
            channel=settings.channel,
            check_updates=settings.check_updates,
            auto_update=settings.auto_update,
            index_url=settings.index_url,
            checked_at=check.checked_at if check else None,
            check_error=check.error if check else None,
            problem=activation.problem,
            update=self.progress,
        )

    # -- checking ------------------------------------------------------------------------------

    async def check(self, channel: str | None = None) -> CheckResult:
        """Ask the index now (one check at a time); the result is kept and returned, a
        failure included (``error``)."""
        settings = self._context.settings.ytdlp
        channel = channel or settings.channel
        import httpx  # here: a server that never checks does not pay for importing it

        async with self._check_lock:
            try:
                async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=True) as client:
                    latest = await fetch_latest(client, settings.index_url, channel)
            except IndexProblem as problem:
                result = CheckResult(self._wall_clock(), channel, error=str(problem))
                log.warning("checking for a newer yt-dlp failed: %s", problem)
            else:
                result = CheckResult(self._wall_clock(), channel, latest)
                log.info("newest yt-dlp (%s): %s", channel, latest.version)
            if channel == settings.channel or self.last_check is None:
                self._remember(result)
                await self._context.store.set_meta(_META_KEY, _dump(result))
        return result

    def _remember(self, result: CheckResult) -> None:
        if result.error is None or self.last_check is None:
            self.last_check = result
        else:  # keep what the last good check found, with the new error and time
            self.last_check = attrs.evolve(
                self.last_check, checked_at=result.checked_at, error=result.error
            )
        hints.note_latest(self.last_check.latest)

    def reschedule(self, _settings: Settings | None = None) -> None:
        """The settings changed (a settings listener): the next check time is worked out
        afresh."""
        self._rescheduled.set()

    # -- updating ------------------------------------------------------------------------------

    def _refuse_if_busy(self) -> None:
        if self._nursery is None:
            raise UpdateRefused("The updater is not running; try again in a moment.")
        if self.restart_wanted.is_set():
            raise UpdateRefused("The server is restarting; try again in a moment.")
        if self.progress.state == "installing":
            raise UpdateRefused(
                f"An update to yt-dlp {self.progress.target or ''} is already running.".replace(
                    "  ", " "
                )
            )

    def start_update(self, channel: str | None = None) -> UpdateProgress:
        """Start installing the newest release of ``channel`` (default: ``ytdlp.channel``);
        answers at once, :attr:`progress` follows it. :class:`UpdateRefused` if one runs."""
        self._refuse_if_busy()
        assert self._nursery is not None
        channel = channel or self._context.settings.ytdlp.channel
        self.progress = UpdateProgress(
            "installing",
            channel=channel,
            message=f"Asking the index for the newest {channel} yt-dlp",
            started_at=self._wall_clock(),
        )
        self._nursery.start_soon(self._update, channel, name="yt-dlp update")
        return self.progress

    async def _update(self, channel: str) -> None:
        lines: list[str] = []

        def note(line: str) -> None:
            lines.append(line)
            self.progress = attrs.evolve(self.progress, message=line, log=tuple(lines[-LOG_LINES:]))

        try:
            result = await self.check(channel)
            if result.latest is None:
                raise IndexProblem(result.error or "the index named no release")
            target = result.latest.version
            running = running_release().version
            if target == running:
                self.progress = attrs.evolve(
                    self.progress,
                    state="idle",
                    target=target,
                    message=f"yt-dlp {running} is already the newest {channel} release.",
                    finished_at=self._wall_clock(),
                )
                return
            self.progress = attrs.evolve(
                self.progress, target=target, message=f"Installing yt-dlp {target}"
            )
            settings = self._context.settings
            await install_release(
                settings.server.data_dir,
                target,
                index_url=settings.ytdlp.index_url,
                channel=channel,
                on_line=note,
            )
        except (IndexProblem, InstallFailed) as failure:
            log.error("the yt-dlp update failed: %s", failure)
            self._failed(f"The update failed; yt-dlp {running_release().version} stays. {failure}")
            return
        except Exception:
            log.exception("the yt-dlp update failed")
            self._failed(
                f"The update failed with an internal error; yt-dlp "
                f"{running_release().version} stays. The server log has the details."
            )
            return
        log.info("yt-dlp %s is installed; restarting to run it", target)
        self._restart(f"yt-dlp {target} is installed. Restarting the server to run it")

    def _failed(self, message: str) -> None:
        self.progress = attrs.evolve(
            self.progress, state="failed", message=message, finished_at=self._wall_clock()
        )

    def _restart(self, message: str) -> None:
        self.progress = attrs.evolve(
            self.progress, state="restarting", message=message, finished_at=self._wall_clock()
        )
        self.restart_wanted.set()

    async def rollback(self) -> UpdateProgress:
        """Go back to the bundled yt-dlp: forget the update folder's choice and restart.
        :class:`UpdateRefused` when the bundled one runs already and none is chosen."""
        self._refuse_if_busy()
        data_dir = self._context.settings.server.data_dir
        chosen = await trio.to_thread.run_sync(folder.read_choice, data_dir)
        if chosen is None and folder.activation().updated is None:
            raise UpdateRefused("The bundled yt-dlp is running already; there is nothing to undo.")
        await trio.to_thread.run_sync(folder.clear_choice, data_dir)
        bundled = folder.activation().bundled
        self.progress = UpdateProgress(
            "restarting", target=bundled.version if bundled else None, started_at=self._wall_clock()
        )
        log.info("rolling back to the bundled yt-dlp")
        self._restart("Going back to the bundled yt-dlp. Restarting the server")
        return self.progress

    # -- the task ------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The daily check, and the nursery updates run in. Runs until cancelled."""
        data_dir = self._context.settings.server.data_dir
        # We got this far: an update folder in use is good (no more counting of its tries).
        await trio.to_thread.run_sync(folder.confirm, data_dir)
        stored = await self._context.store.get_meta(_META_KEY)
        if stored is not None:
            loaded = _load(stored)
            if loaded is not None:
                self.last_check = loaded
                hints.note_latest(loaded.latest)
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            started = self._wall_clock()
            while True:
                self._rescheduled = trio.Event()
                due = self._next_check(started)
                if due is None:
                    await self._rescheduled.wait()
                    continue
                delay = max(0.0, (due - self._wall_clock()).total_seconds())
                with trio.move_on_after(delay) as sleep:
                    await self._rescheduled.wait()
                if sleep.cancelled_caught:
                    try:
                        await self._scheduled_check()
                    except Exception:  # a bug or a broken database: log it, keep the schedule
                        log.exception("the scheduled yt-dlp check failed")
                        self.last_check = CheckResult(
                            self._wall_clock(),
                            self._context.settings.ytdlp.channel,
                            error="The check failed with an internal error (see the log).",
                        )

    def _next_check(self, started: dt.datetime) -> dt.datetime | None:
        settings = self._context.settings.ytdlp
        if not settings.check_updates:
            return None
        check = self.last_check
        if check is None or check.channel != settings.channel:
            return started + FIRST_CHECK_DELAY
        return check.checked_at + CHECK_INTERVAL

    async def _scheduled_check(self) -> None:
        result = await self.check()
        settings = self._context.settings.ytdlp
        latest = result.latest
        if (
            settings.auto_update
            and self.may_auto_update()
            and latest is not None
            and is_newer(latest.version, running_release().version)
            and self.progress.state != "installing"
            and not self.restart_wanted.is_set()
        ):
            log.info("ytdlp.auto_update: updating to yt-dlp %s", latest.version)
            self.start_update()


def _dump(result: CheckResult) -> str:
    latest = result.latest
    return json.dumps(
        {
            "checked_at": result.checked_at.isoformat(),
            "channel": result.channel,
            "latest": latest.version if latest else None,
            "latest_date": latest.date.isoformat() if latest and latest.date else None,
            "error": result.error,
        }
    )


def _load(text: str) -> CheckResult | None:
    try:
        raw = json.loads(text)
        latest = None
        if raw.get("latest"):
            day = dt.date.fromisoformat(raw["latest_date"]) if raw.get("latest_date") else None
            latest = Release.of(str(raw["latest"]), day)
        return CheckResult(
            dt.datetime.fromisoformat(raw["checked_at"]),
            str(raw["channel"]),
            latest,
            raw.get("error"),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
