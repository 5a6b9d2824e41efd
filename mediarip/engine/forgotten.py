"""The undo of "remove from the list, keep the file": removed jobs held a short while."""

from __future__ import annotations

import trio

from ..models import Job, Scope, in_scope

__all__ = ["RESTORE_WINDOW", "Forgotten"]

#: How long a job forgotten with its files kept can be restored (the web app's undo).
RESTORE_WINDOW = 120.0


class Forgotten:
    """Jobs removed from the list with their files kept, held a short while so that an undo
    can put them back as they were. Memory only: a restart forgets them for good, which
    costs nothing but the undo (the files stay either way)."""

    def __init__(self) -> None:
        self._jobs: dict[str, tuple[float, list[Job]]] = {}

    def keep(self, job_id: str, jobs: list[Job]) -> None:
        now = trio.current_time()
        self._jobs = {k: v for k, v in self._jobs.items() if v[0] > now}
        self._jobs[job_id] = (now + RESTORE_WINDOW, jobs)

    def take(self, job_id: str, session_id: Scope) -> list[Job] | None:
        held = self._jobs.get(job_id)
        if held is None or held[0] <= trio.current_time():
            return None
        job = held[1][-1]
        if not in_scope(job.session_id, session_id):
            return None
        del self._jobs[job_id]
        return held[1]
