"""When each timeline is polled next: as often as its posts arrive, within its instance's request budget.

Pure bookkeeping on a clock the caller passes in (no I/O, no asyncio), so it is tested with plain numbers and driven
by the benchmark in simulated time.

The rule: a timeline with `r` posts per second is polled every `c / sqrt(r)` seconds, clamped to
[`min_interval`, `max_latency`], where `c` is the smallest constant that keeps the instance's polls within its
request rate. The square root is what minimises the average delay of posts for a fixed number of requests (a post
waits half an interval on average; the posts of a tag are `r` per second, its polls cost `1 / interval` requests per
second: minimising sum(r_i * I_i) under sum(1 / I_i) = B gives I_i proportional to 1 / sqrt(r_i)). A busy tag is
also polled before more posts pile up than one page holds, so its polls stay single, non-paging requests.

Fairness: polls are handed out earliest-due first, so a timeline that waits grows more urgent than every timeline
that is not yet due and cannot starve; a poll that cannot go on time stays queued (never dropped) and its lag shows.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)

RATE_HALF_LIFE = 3600.0
"""Seconds of history that weigh half in a timeline's rate: an hour, so a tag that wakes up is noticed soon."""
PRIOR_POSTS = 0.5
PRIOR_SECONDS = 3600.0
"""The rate assumed before anything is seen: half a post an hour (a quiet tag), worth an hour of observation."""
REQUEST_COST = 30.0
"""Post-seconds of delay a request must save to be worth sending: with plenty of budget left, a tag with a post a
minute is polled every minute, one with a post an hour every 8 minutes, and the spare budget stays unspent."""
PAGE_POSTS = 30
"""Polls are planned so that a page (40 posts) holds what arrived meanwhile, with a margin for bursts."""


@dataclass(slots=True)
class TimelinePlan:
    """One timeline's schedule: when it is due, what was seen of it, its interval."""

    origin: str
    due: float
    posts: float = PRIOR_POSTS
    seconds: float = PRIOR_SECONDS
    interval: float = 0.0
    last_start: float | None = None
    running: bool = False
    polls: int = 0
    lag: float = 0.0
    """How late its latest poll started (seconds after it was due)."""
    hold_until: float = 0.0
    """A failing source's backoff: not polled before this."""
    cost: float = 1.0
    """Requests one poll of it costs on average (a fifth for a quiet tag that shares a page through `any[]`)."""

    @property
    def rate(self) -> float:
        """Posts per second, recent history weighing most."""
        return self.posts / self.seconds

    def observe(self, new: int, elapsed: float) -> None:
        """Count `new` posts found after `elapsed` seconds; old observations fade with RATE_HALF_LIFE."""
        decay = 0.5 ** (elapsed / RATE_HALF_LIFE)
        self.posts = self.posts * decay + new
        self.seconds = self.seconds * decay + elapsed


