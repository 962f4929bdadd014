"""No post can jam a timeline: random and hostile statuses and Discord messages go through normalise -> store on
SQLite and PostgreSQL, and every one is either stored or recorded as skipped with its reason, and nothing raises.

The specific cases a user hit (a lone surrogate in a display name, NUL in a Discord message, a 300-character hashtag,
100,000 nested `<div>`s) each have their own test; the fuzz test looks for the ones nobody thought of.
"""

from __future__ import annotations

import asyncio
import html as htmllib
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.config.schema import BrandConfig
from bot.ingest.ingestor import Ingestor, PollResult
from bot.ingest.matching import BrandMatcher
from bot.ingest.pipeline import Pipeline
from bot.model import SourceKind, TimelineId
from bot.sources.base import Page
from bot.sources.clean import MAX_ID, clean_line
from bot.sources.discord import DiscordChannelTimeline
from bot.sources.mastodon.html import html_to_text
from bot.sources.mastodon.timeline import page_from_statuses
from storage.db import Database

INSTANCE = "https://fuzz.example"
_scopes = itertools.count()


class CannedTimeline:
    """A timeline whose cursor starts at "0" and whose one page of news is the given page."""

    def __init__(self, source: str, origin: str, page: Page) -> None:
        self.id = TimelineId(SourceKind(source), origin, f"fuzz{next(_scopes)}")
        self._page = page
        self._served = False

    async def older(self, before_id: str | None) -> Page:
        return Page(newest_id="0")  # nothing to backfill: every post arrives as news, none cut by the window

    async def newer(self, after_id: str) -> Page:
        if self._served:
            return Page()
        self._served = True
        return self._page


def ingest(db: Database, timeline: CannedTimeline) -> PollResult:
    ingestor = Ingestor(db, Pipeline(BrandMatcher([BrandConfig(name="Acme", terms=["acme"], hashtags=["acme"])])))
    return asyncio.run(ingestor.poll(timeline, backfill=timedelta(days=1)))


def accounted_for(db: Database, origin: str, ids: Sequence[str]) -> dict[str, str]:
    """For each id: "stored", "skipped" or "lost"."""
    with db.engine.connect() as conn:
        query = text("SELECT remote_id FROM post_sources WHERE origin = :o")
        stored = {r[0] for r in conn.execute(query, {"o": origin})}
        skipped = {r[0] for r in conn.execute(text("SELECT remote_id FROM skipped_posts WHERE reason <> ''"))}
    out = {}
    for raw in ids:
        key = clean_line(raw, MAX_ID)
        out[raw] = "stored" if key in stored else "skipped" if key in skipped else "lost"
    return out


# --- strategies -----------------------------------------------------------------------------------------------------

ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
"""Every code point, lone surrogates and NUL included."""
HOSTILE = st.sampled_from([
    "\x00", "\ud83d", "\udc00", "a\x00b", "\u202e", "\x1b[31m", "\r\n", "\t", "\x7f\x85", "\ufeff", "\uffff",
    "é" * 300, "x" * 300, "#" * 1000, "<div>" * 2000, "&#0;", "&#xd800;", "&amp;" * 100, "<script>x</script>",
    "𝔄" * 200, "Z\u0351\u0344\u0350" * 100,
])
TEXT = st.one_of(st.text(ANY_CHAR, max_size=60), HOSTILE, st.builds(lambda s, n: s * n, HOSTILE, st.integers(1, 5)))
COUNT = st.one_of(st.integers(-(2**40), 2**40), st.none(), st.just("12"), st.just("many"), st.floats(allow_nan=True))
WHEN = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)).map(
        lambda d: d.isoformat()
    ),
    st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-02-30T00:00:00Z", "", "now"]),
)


