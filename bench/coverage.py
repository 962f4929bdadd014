"""Coverage at scale: 200 hashtags on one instance that enforces both of Mastodon's limits, for two simulated hours.

    python bench/coverage.py [--tags 200] [--hours 2] [--rate 0.5] [--seed 1] [--only fixed|adaptive]

Compares, in the same run and on the same posts:

- **fixed**: today's polling as it was before this change: every timeline every `poll_interval` (5 minutes) with
  APScheduler's jitter, all first polls at start, each poll paging forward with `min_id` until an empty page, a
  budget that knows the 5-minute limit only;
- **fixed+head**: the fixed schedule (`strategy = "fixed"`, still the default) with this work's polls: newest page
  first, the paging budget, first polls spread as the daemon now spreads them (one per 1.25 s);
- **adaptive**: `schedule.strategy = "adaptive"` (bot/schedule), polls that read the newest page first, and the
  paging budget;
- **adaptive+any**: the same, with quiet tags read five to a request through `any[]` (the simulated instance honours
  it, as Mastodon does; the daemon groups only after its probe has seen that).

Time is simulated, honestly: the instance (bench/limited_instance.py) and every budget run on a virtual clock that
jumps from one poll to the next, so two hours take a minute or two. Each poll is the real `Ingestor` storing into
SQLite through the real pipeline (brand matching on, analysis off, which only costs CPU) and the real budgets; a
poll takes no simulated time (a real one takes well under a second, against intervals of minutes). Posts arrive as
a Poisson process at `--rate` posts/s spread over the tags by a Zipf law (exponent 1.1: a few busy tags, most
quiet); every tag also has two hours of history before the start. After the last post the run goes on for 15
simulated minutes, then counts what is missing.

Reports per strategy: posts missed, median and p95 latency from a post's creation to its storing, requests and
paging requests sent, 429s received, and how often the least-polled tags were polled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from bench.limited_instance import LimitedGroup, LimitedInstance, LimitedTimeline
from bot.config.schema import ScheduleConfig
from bot.ingest.grouped import GroupPoller
from bot.ingest.ingestor import Ingestor, PollResult
from bot.ingest.matching import BrandMatcher
from bot.ingest.pipeline import Pipeline
from bot.ops.backoff import BackoffPolicy
from bot.schedule.runner import CoverageScheduler
from bot.sources.mastodon.ratelimit import PagingBudget, RequestBudget
from storage.db import Database

STRATEGIES = ["fixed", "fixed+head", "adaptive", "adaptive+any"]
INTERVAL = 300.0
JITTER = 30.0
DRAIN = 900.0
HISTORY = 7200.0


@dataclass
class Figures:
    """What one strategy achieved."""

    strategy: str
    tags: int
    posts: int
    missed: int
    median_latency_s: float
    p95_latency_s: float
    max_latency_s: float
    requests: int
    paging_requests: int
    refused_429: int
    polls: int
    fewest_polls_per_tag: int
    tags_polled_under_half_the_fixed_rate: int
    wall_seconds: float


class VirtualClock:
    """Simulated time, in epoch seconds: it moves only when the benchmark moves it."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def arrivals(tags: Sequence[str], rate: float, start: float, end: float, rng: random.Random) -> list[tuple[float, str]]:
    """(time, tag) of every post: Poisson at `rate`, tags by a Zipf law."""
    weights = [1.0 / (i + 1) ** 1.1 for i in range(len(tags))]
    out, t = [], start
    while True:
        t += rng.expovariate(rate)
        if t >= end:
            return out
        out.append((t, rng.choices(tags, weights)[0]))


