"""One worker's poll task: it stores what is new and queues the next poll, or, when all workers together have spent
the instance's budget, sends nothing and queues the poll for when the window has room."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.models import BudgetSpendRow
from tests.worker.cluster import LoggingProxy, write_config

pytest.importorskip("procrastinate", reason="the workers extra (procrastinate) is not installed")

from bot.config import load_config
from bot.worker.app import POLL, build, prepare_database


def run_once(config_path: Path, db: Database, key: str) -> list[Any]:
    """Queue one poll of `key`, let one worker run what is due, and return the polls left queued."""
    config = load_config(config_path)
    prepare_database(config.storage.url)
    app, application = build(config, db=db)

    async def scenario() -> list[Any]:
        async with app.open_async():
            await app.configure_task(POLL, lock=key, queueing_lock=key).defer_async(key=key)
            await app.run_worker_async(wait=False, concurrency=1, install_signal_handlers=False)
            return list(await app.job_manager.list_jobs_async(task=POLL, status="todo"))

    try:
        return asyncio.run(scenario())
    finally:
        application.close()


def count_posts(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM posts")).scalar_one())


def test_a_poll_stores_the_new_posts_and_queues_the_next_one_an_interval_later(
    postgres_url: str, mastodon: Any, tmp_path: Path
) -> None:
    mastodon.post("Koffie #koffie")
    proxy = LoggingProxy(mastodon.url)
    proxy.start()
    try:
        db = Database(postgres_url)
        config = write_config(tmp_path / "c.toml", postgres_url, [proxy.url], ["koffie"], poll_interval="60s")
        before = datetime.now(UTC)
        queued = run_once(config, db, f"mastodon:{proxy.url}#koffie")
    finally:
        proxy.stop()
    assert count_posts(db) == 1
    assert len(queued) == 1
    assert (queued[0].scheduled_at - before).total_seconds() >= 55
    db.close()


def test_a_poll_whose_instance_budget_all_workers_spent_sends_nothing_and_waits_for_the_window(
    postgres_url: str, mastodon: Any, tmp_path: Path
) -> None:
    mastodon.post("Koffie #koffie")
    proxy = LoggingProxy(mastodon.url)
    proxy.start()
    try:
        db = Database(postgres_url)
        now = time.time()
        with db.transaction() as session:
            # Other workers sent 295 requests in the last 10 seconds: the budget (300, 5 in reserve) is spent.
            session.add_all(BudgetSpendRow(origin=proxy.url, sent_at=now - 10 + i / 30, paging=False)
                            for i in range(295))
        config = write_config(tmp_path / "c.toml", postgres_url, [proxy.url], ["koffie"], poll_interval="60s")
        queued = run_once(config, db, f"mastodon:{proxy.url}#koffie")
    finally:
        proxy.stop()
    assert count_posts(db) == 0
    assert not [r for r in proxy.requests if r.path.startswith("/api/v1/timelines/")]
    # The oldest of those requests leaves the 5-minute window about 290 s from now: the poll waits for that.
    assert len(queued) == 1
    assert queued[0].scheduled_at.timestamp() - now >= 280
    db.close()


def test_workers_starting_together_on_a_fresh_database_set_it_up_once_without_tripping_over_each_other(
    postgres_url: str,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(3) as pool:
        for future in [pool.submit(prepare_database, postgres_url) for _ in range(3)]:
            future.result()
    db = Database(postgres_url, migrate=False)
    with db.engine.connect() as conn:
        query = text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        tables = {r[0] for r in conn.execute(query)}
    assert {"posts", "budget_spends", "procrastinate_jobs", "procrastinate_workers"} <= tables
    db.close()
