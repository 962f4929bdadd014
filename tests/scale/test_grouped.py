"""Tags read together with `any[]` and split back to each tag's cursor: nothing missed, even as groups change."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ingest.grouped import GroupPoller
from bot.ingest.ingestor import Ingestor
from bot.ingest.matching import BrandMatcher
from bot.ingest.pipeline import Pipeline
from storage.db import Database
from tests.scale.conftest import reset, stored_uris
from tests.scale.memory import MemoryServer, ServerGroup

TAGS = ("a", "b", "c", "d", "e", "f")


def _poller(db: Database) -> GroupPoller:
    return GroupPoller(Ingestor(db, Pipeline(BrandMatcher([]), None)))


def test_a_quiet_group_of_five_tags_costs_one_request_per_poll(database: Database) -> None:
    reset(database)
    server = MemoryServer()
    for tag in TAGS[:5]:
        server.add((tag,))
    group = ServerGroup(server, TAGS[:5])
    asyncio.run(_poller(database).poll(group, backfill=timedelta(days=1)))  # first sight: each tag backfills
    before = server.requests

    results = asyncio.run(_poller(database).poll(group, backfill=timedelta(days=1)))

    assert server.requests - before == 1
    assert all(r.ok and r.new == 0 for r in results)


def test_new_posts_of_every_member_are_stored_from_the_one_merged_page(database: Database) -> None:
    reset(database)
    server = MemoryServer()
    for tag in TAGS[:5]:
        server.add((tag,))
    group = ServerGroup(server, TAGS[:5])
    asyncio.run(_poller(database).poll(group, backfill=timedelta(days=1)))
    fresh = {server.add((tag,)) for tag in ("a", "c", "c", "e")} | {server.add(("b", "d"))}
    before = server.requests

    results = asyncio.run(_poller(database).poll(group, backfill=timedelta(days=1)))

    assert server.requests - before == 1
    assert fresh <= set(stored_uris(database))
    assert [r.new for r in results] == [1, 1, 2, 1, 1]


def test_a_member_with_more_new_posts_than_the_page_holds_is_read_on_its_own(database: Database) -> None:
    reset(database)
    server = MemoryServer(page_size=5)
    for tag in TAGS[:3]:
        server.add((tag,))
    group = ServerGroup(server, TAGS[:3])
    asyncio.run(_poller(database).poll(group, backfill=timedelta(days=1)))
    burst = {server.add(("a",)) for _ in range(12)}

    asyncio.run(_poller(database).poll(group, backfill=timedelta(days=1)))

    assert burst <= set(stored_uris(database))


def test_a_member_whose_cursor_is_further_back_keeps_every_post_after_it(database: Database) -> None:
    reset(database)
    server = MemoryServer()
    server.add(("a",))
    server.add(("b",))
    alone_a, alone_b = ServerGroup(server, ("a",)), ServerGroup(server, ("b",))
    together = ServerGroup(server, ("a", "b"))
    asyncio.run(_poller(database).poll(alone_a, backfill=timedelta(days=1)))
    late_for_a = server.add(("a",))  # after a's poll, before b's
    server.add(("b",))
    asyncio.run(_poller(database).poll(alone_b, backfill=timedelta(days=1)))
    newest = server.add(("b",))

    asyncio.run(_poller(database).poll(together, backfill=timedelta(days=1)))

    assert {late_for_a, newest} <= set(stored_uris(database))


Round = tuple[list[tuple[str, ...]], list[int], int]
"""(posts published, each with its tags; deletions as indexes; how the tags are grouped this round)."""

rounds = st.lists(
    st.tuples(
        st.lists(st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True).map(tuple), max_size=14),
        st.lists(st.integers(min_value=-5, max_value=50), max_size=2),
        st.integers(min_value=0, max_value=3),
    ),
    min_size=1,
    max_size=7,
)
GROUPINGS = [
    [TAGS[:5], TAGS[5:]],
    [TAGS[:2], TAGS[2:4], TAGS[4:]],
    [(t,) for t in TAGS],
    [TAGS[1:6], TAGS[:1]],
]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=rounds, page_size=st.sampled_from([3, 6, 40]))
def test_no_post_is_missed_however_posts_arrive_and_tags_move_between_groups(
    database: Database, history: list[Round], page_size: int
) -> None:
    reset(database)
    server = MemoryServer(page_size=page_size)
    published = {server.add((tag,)) for tag in TAGS}
    deleted: set[str] = set()

    async def run() -> None:
        for posts, deletions, grouping in history:
            for index in deletions:
                gone = server.delete(index)
                if gone is not None:
                    deleted.add(gone)
            groups = GROUPINGS[grouping]
            for number, tags in enumerate(groups):
                # Posts also arrive between the polls of one round, so members' cursors differ.
                published.update(server.add(t) for t in posts[number::len(groups)])
                await _poller(database).poll(ServerGroup(server, tuple(tags)), backfill=timedelta(days=1))
        for _ in range(2):
            for tags in GROUPINGS[0]:
                await _poller(database).poll(ServerGroup(server, tuple(tags)), backfill=timedelta(days=1))

    asyncio.run(run())
    uris = stored_uris(database)
    assert len(uris) == len(set(uris))
    assert published - deleted <= set(uris)
