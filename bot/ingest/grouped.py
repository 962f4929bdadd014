"""Several hashtags of one instance in one request (Mastodon's `any[]`), split back to each tag's own cursor.

A group's answer is the merged timeline of its tags, newest first. For each member whose cursor is in that page,
everything after its cursor is in the page too: the posts newer than the oldest such cursor are stored, and every one
of those members' cursors moves to its own newest post in the page (or stays where it was, if it has none), all in
one transaction. A cursor stays one of the tag's own posts, so it is found again in the tag's own newest page or in
any group it joins later; were it another tag's post (or a post whose tags we misread), the member would be read
forward from it with `min_id`, which is a position, not a post of the tag: a few more requests, never a gap.

A member whose cursor is not in the page (more new posts than a page, a deleted post, a timeline never read) is
polled on its own this time, by the ordinary poll loop, which pages from its cursor as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from bot.ingest.ingestor import Ingestor, PollResult
from bot.model import TimelineId
from bot.sources.base import Page, SourceError, Timeline
from storage.cursors import Cursor, load_cursor, save_cursor
from storage.posts import store_posts

log = logging.getLogger(__name__)


class TagGroup(Protocol):
    """Hashtags of one instance read together: the merged newest page, and each member as a timeline of its own."""

    @property
    def id(self) -> TimelineId:
        """The group as one schedulable unit (its feed names the members)."""
        ...

    @property
    def members(self) -> Sequence[Timeline]:
        """Each member hashtag as an ordinary timeline, for the members the merged page does not cover."""
        ...

    async def newest(self) -> Page:
        """The merged timeline's newest page (no paging parameters)."""
        ...


class GroupPoller:
    """Polls a `TagGroup`: one request for all members whose cursor it reaches, own polls for the rest."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor

    async def poll(self, group: TagGroup, *, backfill: timedelta) -> list[PollResult]:
        """One result per member, in member order."""
        members = list(group.members)
        cursors = await asyncio.to_thread(self._load, [m.id for m in members])
        try:
            head = await group.newest()
        except SourceError as exc:
            failed = [PollResult(m.id, pages=0, error=str(exc), error_kind=exc.kind, retry_after=exc.retry_after)
                      for m in members]
            for result in failed:
                await asyncio.to_thread(self.ingestor.record_health, result)
            return failed
        covered: dict[TimelineId, int] = {}
        for member in members:
            cursor = cursors[member.id]
            if cursor.newest_id is not None and cursor.backfill_done and cursor.newest_id in head.ids:
                covered[member.id] = head.ids.index(cursor.newest_id)
        results: dict[TimelineId, PollResult] = {}
        if covered:
            try:
                results.update(await self._store(head, covered, cursors))
            except Exception as exc:
                # As in the poll loop: a database failure or a bug fails these members' polls, not the scheduler.
                log.exception("storing the grouped page of %s failed", group.id)
                for timeline in covered:
                    result = PollResult(timeline, error=f"internal error: {exc!r}", error_kind="internal")
                    await asyncio.to_thread(self.ingestor.record_health, result)
                    results[timeline] = result
        for member in members:
            if member.id not in covered:
                results[member.id] = await self.ingestor.poll(member, backfill=backfill)
        return [results[m.id] for m in members]

    def _load(self, ids: Sequence[TimelineId]) -> dict[TimelineId, Cursor]:
        with self.ingestor.db.transaction() as session:
            return {i: load_cursor(session, i) for i in ids}

    async def _store(
        self, head: Page, covered: dict[TimelineId, int], cursors: dict[TimelineId, Cursor]
    ) -> dict[TimelineId, PollResult]:
        reach = max(covered.values())
        newer = set(head.ids[:reach])
        posts = [p for p, item in zip(head.posts, head.post_ids, strict=True) if item in newer]
        results = {i: PollResult(i, pages=1) for i in covered}

        def work() -> None:
            processed = self.ingestor.pipeline.process(posts)
            with self.ingestor.db.transaction() as session:
                stored = store_posts(session, processed.posts)
                for timeline, cursor in cursors.items():
                    if timeline in covered:
                        newest = _newest_carrying(head, timeline.feed, covered[timeline]) or cursor.newest_id
                        save_cursor(session, timeline, Cursor(newest, cursor.backfill_before, True))
            for timeline, position in covered.items():
                mine = _carrying(head, timeline.feed, set(head.ids[:position]))
                results[timeline].new = min(mine, stored.new)
            if posts:
                oldest = min(p.created_at for p in posts)
                for result in results.values():
                    result.oldest_read = oldest
            for result in results.values():
                self.ingestor.record_health(result)

        # Shielded like the poll loop's own transaction: a shutdown waits for it rather than cutting it in half.
        task = asyncio.ensure_future(asyncio.to_thread(work))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.wait([task])
            raise
        return results


def _newest_carrying(head: Page, tag: str, position: int) -> str | None:
    """The newest item after a member's cursor (before `position`) that carries its tag, if any."""
    newer = set(head.ids[:position])
    for post, item in zip(head.posts, head.post_ids, strict=True):
        if item in newer and tag in post.tags:
            return item
    return None


def _carrying(head: Page, tag: str, ids: set[str]) -> int:
    """How many of the page's posts after a member's cursor carry its tag (its share of what was new)."""
    return sum(1 for p, item in zip(head.posts, head.post_ids, strict=True) if item in ids and tag in p.tags)
