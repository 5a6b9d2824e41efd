"""Where files go: output templates, per-job working folders, and confinement.

Every job downloads into its own working folder, ``<downloads>/.mediarip-partial/<job id>/``.
That folder is the answer to three problems at once: yt-dlp leaves ``.part``, ``.ytdl`` and
fragment files behind when stopped (we remove the folder); two jobs with the same output name
would collide on those files (each has its own folder); and the finished file must be moved
into place atomically (the folder is on the same filesystem as its destination, so the move is
a rename). Only when a job has finished is its file moved to its final place, which is checked
to lie inside the downloads folder after resolving every symlink.

Output templates come from ``downloads.source_templates`` (domain -> yt-dlp template, ``*`` the
default). yt-dlp replaces ``/`` in the values it fills in, so only the template's own literal
folders can make subfolders; configuration refuses templates with ``..`` or absolute paths, and
:func:`confine` refuses anything that would still end up outside.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

__all__ = [
    "WORK_FOLDER_NAME",
    "PathEscapeError",
    "confine",
    "make_folder",
    "place_file",
    "place_files",
    "remove_empty_parents",
    "remove_job_files",
    "remove_work_dir",
    "template_for",
    "work_dir_for",
]

WORK_FOLDER_NAME = ".mediarip-partial"
DEFAULT_TEMPLATE = "%(title)s [%(id)s].%(ext)s"


class PathEscapeError(ValueError):
    """A path would leave the downloads folder."""


def template_for(url: str, templates: Mapping[str, str]) -> str:
    """The output template for ``url``: the most specific matching domain, else ``*``."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    labels = host.split(".")
    for start in range(len(labels)):
        candidate = ".".join(labels[start:])
        if candidate in templates:
            return templates[candidate]
    return templates.get("*", DEFAULT_TEMPLATE)


def work_dir_for(downloads_dir: Path, job_id: str) -> Path:
    return downloads_dir / WORK_FOLDER_NAME / job_id


def confine(root: Path, relative: str | os.PathLike[str]) -> Path:
    """``root / relative``, refusing any path that would lie outside ``root`` once symlinks
    are resolved."""
    rel = PurePosixPath(os.fspath(relative))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise PathEscapeError(f"{os.fspath(relative)!r} is not a path inside the downloads folder")
    real_root = root.resolve()
    target = (real_root / rel).resolve()
    if target != real_root and real_root not in target.parents:
        raise PathEscapeError(f"{os.fspath(relative)!r} leads outside the downloads folder")
    return target


#: How often making a folder, or moving a file into one, is tried again when a concurrent
#: clean-up removed a folder under it (see :func:`make_folder`).
_LOST_FOLDER_RETRIES = 20


def make_folder(folder: Path) -> None:
    """``mkdir -p`` that holds against a concurrent :func:`remove_empty_parents`.

    A job that ends removes the folders it leaves empty: the shared ``.mediarip-partial``, a
    template's subfolder. Another job, in another thread, may be making its own folder inside
    that one at the same moment; it then loses the parent between making it and making its
    folder in it, and ``Path.mkdir`` raises ``FileNotFoundError`` (or ``FileExistsError``,
    from its own check of the parent). That failed one job in CI with a bare "No such file or
    directory". Each retry starts over; the remover removes only empty folders, so losing the
    race again and again needs another job to end at each try (three threads making and
    removing 3,000 folders each in a loop lost it 124 times without retries, never with them)."""
    for _ in range(_LOST_FOLDER_RETRIES):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileNotFoundError, FileExistsError):
            continue  # a parent was removed under us: start over
        return
    folder.mkdir(parents=True, exist_ok=True)


