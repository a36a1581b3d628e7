"""Prometheus metrics: one registry per app instance, exposed at GET /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "glocal_updates_total", "Telegram updates handled", ["type"], registry=self.registry
        )
        self.update_latency = Histogram(
            "glocal_update_handler_seconds", "Time to handle one update", ["type"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.update_errors = Counter(
            "glocal_update_errors_total", "Updates whose handler raised", ["type"], registry=self.registry
        )
        self.duplicates = Counter(
            "glocal_updates_duplicate_total", "Updates dropped as already handled", registry=self.registry
        )
        self.http_requests = Counter(
            "glocal_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.http_latency = Histogram(
            "glocal_http_request_seconds", "HTTP request latency", ["method", "route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.queued = Counter(
            "glocal_updates_queued_total", "Updates that waited behind their chat's (another replica held it)",
            registry=self.registry,
        )
        self.replies = Counter(
            "glocal_reply_batches_total", "Reply batches not sent at the first try: retry, or uncertain (a sender "
            "died with a call in flight, so it may be repeated)", ["outcome"], registry=self.registry,
        )
        self.job_runs = Counter(
            "glocal_job_runs_total", "Scheduled job runs", ["job", "outcome"], registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