@st.composite
def statuses(draw: st.DrawFn, ids: Any) -> dict[str, Any]:
    status_id = next(ids)
    return {
        "id": draw(st.one_of(st.just(status_id), st.just(status_id + "9" * 300))),
        "uri": draw(st.one_of(st.just(f"{INSTANCE}/statuses/{status_id}"), TEXT.map(lambda t: f"{status_id}{t}"))),
        "url": draw(st.one_of(st.none(), TEXT)),
        "created_at": draw(WHEN),
        "edited_at": draw(st.one_of(st.none(), WHEN)),
        "content": draw(st.one_of(TEXT, TEXT.map(lambda t: f"<p>Acme {t}</p>"))),
        "spoiler_text": draw(TEXT),
        "language": draw(st.one_of(st.none(), TEXT, st.just("EN_us"))),
        "sensitive": draw(st.booleans()),
        "replies_count": draw(COUNT),
        "reblogs_count": draw(COUNT),
        "favourites_count": draw(COUNT),
        "in_reply_to_id": draw(st.one_of(st.none(), TEXT)),
        "tags": [{"name": t} for t in draw(st.lists(TEXT, max_size=4))],
        "mentions": [{"acct": t, "url": ""} for t in draw(st.lists(TEXT, max_size=3))],
        "account": {
            "acct": draw(TEXT),
            "username": draw(TEXT),
            "display_name": draw(TEXT),
            "url": draw(TEXT),
            "followers_count": draw(COUNT),
            "bot": draw(st.booleans()),
            "note": "",
        },
    }


ODD_ID = st.sampled_from(["abc", "", "-42", "١٢٣", " 12", "1_000", str(2**64), "9" * 300, None, 12.5, True, [1]])
"""Ids a broken or hostile Discord server might send: each such message is skipped with its reason."""


@st.composite
def messages(draw: st.DrawFn, ids: Any) -> dict[str, Any]:
    real = str(next(ids))
    return {
        "id": draw(st.one_of(st.just(real), st.just(real), ODD_ID)),
        "type": 0,
        "content": draw(TEXT.filter(bool)),
        "author": {"id": draw(TEXT), "username": draw(TEXT), "global_name": draw(st.one_of(st.none(), TEXT))},
        "member": draw(st.one_of(st.none(), st.builds(lambda n: {"nick": n}, TEXT))),
        "edited_timestamp": draw(st.one_of(st.none(), WHEN)),
        "message_reference": draw(st.one_of(st.none(), st.builds(lambda m: {"message_id": m}, TEXT))),
    }


_status_ids = (f"9{n:08d}" for n in itertools.count())
_message_ids = itertools.count(1300000000000000000)

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])


@pytest.mark.slow
@pytest.mark.postgres
@FUZZ
@given(batch=st.lists(statuses(_status_ids), min_size=1, max_size=6))
def test_every_random_status_is_stored_or_skipped_with_a_reason(db: Database, batch: list[dict[str, Any]]) -> None:
    result = ingest(db, CannedTimeline("mastodon", INSTANCE, page_from_statuses(batch, INSTANCE)))
    assert result.ok, result.error
    fates = accounted_for(db, INSTANCE, [s["id"] for s in batch])
    assert "lost" not in fates.values(), fates


@pytest.mark.slow
@pytest.mark.postgres
@FUZZ
@given(batch=st.lists(messages(_message_ids), min_size=1, max_size=6))
def test_every_random_discord_message_is_stored_or_skipped_with_a_reason(
    db: Database, batch: list[dict[str, Any]]
) -> None:
    channel = DiscordChannelTimeline(None, 42)  # type: ignore[arg-type]  # the page is built without a connection
    channel._guild_id = 7
    page = channel._to_page(batch, own_id=None)
    timeline = CannedTimeline("discord", "discord", page)
    result = ingest(db, timeline)
    assert result.ok, result.error
    if page.newest_id is None:
        # Not one real id: the cursor cannot move past them, so it stays and the next poll reads them all again.
        with db.engine.connect() as conn:
            cursor = conn.execute(text("SELECT newest_id FROM poll_cursors WHERE scope = :s"), {"s": timeline.id.feed})
            assert cursor.scalar_one() == "0"
        return
    fates = accounted_for(db, "discord:7/42", [str(m["id"]) if m["id"] is not None else "" for m in batch])
    assert "lost" not in fates.values(), fates


