"""Encoded job listings, kept until the engine's revision moves."""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["ListingCache"]


class ListingCache:
    """Encoded job listings, valid while the service's revision has not moved.

    Serialising 100 jobs costs more than the framework's whole request (see STACK-NOTES): a
    list endpoint near the framework's ceiling must reuse the bytes until something changes."""

    def __init__(self, size: int = 256) -> None:
        self._entries: OrderedDict[tuple[object, ...], tuple[int, bytes]] = OrderedDict()
        self._size = size

    def get(self, key: tuple[object, ...], revision: int) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != revision:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: tuple[object, ...], revision: int, body: bytes) -> None:
        self._entries[key] = (revision, body)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
