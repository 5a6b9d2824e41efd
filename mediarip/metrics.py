"""What Prometheus sees of a running media-rip (``GET /metrics``, when ``metrics.enabled``).

Each app has its own :class:`Metrics` with its own ``CollectorRegistry``, never
prometheus-client's global one: the tests run many servers in one process, and a restart (after
a yt-dlp update) starts counting afresh like any other process would.

Two kinds of figures:

- counted as things happen: jobs that ended (by status), bytes downloaded, download and probe
  durations, failures by error code, HTTP requests by route and status, notifications sent and
  failed. The engine's events reach :meth:`Metrics.observe` (the same events the SSE streams
  get); the HTTP layer and the notifier call the other ``observe_*`` methods.
- read when scraped: jobs in the database by status, downloads running and queued, open event
  streams and the events waiting in their mailboxes (:meth:`Metrics.refresh`, just before the
  text is made).

Every name starts with ``mediarip_``. Routes are labelled by their rule
(``/api/downloads/<job_id>``), never by the path itself, so a label's values stay few.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .engine.events import JobChanged, JobEvent
from .models import JobKind, JobStatus

if TYPE_CHECKING:
    from .services import Services

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_FINAL = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
# Downloads last seconds to hours; probes a fraction of a second to the two-minute timeout.
_DOWNLOAD_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, float("inf"))
_PROBE_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, float("inf"))


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs = Gauge(
            "mediarip_jobs", "Jobs in the database, by status.", ["status"], registry=r
        )
        self.running = Gauge(
            "mediarip_downloads_running", "Jobs holding a download slot now.", registry=r
        )
        self.queued = Gauge(
            "mediarip_downloads_queued", "Jobs waiting for a download slot.", registry=r
        )
        self.finished = Counter(
            "mediarip_jobs_finished", "Jobs that ended, by final status.", ["status"], registry=r
        )
        self.bytes = Counter(
            "mediarip_downloaded_bytes", "Bytes of the files of completed downloads.", registry=r
        )
        self.download_seconds = Histogram(
            "mediarip_download_duration_seconds",
            "From a job's start to its completion.",
            buckets=_DOWNLOAD_BUCKETS,
            registry=r,
        )
        self.probe_seconds = Histogram(
            "mediarip_probe_duration_seconds",
            "URL previews and format listings, by kind.",
            ["kind"],
            buckets=_PROBE_BUCKETS,
            registry=r,
        )
        self.failures = Counter(
            "mediarip_job_failures", "Jobs that failed, by error code.", ["error"], registry=r
        )
        self.sse_clients = Gauge("mediarip_sse_clients", "Open /api/events streams.", registry=r)
        self.sse_backlog = Gauge(
            "mediarip_sse_backlog_events",
            "Events waiting in the open streams' mailboxes, all streams together.",
            registry=r,
        )
        self.requests = Counter(
            "mediarip_http_requests",
            "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.notifications = Counter(
            "mediarip_notifications",
            "Notifications by target kind and outcome (sent, failed, dropped).",
            ["kind", "outcome"],
            registry=r,
        )

    # -- counted as it happens ------------------------------------------------------------------

    def observe(self, event: JobEvent) -> None:
        """An engine event (called for every one, in the trio thread: cheap, never raises)."""
        if not isinstance(event, JobChanged) or not event.changes:
            return
        status = event.changes.get("status")
        job = event.job
        if status not in _FINAL or job.kind is JobKind.PLAYLIST:
            return  # a playlist's parent only sums its children, which are counted themselves
        self.finished.labels(status.value).inc()
        if status is JobStatus.COMPLETED:
            if job.filesize:
                self.bytes.inc(job.filesize)
            if job.started_at and job.finished_at:
                seconds = (job.finished_at - job.started_at).total_seconds()
                self.download_seconds.observe(max(0.0, seconds))
        elif status is JobStatus.FAILED:
            self.failures.labels(job.error.code if job.error else "unknown").inc()

    def observe_probe(self, kind: str, seconds: float) -> None:
        self.probe_seconds.labels(kind).observe(seconds)

    def observe_request(self, route: str, method: str, status: int) -> None:
        self.requests.labels(route, method, str(status)).inc()

    def observe_notification(self, kind: str, outcome: str) -> None:
        self.notifications.labels(kind, outcome).inc()

    # -- read when scraped ----------------------------------------------------------------------

    async def refresh(self, services: Services) -> None:
        """Read the figures that are states, not events (a checkpoint: one database read)."""
        counts = await services.store.job_counts()
        for status in JobStatus:
            self.jobs.labels(status.value).set(counts.get(status.value, 0))
        self.running.set(services.downloads.active_count)
        self.queued.set(services.downloads.queued_count)
        self.sse_clients.set(services.broker.subscriber_count)
        self.sse_backlog.set(sum(services.broker.backlog()))

    def text(self) -> bytes:
        return generate_latest(self.registry)
