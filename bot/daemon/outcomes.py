"""What the daemon does with each poll's result: count it, log it (an outage alerted once), and postpone a failing
timeline's next poll without touching any other."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config.durations import format_duration
from bot.ingest.ingestor import PollResult
from bot.ops.backoff import BackoffPolicy
from bot.ops.metrics import Metrics
from bot.sources.base import Timeline
from bot.sources.mastodon.ratelimit import RequestBudget

log = logging.getLogger(__name__)


class PollOutcomes:
    """Metrics, logs and job postponement for poll results; remembers which outages were already alerted."""

    def __init__(
        self, metrics: Metrics, backoff: BackoffPolicy, scheduler: Callable[[], AsyncIOScheduler | None]
    ) -> None:
        self.metrics = metrics
        self.backoff = backoff
        self._scheduler = scheduler
        self._alerted: set[str] = set()
        """Outages already reported at error level, so a revoked token is one alert, not one per poll."""

    def report(self, timeline: Timeline, result: PollResult, seconds: float, budget: RequestBudget | None) -> None:
        """Count, log and (for a failure) postpone the next poll of `timeline` after one poll that took `seconds`."""
        self._count(timeline, result, seconds, budget)
        if result.ok:
            self._report_success(timeline, result)
        else:
            self._back_off(timeline, result)

    def _count(
        self, timeline: Timeline, result: PollResult, seconds: float, budget: RequestBudget | None
    ) -> None:
        m, src, origin, scope = self.metrics, timeline.id.source.value, timeline.id.server, timeline.id.feed
        m.poll_duration.labels(src, origin).observe(seconds)
        if result.new:
            m.posts_ingested.labels(src, origin).inc(result.new)
        if result.error_kind == "deferred":
            m.polls_deferred.labels(src, origin).inc()
        elif not result.ok:
            m.poll_errors.labels(src, origin, result.error_kind or "unknown").inc()
            m.consecutive_errors.labels(src, origin, scope).set(result.consecutive_errors)
        else:
            m.consecutive_errors.labels(src, origin, scope).set(0)
            m.backoff_until.labels(src, origin, scope).set(0)
            m.last_success.labels(src, origin, scope).set(time.time())
        if budget is not None:
            m.rate_limit_remaining.labels(origin).set(budget.remaining)
            m.paging_used.labels(origin).set(budget.paging_used())
            m.requests_sent.labels(origin, "api").set(budget.used_total)
            m.requests_sent.labels(origin, "paging").set(budget.paging.used_total)

    def _report_success(self, timeline: Timeline, result: PollResult) -> None:
        key = timeline.id.key
        if result.recovered_after is not None:
            down = format_duration(timedelta(seconds=round(result.recovered_after)))
            log.warning("%s works again after %s down", key, down)
        self._alerted.discard(key)
        self._alerted.discard(f"unauthorized:{timeline.id.server}")
        log.info(
            "polled %s: %d new, %d duplicate, %d skipped (opt-out), %d pages",
            key,
            result.new,
            result.duplicate,
            result.skipped,
            result.pages,
        )

    def _back_off(self, timeline: Timeline, result: PollResult) -> None:
        key = timeline.id.key
        now = datetime.now(UTC)
        # A failure's backoff was stored with it; a deferred poll (our own budget) is postponed without a record.
        until = result.backoff_until
        if until is None:
            wait = self.backoff.delay(result.consecutive_errors, retry_after=result.retry_after, kind=result.error_kind)
            until = now + timedelta(seconds=wait)
        delay = (until - now).total_seconds()
        scheduler = self._scheduler()
        job = scheduler.get_job(key) if scheduler is not None and scheduler.running else None
        if job is not None and job.next_run_time is not None and job.next_run_time < until:
            # Only this timeline's job moves; every other source keeps its schedule.
            job.modify(next_run_time=until)
        when = format_duration(timedelta(seconds=round(delay)))
        if result.error_kind == "deferred":
            log.debug("%s: request budget spent, next poll in %s", key, when)
            return
        timeline_id = timeline.id
        self.metrics.backoff_until.labels(timeline_id.source.value, timeline_id.server, timeline_id.feed).set(
            until.timestamp()
        )
        alert = f"unauthorized:{timeline.id.server}" if result.error_kind == "unauthorized" else key
        if alert not in self._alerted and result.error_kind == "unauthorized":
            self._alerted.add(alert)
            log.error(
                "%s refused the access token (401): it was revoked or has expired. Set a new one (token_env/"
                "token_file of this instance) and restart; its timelines are retried up to every %s meanwhile. "
                "This is reported once until it works again.",
                timeline.id.server,
                format_duration(timedelta(seconds=self.backoff.cap)),
            )
        elif alert not in self._alerted:
            self._alerted.add(alert)
            log.warning("polling %s failed (%s): %s; next try in %s", key, result.error_kind, result.error, when)
        else:
            log.debug(
                "polling %s failed again (%s, %d in a row): %s; next try in %s",
                key,
                result.error_kind,
                result.consecutive_errors,
                result.error,
                when,
            )
