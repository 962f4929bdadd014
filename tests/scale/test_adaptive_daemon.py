"""The daemon on the adaptive schedule: every timeline polled, quiet tags grouped where `any[]` was seen to work."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.config import Config
from bot.daemon.app import Application
from tests.ingest.helpers import PATIENCE, make_config, stored, until
from tests.scale.anyshim import any_shim

TAGS = ["koffie", "thee", "cacao", "chai", "mate", "rooibos"]


def adaptive(config: Config) -> Config:
    # The config refuses intervals under 10 s for real use; a test may go faster, as the demo does.
    schedule = config.schedule.model_copy(update={
        "strategy": "adaptive", "min_interval": timedelta(seconds=0.2), "max_latency": timedelta(seconds=1),
    })
    return config.model_copy(update={"schedule": schedule})


@pytest.mark.slow
def test_the_adaptive_daemon_groups_quiet_tags_where_any_works_and_stores_every_post_once(
    sqlite_db: Any, mastodon: Any
) -> None:
    for index, tag in enumerate(TAGS):
        mastodon.post(f"Eerste {tag} #{tag}", user=("alice", "bob", "carol")[index % 3])
    with any_shim(mastodon.url) as shim:
        app = Application(adaptive(make_config(str(sqlite_db.engine.url), [shim.url], hashtags=TAGS, extra="")),
                          db=sqlite_db)

        def count() -> int:
            return len(stored(app, "SELECT uri FROM posts"))

        async def scenario() -> None:
            stop = asyncio.Event()
            runner = asyncio.create_task(app.run(stop))
            await until(lambda: app.any_tags.honoured(shim.url) and count() == len(TAGS))
            await until(lambda: shim.merged > 0)
            for index, tag in enumerate(TAGS):
                await asyncio.to_thread(mastodon.post, f"Later {tag} #{tag}", user=("dave", "erin")[index % 2])
            await until(lambda: count() == 2 * len(TAGS))
            stop.set()
            await asyncio.wait_for(runner, PATIENCE)

        asyncio.run(scenario())

    uris = [r.uri for r in stored(app, "SELECT uri FROM posts")]
    assert len(uris) == len(set(uris)) == 2 * len(TAGS)
    assert app.coverage is not None and not any(lag.queued > len(TAGS) for lag in app.coverage.lags())