async def simulate(strategy: str, tags: Sequence[str], posts: list[tuple[float, str]], start: float, end: float,
                   workdir: Path) -> Figures:
    """One strategy over the whole run."""
    began = time.perf_counter()
    clock = VirtualClock(start - HISTORY)
    server = LimitedInstance(clock)
    db = Database(f"sqlite:///{workdir / f'{strategy}.db'}")
    pipeline = Pipeline(BrandMatcher([]), None)
    ingestor = Ingestor(db, pipeline, backoff=BackoffPolicy(base=INTERVAL, cap=3600))
    adaptive = strategy.startswith("adaptive")
    today = strategy == "fixed"
    paging = PagingBudget(limit=10**9, clock=clock) if today else PagingBudget(clock=clock)
    budget = RequestBudget(clock=clock, paging=paging)
    timelines = {tag: LimitedTimeline(server, tag, budget, head_first=not today) for tag in tags}

    created: dict[str, float] = {}
    pending = iter(posts)
    upcoming = next(pending, None)
    # The history: every tag has posts over the two hours before the start.
    while upcoming is not None and upcoming[0] < start:
        clock.now = upcoming[0]
        server.publish([upcoming[1]], upcoming[0])
        upcoming = next(pending, None)
    clock.now = start

    def publish_until(t: float) -> None:
        nonlocal upcoming
        while upcoming is not None and upcoming[0] <= t:
            created[server.publish([upcoming[1]], upcoming[0])] = upcoming[0]
            upcoming = next(pending, None)

    stored: dict[str, float] = {}
    last_row = 0

    def collect() -> None:
        nonlocal last_row
        with db.engine.connect() as conn:
            query = text("SELECT id, uri FROM posts WHERE id > :last ORDER BY id")
            rows = list(conn.execute(query, {"last": last_row}))
        for row in rows:
            stored.setdefault(row.uri, clock.now)
            last_row = row.id

    polls: dict[str, int] = dict.fromkeys(tags, 0)
    backoff = BackoffPolicy(base=INTERVAL, cap=3600)

    async def poll(timeline: LimitedTimeline) -> PollResult:
        result = await ingestor.poll(timeline, backfill=timedelta(hours=24))
        polls[timeline.tag] += result.ok
        return result

    finish = end + DRAIN
    if adaptive:
        settings = ScheduleConfig(strategy="adaptive")
        grouper = GroupPoller(ingestor)

        async def poll_group(unit: Sequence[LimitedTimeline]) -> list[PollResult]:
            results = await grouper.poll(LimitedGroup(unit), backfill=timedelta(hours=24))
            for timeline, result in zip(unit, results, strict=True):
                polls[timeline.tag] += result.ok
            return results

        grouping = strategy == "adaptive+any"
        scheduler = CoverageScheduler(
            poll, lambda origin: budget, settings, clock=clock,  # type: ignore[arg-type]
            poll_group=poll_group if grouping else None, groups_ok=lambda origin: grouping,  # type: ignore[arg-type]
        )
        scheduler.sync(list(timelines.values()))  # type: ignore[arg-type]
        while clock.now < finish:
            publish_until(clock.now)
            for unit in scheduler.ready(clock.now):
                results = await scheduler.run_one(unit, clock.now)
                for timeline, result in zip(unit, results, strict=True):
                    if not result.ok and result.error_kind != "deferred":
                        # The ingestor dates a backoff by the wall clock; in simulated time it starts now.
                        delay = backoff.delay(result.consecutive_errors, retry_after=result.retry_after,
                                              kind=result.error_kind)
                        scheduler.postpone(timeline, clock.now + delay)
            collect()
            clock.now += max(scheduler.wake_in(clock.now), 0.5)
    else:
        rng = random.Random(7)
        # APScheduler as the daemon set it up: first run now, then every interval plus up to `jitter`.
        next_run = dict.fromkeys(tags, start)
        if not today:
            next_run = {tag: start + min(i * 1.25, INTERVAL * i / len(tags)) for i, tag in enumerate(tags)}
        while clock.now < finish:
            publish_until(clock.now)
            for tag in sorted((t for t in tags if next_run[t] <= clock.now), key=next_run.__getitem__):
                scheduled = next_run[tag]
                result = await poll(timelines[tag])
                following = scheduled + INTERVAL + rng.uniform(0, JITTER)
                while following <= clock.now:
                    following += INTERVAL  # coalesced: missed runs are not made up
                if not result.ok:
                    delay = backoff.delay(result.consecutive_errors, retry_after=result.retry_after,
                                          kind=result.error_kind)
                    following = max(following, clock.now + delay)
                next_run[tag] = following
            collect()
            clock.now = max(min(next_run.values()), clock.now + 0.5)
    db.close()

    latencies = sorted(stored[u] - c for u, c in created.items() if u in stored)
    missed = sum(1 for u in created if u not in stored)
    fixed_polls = (finish - start) / INTERVAL
    return Figures(
        strategy=strategy, tags=len(tags), posts=len(created), missed=missed,
        median_latency_s=round(statistics.median(latencies), 1) if latencies else 0.0,
        p95_latency_s=round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else 0.0,
        max_latency_s=round(latencies[-1], 1) if latencies else 0.0,
        requests=server.requests, paging_requests=server.paging_requests, refused_429=server.refused,
        polls=sum(polls.values()), fewest_polls_per_tag=min(polls.values()),
        tags_polled_under_half_the_fixed_rate=sum(1 for n in polls.values() if n < fixed_polls / 2),
        wall_seconds=round(time.perf_counter() - began, 1),
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run both strategies on the same posts and print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=0.5, help="new posts per second over all tags")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=STRATEGIES)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    tags = [f"tag{i:04d}" for i in range(args.tags)]
    start = 1_800_000_000.0
    end = start + args.hours * 3600
    posts = arrivals(tags, args.rate, start - HISTORY, end, rng)
    strategies = [args.only] if args.only else STRATEGIES
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for strategy in strategies:
            results.append(asyncio.run(simulate(strategy, tags, posts, start, end, Path(workdir))))
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
        return
    print(f"{args.tags} tags, {args.rate} posts/s for {args.hours:g} simulated hours (+15 min), seed {args.seed}")
    header = ("strategy", "posts", "missed", "median s", "p95 s", "max s", "requests", "paging", "429s", "polls",
              "fewest/tag", "wall s")
    print(" | ".join(header))
    for r in results:
        print(" | ".join(str(v) for v in (
            r.strategy, r.posts, r.missed, r.median_latency_s, r.p95_latency_s, r.max_latency_s, r.requests,
            r.paging_requests, r.refused_429, r.polls, r.fewest_polls_per_tag, r.wall_seconds,
        )))


if __name__ == "__main__":
    main()
