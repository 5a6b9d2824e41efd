"""media-rip: a self-hosted web app that downloads video and audio with yt-dlp.

The public face is small: load settings, and serve them.
"""

from typing import TYPE_CHECKING, Any

from .config import ConfigError, Settings, load_settings
from .version import __version__

if TYPE_CHECKING:
    from .server import ServerHandle, run, serve


def __getattr__(name: str) -> Any:
    # The server imports yt_dlp, which must wait until the command line has put an updated
    # yt-dlp on sys.path (mediarip.ytdlp.folder); so it is imported when first asked for.
    if name in ("ServerHandle", "run", "serve"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module 'mediarip' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "ServerHandle",
    "Settings",
    "__version__",
    "load_settings",
    "run",
    "serve",
]
