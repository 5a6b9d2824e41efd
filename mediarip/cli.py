"""``mediarip`` / ``python -m mediarip``: load the settings and serve.

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
    args = parser.parse_args(argv)
    start_environ = dict(os.environ)  # what a restart starts the new process with
    try:
        settings = load_settings(config_path=args.config)
    except ConfigError as exc:
        print(f"mediarip: the configuration has a problem:\n{exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx (the yt-dlp update check) logs every request at INFO: that is debug detail here.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if shutil.which("ffmpeg") is None:
        logging.getLogger("mediarip").warning(
            "ffmpeg was not found on PATH: merging formats and extracting audio will fail. "
            "Install it (Debian/Ubuntu: apt-get install ffmpeg)."
        )
    folder.activate(settings.server.data_dir)
    from .server import ServerExit, reexec, run  # imports yt_dlp: after activate()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            if run(settings) is ServerExit.RESTART:
                reexec(start_environ)
    except ConfigError as exc:  # found while starting (a stored setting, the admin password)
        print(f"mediarip: the configuration has a problem:\n{exc}", file=sys.stderr)
        return 2
    return 0
