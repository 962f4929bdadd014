"""Several `merkwacht worker` processes on one PostgreSQL database: every post stored once, no instance over its
budgets, the day's digest sent once, and the polls of a worker killed mid-run taken over by the others."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.demo.discord_fake import FakeDiscord, running_in_thread
from storage.db import Database
from tests.worker.cluster import LoggingProxy, Workers, write_config

PATIENCE = 150.0
"""Only a bound against hanging forever: every wait ends as soon as what it waits for has happened."""
TAGS = [f"merk{i:02d}" for i in range(50)]
CHANNEL = 777000000000000001


def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for `condition` (the workers' effects are rows in the database; nothing signals them)."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


@contextmanager
def proxied(*targets: str, latency: float = 0.0) -> Iterator[list[LoggingProxy]]:
    """A logging proxy in front of each target, for the duration of the block."""
    with ExitStack() as stack:
        proxies = []
        for target in targets:
            proxy = LoggingProxy(target, latency)
            proxy.start()
            stack.callback(proxy.stop)
            proxies.append(proxy)
        yield proxies


def rows(db: Database, sql: str) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(text(sql)))


@pytest.mark.slow
def test_three_workers_store_every_post_once_within_the_budgets_and_take_over_a_killed_one(
    postgres_url: str, mastodon: Any, second_mastodon: Any, tmp_path: Path
) -> None:
    db = Database(postgres_url)
    instances = (mastodon, second_mastodon)
    posted: set[str] = set()
    for index, tag in enumerate(TAGS):
        for instance in instances:
            posted.add(instance.post(f"Eerste #{tag}", user=("alice", "bob", "carol")[index % 3])["uri"])
    fake = FakeDiscord()
    fake.add_channel(CHANNEL)
    with running_in_thread(fake) as discord, proxied(mastodon.url, second_mastodon.url, latency=0.2) as proxies:
        config = write_config(tmp_path / "config.toml", postgres_url, [p.url for p in proxies], TAGS,
                              discord_api=discord.url, channel=CHANNEL)
        workers = Workers(config, tmp_path)
        try:
            first = [workers.start() for _ in range(3)]
            victim = first[0]

            def arriving() -> None:
                # Posts keep arriving while the workers run (and while one of them dies).
                for index, tag in enumerate(TAGS):
                    for instance in instances:
                        posted.add(instance.post(f"Later #{tag}", user=("dave", "erin")[index % 2])["uri"])

            writer = threading.Thread(target=arriving)
            writer.start()

            def running_job() -> str | None:
                # A job the victim has started and not finished, by its log.
                log = workers.log(victim)
                started = re.findall(r"Starting job merkwacht\.poll\[(\d+)\]", log)
                ended = set(re.findall(r"Job merkwacht\.poll\[(\d+)\]\S* ended", log))
                open_jobs = [job for job in started if job not in ended]
                return open_jobs[-1] if open_jobs else None

            def polling() -> bool:
                job = running_job()
                return job is not None and bool(
                    rows(db, f"SELECT 1 FROM procrastinate_jobs WHERE id = {job} AND status = 'doing'"))

            # Each request takes 0.2 s at the proxy, so a poll seen running is still running a moment later.
            until(polling, "the first worker to run a poll")
            victim.kill()
            victim.wait()
            killed = running_job()
            assert killed is not None
            doing = rows(db, f"SELECT status FROM procrastinate_jobs WHERE id = {killed}")
            workers.start()
            writer.join(PATIENCE)

            def stored() -> set[str]:
                return {r.uri for r in rows(db, "SELECT uri FROM posts")}

            until(lambda: stored() >= posted, "every post to be stored")
            until(lambda: not rows(db, f"SELECT 1 FROM procrastinate_jobs WHERE id = {killed} AND status = 'doing'"),
                  "the killed worker's poll to be taken over")
            until(lambda: bool(rows(db, "SELECT 1 FROM digests WHERE status = 'sent'")), "the digest to be sent")
        finally:
            workers.stop()

    uris = [r.uri for r in rows(db, "SELECT uri FROM posts")]
    assert len(uris) == len(set(uris)) == len(posted)
    # The poll was killed while it ran (not between jobs), and another worker put it back in the queue.
    assert [r.status for r in doing] == ["doing"]
    assert any(f"job {killed} (merkwacht.poll" in workers.log(p) and "dead worker goes back" in workers.log(p)
               for p in workers.processes if p is not victim)
    for proxy in proxies:
        assert proxy.most_in_any_window(300.0) <= 300
        assert proxy.most_in_any_window(900.0, paging=True) <= 300
        assert not [r for r in proxy.requests if r.status == 429]
    digests = rows(db, "SELECT message_ids FROM digests")
    assert len(digests) == 1
    assert len(fake.received) == len(digests[0].message_ids) >= 1
    db.close()
