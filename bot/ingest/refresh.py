"""Reading recent brand mentions again: favourites, boosts and replies mostly arrive after the first poll.

Without this, "top posts by engagement" would rank posts by the reactions they had in their first minutes. The
same read catches edits of posts no timeline shows again, deletions (a post the server says is gone is removed
from storage) and authors who opted out since (their stored posts are removed).

Servers differ: Mastodon 4.3+ reads 20 statuses per request; older Mastodon, GoToSocial and Takahē only one at a
time. The instance's description decides which is tried first; a 404/405 to a bulk read switches to single reads
and is remembered. Single reads spend at most half of what is left of the instance's request budget per refresh,
least recently read first, so polls keep their share and a long list is worked through over several refreshes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.ingest.pipeline import Pipeline
from bot.model import Post
from bot.sources.base import SourceError, Timeline
from bot.sources.mastodon.instance import ServerRegistry, requests_fetch
from bot.sources.mastodon.ratelimit import RequestBudget
from bot.sources.mastodon.statuses import STATUSES_PER_REQUEST, AnsweredStatus, read_many, read_one
from bot.sources.threads import run_detached
from storage.db import Database
from storage.deletions import channel_posts, delete_by_author, delete_posts, delete_remote
from storage.posts import mark_refreshed, posts_to_refresh, store_posts

log = logging.getLogger(__name__)

ReadMode = Literal["bulk", "single"]
"""How statuses were read: 20 per request, or one per request."""

SINGLE_READS_MAX = 150
"""Single reads per refresh at most, however large the budget: half of Mastodon's default window."""

ALL_GONE_GUARD = 10
"""When at least this many statuses were asked and every one answered 404/410, nothing is deleted: that is a
misrouted proxy or a broken server far more often than an author deleting everything at once."""


@dataclass(slots=True)
class RefreshResult:
    """What one refresh of one instance did."""

    origin: str
    asked: int = 0
    seen: int = 0
    updated: int = 0
    deleted: int = 0
    """Posts removed because the server said they are gone."""
    opted_out: int = 0
    """Posts removed because their author now asks not to be indexed."""
    mode: ReadMode = "bulk"
    error: str | None = None
    error_kind: str | None = None


