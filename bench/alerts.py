"""Benchmark: replay 60 days of synthetic brand traffic through the real alert service and score what it finds.

    python bench/alerts.py [--days 60] [--step 10] [--seed 7] [--url sqlite:////tmp/merkwacht-alerts-bench.db]

Traffic per brand has a daily rhythm (quiet nights, a mid-afternoon peak, in Europe/Amsterdam time), a weekly one
(weekends at 60 %) and more variance than Poisson (each hour's rate is drawn from a gamma distribution). Injected
on top: volume spikes of 2×, 3×, 5× and 10× the normal count for one hour, 3-hour runs of negative posts, and
complaints from accounts with 20,000+ followers. Posts are stored in time order, a `--step` of simulated minutes at a
time, and the alert service checks after each store, as the daemon does after each poll.

Printed: per kind, the injected events found (recall), the delay to the alert, and the alerts that match no injected
event (false alarms per brand per week), for the first week (a brand with no history) and after it; and the wall time
of one check, which is what an alert adds to a poll.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.alerts.service import AlertService
from bot.config import Config
from bot.model import AnalysedPost, Analysis, Author, BrandMatch, Post
from storage import alerts as ledger
from storage.db import Database
from storage.posts import store_posts

ZONE = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 1, 5, tzinfo=ZONE).astimezone(UTC)  # a Monday, local midnight
BRANDS = {"Quiet": 1.0, "Small": 3.0, "Medium": 8.0, "Busy": 20.0}
"""Mean mentions per hour over a week."""
SPIKES = (2, 3, 5, 10)
MIN_COUNT = 8
"""`[alerts] spike_min_count`'s default: a spike hour with fewer posts is never alerted, however unusual."""
NEGATIVE_SHARE = 0.15
BURSTINESS = 16.0
"""Each hour's rate is the rhythm × Gamma(k, 1/k) with this k: variance = mean + mean²/k, so hours vary by ±25 %
beyond Poisson at k = 16 (`--burstiness 8`: ±35 %)."""


def rhythm(when: datetime) -> float:
    """The daily × weekly shape of traffic, averaging about 1 over a week."""
    local = when.astimezone(ZONE)
    hour = local.hour + local.minute / 60
    daily = 0.2 + 1.6 * max(0.0, math.sin(math.pi * (hour - 7) / 17)) if hour >= 7 else 0.2
    weekly = 0.6 if local.weekday() >= 5 else 1.16
    return daily * weekly / 0.98


@dataclass
class Event:
    """An injected event the alerts should find."""

    kind: str
    brand: str
    start: datetime
    end: datetime
    size: float = 0.0
    extra: int = 0
    uri: str = ""
    normal: float = 0.0
    """For a spike: the normal count of its hour, so size × normal is what the spike hour holds."""
    found_at: datetime | None = None


@dataclass
class World:
    """All posts to replay, in time order, and the events injected among them."""

    posts: list[AnalysedPost] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def make_post(rng: random.Random, n: int, brand: str, when: datetime, *, negative: bool, cx: str = "other",
              followers: int | None = None) -> AnalysedPost:
    origin = "https://bench.example"
    uri = f"{origin}/statuses/{n}"
    post = Post(uri=uri, source="mastodon", origin=origin, remote_id=str(n), url=uri,
                author=Author(f"user{n % 997}@bench.example", f"User {n % 997}",
                              followers=followers if followers is not None else int(rng.lognormvariate(4.5, 1.0))),
                created_at=when, text=f"{brand} post {n}")
    analysis = Analysis("en", "negative" if negative else rng.choice(["neutral", "positive"]),
                        -0.5 if negative else 0.3, cx)  # type: ignore[arg-type]
    return AnalysedPost(post, (BrandMatch(brand, "term", brand.lower()),), analysis)


