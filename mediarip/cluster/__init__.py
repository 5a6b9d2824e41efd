"""Past one machine (issue 16): web nodes (``mediarip serve``) and download workers
(``mediarip worker``) sharing one PostgreSQL database and one downloads folder.

The queue is the jobs table with leases (:mod:`mediarip.store._leases`); messages between the
processes go over PostgreSQL's ``LISTEN``/``NOTIFY`` (:mod:`.bus`); a web node hands jobs to
the workers (:mod:`.node`, :mod:`mediarip.engine.remote`); a worker claims and runs them
(:mod:`.worker`); what must run once runs on the leader (:mod:`.leading`).
"""

from ..roles import DatabaseInUse, NeedsPostgreSQL, Refused
from .bus import Bus, Message
from .leading import while_leading
from .node import WebNode
from .worker import WorkerHandle, run_worker, work

__all__ = [
    "Bus",
    "DatabaseInUse",
    "Message",
    "NeedsPostgreSQL",
    "Refused",
    "WebNode",
    "WorkerHandle",
    "run_worker",
    "while_leading",
    "work",
]
