"""The folder under the data directory that holds an updated yt-dlp, and putting it to use.

The image's (or virtualenv's) own files stay as they were built: an update is installed with
pip into ``<data_dir>/ytdlp/<version>-<tag>/`` and named in ``<data_dir>/ytdlp/active.json``.
At start, before anything imports yt-dlp, :func:`activate` puts the named folder at the front
of ``sys.path``, so ``import yt_dlp`` finds the update instead of the bundled copy::

    <data_dir>/ytdlp/
        active.json            which folder is in use; no file: the bundled yt-dlp
        2026.11.20-3f9a1c/     pip install --target: yt_dlp/, yt_dlp-2026.11.20.dist-info/
        .staging-…/            an install in progress (removed when it fails, or at start)
        tmp/                   pip's temporary files

Rolling back is removing ``active.json`` (the panel's rollback does that) or the whole folder
(by hand, with the server stopped); either way the next start runs the bundled yt-dlp.

Why a pointer file rather than renaming folders: the switch is one ``os.replace`` of a small
file, atomic on every filesystem a data folder lives on (symlinks are not, on some NAS
shares); a crash at any moment leaves either the old choice or the new one.

A bad update must not take the server down for good. :func:`activate` imports yt-dlp from
the folder at once and falls back to the bundled one if that fails; and it counts starts: an
update that has not once reached "serving" (:func:`confirm`) in :data:`MAX_TRIES` starts is
set aside, so a yt-dlp that breaks media-rip's start cannot make it crash in a loop.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import importlib.metadata
import json
import logging
import os
import shutil
import sys
from pathlib import Path

import attrs

from .release import Release, is_newer

__all__ = [
    "MAX_TRIES",
    "Activation",
    "Choice",
    "activate",
    "activation",
    "clear_choice",
    "confirm",
    "read_choice",
    "root",
    "write_choice",
]

log = logging.getLogger("mediarip.ytdlp")

MAX_TRIES = 2
POINTER = "active.json"
TMP = "tmp"
STAGING_PREFIX = ".staging-"


def root(data_dir: Path) -> Path:
    return Path(data_dir) / "ytdlp"


@attrs.frozen
class Choice:
    """What ``active.json`` says: the folder in use, the version in it, and how it went."""

    folder: str
    version: str
    channel: str = "stable"
    installed_at: str = ""
    confirmed: bool = False
    tries: int = 0


@attrs.frozen
class Activation:
    """What :func:`activate` did at start: the bundled release, the updated one in use (None:
    the bundled one runs), and why an update was set aside, if one was."""

    bundled: Release | None
    updated: Choice | None = None
    problem: str | None = None


def read_choice(data_dir: Path) -> Choice | None:
    path = root(data_dir) / POINTER
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Choice(
            folder=str(raw["folder"]),
            version=str(raw["version"]),
            channel=str(raw.get("channel", "stable")),
            installed_at=str(raw.get("installed_at", "")),
            confirmed=bool(raw.get("confirmed", False)),
            tries=int(raw.get("tries", 0)),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.error("ignoring %s: %s", path, error)
        return None


def write_choice(data_dir: Path, choice: Choice) -> None:
    """Replace ``active.json`` atomically (write a new file, fsync, rename over)."""
    folder = root(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{POINTER}.new"
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(attrs.asdict(choice), handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, folder / POINTER)


def clear_choice(data_dir: Path) -> None:
    """Back to the bundled yt-dlp from the next start on."""
    with contextlib.suppress(FileNotFoundError):
        (root(data_dir) / POINTER).unlink()


def confirm(data_dir: Path) -> None:
    """The server started with the chosen folder: it is good (no more counting of tries)."""
    choice = read_choice(data_dir)
    if choice is not None and not choice.confirmed:
        write_choice(data_dir, attrs.evolve(choice, confirmed=True, tries=0))


def _bundled_release() -> Release | None:
    try:
        return Release.of(importlib.metadata.version("yt-dlp"))
    except importlib.metadata.PackageNotFoundError:
        return None


def _remove_leftovers(folder: Path, keep: str | None) -> None:
    """Folders of earlier updates and interrupted installs: nothing points at them."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.name in (POINTER, TMP, keep) or not entry.is_dir():
            continue
        log.info("removing %s (not in use)", entry)
        shutil.rmtree(entry, ignore_errors=True)


def _forget_yt_dlp_modules() -> None:
    for name in [n for n in sys.modules if n == "yt_dlp" or n.startswith("yt_dlp.")]:
        del sys.modules[name]


def _try_import(path: Path) -> str:
    """Import yt-dlp from ``path`` (at the front of sys.path); its version, or raise."""
    sys.path.insert(0, str(path))
    try:
        module = importlib.import_module("yt_dlp.version")
        origin = Path(str(getattr(module, "__file__", ""))).resolve()
        if not origin.is_relative_to(path.resolve()):
            raise ImportError(f"yt_dlp was imported from {origin}, not from the update")
        return str(module.__version__)
    except BaseException:
        sys.path.remove(str(path))
        _forget_yt_dlp_modules()
        raise


_activation: Activation | None = None


def activate(data_dir: Path) -> Activation:
    """Put the chosen updated yt-dlp ahead of the bundled one. Call once, at start, before
    anything imports yt_dlp; blocking (reads a few files, imports yt-dlp)."""
    global _activation
    bundled = _bundled_release()
    folder = root(data_dir)
    choice = read_choice(data_dir)
    _remove_leftovers(folder, choice.folder if choice else None)
    if choice is not None and bundled is not None and not is_newer(choice.version, bundled.version):
        # A new image (or virtualenv) brought a yt-dlp at least as new as the update: the
        # update has done its job, and would only hold the newer one back.
        log.info(
            "the bundled yt-dlp %s is not older than the update %s: using the bundled one",
            bundled.version,
            choice.version,
        )
        clear_choice(data_dir)
        choice = None
    if choice is None:
        _activation = Activation(bundled)
        return _activation
    problem: str | None = None
    path = folder / choice.folder
    if "yt_dlp" in sys.modules:
        problem = "yt-dlp was imported before the update folder could be put to use"
    elif not choice.confirmed and choice.tries >= MAX_TRIES:
        problem = (
            f"yt-dlp {choice.version} did not get media-rip started in {MAX_TRIES} tries; "
            "running the bundled yt-dlp (update again, or roll back in the admin panel)"
        )
    elif not (path / "yt_dlp" / "__init__.py").is_file():
        problem = f"the update folder for yt-dlp {choice.version} is missing or incomplete"
    if problem is None:
        if not choice.confirmed:
            write_choice(data_dir, attrs.evolve(choice, tries=choice.tries + 1))
        try:
            version = _try_import(path)
        except Exception as error:
            problem = f"yt-dlp {choice.version} from the update folder cannot be imported: {error}"
        else:
            log.info(
                "running yt-dlp %s from %s (bundled: %s)",
                version,
                path,
                bundled.version if bundled else "none",
            )
            _activation = Activation(bundled, choice)
            return _activation
    log.error("%s", problem)
    _activation = Activation(bundled, None, problem)
    return _activation


def activation() -> Activation:
    """What :func:`activate` did; without a call (media-rip embedded, tests), the running
    yt-dlp is the bundled one."""
    return _activation if _activation is not None else Activation(_bundled_release())


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