# --- the cases users hit --------------------------------------------------------------------------------------------


def status(n: int, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": str(n), "uri": f"{INSTANCE}/statuses/{n}", "created_at": datetime.now(UTC).isoformat(),
        "content": "<p>Acme coffee</p>", "tags": [{"name": "acme"}],
        "account": {"acct": "ann", "display_name": "Ann", "url": f"{INSTANCE}/@ann", "followers_count": 3},
    }
    base.update(changes)
    return base


def stored_posts(db: Database) -> list[tuple[str, str, str]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT uri, author_name, text FROM posts ORDER BY id"))]


@pytest.mark.postgres
def test_a_lone_surrogate_in_an_authors_name_is_stored_as_a_replacement_character(db: Database) -> None:
    account = {"acct": "ann\ud800", "display_name": "Ann \ud83d broken", "followers_count": 2**40}
    result = ingest(db, CannedTimeline("mastodon", INSTANCE, page_from_statuses([status(1, account=account)],
                                                                                   INSTANCE)))
    assert result.ok and result.new == 1
    assert stored_posts(db)[0][1] == "Ann \ufffd broken"


@pytest.mark.postgres
def test_a_discord_message_with_nul_characters_is_stored_without_them(db: Database) -> None:
    channel = DiscordChannelTimeline(None, 42)  # type: ignore[arg-type]
    channel._guild_id = 7
    message = {"id": "1300000000000000001", "type": 0, "content": "Acme\x00 is\x00 down", "author": {"id": "5"}}
    result = ingest(db, CannedTimeline("discord", "discord", channel._to_page([message], None)))
    assert result.ok and result.new == 1
    assert stored_posts(db)[0][2] == "Acme is down"


@pytest.mark.postgres
def test_a_300_character_hashtag_is_left_out_and_the_post_is_stored(db: Database) -> None:
    page = page_from_statuses([status(1, tags=[{"name": "x" * 300}, {"name": "acme"}])], INSTANCE)
    result = ingest(db, CannedTimeline("mastodon", INSTANCE, page))
    assert result.ok and result.new == 1
    with db.engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT tag FROM post_tags"))] == ["acme"]


@pytest.mark.postgres
def test_a_post_whose_uri_is_too_long_to_index_is_skipped_with_its_reason_and_the_next_one_is_stored(
    db: Database,
) -> None:
    page = page_from_statuses([status(2), status(1, uri=f"{INSTANCE}/" + "x" * 5000)], INSTANCE)
    timeline = CannedTimeline("mastodon", INSTANCE, page)
    result = ingest(db, timeline)
    assert result.ok and result.new == 1 and result.skipped == 1
    with db.engine.connect() as conn:
        reasons = list(conn.execute(text("SELECT remote_id, reason FROM skipped_posts")))
        cursor = conn.execute(text("SELECT newest_id FROM poll_cursors WHERE scope = :s"), {"s": timeline.id.feed})
        assert cursor.scalar_one() == "2"
    assert reasons == [("1", "uri is 5021 characters long; at most 2000 bytes can be stored")]


def test_a_post_that_fails_to_store_is_skipped_with_its_reason_and_the_others_are_kept(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.ingest.ingestor as ingestor_module

    real = ingestor_module.store_posts

    def picky(session: Any, items: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        # What a database does with a value it cannot take (as PostgreSQL did with NUL before cleaning).
        if any("poison" in item.post.text for item in items):
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        return real(session, items, *args, **kwargs)

    monkeypatch.setattr(ingestor_module, "store_posts", picky)
    page = page_from_statuses([status(3), status(2, content="<p>poison</p>"), status(1)], INSTANCE)
    timeline = CannedTimeline("mastodon", INSTANCE, page)
    result = ingest(sqlite_db, timeline)
    assert (result.ok, result.new, result.skipped) == (True, 2, 1)
    with sqlite_db.engine.connect() as conn:
        assert list(conn.execute(text("SELECT remote_id, reason FROM skipped_posts"))) == [
            ("2", "ValueError: A string literal cannot contain NUL (0x00) characters.")
        ]
        cursor = conn.execute(text("SELECT newest_id FROM poll_cursors WHERE scope = :s"), {"s": timeline.id.feed})
        assert cursor.scalar_one() == "3", "the cursor moved past the post that could not be stored"


def test_a_fault_that_every_post_hits_fails_the_poll_and_keeps_the_cursor_instead_of_skipping_them_all(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.ingest.ingestor as ingestor_module

    def broken(session: Any, items: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in storage")

    monkeypatch.setattr(ingestor_module, "store_posts", broken)
    timeline = CannedTimeline("mastodon", INSTANCE, page_from_statuses([status(2), status(1)], INSTANCE))
    result = ingest(sqlite_db, timeline)
    assert result.error_kind == "internal"
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM skipped_posts")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM poll_cursors WHERE newest_id = '2'")).scalar_one() == 0


def test_100000_nested_divs_convert_in_bounded_time_without_a_parser_tree() -> None:
    # Bounded work, not a timed assertion: the nesting is flattened by a linear pass, never handed to Lexbor.
    html = "<div>" * 100_000 + "Acme" + "</div>" * 100_000
    import bot.sources.mastodon.html as module

    calls = []
    real = module.LexborHTMLParser

    def spy(markup: str) -> Any:
        calls.append(len(markup))
        return real(markup)

    module.LexborHTMLParser = spy  # type: ignore[assignment,misc]
    try:
        assert html_to_text(html) == ""  # the text lies beyond the first 256 KiB, which is all that is read
        assert html_to_text("<div>" * 300 + "Acme" + "</div>" * 300) == "Acme"
    finally:
        module.LexborHTMLParser = real  # type: ignore[misc]
    assert calls == []
    assert html_to_text("<p>Acme <b>strong</b></p><p>two</p>") == "Acme strong\n\ntwo"


@pytest.mark.postgres
def test_statuses_without_a_usable_id_are_skipped_and_the_cursor_moves_to_the_newest_usable_one(db: Database) -> None:
    statuses = [status(4, id="4" * 500), status(3), {k: v for k, v in status(9).items() if k != "id"}, status(2)]
    page = page_from_statuses(statuses, INSTANCE)
    assert (page.newest_id, page.oldest_id) == ("3", "2")
    timeline = CannedTimeline("mastodon", INSTANCE, page)
    result = ingest(db, timeline)
    assert result.ok and result.new == 2 and result.skipped == 2
    with db.engine.connect() as conn:
        cursor = conn.execute(text("SELECT newest_id FROM poll_cursors WHERE scope = :s"), {"s": timeline.id.feed})
        assert cursor.scalar_one() == "3"


def test_cleaning_keeps_an_ordinary_post_exactly_as_it_was_and_is_idempotent() -> None:
    from bot.sources.clean import clean_post

    ordinary = status(1, content="<p>Acme koffie is top! Café ☕ <a href=\"https://x.example/a?b=c\">link</a></p>",
                      language="nl", spoiler_text="food", in_reply_to_id="0", replies_count=2, sensitive=True,
                      edited_at=datetime.now(UTC).isoformat(), mentions=[{"acct": "bob@x.example"}])
    [post] = page_from_statuses([ordinary], INSTANCE).posts
    assert clean_post(post) == post
    hostile = status(2, content="a\x00b \ud800", account={"acct": "x\x07", "display_name": "\ud83d"})
    [dirty] = page_from_statuses([hostile], INSTANCE).posts
    assert clean_post(dirty) == dirty and dirty.text == "ab \ufffd" and dirty.author.display_name == "\ufffd"


@given(depth=st.integers(257, 3000), word=st.text(st.characters(categories=("L", "N")), min_size=1, max_size=20),
       tag=st.sampled_from(["div", "span", "p", "b", "blockquote"]))
@settings(max_examples=50, deadline=None)
def test_markup_nested_too_deep_for_the_parser_still_gives_its_text(depth: int, word: str, tag: str) -> None:
    html = f"<{tag} class='x'>" * depth + f"{word} &amp; more" + f"</{tag}>" * depth
    assert html_to_text(html) == f"{word} & more"


def test_256_kib_of_tags_that_never_close_convert_in_bounded_time() -> None:
    # Bounded work, not a timed assertion: every "<" of such a tail once made the depth scan read to the end of the
    # text (quadratic: over five minutes of CPU for this post); now neither scan looks past the last ">".
    unclosed = '<span a="" ' * 23_831
    assert html_to_text(unclosed) == ""
    assert html_to_text("<div>" * 300 + "Acme" + "<br" * 80_000) == "Acme"


_SOUP = st.lists(st.sampled_from(["<div>", "</div>", "<p>", "</p>", "<br>", "<br/>", "<img src=x>", "<b", "<br", "<",
                                  ">", "</", "/>", "x", " ", '"', "<script>", "</script>", "<span a=\"\" "]),
                 max_size=60).map("".join)


@given(_SOUP)
@settings(max_examples=400, deadline=None)
def test_the_bounded_tag_scans_read_markup_as_the_unbounded_ones_did(html: str) -> None:
    import bot.sources.mastodon.html as module

    def depth_unbounded(html: str, stop_at: int = module.MAX_DEPTH) -> int:
        depth = deepest = 0
        for match in module._TAG.finditer(html):
            closing, name, self_closing = match.groups()
            if closing:
                depth = max(0, depth - 1)
            elif not self_closing and name.lower() not in module._VOID:
                depth += 1
                deepest = max(deepest, depth)
                if deepest > stop_at:
                    break
        return deepest

    def flatten_unbounded(html: str) -> str:
        text = module._BLOCK_OR_BREAK.sub("\n", module._DROPPED_ELEMENTS.sub("", html))
        return htmllib.unescape(module._ANY_TAG.sub("", text))

    for stop_at in (2, module.MAX_DEPTH):
        assert module.nesting_depth(html, stop_at) == depth_unbounded(html, stop_at)
    assert module._flatten(html) == flatten_unbounded(html)


def test_the_shortest_markup_nested_too_deep_is_longer_than_what_skips_the_depth_scan() -> None:
    from bot.sources.mastodon.html import MAX_DEPTH, nesting_depth

    # html_to_text scans only HTML longer than 3 * MAX_DEPTH for deep nesting: anything shorter cannot be too deep.
    shortest = "<b>" * (MAX_DEPTH + 1)
    assert nesting_depth(shortest) > MAX_DEPTH and len(shortest) > 3 * MAX_DEPTH
    assert html_to_text(shortest + "Acme") == "Acme"


def test_an_internal_error_that_repeats_is_one_warning_and_its_traceback_only_at_debug(
    sqlite_db: Database, mastodon: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    import bot.ingest.ingestor as ingestor_module
    from bot.daemon.app import Application
    from tests.reliability.helpers import config_for

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in storage")

    mastodon.post("Acme #koffie")
    monkeypatch.setattr(ingestor_module, "save_cursor", broken)  # not the posts' fault: nothing to skip
    app = Application(config_for(str(sqlite_db.engine.url), [mastodon.url]), db=sqlite_db)
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            [result] = asyncio.run(app.poll_all(app.timelines()))
            assert result.error_kind == "internal"
    app.close()

    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 1 and "a bug in storage" in loud[0].getMessage(), [r.getMessage() for r in loud]
    assert all(r.exc_info is None for r in loud), "no traceback above DEBUG"
