"""The adaptive plan: busy tags more often, quiet ones at least every max_latency, within the budget, none starved."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from bot.config.schema import ScheduleConfig
from bot.ingest.ingestor import PollResult
from bot.model import SourceKind, TimelineId
from bot.ops.metrics import Metrics
from bot.schedule.planner import Planner
from bot.schedule.runner import CoverageScheduler
from bot.sources.mastodon.ratelimit import RequestBudget

ORIGIN = "https://m.example"


def test_a_busy_tag_is_polled_more_often_than_a_quiet_one_and_a_quiet_one_within_max_latency() -> None:
    planner: Planner[str] = Planner(min_interval=30, max_latency=600, budgets={ORIGIN: 0.8})
    planner.add_many([("busy", ORIGIN), ("quiet", ORIGIN)], now=0)
    for start in (0.0, 600.0, 1200.0):
        for key, new in (("busy", 120), ("quiet", 0)):
            planner.start(key, start)
            planner.finished(key, start, new=new, ok=True)

    busy, quiet = planner.timelines["busy"], planner.timelines["quiet"]
    assert busy.interval < 120 and busy.interval >= 30
    assert quiet.interval == 600
    assert quiet.due == 1800


def test_two_hundred_tags_plan_no_more_requests_than_the_budget_allows() -> None:
    planner: Planner[str] = Planner(min_interval=30, max_latency=600, budgets={ORIGIN: 0.8})
    keys = [f"t{i}" for i in range(200)]
    planner.add_many([(k, ORIGIN) for k in keys], now=0)
    for i, key in enumerate(keys):
        # Heavy-tailed: tag i gets about 100 / (i + 1) posts per 10 minutes.
        planner.start(key, 0)
        planner.finished(key, 0, new=0, ok=True)
        planner.start(key, 600)
        planner.finished(key, 600, new=int(100 / (i + 1)), ok=True)

    spend = sum(1 / p.interval for p in planner.timelines.values())
    assert spend <= 0.8 + 1e-6
    assert planner.timelines["t0"].interval < planner.timelines["t20"].interval <= 600
    assert max(p.interval for p in planner.timelines.values()) <= 600


def test_first_polls_are_spread_over_the_budgets_pace_not_fired_at_once() -> None:
    planner: Planner[str] = Planner(min_interval=30, max_latency=600, budgets={ORIGIN: 0.8})
    planner.add_many([(f"t{i}", ORIGIN) for i in range(200)], now=1000)

    dues = sorted(p.due for p in planner.timelines.values())
    assert dues[0] == 1000 and dues[-1] < 1000 + 200 / 0.8
    assert max(Counter(int(d) for d in dues).values()) <= 1, "at most one first poll per second"


def test_a_backing_off_timeline_is_not_polled_before_its_backoff_ends() -> None:
    planner: Planner[str] = Planner(min_interval=30, max_latency=600, budgets={ORIGIN: 0.8})
    planner.add_many([("a", ORIGIN), ("b", ORIGIN)], now=0)
    planner.start("a", 0)
    planner.finished("a", 0, new=0, ok=False)
    planner.postpone("a", 5000)
    planner.start("b", 300)
    planner.finished("b", 300, new=50, ok=True)  # a replan of the instance must not undo a's backoff

    assert "a" not in planner.due(4999) and "a" in planner.due(5000)


class FakeTimeline:
    """Only what the scheduler reads of a timeline."""

    def __init__(self, scope: str, origin: str = ORIGIN) -> None:
        self.id = TimelineId(SourceKind.MASTODON, origin, scope)

    async def newer(self, after_id: str) -> Any:
        raise AssertionError("the scheduler never reads timelines itself")

    older = newer


def test_when_the_budget_cannot_keep_up_every_poll_is_queued_late_and_logged_never_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [1_800_000_000.0]
    budget = RequestBudget(limit=60, window=300, reserve=0, clock=lambda: clock[0])
    budget.observe(200, {"X-RateLimit-Limit": "60"})
    budget.finished()
    metrics = Metrics()
    polled: Counter[str] = Counter()

    async def poll(timeline: Any) -> PollResult:
        wait = budget.take()
        if wait:
            return PollResult(timeline.id, error="spent", error_kind="deferred", retry_after=wait)
        polled[timeline.id.feed] += 1
        return PollResult(timeline.id, new=0)

    settings = ScheduleConfig(max_latency=timedelta(minutes=2), min_interval=timedelta(seconds=30))
    scheduler = CoverageScheduler(poll, lambda origin: budget, settings, metrics=metrics, clock=lambda: clock[0])
    tags = [FakeTimeline(f"t{i:03d}") for i in range(100)]
    scheduler.sync(tags)  # type: ignore[arg-type]

    async def run_for(seconds: float) -> None:
        end = clock[0] + seconds
        while clock[0] < end:
            for unit in scheduler.ready(clock[0]):
                await scheduler.run_one(unit, clock[0])
            clock[0] += max(scheduler.wake_in(clock[0]), 0.5)

    with caplog.at_level(logging.WARNING, logger="bot.schedule.runner"):
        asyncio.run(run_for(1800))

    # 60 requests per 5 minutes cannot poll 100 tags every 2 minutes: every tag is still polled, in turn.
    assert set(polled) == {t.id.feed for t in tags}
    assert max(polled.values()) - min(polled.values()) <= 1, "earliest-due first: nobody is polled twice ahead"
    assert sum(polled.values()) <= 60 * 1800 / 300 + 60, "the budget held"
    assert scheduler.late > 0
    assert any("run late" in r.getMessage() and "none is skipped" in r.getMessage() for r in caplog.records)
    text = metrics.render().decode()
    assert "merkwacht_poll_lag_seconds" in text and "merkwacht_polls_queued" in text


def test_status_shows_each_instances_budgets_requests_grouping_and_slowest_lag() -> None:
    from bot.schedule.status import budget_lines

    clock = [1_800_000_000.0]
    budget = RequestBudget(limit=300, window=300, reserve=0, clock=lambda: clock[0])
    budget.observe(200, {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "300"})
    budget.finished()
    for paging in (True, True, False):
        budget.take(paging=paging)

    async def poll(timeline: Any) -> PollResult:
        return PollResult(timeline.id)

    settings = ScheduleConfig(max_latency=timedelta(minutes=10))
    scheduler = CoverageScheduler(poll, lambda origin: budget, settings, clock=lambda: clock[0])
    scheduler.sync([FakeTimeline("koffie"), FakeTimeline("thee")])  # type: ignore[list-item]
    clock[0] += 100  # nobody has polled: both are late

    lines = budget_lines({ORIGIN: budget}, scheduler, lambda origin: False, clock[0])

    assert lines[0] == "Instance budgets:"
    assert "API 297/300 left" in lines[1] and "paging 2/300 used in 15m" in lines[1]
    assert "3 requests sent (2 paging)" in lines[1] and "any[] not used" in lines[1]
    assert "slowest #koffie" in lines[1] and "late, 2 queued" in lines[1]


def test_the_fixed_schedule_spreads_each_instances_first_polls_instead_of_firing_them_at_once() -> None:
    from bot.daemon.app import FIRST_ROUND_GAP, first_round_offsets

    other = "https://other.example"
    timelines = [FakeTimeline(f"t{i}") for i in range(200)] + [FakeTimeline(f"o{i}", other) for i in range(3)]

    offsets = first_round_offsets(timelines, interval=300)  # type: ignore[arg-type]

    mine = [o for t, o in offsets if t.id.server == ORIGIN]
    theirs = [o for t, o in offsets if t.id.server == other]
    assert len(set(mine)) == 200 and max(mine) < 300, "200 distinct starts within one interval"
    assert theirs == [0.0, FIRST_ROUND_GAP, 2 * FIRST_ROUND_GAP], "another instance starts at once, at its own pace"