class EngagementRefresher:
    """Re-reads recent brand mentions from the instance they were first read on."""

    def __init__(
        self,
        db: Database,
        pipeline: Pipeline,
        window: timedelta,
        servers: ServerRegistry | None = None,
    ) -> None:
        self.db = db
        self.pipeline = pipeline
        self.window = window
        self.servers = servers if servers is not None else ServerRegistry()

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
        info = await run_detached(self.servers.ensure, instance_url, requests_fetch(client, budget))
        bulk = info.capabilities.bulk_status_reads
        found: list[Post] = []
        done: list[str] = []
        """Ids with a definite answer (found, or confirmed gone): these count as read."""
        gone: list[str] = []
        failure: SourceError | None = None
        try:
            queue = list(ids)
            unconfirmed: list[str] = []
            while bulk and queue:
                chunk = queue[:STATUSES_PER_REQUEST]
                try:
                    answer = await run_detached(read_many, client, instance_url, chunk, budget)
                except AnsweredStatus as answered:
                    if answered.status not in (404, 405):
                        raise SourceError("server", f"bulk read answered {answered.status}") from answered
                    self.servers.learn_no_bulk_reads(instance_url, answered.status)
                    bulk = False
                    break
                queue = queue[STATUSES_PER_REQUEST:]
                found += answer.posts
                missing = set(answer.missing)
                done += [i for i in chunk if i not in missing]
                # Left out of a bulk answer: deleted, or merely not shown to us; only a single read can tell.
                unconfirmed += answer.missing
            result.mode = "bulk" if bulk else "single"
            singles = [*unconfirmed, *([] if bulk else queue)]
            allowance = SINGLE_READS_MAX
            if budget is not None:
                allowance = min(allowance, max(1, (budget.remaining - budget.reserve) // 2))
            for status_id in singles[:allowance]:
                post = await run_detached(read_one, client, instance_url, status_id, budget)
                if post is None:
                    gone.append(status_id)
                else:
                    found.append(post)
                done.append(status_id)
        except SourceError as exc:
            # What was read before the failure is kept; the rest is asked for first next time (least recently read).
            failure = exc

        if gone and len(gone) == len(done) and len(gone) >= ALL_GONE_GUARD:
            failure = failure or SourceError(
                "malformed", f"every one of {len(gone)} statuses answered 404/410; not deleting anything"
            )
            done = []
            gone = []

        if done or found:
            await asyncio.to_thread(self._store, instance_url, found, done, gone, result)
        if failure is not None:
            result.error = str(failure)
            result.error_kind = failure.kind
            # Polls come first: a refresh held back by the request budget simply waits for its next turn.
            level = logging.INFO if failure.kind == "deferred" else logging.WARNING
            log.log(level, "refreshing engagement on %s stopped after %d of %d (%s): %s", instance_url, len(done),
                    len(ids), failure.kind, failure)
            return result
        log.info("refreshed %d of %d recent mentions on %s (%s reads; %d deleted at the source, %d opted out)",
                 result.seen, result.asked, instance_url, result.mode, result.deleted, result.opted_out)
        return result

    def _store(
        self, origin: str, found: Sequence[Post], done: Sequence[str], gone: Sequence[str], result: RefreshResult
    ) -> None:
        processed = self.pipeline.process(found)
        # An author who opted out since the first poll: everything stored from them goes, not just this post.
        leaving = {p.author.handle for p in found if p.author.opted_out} if self.pipeline.respect_opt_outs else set()
        with self.db.transaction() as session:
            stored = store_posts(session, processed.posts)
            mark_refreshed(session, origin, done)
            deleted = delete_remote(session, origin, gone)
            opted_out = delete_by_author(session, leaving, source="mastodon")
        result.seen = len(found)
        result.updated = stored.updated
        result.deleted = deleted.posts
        result.opted_out = opted_out.posts
        if deleted.posts or opted_out.posts:
            # Counts, never content: who wrote what is exactly what was asked to be forgotten.
            log.info("removed %d post(s) deleted at %s and %d of %d author(s) who opted out", deleted.posts, origin,
                     opted_out.posts, len(leaving))


CHANNEL_PAGES_MAX = 50
"""History pages (100 messages each) a deletion check of one channel reads at most; a busier channel is left
alone rather than judged on part of its window."""


async def follow_channel_deletions(
    db: Database, timeline: Timeline, start_id: str, since: datetime, *, max_pages: int = CHANNEL_PAGES_MAX
) -> int:
    """Delete the stored messages of a Discord channel, written since `since`, that its history no longer has.

    The history is read forward from `start_id` (the first id of `since`) to its end; only messages written
    before the read began are judged, so one stored by a poll meanwhile is never taken for deleted.
    """
    started = datetime.now(UTC)
    present: set[str] = set()
    cursor = start_id
    for _ in range(max_pages):
        page = await timeline.newer(cursor)
        present.update(p.remote_id for p in page.posts)
        if page.raw_count == 0 or (page.newest_id is None and page.ends):
            break
        if page.newest_id is None:
            # A full page without one usable id (a broken server) cannot be read on from: judging the window on what
            # was read so far would take every later message for deleted.
            log.info("%s: a history page without a usable id; deletions not checked", timeline.id)
            return 0
        cursor = page.newest_id
    else:
        log.info("%s has more than %d pages in the refresh window: deletions not checked", timeline.id, max_pages)
        return 0

    def delete() -> int:
        with db.transaction() as session:
            stored = channel_posts(session, timeline.id.feed, since, started)
            gone = [post_id for remote_id, post_id in stored.items() if remote_id not in present]
            return delete_posts(session, gone).posts

    removed = await asyncio.to_thread(delete)
    if removed:
        log.info("removed %d message(s) deleted in Discord channel %s", removed, timeline.id.feed)
    return removed
