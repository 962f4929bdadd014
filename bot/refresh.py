"""Reading recent brand mentions again: favourites, boosts and replies mostly arrive after the first poll.

Without this, "top posts by engagement" would rank posts by the reactions they had in their first minutes. The
same read also catches edits of posts no timeline shows again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.pipeline import Pipeline
from bot.sources.base import SourceError
from bot.sources.mastodon import fetch_statuses
from bot.sources.ratelimit import RequestBudget
from storage.db import Database
from storage.posts import posts_to_refresh, store_posts

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RefreshResult:
    """What one refresh of one instance did."""

    origin: str
    asked: int = 0
    seen: int = 0
    updated: int = 0
    error: str | None = None


class EngagementRefresher:
    """Re-reads recent brand mentions from the instance they were first read on."""

    def __init__(self, db: Database, pipeline: Pipeline, window: timedelta) -> None:
        self.db = db
        self.pipeline = pipeline
        self.window = window

    async def refresh(self, client: Any, instance_url: str, budget: RequestBudget | None = None) -> RefreshResult:
        """Refresh the mentions of the last `window` first read on `instance_url`, spending from its `budget`."""
        result = RefreshResult(instance_url)
        since = datetime.now(UTC) - self.window

        def due() -> list[str]:
            with self.db.sessions() as session:
                return posts_to_refresh(session, instance_url, since)

        ids = await asyncio.to_thread(due)
        result.asked = len(ids)
        if not ids:
            return result
        try:
            pages = await fetch_statuses(client, instance_url, ids, budget)
        except SourceError as exc:
            result.error = str(exc)
            # Polls come first: a refresh held back by the request budget simply waits for its next turn.
            level = logging.INFO if exc.kind == "deferred" else logging.WARNING
            log.log(level, "refreshing engagement on %s failed (%s): %s", instance_url, exc.kind, exc)
            return result

        def store() -> None:
            processed = self.pipeline.process([post for page in pages for post in page.posts])
            with self.db.transaction() as session:
                stored = store_posts(session, processed.posts)
            result.seen = len(processed.posts)
            result.updated = stored.updated

        await asyncio.to_thread(store)
        log.info("refreshed %d of %d recent mentions on %s", result.seen, result.asked, instance_url)
        return result
