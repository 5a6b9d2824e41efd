"""media-rip's version: in a module of its own, so that anything may import it without
importing the whole app (``mediarip/__init__`` imports the server)."""

__version__ = "0.1.0"
