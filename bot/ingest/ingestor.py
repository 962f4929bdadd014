"""The poll loop: read a timeline from its cursor until caught up, storing pages with their cursor atomically.

A crash at any point loses nothing and duplicates nothing: pages' posts and the cursor that covers them commit
together (up to PAGES_PER_TRANSACTION pages at a time), and a restart resumes from the last committed cursor, reading
again whatever was fetched but not committed (posts are unique by `uri`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.ingest.pipeline import Pipeline
from bot.model import Post, SkippedPost, TimelineId
from bot.ops.backoff import BackoffPolicy
from bot.sources.base import Page, Rejected, SourceError, SourceErrorKind, Timeline
from bot.sources.clean import MAX_ID, MAX_URI_BYTES, clean_line, clean_text
from storage.cursors import Cursor, load_cursor, save_cursor
from storage.db import CONNECTION_ERRORS, Database
from storage.health import record_failure, record_success, set_backoff
from storage.posts import store_posts
from storage.skipped import record_skipped

log = logging.getLogger(__name__)

PAGES_PER_TRANSACTION = 10
"""Pages (of up to 40 posts) stored per transaction while catching up. A transaction costs about as much as a page of
posts, so batching halves the cost of a backfill; a crash loses nothing, the uncommitted pages are read again."""

MAX_PAGES_PER_POLL = 250
"""A bound on one poll's requests (10,000 posts); the next poll goes on from the cursor, so nothing is skipped."""

PollErrorKind = SourceErrorKind | Literal["internal"]
"""Why a poll failed: the source's reason, or `internal` for a bug or a database failure on our side."""

Progress = Callable[[int, int], None]
"""Called after each stored page with (posts stored so far, pages read so far)."""


@dataclass(slots=True)
class PollResult:
    """What one poll of one timeline did."""

    timeline: TimelineId
    new: int = 0
    duplicate: int = 0
    updated: int = 0
    skipped: int = 0
    pages: int = 0
    error: str | None = None
    error_kind: PollErrorKind | None = None
    retry_after: float | None = None
    consecutive_errors: int = 0
    """Failures in a row of this timeline, this one included (0 after a success)."""
    recovered_after: float | None = None
    """Seconds the timeline had been failing, when this poll ended an outage."""
    backoff_until: datetime | None = None
    """When a failed poll's timeline may be polled again (stored with its health in one transaction)."""
    oldest_read: datetime | None = None
    """When the oldest post this poll stored (or found stored already) was written: with `new`, a rate."""

    @property
    def ok(self) -> bool:
        """Whether the poll finished without an error."""
        return self.error is None