@dataclass(slots=True)
class Planner(Generic[Key]):
    """Per-timeline due times for any number of instances; each instance has `rate_of(origin)` requests/s to spend."""

    min_interval: float
    max_latency: float
    timelines: dict[Key, TimelinePlan] = field(default_factory=dict)
    budgets: dict[str, float] = field(default_factory=dict)
    """Requests per second each instance's polls may use (origin → rate); absent means unbounded."""
    now: float = 0.0
    """The latest time the planner was told about (a replan never moves a poll before it)."""

    def add_many(self, keys: Iterable[tuple[Key, str]], now: float) -> None:
        """Plan timelines that start together, spread out so they do not all hit their instance at once.

        Each instance's first round is spread over the time its budget needs for one request per timeline (at most
        `max_latency`), so the first polls neither come in one burst nor wait longer than needed.
        """
        by_origin: dict[str, list[Key]] = {}
        for key, origin in keys:
            if key not in self.timelines:
                by_origin.setdefault(origin, []).append(key)
        self.now = max(self.now, now)
        for origin, members in by_origin.items():
            budget = self.budgets.get(origin)
            spread = self.max_latency if budget is None else min(self.max_latency, len(members) / budget)
            spread = max(spread, self.min_interval)
            for index, key in enumerate(members):
                self.timelines[key] = TimelinePlan(origin, due=now + spread * index / len(members))
            self._replan(origin)

    def remove(self, key: Key) -> None:
        """Stop planning a timeline (it is no longer watched)."""
        plan = self.timelines.pop(key, None)
        if plan is not None:
            self._replan(plan.origin)

    def due(self, now: float) -> list[Key]:
        """Timelines due and not running, most overdue first."""
        self.now = max(self.now, now)
        ready = [(plan.due, key) for key, plan in self.timelines.items() if not plan.running and plan.due <= now]
        ready.sort(key=lambda item: item[0])
        return [key for _, key in ready]

    def next_due(self, origin: str | None = None) -> float | None:
        """The earliest due time of a timeline not running (of one instance, or of all)."""
        times = [
            p.due for p in self.timelines.values() if not p.running and (origin is None or p.origin == origin)
        ]
        return min(times, default=None)

    def start(self, key: Key, now: float) -> float:
        """A poll of `key` starts now: its lag (seconds after it was due)."""
        self.now = max(self.now, now)
        plan = self.timelines[key]
        plan.running = True
        plan.lag = max(now - plan.due, 0.0)
        return plan.lag

    def finished(self, key: Key, started: float, *, new: int, ok: bool, span: float | None = None) -> None:
        """A poll that started at `started` found `new` posts (written over the last `span` seconds, when known):
        learn the rate, plan the next poll."""
        plan = self.timelines.get(key)
        if plan is None:
            return
        plan.running = False
        if not ok:
            return
        if plan.last_start is not None:
            plan.observe(new, max(started - plan.last_start, 1.0))
        elif new:
            # The first poll in this process covers an unknown stretch (a backfill, or the time the daemon was
            # stopped): the posts' own times say how long, and no less than max_latency is assumed.
            plan.observe(new, max(span or 0.0, self.max_latency))
        plan.last_start = started
        plan.polls += 1
        self.now = max(self.now, started)
        self._replan(plan.origin)
        plan.due = max(started + plan.interval, plan.hold_until)

    def postpone(self, key: Key, until: float) -> None:
        """Hold a timeline back until `until` (its source is backing off); it stays planned."""
        plan = self.timelines.get(key)
        if plan is not None:
            plan.running = False
            plan.hold_until = until
            plan.due = max(plan.due, until)

    def release(self, key: Key) -> None:
        """A poll that did not run after all (its budget was spent): due as before, so its lag keeps growing."""
        plan = self.timelines.get(key)
        if plan is not None:
            plan.running = False

    def lag(self, key: Key, now: float) -> float:
        """How late a timeline is now: the running poll's start lag, or how long it has been due."""
        plan = self.timelines[key]
        return plan.lag if plan.running else max(now - plan.due, 0.0)

    def _replan(self, origin: str) -> None:
        members = [p for p in self.timelines.values() if p.origin == origin]
        if not members:
            return
        budget = self.budgets.get(origin)
        scale = _solve(members, self.min_interval, self.max_latency, budget)
        for plan in members:
            interval = _interval(plan.rate, scale, self.min_interval, self.max_latency)
            plan.interval = interval
            # A changed interval moves the next poll with it: sooner for a tag that got busy (but not into the past: it
            # is due now, not late), later for one that went quiet (never beyond max_latency after its last poll), and
            # never before a backoff ends. A poll already due keeps its place in the queue.
            if plan.last_start is not None and not plan.running and plan.due > self.now:
                plan.due = max(plan.last_start + interval, plan.hold_until, self.now)


def _interval(rate: float, scale: float, low: float, high: float) -> float:
    interval = scale / math.sqrt(max(rate, 1e-9))
    # Before a page overflows: more posts than a page between polls would cost paging requests.
    interval = min(interval, PAGE_POSTS / max(rate, 1e-9))
    return min(max(interval, low), high)


def _solve(members: list[TimelinePlan], low: float, high: float, budget: float | None) -> float:
    """The smallest scale whose intervals spend at most `budget` requests per second (bisection, on log scale)."""
    # Minimising delay plus REQUEST_COST per request gives interval = sqrt(2 * REQUEST_COST / rate); the budget can
    # only lengthen that.
    least = math.sqrt(2 * REQUEST_COST)
    if budget is None:
        return least

    def spend(scale: float) -> float:
        return sum(p.cost / _interval(p.rate, scale, low, high) for p in members)

    lo, hi = least, 1e7
    if spend(lo) <= budget:
        return lo
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        if spend(mid) <= budget:
            hi = mid
        else:
            lo = mid
    return hi
