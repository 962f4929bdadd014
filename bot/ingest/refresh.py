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

from bot.ingest.pipeline import Pipeline
from bot.sources.base import Page, SourceError
from bot.sources.mastodon.ratelimit import RequestBudget
from bot.sources.mastodon.timeline import iter_statuses
from storage.db import Database
from storage.posts import mark_refreshed, posts_to_refresh, store_posts

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
        asked: list[str] = []
        pages: list[Page] = []
        failure: SourceError | None = None
        try:
            async for chunk, page in iter_statuses(client, instance_url, ids, budget):
                asked += chunk
                pages.append(page)
        except SourceError as exc:
            # What was read before the failure is kept; the rest is asked for first next time (least recently read).
            failure = exc

        def store() -> None:
            processed = self.pipeline.process([post for page in pages for post in page.posts])
            with self.db.transaction() as session:
                stored = store_posts(session, processed.posts)
                mark_refreshed(session, instance_url, asked)
            result.seen = len(processed.posts)
            result.updated = stored.updated

        if asked:
            await asyncio.to_thread(store)
        if failure is not None:
            result.error = str(failure)
            # Polls come first: a refresh held back by the request budget simply waits for its next turn.
            level = logging.INFO if failure.kind == "deferred" else logging.WARNING
            log.log(level, "refreshing engagement on %s stopped after %d of %d (%s): %s", instance_url, len(asked),
                    len(ids), failure.kind, failure)
            return result
        log.info("refreshed %d of %d recent mentions on %s", result.seen, result.asked, instance_url)
        return result