class Ingestor:
    """Polls timelines into the database through the pipeline."""

    def __init__(
        self,
        db: Database,
        pipeline: Pipeline,
        *,
        max_pages: int = MAX_PAGES_PER_POLL,
        deadline: float | None = None,
        backoff: BackoffPolicy | None = None,
    ) -> None:
        self.db = db
        self.pipeline = pipeline
        self.max_pages = max_pages
        self.deadline = deadline
        """Seconds one whole poll may take; a hung or trickling server then fails the poll, not the scheduler."""
        self.backoff = backoff or BackoffPolicy()
        """How long a failing timeline is left alone; the wait is stored with the failure, so a restart keeps it."""

    async def poll(self, timeline: Timeline, *, backfill: timedelta, progress: Progress | None = None) -> PollResult:
        """Read `timeline` forward from its cursor (or back over `backfill` the first time) and store what is new."""
        result = PollResult(timeline.id)
        try:
            await asyncio.wait_for(self._poll(timeline, backfill, result, progress), self.deadline)
        except TimeoutError:
            # Pages stored before the deadline stay stored with their cursor; the next poll goes on from there.
            result.error, result.error_kind = f"the poll took longer than {self.deadline:g}s", "timeout"
        except SourceError as exc:
            result.error, result.error_kind, result.retry_after = str(exc), exc.kind, exc.retry_after
        except Exception as exc:
            # A bug or a database failure must not kill the scheduler. It is counted, and the outcome report warns
            # once per outage with this error; the traceback is logged only at DEBUG, since a failure that repeats on
            # every retry would otherwise fill the log with the same 40 lines each time.
            log.debug("polling %s failed: %s", timeline.id, describe(exc), exc_info=True)
            result.error, result.error_kind = f"internal error: {exc!r}", "internal"
        await asyncio.to_thread(self._record_health, result)
        return result

    async def _poll(
        self, timeline: Timeline, backfill: timedelta, result: PollResult, progress: Progress | None
    ) -> None:
        cursor = await asyncio.to_thread(self._load, timeline)
        cutoff = datetime.now(UTC) - backfill
        batch = _Batch()
        read_head = False
        try:
            if cursor.newest_id is None:
                read_head = True
                page = await timeline.older(None)
                result.pages += 1
                done = _reaches(page, cutoff) or _stuck(timeline, page)
                cursor = Cursor(newest_id=page.newest_id, backfill_before=page.oldest_id, backfill_done=done)
                await self._add(timeline, batch, page, cutoff, cursor, result, progress)
            while not cursor.backfill_done and result.pages < self.max_pages:
                page = await timeline.older(cursor.backfill_before)
                result.pages += 1
                done = _reaches(page, cutoff) or _stuck(timeline, page)
                cursor = Cursor(cursor.newest_id, page.oldest_id or cursor.backfill_before, done)
                await self._add(timeline, batch, page, cutoff, cursor, result, progress)
            if getattr(timeline, "head_first", False):
                # The newest page was just read if this was the timeline's first poll; the next poll goes on.
                if cursor.newest_id is not None and not read_head and result.pages < self.max_pages:
                    await self._head_first(timeline, batch, cursor, result, progress)
            else:
                while cursor.newest_id is not None and result.pages < self.max_pages:
                    page = await timeline.newer(cursor.newest_id)
                    result.pages += 1
                    if page.raw_count == 0:
                        break
                    advanced = page.newest_id is not None and page.newest_id != cursor.newest_id
                    if not advanced:
                        # A page that does not move the cursor (its items had no usable id) would be read again at
                        # once, up to max_pages times: stop here; the next poll asks again. Its rejected items are
                        # recorded now (no later page may ever move past them); storage records each only once.
                        await self._add(timeline, batch, page, None, cursor, result, progress)
                        break
                    cursor = Cursor(page.newest_id, cursor.backfill_before, cursor.backfill_done)
                    await self._add(timeline, batch, page, None, cursor, result, progress)
        except SourceError:
            # The pages read before the failure are good: keep them (and their cursor) before reporting it.
            await self._store(timeline, batch, result, progress)
            raise
        await self._store(timeline, batch, result, progress)

    async def _head_first(
        self, timeline: Timeline, batch: _Batch, cursor: Cursor, result: PollResult, progress: Progress | None
    ) -> None:
        """Catch up by reading the newest page first (no paging parameters), paging on only if it does not reach
        back to the cursor.

        Each cursor handed to the batch covers every post up to it: the posts after the old cursor that are in the
        newest page, or the forward (`min_id`) pages from the old cursor until one of them meets the newest page,
        followed by the newest page itself. A poll cut short stores only what its cursor covers.
        """
        assert cursor.newest_id is not None
        head = await timeline.older(None)
        result.pages += 1
        if cursor.newest_id in head.ids:
            newer = set(head.ids[: head.ids.index(cursor.newest_id)])
            if newer:
                ahead = Cursor(head.newest_id, cursor.backfill_before, cursor.backfill_done)
                await self._add(timeline, batch, _only(head, newer), None, ahead, result, progress)
            return
        if head.raw_count == 0:
            return
        if head.ends:
            # The whole timeline fits in the page and the cursor's post is gone (deleted): everything is here.
            ahead = Cursor(head.newest_id, cursor.backfill_before, cursor.backfill_done)
            await self._add(timeline, batch, head, None, ahead, result, progress)
            return
        # More new posts than a page: page forward from the cursor (paging requests) until a page meets the head.
        in_head = set(head.ids)
        while result.pages < self.max_pages:
            page = await timeline.newer(cursor.newest_id or "")
            result.pages += 1
            if page.raw_count == 0:
                # Nothing after the cursor after all (the head's posts were deleted meanwhile): nothing to move.
                return
            if page.newest_id is None or page.newest_id == cursor.newest_id:
                # Its items had no usable id: the cursor cannot move, so the next poll asks again.
                await self._add(timeline, batch, page, None, cursor, result, progress)
                return
            cursor = Cursor(page.newest_id, cursor.backfill_before, cursor.backfill_done)
            await self._add(timeline, batch, page, None, cursor, result, progress)
            if in_head.intersection(page.ids):
                rest = set(head.ids) - set(page.ids)
                ahead = Cursor(head.newest_id, cursor.backfill_before, cursor.backfill_done)
                await self._add(timeline, batch, _only(head, rest), None, ahead, result, progress)
                return

    async def _add(
        self,
        timeline: Timeline,
        batch: _Batch,
        page: Page,
        cutoff: datetime | None,
        cursor: Cursor,
        result: PollResult,
        progress: Progress | None,
    ) -> None:
        batch.posts += page.posts if cutoff is None else [p for p in page.posts if p.created_at >= cutoff]
        batch.rejected += page.rejected
        batch.cursor = cursor
        batch.pages += 1
        if batch.pages >= PAGES_PER_TRANSACTION:
            await self._store(timeline, batch, result, progress)

    def _load(self, timeline: Timeline) -> Cursor:
        with self.db.transaction() as session:
            return load_cursor(session, timeline.id)

    async def _store(self, timeline: Timeline, batch: _Batch, result: PollResult, progress: Progress | None) -> None:
        if batch.cursor is None:
            return
        posts, cursor = batch.posts, batch.cursor
        rejected = [skip_record(timeline, s.remote_id, s.uri, s.reason) for s in batch.rejected]
        batch.clear()

        if posts:
            oldest = min(p.created_at for p in posts)
            result.oldest_read = oldest if result.oldest_read is None else min(result.oldest_read, oldest)

        def work() -> None:
            try:
                processed = self.pipeline.process(posts)
                with self.db.transaction() as session:
                    stored = store_posts(session, processed.posts)
                    newly_skipped = record_skipped(session, rejected)
                    save_cursor(session, timeline.id, cursor)
            except CONNECTION_ERRORS:
                raise
            except Exception as exc:
                # Something in these posts cannot be analysed or stored: find it by storing them one at a time, so
                # the others are kept and the cursor moves on (a post that fails the same way every time must not
                # block its timeline for good).
                log.info("%s: storing %d posts failed (%s); storing them one by one",
                            timeline.id, len(posts), describe(exc))
                self._store_one_by_one(timeline, posts, rejected, cursor, result, exc)
                return
            result.new += stored.new
            result.duplicate += stored.duplicate
            result.updated += stored.updated
            result.skipped += processed.skipped + newly_skipped

        # Shielded: a deadline or shutdown that cancels the poll waits for this transaction to finish, so the pages
        # and their cursor are stored together or not at all, and no thread writes after the poll has ended.
        stored = asyncio.ensure_future(asyncio.to_thread(work))
        try:
            await asyncio.shield(stored)
        except asyncio.CancelledError:
            await asyncio.wait([stored])
            raise
        if progress is not None:
            progress(result.new + result.duplicate, result.pages)

    def record_health(self, result: PollResult) -> None:
        """Store a poll's outcome in its timeline's health (and a failure's backoff); blocking."""
        self._record_health(result)

    def _store_one_by_one(
        self,
        timeline: Timeline,
        posts: list[Post],
        rejected: list[SkippedPost],
        cursor: Cursor,
        result: PollResult,
        first_error: Exception,
    ) -> None:
        skipped = list(rejected)
        new = duplicate = updated = 0
        for post in posts:
            try:
                processed = self.pipeline.process([post])
                with self.db.transaction() as session:
                    stored = store_posts(session, processed.posts)
            except CONNECTION_ERRORS:
                raise
            except Exception as exc:
                reason = describe(exc)
                log.warning("%s: skipping post %s: %s", timeline.id, post.uri, reason)
                skipped.append(skip_record(timeline, post.remote_id, post.uri, reason))
                continue
            result.skipped += processed.skipped
            new, duplicate, updated = new + stored.new, duplicate + stored.duplicate, updated + stored.updated
        if len(posts) > 1 and len(skipped) - len(rejected) == len(posts):
            # Every post failed alone too: the fault is not in the content (a bug, a schema out of date), and
            # skipping them all would lose them. The poll fails instead, and the cursor stays.
            raise first_error
        with self.db.transaction() as session:
            newly_skipped = record_skipped(session, skipped)
            save_cursor(session, timeline.id, cursor)
        result.new += new
        result.duplicate += duplicate
        result.updated += updated
        result.skipped += newly_skipped

    def _record_health(self, result: PollResult) -> None:
        if result.error_kind == "deferred":
            # Our own request budget held the poll back: the source is fine, so its health is left as it was.
            return
        with self.db.transaction() as session:
            if result.ok:
                result.recovered_after = record_success(
                    session, result.timeline, new=result.new, skipped=result.skipped
                )
            else:
                failures = record_failure(
                    session, result.timeline, result.error or "", kind=result.error_kind
                )
                delay = self.backoff.delay(failures, retry_after=result.retry_after, kind=result.error_kind)
                result.consecutive_errors = failures
                result.backoff_until = datetime.now(UTC) + timedelta(seconds=delay)
                set_backoff(session, result.timeline, result.backoff_until)


