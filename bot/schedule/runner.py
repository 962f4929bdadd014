"""The adaptive poll loop: start each due timeline's poll when its instance's budget and concurrency allow.

A poll that cannot start on time (budget spent, too many in flight) stays queued, most overdue first; it is never
dropped. How late each poll starts is a metric (`merkwacht_poll_lag_seconds`), and an instance whose polls run late
is logged, at most every LATE_LOG_EVERY seconds, with the numbers that explain it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.config.durations import format_duration
from bot.config.schema import ScheduleConfig
from bot.ingest.ingestor import PollResult
from bot.ops.metrics import Metrics
from bot.schedule.planner import Planner
from bot.sources.base import Timeline
from bot.sources.mastodon.ratelimit import RequestBudget

log = logging.getLogger(__name__)

BUDGET_SHARE = 0.8
"""The part of an instance's request rate that polls plan to use; the rest is for engagement refreshes and headroom."""
CONCURRENCY = 4
"""Polls in flight per instance: enough to hide a slow answer, few enough to keep the budget's count honest."""
LATE_AFTER = 60.0
"""A poll that starts this many seconds after it was due is late (counted, and logged in a summary)."""
LATE_LOG_EVERY = 300.0
"""Seconds between two "running late" warnings about one instance."""
GROUP_SIZE = 5
"""Timelines per grouped request: one tag in the path and Mastodon's 4 in `any[]`."""
GROUP_POSTS = 10.0
"""A timeline expecting fewer new posts than this per poll is quiet enough to share a page with four others."""
IDLE_WAKE = 5.0
"""The longest the loop sleeps without looking again (watch-list changes, a budget that refilled)."""


def timeline_id(timeline: Timeline) -> str:
    """The key a timeline is planned under (the daemon's job id format)."""
    return timeline.id.key


@dataclass(frozen=True, slots=True)
class InstanceLag:
    """How one instance's polls keep up: for `status` and the late-poll log."""

    origin: str
    timelines: int
    queued: int
    slowest: str | None
    slowest_lag: float


