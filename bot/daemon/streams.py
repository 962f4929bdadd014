"""The streams the daemon runs beside its polls: one per Mastodon instance with a user token.

Each stream stores what it receives (`bot.ingest.streamed`) and checks alerts after every batch; each (re)connect
moves that instance's poll jobs to now, so the cursor-driven poll reads whatever the stream missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import MastodonInstance
from bot.ingest.streamed import StreamStore
from bot.sources.mastodon.stream import HashtagStream

log = logging.getLogger(__name__)


def poll_soon(scheduler: AsyncIOScheduler | None, url: str) -> None:
    """Move every poll job of the instance at `url` to now (after a stream (re)connects, to fill its gap)."""
    if scheduler is None:
        return
    now = datetime.now(UTC)
    for job in scheduler.get_jobs():
        if job.id.startswith(f"mastodon:{url}#"):
            job.modify(next_run_time=now)


def build_streams(instances: Sequence[MastodonInstance], tags: Callable[[str], list[str]], store: StreamStore,
                  scheduler: Callable[[], AsyncIOScheduler | None]) -> list[HashtagStream]:
    """A stream for every instance that has a token (Mastodon 4.2+ streams hashtags to users only).

    `tags(url)` answers the instance's watched hashtags now; `scheduler()` the daemon's scheduler, for `poll_soon`.
    """
    streams = []
    for instance in instances:
        token = instance.token()
        if not token:
            continue

        async def on_connect(url: str = instance.url) -> None:
            poll_soon(scheduler(), url)

        def watched(url: str = instance.url) -> list[str]:
            return tags(url)

        streams.append(HashtagStream(instance.url, token, watched, store.handle, on_connect=on_connect))
    return streams


def start_streams(streams: Sequence[HashtagStream]) -> list[asyncio.Task[None]]:
    """Run every stream as a task of its own; a stream's failure never touches the polls."""
    tasks = []
    for stream in streams:
        log.info("streaming %s's hashtags (polling stays the source of truth)", stream.instance_url)
        tasks.append(asyncio.create_task(stream.run(), name=f"stream {stream.instance_url}"))
    return tasks
