"""Throughput of `merkwacht worker` with 1, 2 and 3 processes on one PostgreSQL database.

    python bench/workers.py [--tags 50] [--posts 3] [--latency 0.3] [--concurrency 2] [--workers 1,2,3]

For each worker count, on a fresh schema and two fresh mock instances (mastodon-mock) behind proxies that answer
each request after `--latency` seconds (a real instance is across the internet; a poll is mostly waiting for it):
`--posts` posts on each of `--tags` hashtags per instance, then the workers start and read them all. Measured from
the first post stored to the last (so the processes' start-up is left out): posts and polls per second, and the
requests per instance (which must stay within Mastodon's 300 per 5 minutes: the shared budget sees to that).

Real processes, the real database and real HTTP on loopback: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.db import Database
from tests.conftest import POSTGRES_URL
from tests.fediverse import running_instance
from tests.worker.cluster import LoggingProxy, Workers, write_config

PATIENCE = 600.0


def run(workers: int, tags: int, posts: int, latency: float, concurrency: int) -> dict[str, float]:
    """One run with `workers` processes; returns the figures."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    names = [f"bench{i:03d}" for i in range(tags)]
    try:
        with running_instance() as one, running_instance() as two, tempfile.TemporaryDirectory() as tmp:
            for instance in (one, two):
                for index, tag in enumerate(names):
                    for n in range(posts):
                        instance.post(f"Post {n} #{tag}", user=("alice", "bob", "carol", "dave")[(index + n) % 4])
            proxies = [LoggingProxy(i.url, latency) for i in (one, two)]
            for proxy in proxies:
                proxy.start()
            db = Database(url)
            config = write_config(Path(tmp) / "config.toml", url, [p.url for p in proxies], names,
                                  poll_interval="10m")
            cluster = Workers(config, Path(tmp), concurrency=concurrency)
            expected = 2 * tags * posts
            try:
                for _ in range(workers):
                    cluster.start()
                first = last = None
                deadline = time.monotonic() + PATIENCE
                while time.monotonic() < deadline:
                    with db.engine.connect() as conn:
                        count = conn.execute(text("SELECT count(*) FROM posts")).scalar_one()
                    now = time.monotonic()
                    if count and first is None:
                        first, first_count = now, count
                    if count >= expected:
                        last = now
                        break
                    time.sleep(0.05)
            finally:
                cluster.stop()
                for proxy in proxies:
                    proxy.stop()
                db.close()
            if first is None or last is None:
                raise SystemExit(f"{workers} worker(s): not every post was stored within {PATIENCE:.0f} s")
            seconds = max(last - first, 1e-3)
            return {
                "seconds": seconds,
                "posts_per_s": (expected - first_count) / seconds,
                "polls_per_s": 2 * tags / seconds,
                "requests": max(len(p.requests) for p in proxies),
                "most_in_5min": max(p.most_in_any_window(300.0) for p in proxies),
            }
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, default=50)
    parser.add_argument("--posts", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workers", default="1,2,3")
    args = parser.parse_args()
    print(f"2 instances x {args.tags} tags, {args.posts} posts each, {args.latency:g} s per request, "
          f"concurrency {args.concurrency} per worker")
    print("| workers | seconds | posts/s | polls/s | requests per instance | most in 5 min |")
    print("|---|---|---|---|---|---|")
    for count in (int(n) for n in args.workers.split(",")):
        r = run(count, args.tags, args.posts, args.latency, args.concurrency)
        print(f"| {count} | {r['seconds']:.1f} | {r['posts_per_s']:.1f} | {r['polls_per_s']:.1f} | "
              f"{r['requests']:.0f} | {r['most_in_5min']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
