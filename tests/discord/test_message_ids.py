"""A history page from a broken or hostile server: whatever its items hold, the page is made, odd ids are rejected by
name, and only real snowflakes become cursors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.sources.base import SourceError
from bot.sources.discord import MAX_SNOWFLAKE, DiscordChannelTimeline, parse_snowflake

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
ODD_IDS = st.one_of(
    st.sampled_from(["abc", "", "-42", "١٢٣", " 12", "12 ", "1_000", "+7", "0x1F", str(MAX_SNOWFLAKE + 1), "9" * 21]),
    st.text(max_size=30).filter(lambda t: not re.fullmatch(r"[0-9]{1,20}", t)),
    st.floats(allow_nan=False),
    st.booleans(),
    st.integers(max_value=-1),
    st.integers(min_value=MAX_SNOWFLAKE + 1),
    st.lists(st.integers(), max_size=2),
)
MESSAGE_KEYS = [
    "id",
    "type",
    "content",
    "author",
    "member",
    "mentions",
    "edited_timestamp",
    "message_reference",
    "webhook_id",
    "embeds",
]


def channel() -> DiscordChannelTimeline:
    timeline = DiscordChannelTimeline(None, 42)  # type: ignore[arg-type]  # the page is built without a connection
    timeline._guild_id = 7
    return timeline


@given(st.integers(min_value=0, max_value=MAX_SNOWFLAKE))
def test_every_64_bit_snowflake_is_read_as_sent_in_a_string_or_a_number(number: int) -> None:
    assert parse_snowflake(str(number)) == number
    assert parse_snowflake(number) == number


@given(ODD_IDS)
def test_anything_else_is_no_snowflake(value: Any) -> None:
    assert parse_snowflake(value) is None


@given(st.lists(st.one_of(st.dictionaries(st.sampled_from(MESSAGE_KEYS), JSON), JSON), max_size=6))
@example([{"id": "1", "type": float("inf"), "content": "Acme"}, {"id": "2", "author": "ann", "content": "Acme"}])
@example([{"id": "3", "mentions": 5, "content": ""}, {"id": "4", "member": [], "content": "Acme"}])
def test_any_page_of_json_becomes_a_page_whose_cursor_is_a_snowflake_or_nothing(items: list[Any]) -> None:
    try:
        page = channel()._to_page(items, own_id=None)
    except SourceError as exc:
        # Customer messages that are all empty read as the Message Content intent being off: the cursor stays.
        assert exc.kind == "forbidden"
        return
    for cursor in (page.newest_id, page.oldest_id):
        assert cursor is None or parse_snowflake(cursor) is not None
    odd = [item for item in items if not isinstance(item, dict) or parse_snowflake(item.get("id")) is None]
    assert len(page.rejected) >= len(odd)
    assert page.raw_count == len(items)


@pytest.mark.parametrize("odd_id", ["abc", "-42", 12.5, True, None, str(2**64)])
def test_an_odd_id_is_rejected_with_the_channel_reason_and_the_neighbours_become_posts(odd_id: Any) -> None:
    author = {"id": "5", "username": "ann"}
    older, newer = "1300000000000000001", "1300000000000000009"
    odd: dict[str, Any] = {"type": 0, "content": "Acme odd", "author": author}
    if odd_id is not None:
        odd["id"] = odd_id
    page = channel()._to_page(
        [
            {"id": newer, "type": 0, "content": "Acme new", "author": author},
            odd,
            {"id": older, "type": 0, "content": "Acme old", "author": author},
        ],
        own_id=None,
    )

    assert [p.remote_id for p in page.posts] == [newer, older]
    assert (page.newest_id, page.oldest_id) == (newer, older)
    assert len(page.rejected) == 1
    assert page.rejected[0].remote_id == ("" if odd_id is None else str(odd_id))
    assert "no id" in page.rejected[0].reason or "is not a Discord snowflake" in page.rejected[0].reason
