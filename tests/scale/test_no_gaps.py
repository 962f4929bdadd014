"""Reading the newest page first, and paging only when it does not reach the cursor, still misses nothing.

Hypothesis writes the history: posts published between polls (from none to several pages), posts deleted (the
cursor's own post among them), requests that fail mid-poll, polls cut short by a page limit. After a final quiet
poll every post that was never deleted is stored, exactly once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.ingest.ingestor import Ingestor
from bot.ingest.matching import BrandMatcher
from bot.ingest.pipeline import Pipeline
from storage.db import Database
from tests.scale.conftest import reset
from tests.scale.memory import MemoryTimeline

Step = tuple[int, list[int], int, int]
"""(posts published, deletions as indexes, request number to fail or 0, page limit of the poll)."""

steps = st.lists(
    st.tuples(
        st.sampled_from([0, 0, 1, 3, 7, 12, 25]),
        st.lists(st.integers(min_value=-3, max_value=60), max_size=2),
        st.integers(min_value=0, max_value=4),
        st.sampled_from([1, 2, 50]),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps, initial=st.integers(min_value=0, max_value=9), page_size=st.sampled_from([3, 5, 40]))
def test_every_post_never_deleted_is_stored_once_whatever_the_history(
    database: Database, history: list[Step], initial: int, page_size: int
) -> None:
    reset(database)
    timeline = MemoryTimeline(page_size=page_size)
    published = set(timeline.add(initial))
    deleted: set[str] = set()
    pipeline = Pipeline(BrandMatcher([]), None, respect_opt_outs=True)

    async def run() -> None:
        for added, deletions, fail, pages in history:
            published.update(timeline.add(added))
            for index in deletions:
                gone = timeline.delete(index)
                if gone is not None:
                    deleted.add(gone)
            timeline.fail_at = {timeline.requests + fail} if fail else set()
            await Ingestor(database, pipeline, max_pages=pages).poll(timeline, backfill=timedelta(days=1))
        timeline.fail_at = set()
        # Quiet polls until caught up: each may be cut short by nothing now, so a few are enough.
        for _ in range(3):
            await Ingestor(database, pipeline).poll(timeline, backfill=timedelta(days=1))

    asyncio.run(run())
    with database.engine.connect() as conn:
        uris = [row.uri for row in conn.execute(text("SELECT uri FROM posts"))]
    assert len(uris) == len(set(uris))
    assert published - deleted <= set(uris), "no post that stayed on the timeline was missed"


def test_an_idle_poll_is_one_request_and_not_a_paging_one(database: Database) -> None:
    reset(database)
    timeline = MemoryTimeline()
    timeline.add(5)
    ingestor = Ingestor(database, Pipeline(BrandMatcher([]), None))
    asyncio.run(ingestor.poll(timeline, backfill=timedelta(days=1)))
    before, paging_before = timeline.requests, timeline.paging_requests

    result = asyncio.run(ingestor.poll(timeline, backfill=timedelta(days=1)))

    assert result.ok and result.new == 0
    assert (timeline.requests - before, timeline.paging_requests - paging_before) == (1, 0)


def test_new_posts_within_the_newest_page_cost_no_paging_request(database: Database) -> None:
    reset(database)
    timeline = MemoryTimeline()
    timeline.add(60)
    ingestor = Ingestor(database, Pipeline(BrandMatcher([]), None))
    asyncio.run(ingestor.poll(timeline, backfill=timedelta(days=1)))
    paging_before = timeline.paging_requests
    timeline.add(39)

    result = asyncio.run(ingestor.poll(timeline, backfill=timedelta(days=1)))

    assert result.new == 39 and result.duplicate == 0
    assert timeline.paging_requests == paging_before


def test_more_new_posts_than_a_page_are_read_forward_from_the_cursor_without_a_trailing_empty_page(
    database: Database,
) -> None:
    reset(database)
    timeline = MemoryTimeline()
    timeline.add(3)
    ingestor = Ingestor(database, Pipeline(BrandMatcher([]), None))
    asyncio.run(ingestor.poll(timeline, backfill=timedelta(days=1)))
    before, paging_before = timeline.requests, timeline.paging_requests
    timeline.add(130)

    result = asyncio.run(ingestor.poll(timeline, backfill=timedelta(days=1)))

    assert result.new == 130 and result.duplicate == 0
    # The newest 40, then forward pages 1-40, 41-80 and 81-120, where the third meets the newest page.
    assert (timeline.requests - before, timeline.paging_requests - paging_before) == (4, 3)
