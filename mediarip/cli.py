"""``mediarip`` / ``python -m mediarip``: load the settings and serve."""

from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import sys
from pathlib import Path

from .config import ConfigError, load_settings
from .server import run
from .version import __version__

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
    try:
        settings = load_settings(config_path=args.config)
    except ConfigError as exc:
        print(f"mediarip: the configuration has a problem:\n{exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if shutil.which("ffmpeg") is None:
        logging.getLogger("mediarip").warning(
            "ffmpeg was not found on PATH: merging formats and extracting audio will fail. "
            "Install it (Debian/Ubuntu: apt-get install ffmpeg)."
        )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            run(settings)
    except ConfigError as exc:  # found while starting (a stored setting, the admin password)
        print(f"mediarip: the configuration has a problem:\n{exc}", file=sys.stderr)
        return 2
    return 0