class CoverageScheduler:
    """Polls Mastodon timelines as often as their posts arrive, within each instance's budgets, none starved."""

    def __init__(
        self,
        poll: Callable[[Timeline], Awaitable[PollResult]],
        budget: Callable[[str], RequestBudget | None],
        settings: ScheduleConfig,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        concurrency: int = CONCURRENCY,
        poll_group: Callable[[Sequence[Timeline]], Awaitable[Sequence[PollResult]]] | None = None,
        groups_ok: Callable[[str], bool] = lambda origin: False,
    ) -> None:
        self._poll = poll
        self._poll_group = poll_group
        """Polls several quiet timelines of one instance in one request (`any[]`); None: never grouped."""
        self._groups_ok = groups_ok
        """Whether an instance was seen to honour `any[]`."""
        self._budget = budget
        self._clock = clock
        self.metrics = metrics
        self.concurrency = concurrency
        self.planner: Planner[str] = Planner(
            min_interval=settings.min_interval.total_seconds(), max_latency=settings.max_latency.total_seconds()
        )
        self._timelines: dict[str, Timeline] = {}
        self._in_flight: dict[str, int] = {}
        self._blocked: dict[str, float] = {}
        """Instances whose budget is spent, until when."""
        self._logged_late: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.late = 0
        """Polls that started LATE_AFTER seconds or more after they were due."""

    def sync(self, timelines: Sequence[Timeline]) -> None:
        """Plan exactly these timelines: new ones are spread over their instance's first round, gone ones dropped."""
        now = self._clock()
        wanted = {timeline_id(t): t for t in timelines}
        for key in [k for k in self._timelines if k not in wanted]:
            del self._timelines[key]
            self.planner.remove(key)
        for timeline in wanted.values():
            self._rate(timeline.id.server)
        added = [(k, t.id.server) for k, t in wanted.items() if k not in self._timelines]
        self._timelines.update(wanted)
        self.planner.add_many(added, now)
        self._wake.set()

    def postpone(self, timeline: Timeline, until: float) -> None:
        """Leave a timeline alone until `until` (a source that was backing off when the daemon stopped)."""
        self.planner.postpone(timeline_id(timeline), until)

    def _rate(self, origin: str) -> None:
        budget = self._budget(origin)
        if budget is not None:
            rate = BUDGET_SHARE * budget.limit / budget.window
            if self.planner.budgets.get(origin) != rate:
                self.planner.budgets[origin] = rate

    def ready(self, now: float) -> list[list[Timeline]]:
        """The polls that may start now, each one timeline or a group of quiet ones of one instance (`any[]`),
        marked as started; the others due stay queued."""
        out: list[list[Timeline]] = []
        for key in self.planner.due(now):
            timeline = self._timelines.get(key)
            if timeline is None or self.planner.timelines[key].running:
                continue
            origin = timeline.id.server
            if self._in_flight.get(origin, 0) >= self.concurrency or self._blocked.get(origin, 0.0) > now:
                continue
            budget = self._budget(origin)
            wait = budget.wait() if budget is not None else 0.0
            if wait:
                self._blocked[origin] = now + wait
                continue
            unit = [timeline, *self._companions(timeline, now)]
            for member in unit:
                lag = self.planner.start(timeline_id(member), now)
                if member is timeline and lag >= LATE_AFTER:
                    self.late += 1
                if self.metrics is not None:
                    self.metrics.poll_lag.labels(origin, member.id.feed).set(lag if member is timeline else 0.0)
            self._in_flight[origin] = self._in_flight.get(origin, 0) + 1
            out.append(unit)
        self._report_queues(now)
        return out

    def _groupable(self, key: str) -> bool:
        plan = self.planner.timelines[key]
        return plan.rate * plan.interval < GROUP_POSTS

    def _companions(self, timeline: Timeline, now: float) -> list[Timeline]:
        # Quiet timelines of the same instance ride along with a quiet one that is due, if the instance honours
        # any[]: those due soonest, and none more than half its interval early, so each keeps about its own pace.
        origin, key = timeline.id.server, timeline_id(timeline)
        if self._poll_group is None or not self._groups_ok(origin) or not self._groupable(key):
            return []
        candidates = []
        for other_key, other in self._timelines.items():
            plan = self.planner.timelines.get(other_key)
            if other_key == key or other.id.server != origin or plan is None or plan.running:
                continue
            if plan.last_start is None or not self._groupable(other_key):
                continue  # a first poll backfills on its own
            if plan.due <= now + plan.interval / 2:
                candidates.append((plan.due, other_key, other))
        candidates.sort(key=lambda item: item[0])
        return [other for _, _, other in candidates[: GROUP_SIZE - 1]]

    async def run_one(self, unit: Sequence[Timeline], started: float) -> list[PollResult]:
        """Run one poll that `ready` handed out (one timeline, or a group), and plan each member's next poll."""
        origin = unit[0].id.server
        try:
            if len(unit) > 1 and self._poll_group is not None:
                results = list(await self._poll_group(unit))
            else:
                results = [await self._poll(unit[0])]
        except BaseException:
            for member in unit:
                self.planner.release(timeline_id(member))
            raise
        finally:
            self._in_flight[origin] = max(self._in_flight.get(origin, 1) - 1, 0)
            self._wake.set()
        now = self._clock()
        self._rate(origin)
        for member, result in zip(unit, results, strict=True):
            self._finished(member, result, started, now)
        return results

    def _finished(self, timeline: Timeline, result: PollResult, started: float, now: float) -> None:
        key = timeline_id(timeline)
        if result.ok:
            plan = self.planner.timelines.get(key)
            if plan is not None:
                shared = self._poll_group is not None and self._groups_ok(timeline.id.server)
                plan.cost = 1.0 / GROUP_SIZE if shared and self._groupable(key) else 1.0
            span = None
            if result.oldest_read is not None:
                span = max(now - result.oldest_read.timestamp(), 0.0)
            self.planner.finished(key, started, new=result.new, ok=True, span=span)
        elif result.error_kind == "deferred":
            # Our own budget held the poll back before it sent anything (or mid-way): it stays due, and late.
            self.planner.release(key)
            self._blocked[timeline.id.server] = now + (result.retry_after or 1.0)
        else:
            self.planner.finished(key, started, new=0, ok=False)
            until = result.backoff_until.timestamp() if result.backoff_until is not None else now + 60.0
            self.planner.postpone(key, until)

    def wake_in(self, now: float) -> float:
        """Seconds until a poll may become ready (a due time, a budget refill), at most IDLE_WAKE."""
        times = []
        for origin in {t.id.server for t in self._timelines.values()}:
            if self._in_flight.get(origin, 0) >= self.concurrency:
                continue
            due = self.planner.next_due(origin)
            if due is None:
                continue
            times.append(max(due, self._blocked.get(origin, 0.0)))
        return min(max(min(times, default=now + IDLE_WAKE) - now, 0.0), IDLE_WAKE)

    async def run(self, stop: asyncio.Event) -> None:
        """Start polls as they become ready until `stop` is set; then wait for the polls in flight."""
        while not stop.is_set():
            self._wake.clear()
            now = self._clock()
            for unit in self.ready(now):
                name = "poll " + " ".join(timeline_id(t) for t in unit)
                task = asyncio.create_task(self.run_one(unit, now), name=name)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            delay = self.wake_in(self._clock())
            if delay <= 0:
                # Due now but held by concurrency: a finishing poll sets the event.
                delay = IDLE_WAKE
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def grouped(self, origin: str) -> int:
        """Timelines of `origin` quiet enough to share `any[]` requests now."""
        return sum(
            1 for key, t in self._timelines.items()
            if t.id.server == origin and key in self.planner.timelines and self.planner.timelines[key].cost < 1.0
        )

    def lags(self, now: float | None = None) -> list[InstanceLag]:
        """Per instance: timelines, polls queued (due, not started) and the slowest timeline's lag."""
        now = self._clock() if now is None else now
        out = []
        for origin in sorted({t.id.server for t in self._timelines.values()}):
            keys = [k for k, t in self._timelines.items() if t.id.server == origin and k in self.planner.timelines]
            lags = {k: self.planner.lag(k, now) for k in keys}
            queued = sum(1 for k in keys if not self.planner.timelines[k].running and lags[k] > 0)
            slowest = max(lags, key=lambda k: lags[k], default=None)
            out.append(InstanceLag(origin, len(keys), queued, slowest, lags[slowest] if slowest else 0.0))
        return out

    def _report_queues(self, now: float) -> None:
        for lag in self.lags(now):
            if self.metrics is not None:
                self.metrics.polls_queued.labels(lag.origin).set(lag.queued)
                self.metrics.tags_grouped.labels(lag.origin).set(self.grouped(lag.origin))
            if lag.slowest_lag < LATE_AFTER or now - self._logged_late.get(lag.origin, -1e18) < LATE_LOG_EVERY:
                continue
            self._logged_late[lag.origin] = now
            budget = self._budget(lag.origin)
            spent = ""
            if budget is not None:
                spent = (f"; budget: {budget.remaining}/{budget.limit} requests left, "
                         f"{budget.paging_used()}/{budget.paging.limit} paging requests used in 15 min")
            log.warning(
                "polls of %s run late: %d of %d timelines queued, the slowest (%s) %s late%s; they are polled as soon "
                "as the budget allows, none is skipped",
                lag.origin, lag.queued, lag.timelines, lag.slowest,
                format_duration(timedelta(seconds=round(lag.slowest_lag))), spent,
            )
