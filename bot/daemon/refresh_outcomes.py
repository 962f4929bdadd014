"""What follows an engagement refresh: metrics, and whether the refresh of an instance has stopped working.

A refresh that keeps failing (every answer an error, not merely held back by the request budget) means edits,
deletions and opt-outs are no longer followed: after `FAILURES_BEFORE_DEGRADED` in a row, `/healthz` says
`degraded` and `/status` shows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.ingest.refresh import RefreshResult
from bot.ops.metrics import Metrics

FAILURES_BEFORE_DEGRADED = 3
"""Refreshes of one instance failing in a row before health says so (one bad hour is weather, three are a fault)."""


@dataclass(slots=True)
class RefreshState:
    """One instance's refresh record since the daemon started."""

    failures: int = 0
    last_success: float | None = None
    last_error: str | None = None


class RefreshOutcomes:
    """Counts refresh results into the metrics and keeps each instance's refresh health."""

    def __init__(self, metrics: Metrics, clock: Callable[[], float] = time.time) -> None:
        self.metrics = metrics
        self._clock = clock
        self.states: dict[str, RefreshState] = {}

    def report(self, result: RefreshResult) -> RefreshResult:
        """Record one refresh; deferred refreshes (budget spent) are counted but are not failures."""
        state = self.states.setdefault(result.origin, RefreshState())
        if result.deleted:
            self.metrics.posts_deleted.labels("mastodon", result.origin, "deleted").inc(result.deleted)
        if result.opted_out:
            self.metrics.posts_deleted.labels("mastodon", result.origin, "opted_out").inc(result.opted_out)
        if result.error_kind is not None:
            self.metrics.refresh_errors.labels(result.origin, result.error_kind).inc()
            if result.error_kind != "deferred":
                state.failures += 1
                state.last_error = result.error
            return result
        state.failures = 0
        state.last_success = self._clock()
        self.metrics.refresh_last_success.labels(result.origin).set(state.last_success)
        return result

    def failing(self) -> dict[str, str]:
        """Instances whose refresh failed `FAILURES_BEFORE_DEGRADED` times in a row: url -> last error."""
        return {
            url: f"{s.failures} refreshes failed in a row, last: {(s.last_error or '')[:160]}"
            for url, s in self.states.items()
            if s.failures >= FAILURES_BEFORE_DEGRADED
        }

    def lines(self) -> list[str]:
        """For `/status`: one line per instance whose refresh has problems."""
        return [f"- refresh on {url}: FAILING ({why})" for url, why in self.failing().items()]
