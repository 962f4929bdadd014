"""The daemon: scheduled polls pick up new posts on their own, and it stops when asked."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.daemon.app import Application
from tests.ingest.helpers import make_config, stored

PATIENCE = 120.0
"""The most a scheduled poll may take to show up before the test calls the scheduler broken (not a speed target)."""


def fast(config: Any) -> Any:
    # The config refuses intervals under 10 s for real use; a test may go faster, as the demo does.
    schedule = config.schedule.model_copy(update={"poll_interval": timedelta(seconds=0.5), "poll_jitter": timedelta(0)})
    return config.model_copy(update={"schedule": schedule})


def test_scheduled_jobs_poll_each_timeline_and_pick_up_new_posts(sqlite_db: Any, mastodon: Any) -> None:
    mastodon.post("Acme #koffie")
    app = Application(fast(make_config(str(sqlite_db.engine.url), [mastodon.url])), db=sqlite_db)

    def texts() -> set[str]:
        return {r.text for r in stored(app, "SELECT text FROM posts")}

    async def until(condition: Any) -> None:
        # The jobs' effects are rows in the database and nothing signals them: look again every 50 ms. No guess of
        # how long a poll takes on a busy machine; the bound only keeps a broken scheduler from hanging the run.
        async def look() -> None:
            while True:
                if condition():
                    return
                await asyncio.sleep(0.05)

        await asyncio.wait_for(look(), PATIENCE)

    async def scenario() -> list[str]:
        stop = asyncio.Event()
        runner = asyncio.create_task(app.run(stop))
        await until(lambda: "Acme #koffie" in texts())
        assert app.scheduler is not None
        jobs = sorted(job.id for job in app.scheduler.get_jobs() if job.id.startswith("mastodon:"))
        await asyncio.to_thread(mastodon.post, "Later: Acme weer #acme")
        await until(lambda: "Later: Acme weer #acme" in texts())
        stop.set()
        await asyncio.wait_for(runner, PATIENCE)
        return jobs

    jobs = asyncio.run(scenario())

    assert jobs == sorted(t.id.key for t in Application(make_config("sqlite://", [mastodon.url])).timelines())
    assert texts() == {"Acme #koffie", "Later: Acme weer #acme"}, "picked up by the scheduled jobs, stored once"


def test_each_timeline_is_one_job_that_never_overlaps_itself(sqlite_db: Any, mastodon: Any) -> None:
    app = Application(make_config(str(sqlite_db.engine.url), [mastodon.url]), db=sqlite_db)
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler()
    app.schedule(scheduler)

    jobs = [job for job in scheduler.get_jobs() if job.id.startswith("mastodon:")]
    assert len(jobs) == 3
    assert all(job.max_instances == 1 and job.coalesce for job in jobs)
    assert {job.trigger.interval for job in jobs} == {timedelta(minutes=5)}
