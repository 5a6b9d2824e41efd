"""Test media and the loopback server that serves it (see README.md).

The names are imported lazily so that ``python -m tests.media.server`` (which the fixture runs in a
subprocess) does not import its own module twice, which makes ``runpy`` warn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.media.generate import ensure_media
    from tests.media.server import MediaServer

__all__ = ["MediaServer", "ensure_media"]

_HOMES = {"ensure_media": "tests.media.generate", "MediaServer": "tests.media.server"}


def __getattr__(name: str) -> Any:
    """Import ``ensure_media`` / ``MediaServer`` from their module on first use."""
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
