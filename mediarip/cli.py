"""``mediarip`` / ``python -m mediarip``: load the settings, serve and download;
``mediarip serve`` and ``mediarip worker`` do one of the two, for a cluster on PostgreSQL
(:mod:`.cluster`); ``mediarip db migrate`` and ``mediarip db copy --from URL --to URL`` look
after the database (:mod:`.dbcommands`).

Order matters here: the yt-dlp update folder (``mediarip.ytdlp.folder``) must be put on
``sys.path`` before anything imports yt_dlp, and the server imports it; so the server is
imported only after :func:`~mediarip.ytdlp.folder.activate` has run.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sys
from pathlib import Path

from .config import ConfigError, load_settings
from .version import __version__
from .ytdlp import folder

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mediarip",
        description="Self-hosted web app that downloads video and audio with yt-dlp.",
        epilog="Settings: defaults < config.yaml (or MEDIARIP_CONFIG) < MEDIARIP__SECTION__KEY "
        "environment variables. See README.md.",
    )
    parser.add_argument("--config", type=Path, help="YAML config file (default: ./config.yaml)")
    parser.add_argument("--version", action="version", version=f"mediarip {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "serve",
        help="a cluster's web node: the API, web app and event streams, no downloads "
        "(PostgreSQL; the workers download)",
    )
    commands.add_parser(
        "worker",
        help="a cluster's download worker: claims queued jobs and runs them, no HTTP (PostgreSQL)",
    )
    db = commands.add_parser("db", help="look after the database (without serving)")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser(
        "migrate", help="bring the database (database.url) to this version's schema, and exit"
    )
    copy = db_commands.add_parser(
        "copy",
        help="copy every table of one database into another, new and empty, one",
        description="Copy jobs, settings, users, the archive, subscriptions, presets, "
        "notification targets... from one database to another (both are migrated first). The "
        "target must be empty. URLs: sqlite:///PATH or postgresql://USER:PASSWORD@HOST/NAME.",
    )
    copy.add_argument(
        "--from",
        dest="source",
        metavar="URL",
        help="the database to copy (default: the one the settings name)",
    )
    copy.add_argument("--to", dest="target", metavar="URL", required=True, help="the new one")
    copy.add_argument("--batch", type=int, default=1000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    start_environ = dict(os.environ)  # what a restart starts the new process with
    try:
        settings = load_settings(config_path=args.config)
    except ConfigError as exc:
        print(f"mediarip: the configuration has a problem:\n{exc}", file=sys.stderr)
        return 2
    if args.command == "db":
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        from . import dbcommands

        if args.db_command == "migrate":
            return dbcommands.migrate(settings)
        source = args.source or dbcommands.default_location(settings)
        return dbcommands.copy(source, args.target, batch=args.batch)
    logging.basicConfig(
        level=settings.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx (the yt-dlp update check) logs every request at INFO: that is debug detail here.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Alembic tells each start which plugins and DDL mode it uses: migrations log their own.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if shutil.which("ffmpeg") is None:
        logging.getLogger("mediarip").warning(
            "ffmpeg was not found on PATH: merging formats and extracting audio will fail. "
            "Install it (Debian/Ubuntu: apt-get install ffmpeg)."
        )
    folder.activate(settings.server.data_dir)
    from .roles import Refused
    from .server import ServerExit, reexec, run  # imports yt_dlp: after activate()
    from .store import StorageError

    try:
        with contextlib.suppress(KeyboardInterrupt):
            if args.command == "worker":
                from .cluster.worker import run_worker

                return run_worker(settings)
            if run(settings, cluster=args.command == "serve") is ServerExit.RESTART:
                reexec(start_environ)
    except ConfigError as exc:  # found while starting (a stored setting, the admin password)
        print(f"mediarip: the configuration has a problem:\n{exc}", file=sys.stderr)
        return 2
    except Refused as exc:
        print(f"mediarip: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:  # the database could not be opened at all
        print(f"mediarip: {exc.message}\n({exc.detail})", file=sys.stderr)
        return 1
    except BaseExceptionGroup as group:  # refused by a task started in a nursery
        refused, rest = group.split(Refused)
        if refused is None or rest is not None:
            raise
        print(f"mediarip: {_first_leaf(refused)}", file=sys.stderr)
        return 2
    return 0


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
