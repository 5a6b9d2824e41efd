"""media-rip: a self-hosted web app that downloads video and audio with yt-dlp.

The public face is small: load settings, and serve them.
"""

from .config import ConfigError, Settings, load_settings
from .server import ServerHandle, run, serve
from .version import __version__

__all__ = [
    "ConfigError",
    "ServerHandle",
    "Settings",
    "__version__",
    "load_settings",
    "run",
    "serve",
]
