"""Storing what an instance's stream sends: new and edited posts through the pipeline, deletions applied.

The cursor is not touched: polling owns it and stays the truth, so a streamed post is simply one the next poll
finds already stored (a duplicate by `uri`). After each batch the `after_store` hook runs (the alert check), which
is what makes streaming worth having: an alert within seconds of the post.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.ingest.pipeline import Pipeline
from bot.sources.mastodon.stream import StreamEvent
from storage.db import Database
from storage.deletions import delete_remote
from storage.posts import store_posts

log = logging.getLogger(__name__)


@dataclass(slots=True)
class StreamStoreResult:
    """What storing one batch of stream events did."""

    new: int = 0
    updated: int = 0
    duplicate: int = 0
    deleted: int = 0
    skipped: int = 0


class StreamStore:
    """The stream's side of ingest: one transaction per batch of events."""

    def __init__(self, db: Database, pipeline: Pipeline,
                 after_store: Callable[[int], Awaitable[Any]] | None = None) -> None:
        self.db = db
        self.pipeline = pipeline
        self.after_store = after_store
        self.totals = StreamStoreResult()

    async def handle(self, events: Sequence[StreamEvent]) -> StreamStoreResult:
        """Store `events` (posts, edits, deletions) in one transaction, then run the after-store hook."""
        result = await asyncio.to_thread(self._store, events)
        for name in ("new", "updated", "duplicate", "deleted", "skipped"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(result, name))
        if self.after_store is not None and (result.new or result.updated):
            await self.after_store(result.new + result.updated)
        return result

    def _store(self, events: Sequence[StreamEvent]) -> StreamStoreResult:
        posts = [e.post for e in events if e.post is not None and e.kind in ("update", "edit")]
        deletions: dict[str, list[str]] = {}
        for event in events:
            if event.kind == "delete" and event.remote_id:
                deletions.setdefault(event.origin, []).append(event.remote_id)
        processed = self.pipeline.process(posts)
        result = StreamStoreResult(skipped=processed.skipped)
        with self.db.transaction() as session:
            stored = store_posts(session, processed.posts)
            result.new, result.updated, result.duplicate = stored.new, stored.updated, stored.duplicate
            for origin, ids in deletions.items():
                result.deleted += delete_remote(session, origin, ids).posts
        return result