def place_file(work_dir: Path, produced: Path, downloads_dir: Path) -> Path:
    """Move a finished file from the job's working folder to its place in the downloads folder,
    keeping the template's subfolders and never overwriting: ``name (1).ext`` if taken.

    Returns the final path. Runs in a worker thread (it touches the disk)."""
    relative = produced.resolve().relative_to(work_dir.resolve())
    target = confine(downloads_dir, relative)
    candidate, number, lost_folder = target, 1, 0
    while True:
        make_folder(target.parent)
        # Check the folder we just made (or found) again: a symlink planted in the downloads
        # folder must not redirect the move.
        confine(downloads_dir, target.relative_to(downloads_dir.resolve()))
        try:
            _move_unless_taken(produced, candidate)
        except FileExistsError:
            candidate = target.with_name(f"{target.stem} ({number}){target.suffix}")
            number += 1
            continue
        except FileNotFoundError:
            # The folder was empty until our file arrived, and a removed job's clean-up took
            # it meanwhile (remove_empty_parents): make it again. A missing source is not that.
            lost_folder += 1
            if lost_folder >= _LOST_FOLDER_RETRIES or not produced.exists():
                raise
            continue
        return candidate


# errnos of a filesystem that has no hard links (some FUSE, SMB and exFAT mounts).
_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK}
)


def _move_unless_taken(source: Path, target: Path) -> None:
    """Move ``source`` to ``target`` (same filesystem) unless ``target`` exists:
    ``FileExistsError`` then, and nothing moved.

    A hard link never replaces a file, so the move is atomic without a placeholder. The
    placeholder way (an ``O_EXCL`` reservation, then a rename over it) stays for filesystems
    without hard links only: renaming over an existing file makes ext4 (``auto_da_alloc``)
    write the renamed file's data out first, which held a 200 MB download's "completed" for
    ~80 ms after its last byte."""
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.close(fd)
        os.replace(source, target)
        return
    os.unlink(source)


def place_files(
    work_dir: Path, produced: Sequence[Path], downloads_dir: Path
) -> list[tuple[Path, int]]:
    """:func:`place_file` for each of a job's files (the main one first), with their sizes.
    A file that vanished meanwhile (yt-dlp removed it) is skipped, except the main one.

    The files beside the main one (subtitles ``name.en.srt``, a thumbnail ``name.jpg``) keep
    its name: when the main file had to become ``name (1).mp4``, they become
    ``name (1).en.srt``, so a player still pairs them."""
    placed: list[tuple[Path, int]] = []
    main_stem = renamed_stem = None
    for number, path in enumerate(produced):
        if number and not path.is_file():
            continue
        if renamed_stem is not None and main_stem is not None and path.name.startswith(main_stem):
            beside = path.with_name(renamed_stem + path.name[len(main_stem) :])
            os.replace(path, beside)
            path = beside
        final = place_file(work_dir, path, downloads_dir)
        if number == 0 and final.stem != path.stem:
            main_stem, renamed_stem = path.stem + ".", final.stem + "."
        placed.append((final, final.stat().st_size))
    return placed


def remove_work_dir(work_dir: Path) -> None:
    """Remove a job's working folder and everything in it (partial files)."""
    shutil.rmtree(work_dir, ignore_errors=True)
    remove_empty_parents(work_dir.parent, work_dir.parent.parent)


def remove_empty_parents(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents while they are empty, stopping at ``root``."""
    real_root = root.resolve()
    current = folder.resolve()
    while current != real_root and real_root in current.parents:
        try:
            current.rmdir()
        except OSError:  # not empty (or gone): stop here
            return
        current = current.parent


def remove_job_files(downloads_dir: Path, job_id: str, filenames: Sequence[str]) -> int | None:
    """A removed job's files and partial files, and the folders left empty (blocking).

    Returns the size of the files removed, None if there were none; raises :class:`OSError`
    when a file is there but cannot be removed (the caller then keeps the job)."""
    remove_work_dir(work_dir_for(downloads_dir, job_id))
    freed: int | None = None
    for filename in filenames:
        try:
            target = confine(downloads_dir, filename)
        except PathEscapeError:
            continue
        try:
            size = os.stat(target).st_size
            target.unlink()
        except FileNotFoundError:
            continue
        finally:
            remove_empty_parents(target.parent, downloads_dir)
        freed = (freed or 0) + size
    return freed
