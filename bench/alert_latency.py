"""Benchmark: seconds from a post's creation to its alert, through the real daemon, polling and streaming.

    python bench/alert_latency.py [--posts 15] [--interval 10]

Runs `merkwacht run`'s Application against a local Mastodon (mastodon-mock) and a sink that notes when each alert
is handed to Discord. Complaints about a brand are posted at random moments; the latency of each is the time from
just before the post was written to the moment its alert was sent.

- polling: the poll interval is `--interval` seconds (10 s is the least the config allows), no jitter, no stream;
- streaming: the instance has a user token, so the daemon streams its hashtag; polling is slowed to once an hour.

Targets: at most one poll interval + 10 s when polling, at most 10 s when streaming.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mastodon_mock.config import SeedAccount, SeedConfig
from mastodon_mock.testing.server import MockServer

from bot.config import parse_config
from bot.daemon.app import Application
from storage.db import Database

TOKEN_ENV = "MERKWACHT_LATENCY_BENCH_TOKEN"


class TimingSink:
    """Discord stands in: notes when each alert arrives, by the post URL it links to."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.changed = asyncio.Event()

    async def send(self, channel_id: int, payload: dict[str, Any], files: Any = ()) -> str:
        now = time.time()
        text = " ".join(e.get("description", "") for e in payload.get("embeds", []))
        for word in text.split():
            if word.startswith("http"):
                self.arrived.setdefault(word, now)
        self.changed.set()
        return str(len(self.arrived))

    async def edit(self, channel_id: int, message_id: str, payload: dict[str, Any]) -> None:
        return None


async def measure(server: MockServer, *, streaming: bool, posts: int, interval: int, seed: int) -> list[float]:
    """Post `posts` complaints at random moments while the daemon runs; the latency of each alert, in seconds."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        token = f'token_env = "{TOKEN_ENV}"\n' if streaming else ""
        poll = "1h" if streaming else f"{interval}s"
        config = parse_config(
            f'[storage]\nurl = "sqlite:///{tmp}/latency.db"\n[ops]\nhttp_enabled = false\n'
            f'[schedule]\npoll_interval = "{poll}"\npoll_jitter = "1s"\n'
            f'[mastodon]\nbackfill = "1h"\n[[mastodon.instances]]\nurl = "{server.base_url}"\n{token}'
            '[[brands]]\nname = "Acme"\nterms = ["Acme"]\nhashtags = ["acme"]\n'
            '[alerts]\nchannel = 1\nany_complaint = true\ncooldown = "1s"\nmax_per_hour = 1000\n'
        )
        app = Application(config, db=Database(config.storage.url))
        sink = TimingSink()
        app.alerts.sink = sink
        stop = asyncio.Event()
        runner = asyncio.create_task(app.run(stop))
        client = server.client(token="alice_token")
        await asyncio.sleep(3)  # the first poll and the stream's connect
        written: dict[str, float] = {}
        for index in range(posts):
            # Polling: one post per poll at most, or the cooldown would hold the second alert of a poll for a summary.
            await asyncio.sleep(rng.uniform(1, 5) if streaming else rng.uniform(interval + 1, 2 * interval))
            started = time.time()
            status = await asyncio.to_thread(
                client.status_post,
                f"My Acme order {index} never arrived and support ignores me. Terrible service! #acme")
            written[status["url"]] = started
        deadline = time.time() + interval + 60
        while not all(url in sink.arrived for url in written) and time.time() < deadline:
            sink.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sink.changed.wait(), timeout=max(0.1, deadline - time.time()))
        stop.set()
        await asyncio.wait_for(runner, timeout=30)
        missing = [url for url in written if url not in sink.arrived]
        if missing:
            print(f"  {len(missing)} posts got no alert: {missing[:3]}")
        return sorted(sink.arrived[url] - written[url] for url in written if url in sink.arrived)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=12)
    parser.add_argument("--interval", type=int, default=10, help="Poll interval in seconds (10 at the least).")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    os.environ[TOKEN_ENV] = "alice_token"
    seed = SeedConfig(accounts=[SeedAccount(username="alice", display_name="Alice", access_token="alice_token")])
    with MockServer(seed=seed) as server:
        for streaming in (False, True):
            latencies = asyncio.run(measure(server, streaming=streaming, posts=args.posts, interval=args.interval,
                                            seed=args.seed))
            mode = "streaming" if streaming else f"polling every {args.interval} s"
            if latencies:
                print(f"{mode}: {len(latencies)} alerts, latency median {statistics.median(latencies):.2f} s, "
                      f"max {latencies[-1]:.2f} s (min {latencies[0]:.2f} s)")


if __name__ == "__main__":
    main()