def generate(days: int, seed: int, burstiness: float = BURSTINESS) -> World:
    """The whole replay: background traffic and injected events for every brand."""
    rng = random.Random(seed)
    world = World()
    counter = iter(range(1, 10**9))
    hours = days * 24
    for brand, mean in BRANDS.items():
        # Injected event times: one slot per 12 hours at most, so events never overlap.
        # About one spike per brand every two days (sizes in turn), a negative run a week, a loud complaint in
        # every ten days; the first four days are left to learn from.
        n_spikes, n_runs, n_loud = hours // 48, max(1, hours // 168), max(1, hours // 240)
        slots = rng.sample(range(2 * 4, hours // 12 - 2), k=n_spikes + n_runs + n_loud)
        spikes = [(s, SPIKES[i % len(SPIKES)]) for i, s in enumerate(slots[:n_spikes])]
        runs = slots[n_spikes:n_spikes + n_runs]
        loud = slots[n_spikes + n_runs:]
        negative_hours: set[int] = set()
        for slot in runs:
            first = slot * 12 + rng.randrange(12)
            negative_hours |= {first, first + 1, first + 2}
            world.events.append(Event("sentiment", brand, START + timedelta(hours=first),
                                      START + timedelta(hours=first + 3), size=0.6))
        for hour in range(hours):
            begin = START + timedelta(hours=hour)
            expected = mean * rhythm(begin + timedelta(minutes=30))
            rate = expected * rng.gammavariate(burstiness, 1 / burstiness)
            share = 0.6 if hour in negative_hours else NEGATIVE_SHARE
            for _ in range(_poisson(rng, rate)):
                when = begin + timedelta(seconds=rng.random() * 3600)
                negative = rng.random() < share
                cx = "complaint" if negative and rng.random() < 0.4 else "other"
                world.posts.append(make_post(rng, next(counter), brand, when, negative=negative, cx=cx))
        for slot, size in spikes:
            first = slot * 12 + rng.randrange(12)
            begin = START + timedelta(hours=first, minutes=rng.randrange(60))
            normal = mean * rhythm(begin + timedelta(minutes=30))
            extra = max(1, round((size - 1) * normal))
            world.events.append(Event("spike", brand, begin, begin + timedelta(hours=1), size=size, extra=extra,
                                      normal=normal))
            for _ in range(extra):
                when = begin + timedelta(seconds=rng.random() * 3600)
                world.posts.append(make_post(rng, next(counter), brand, when, negative=rng.random() < NEGATIVE_SHARE))
        for slot in loud:
            when = START + timedelta(hours=slot * 12 + rng.randrange(12), minutes=rng.randrange(60))
            item = make_post(rng, next(counter), brand, when, negative=True, cx="complaint",
                             followers=rng.randint(20_000, 200_000))
            world.posts.append(item)
            world.events.append(Event("needs_answer", brand, when, when, uri=item.post.uri))
    world.posts.sort(key=lambda p: p.post.created_at)
    return world


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method for small means, a normal approximation for large ones (the bench needs no exactness there).
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class NullSink:
    """Discord stands in: every message is accepted."""

    def __init__(self) -> None:
        self.count = 0

    async def send(self, channel_id: int, payload: dict[str, Any], files: Any = ()) -> str:
        self.count += 1
        return str(self.count)

    async def edit(self, channel_id: int, message_id: str, payload: dict[str, Any]) -> None:
        return None


async def replay(world: World, db: Database, days: int, step: timedelta, alerts: dict[str, Any]) -> list[float]:
    """Store the posts a step at a time and check after each step; the wall time of each check."""
    config = Config.model_validate({
        "timezone": "Europe/Amsterdam",
        "brands": [{"name": b, "terms": [b.lower()]} for b in BRANDS],
        "alerts": {"channel": 1, **alerts},
    })
    clock = [START]
    service = AlertService(lambda: config, db, NullSink(), clock=lambda: clock[0])
    timings = []
    index = 0
    now = START
    end = START + timedelta(days=days)
    while now < end:
        now += step
        batch = []
        while index < len(world.posts) and world.posts[index].post.created_at <= now:
            batch.append(world.posts[index])
            index += 1
        if batch:
            with db.transaction() as session:
                store_posts(session, batch, now=now)
        clock[0] = now
        started = time.perf_counter()
        await service.check()
        timings.append(time.perf_counter() - started)
    return timings


def score(world: World, db: Database, days: int, verbose: bool = False) -> None:
    """Match the alerts to the injected events and print recall, delays and false alarms per kind."""
    alerts = [a for a in ledger.latest(db, limit=10**6) if a.kind in ("needs_answer", "spike", "sentiment")]
    first_week_end = START + timedelta(days=7)
    false: dict[tuple[str, bool], int] = defaultdict(int)
    other_answers = 0
    by_uri = {e.uri: e for e in world.events if e.kind == "needs_answer"}
    for alert in alerts:
        if alert.kind == "needs_answer":
            links = alert.figures.get("links", [])
            event = by_uri.get(links[0]) if links else None
            if event is not None:
                event.found_at = event.found_at or alert.created_at
            else:
                other_answers += 1
            continue
        match = next((e for e in world.events if e.kind == alert.kind and e.brand == alert.brand
                      and e.start <= alert.created_at <= e.end + timedelta(hours=1)), None)
        if match is not None:
            match.found_at = min(filter(None, [match.found_at, alert.created_at]))
        else:
            false[(alert.kind, alert.created_at < first_week_end)] += 1
            if verbose:
                print(f"false alarm: {alert.created_at.astimezone(ZONE):%a %d %b %H:%M} {alert.brand} {alert.kind} "
                      f"{ {k: v for k, v in alert.figures.items() if k not in ('headline', 'links')} }")
    weeks_after = (days - 7) / 7
    print(f"\n{len(world.posts):,} posts, {len(BRANDS)} brands, {days} days; alert rows: {len(alerts)}")
    print("\nkind          event            found   median delay   false alarms/brand/week (week 1 | after)")
    groups: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for event in world.events:
        label = (f"{event.size:g}×" if event.kind == "spike" else "3 h at 60 %" if event.kind == "sentiment"
                 else "20k+ followers")
        groups[(event.kind, label)].append(event)
    shown: set[str] = set()
    for (kind, label), events in sorted(groups.items(), key=lambda kv: (kv[0][0], len(kv[0][1]), kv[0][1])):
        found = [e for e in events if e.found_at is not None]
        delays = [(e.found_at - e.start).total_seconds() / 60 for e in found if e.found_at]
        delay = f"{statistics.median(delays):5.0f} min" if delays else "    —"
        fa = ""
        if kind not in shown and kind != "needs_answer":
            fa = f"{false[(kind, True)] / len(BRANDS):.2f} | {false[(kind, False)] / len(BRANDS) / weeks_after:.2f}"
        shown.add(kind)
        print(f"{kind:13} {label:16} {len(found):3}/{len(events):<3}  {delay:>12}   {fa}")
    print("\nspikes found by the normal count of their hour (the spike hour holds size × normal):")
    print("size   normal < 5   5 to 15   15 or more")
    for size in SPIKES:
        cells = []
        for low, high in ((0, 5), (5, 15), (15, 10**9)):
            events = [e for e in world.events if e.kind == "spike" and e.size == size and low <= e.normal < high]
            cells.append(f"{sum(e.found_at is not None for e in events):>3}/{len(events):<3}")
        print(f"{size:>3}×   {cells[0]:>10}   {cells[1]:>7}   {cells[2]:>10}")
    print(f"needs_answer alerts for ordinary complaints whose author passed 1,000 followers (by the rule): "
          f"{other_answers} ({other_answers / len(BRANDS) / (days / 7):.1f} per brand per week)")
    if verbose:
        for event in world.events:
            if event.kind == "spike" and event.found_at is None and event.size * event.normal >= MIN_COUNT:
                print(f"missed: {event.brand} {event.size:g}× at {event.start.astimezone(ZONE):%a %d %b %H:%M} "
                      f"(normal {event.normal:.1f}, +{event.extra})")
    print("\nper brand, spikes found (2× | 3× | 5× | 10×):")
    for brand in BRANDS:
        cells = []
        for size in SPIKES:
            events = [e for e in world.events if e.kind == "spike" and e.brand == brand and e.size == size]
            cells.append(f"{sum(e.found_at is not None for e in events)}/{len(events)}")
        extra = [e.extra for e in world.events if e.kind == "spike" and e.brand == brand and e.size == 3]
        print(f"  {brand:7} ({BRANDS[brand]:4.1f}/h): {' | '.join(cells)}   (3× adds {extra} posts)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--step", type=int, default=10, help="Simulated minutes between checks (a poll interval).")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--url", default=None, help="Database URL (default: a fresh SQLite file).")
    parser.add_argument("--burstiness", type=float, default=BURSTINESS, help="k of the hourly gamma noise.")
    parser.add_argument("--alpha", type=float, default=None, help="[alerts] spike_alpha (default: the config's).")
    parser.add_argument("--verbose", action="store_true", help="Print each false alarm.")
    args = parser.parse_args()
    world = generate(args.days, args.seed, args.burstiness)
    alerts = {"spike_alpha": args.alpha} if args.alpha else {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.url or f"sqlite:///{tmp}/alerts-bench.db")
        started = time.perf_counter()
        timings = asyncio.run(replay(world, db, args.days, timedelta(minutes=args.step), alerts))
        total = time.perf_counter() - started
        score(world, db, args.days, args.verbose)
        timings.sort()
        median = statistics.median(timings) * 1000
        print(f"\none check (all {len(BRANDS)} brands, after a store): median {median:.1f} ms, "
              f"p99 {timings[int(len(timings) * 0.99)] * 1000:.1f} ms, max {timings[-1] * 1000:.1f} ms "
              f"over {len(timings):,} checks; whole replay {total:.0f} s")
        db.close()


if __name__ == "__main__":
    main()
