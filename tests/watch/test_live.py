"""A running daemon follows the watch list: a change from the CLI changes what the next poll fetches, no restart."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.daemon.app import Application
from tests.ingest.helpers import PATIENCE, until
from tests.watch.helpers import config_of, merkwacht, write_config


def daemon_config(path: Path) -> Config:
    config = config_of(path)
    # No ops endpoint on the default port in tests; polls every half second, as the demo does.
    ops = config.ops.model_copy(update={"http_enabled": False})
    schedule = config.schedule.model_copy(update={"poll_interval": timedelta(seconds=0.5)})
    return config.model_copy(update={"ops": ops, "schedule": schedule})


def texts(app: Application) -> set[str]:
    with app.db.engine.connect() as conn:
        return {row[0] for row in conn.exec_driver_sql("SELECT text FROM posts")}


def polled(app: Application) -> set[str]:
    with app.db.engine.connect() as conn:
        return {row[0] for row in conn.exec_driver_sql("SELECT scope FROM source_health WHERE total_polls > 0")}


def test_a_hashtag_added_and_removed_from_the_cli_while_the_daemon_runs(tmp_path: Path, mastodon: Any) -> None:
    path = write_config(tmp_path / "config.toml", f"sqlite:///{tmp_path / 'm.db'}", [mastodon.url])
    mastodon.post("Verse #thee vandaag")
    mastodon.post("Goede #koffie")
    app = Application(daemon_config(path), watch_refresh=0.2)

    async def scenario() -> tuple[set[str], set[str]]:
        stop = asyncio.Event()
        runner = asyncio.create_task(app.run(stop))
        await until(lambda: "Goede #koffie" in texts(app))
        before = texts(app)

        result = await asyncio.to_thread(merkwacht, path, "watch", "add", "hashtag", "thee")
        assert result.exit_code == 0, result.output
        await until(lambda: "Verse #thee vandaag" in texts(app))

        await asyncio.to_thread(merkwacht, path, "watch", "remove", "hashtag", "koffie")
        assert app.scheduler is not None
        scheduler = app.scheduler
        await until(lambda: scheduler.get_job(f"mastodon:{mastodon.url}#koffie") is None)
        jobs = {job.id for job in scheduler.get_jobs()}
        stop.set()
        await asyncio.wait_for(runner, PATIENCE)
        return before, jobs

    before, jobs = asyncio.run(scenario())

    assert "Verse #thee vandaag" not in before  # not watched at first...
    assert "Verse #thee vandaag" in texts(Application(daemon_config(path)))  # ...fetched after `watch add`
    assert f"mastodon:{mastodon.url}#thee" in jobs
    assert f"mastodon:{mastodon.url}#koffie" not in jobs


def test_a_brand_added_at_run_time_is_matched_without_a_restart(tmp_path: Path, mastodon: Any) -> None:
    path = write_config(tmp_path / "config.toml", f"sqlite:///{tmp_path / 'm.db'}", [mastodon.url])
    app = Application(daemon_config(path), watch_refresh=0.2)

    async def scenario() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(app.run(stop))
        result = await asyncio.to_thread(merkwacht, path, "watch", "add", "brand", "Zed", "--term", "Zed Tea",
                                         "--hashtag", "zedtea")
        assert result.exit_code == 0, result.output
        await until(lambda: "zedtea" in polled(app))
        await asyncio.to_thread(mastodon.post, "Zed Tea is op #zedtea")
        await until(lambda: "Zed Tea is op #zedtea" in texts(app))
        stop.set()
        await asyncio.wait_for(runner, PATIENCE)

    asyncio.run(scenario())

    reopened = Application(daemon_config(path))
    with reopened.db.engine.connect() as conn:
        brands = {row[0] for row in conn.exec_driver_sql("SELECT brand FROM mentions")}
    reopened.close()
    assert "Zed" in brands
