"""How fast a session may create jobs: a token bucket per session."""

from __future__ import annotations

import time

__all__ = ["JobRateLimiter"]


class JobRateLimiter:
    """A token bucket per session: ``per_minute`` jobs a minute, bursts up to as many."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # session -> (tokens, at)

    def take(self, session_id: str, per_minute: int) -> float:
        """0 if a job may be created now, else the seconds until one may."""
        if per_minute <= 0:
            return 0.0
        now = time.monotonic()
        tokens, at = self._buckets.get(session_id, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - at) * per_minute / 60.0)
        if tokens < 1.0:
            self._buckets[session_id] = (tokens, now)
            return (1.0 - tokens) * 60.0 / per_minute
        self._buckets[session_id] = (tokens - 1.0, now)
        self._forget_idlest()
        return 0.0

    def take_many(self, session_id: str, count: int, per_minute: int) -> int | None:
        """Take ``count`` jobs at once (a batch), all or none: None if they fit, else how many
        would fit now."""
        if per_minute <= 0:
            return None
        now = time.monotonic()
        tokens, at = self._buckets.get(session_id, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - at) * per_minute / 60.0)
        if tokens < count:
            self._buckets[session_id] = (tokens, now)
            return int(tokens)
        self._buckets[session_id] = (tokens - count, now)
        self._forget_idlest()
        return None

    def _forget_idlest(self) -> None:
        if len(self._buckets) > 10_000:  # forget the idlest when it grows large
            for key in list(self._buckets)[:5_000]:
                del self._buckets[key]
