"""What the engine tells the world about jobs: domain events, with no wire form.

The engine calls one :data:`EventSink` with each event, in the trio thread, never blocking.
What an event looks like to a browser (the SSE event names, the JSON) is the API's business
(:mod:`mediarip.api.wire`); the engine only says which job changed and how.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..models import Job

__all__ = ["EventSink", "JobChanged", "JobEvent", "JobRemoved"]


@attrs.frozen
class JobChanged:
    """``job`` is as it is now. ``changes``: the fields that changed (None: a job that is new to
    the listeners, shown whole). ``progress_only``: a newer report of the same job may replace
    this one for a reader that is behind."""

    job: Job
    changes: Mapping[str, Any] | None = None
    progress_only: bool = False


@attrs.frozen
class JobRemoved:
    """The job's row and files are gone."""

    job: Job


JobEvent = JobChanged | JobRemoved
EventSink = Callable[[JobEvent], None]
