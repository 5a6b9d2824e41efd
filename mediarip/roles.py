"""Refusals of starting a process in a role it cannot play here (issue 16). A module of its
own, outside :mod:`mediarip.cluster`, so that the command line can catch them without loading
the cluster's code (and psycopg) into every single box."""

from __future__ import annotations

__all__ = ["DatabaseInUse", "NeedsPostgreSQL", "Refused"]


class Refused(RuntimeError):
    """A process that must not start on this database (the message says why and what to do)."""


class NeedsPostgreSQL(Refused):
    """A cluster's role started on SQLite, which one process has to itself."""

    def __init__(self, command: str) -> None:
        super().__init__(
            f"mediarip {command} needs PostgreSQL (database.url) shared by the cluster's "
            "processes; with SQLite, run mediarip alone, which serves and downloads"
        )


class DatabaseInUse(Refused):
    def __init__(self, single_box: bool) -> None:
        if single_box:
            message = (
                "this database is used by another mediarip or by a cluster (mediarip serve, "
                "mediarip worker): run either one mediarip alone, or only serve and worker "
                "processes on it"
            )
        else:
            message = (
                "this database is used by a single mediarip (started without serve or "
                "worker), which runs every job as its own: stop it, then start the cluster's "
                "processes"
            )
        super().__init__(message)