class _Batch:
    """Pages read but not stored yet, and the cursor that covers them all."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.rejected: list[Rejected] = []
        self.cursor: Cursor | None = None
        self.pages = 0

    def clear(self) -> None:
        """Start over after the batch was handed to storage."""
        self.posts, self.rejected, self.cursor, self.pages = [], [], None, 0


def describe(exc: BaseException) -> str:
    """One line saying what went wrong, without SQL statements or parameters (which may hold a whole post)."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return f"{type(original).__name__}: {text}"[:500]


def skip_record(timeline: Timeline, remote_id: str, uri: str, reason: str) -> SkippedPost:
    """A skipped post of `timeline`, every field cleaned and bounded so the record itself can always be stored."""
    return SkippedPost(
        timeline=timeline.id,
        remote_id=clean_line(remote_id, MAX_ID),
        uri=clean_line(uri, MAX_URI_BYTES),
        reason=clean_text(reason, 1000),
    )


def _only(page: Page, ids: set[str]) -> Page:
    """The part of `page` whose items have one of `ids`."""
    keep = [i for i, item in enumerate(page.post_ids) if item in ids]
    return Page(
        posts=[page.posts[i] for i in keep],
        newest_id=page.newest_id,
        oldest_id=page.oldest_id,
        raw_count=len(keep),
        ids=tuple(i for i in page.ids if i in ids),
        post_ids=tuple(page.post_ids[i] for i in keep),
        rejected=[r for r in page.rejected if r.remote_id in ids],
    )


def _stuck(timeline: Timeline, page: Page) -> bool:
    # Items but not one usable id (a broken or hostile server): there is nothing to read on from, and asking again
    # would bring the same page (and its rejected items) up to max_pages times, so the backfill ends here.
    if page.raw_count and page.oldest_id is None:
        log.warning("%s: backfill stopped at a page of %d item(s) without a usable id", timeline.id, page.raw_count)
        return True
    return False


def _reaches(page: Page, cutoff: datetime) -> bool:
    # The backfill is over when the server has nothing older, or this page already reaches past the window.
    return page.raw_count == 0 or (page.oldest_created_at is not None and page.oldest_created_at < cutoff)
