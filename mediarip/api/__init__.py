"""The HTTP face of media-rip (Quart-Trio): thin handlers over the services."""

from .app import create_app

__all__ = ["create_app"]
