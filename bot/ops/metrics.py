"""Prometheus metrics for one Application, in its own registry: two Applications in one process never mix numbers.

Names follow Prometheus conventions (`_total` counters, `_seconds` units). Labels stay low-cardinality: source,
instance (origin) and, for per-timeline state, the watched hashtag or channel (scope).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
"""Poll durations from a quiet tag (one request) to a long first backfill."""


class Metrics:
    """Every metric the daemon exports, registered in a registry that belongs to this instance only."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.posts_ingested = Counter(
            "merkwacht_posts_ingested", "New posts stored, by source and instance or guild.", ["source", "origin"],
            registry=r,
        )
        self.poll_duration = Histogram(
            "merkwacht_poll_duration_seconds", "How long one poll of one timeline took, all pages together.",
            ["source", "origin"], buckets=POLL_BUCKETS, registry=r,
        )
        self.poll_errors = Counter(
            "merkwacht_poll_errors", "Failed polls by kind (network, timeout, rate_limited, unauthorized, server, "
            "malformed, internal, ...).", ["source", "origin", "kind"], registry=r,
        )
        self.polls_deferred = Counter(
            "merkwacht_polls_deferred", "Polls held back because the instance's request budget was spent.",
            ["source", "origin"], registry=r,
        )
        self.consecutive_errors = Gauge(
            "merkwacht_source_consecutive_errors", "Failed polls in a row; 0 when the last poll worked.",
            ["source", "origin", "scope"], registry=r,
        )
        self.backoff_until = Gauge(
            "merkwacht_source_backoff_until_timestamp_seconds",
            "When a failing timeline is tried again (Unix time); 0 when it is not backing off.",
            ["source", "origin", "scope"], registry=r,
        )
        self.last_success = Gauge(
            "merkwacht_source_last_success_timestamp_seconds", "Last error-free read of a timeline (Unix time).",
            ["source", "origin", "scope"], registry=r,
        )
        self.rate_limit_remaining = Gauge(
            "merkwacht_rate_limit_remaining", "Requests left in the instance's current rate-limit window.",
            ["origin"], registry=r,
        )
        self.poll_lag = Gauge(
            "merkwacht_poll_lag_seconds", "How late a timeline's latest poll started, after it was due (adaptive "
            "schedule).", ["origin", "scope"], registry=r,
        )
        self.polls_queued = Gauge(
            "merkwacht_polls_queued", "Polls due but not started yet (budget spent or all slots busy), per instance.",
            ["origin"], registry=r,
        )
        self.paging_used = Gauge(
            "merkwacht_paging_requests_used", "Paging requests (min_id, max_id, since_id) sent to the instance in "
            "the last 15 minutes, of Mastodon's 300.", ["origin"], registry=r,
        )
        self.requests_sent = Gauge(
            "merkwacht_requests_sent", "Requests sent to the instance since start, all kinds (`api`) and the paging "
            "ones among them (`paging`).", ["origin", "kind"], registry=r,
        )
        self.tags_grouped = Gauge(
            "merkwacht_tags_grouped", "Hashtags of the instance read five to a request through any[] (adaptive "
            "schedule).", ["origin"], registry=r,
        )
        self.digests_sent = Counter(
            "merkwacht_digests_sent", "Daily digests Discord confirmed, by channel.", ["channel"], registry=r,
        )
        self.digest_errors = Counter(
            "merkwacht_digest_errors", "Digest sends that failed (they are retried).", ["channel"], registry=r,
        )
        self.refresh_errors = Counter(
            "merkwacht_refresh_errors", "Engagement refreshes that stopped on an error, by kind (deferred: the "
            "request budget was spent).", ["origin", "kind"], registry=r,
        )
        self.refresh_last_success = Gauge(
            "merkwacht_refresh_last_success_timestamp_seconds", "Last engagement refresh that read everything it "
            "asked for (Unix time).", ["origin"], registry=r,
        )
        self.posts_deleted = Counter(
            "merkwacht_posts_deleted", "Stored posts removed, by why: deleted (at the source), opted_out (the author "
            "asked not to be indexed), retention, forget.", ["source", "origin", "reason"], registry=r,
        )
        self.stage_failures = Counter(
            "merkwacht_stage_failures", "Posts a stage could not handle and went on without (analysis, language "
            "detection), by stage and error type; the first of each kind is logged.", ["stage", "error"], registry=r,
        )
        self.scheduler_running = Gauge(
            "merkwacht_scheduler_running", "1 while the scheduler runs, else 0.", registry=r,
        )

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return bytes(generate_latest(self.registry))
