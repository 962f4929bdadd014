"""The streams the daemon runs beside its polls: one per Mastodon instance with a user token.

Each stream stores what it receives (`bot.ingest.streamed`) and checks alerts after every batch; each (re)connect
moves that instance's poll jobs to now, so the cursor-driven poll reads whatever the stream missed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.ingest.streamed import StreamStore
from bot.sources.mastodon.stream import HashtagStream

if TYPE_CHECKING:
    from bot.daemon.app import Application

log = logging.getLogger(__name__)


def build_streams(app: Application) -> list[HashtagStream]:
    """A stream for every configured instance that has a token (Mastodon 4.2+ streams hashtags to users only)."""
    streams = []
    for instance in app.config.mastodon.instances:
        token = instance.token()
        if not token:
            continue
        url = instance.url

        def tags(url: str = url) -> list[str]:
            return [tag for origin, tag in app.watches.cached().timelines if origin == url]

        async def poll_now(url: str = url) -> None:
            scheduler = app.scheduler
            if scheduler is None:
                return
            now = datetime.now(UTC)
            for job in scheduler.get_jobs():
                if job.id.startswith(f"mastodon:{url}#"):
                    job.modify(next_run_time=now)

        store = StreamStore(app.db, app.pipeline, app.alerts.after_store)
        streams.append(HashtagStream(url, token, tags, store.handle, on_connect=poll_now))
    return streams


def start_streams(app: Application) -> list[asyncio.Task[None]]:
    """Run every stream as a task of its own; a stream's failure never touches the polls."""
    tasks = []
    for stream in build_streams(app):
        log.info("streaming %s's hashtags (polling stays the source of truth)", stream.instance_url)
        tasks.append(asyncio.create_task(stream.run(), name=f"stream {stream.instance_url}"))
    return tasks
