"""Whatever was stored, however long or hostile, the digest is accepted by Discord and pings no one."""

from __future__ import annotations

import json
import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.demo.discord_fake import BodyValidator, load_message_schema
from bot.digest import chunk
from bot.digest.build import build_digest
from bot.digest.model import SENTIMENTS, BrandDigest, DayCounts, Digest
from bot.digest.render import render, with_nonce
from bot.model import PostSummary
from storage.db import Database
from tests.conftest import OPENAPI
from tests.digest.seeding import post, store

RULES = BodyValidator(load_message_schema(OPENAPI))
AMS = ZoneInfo("Europe/Amsterdam")
DAY = date(2026, 3, 10)
PING = re.compile(r"(?<![\\\u200b])@(everyone|here)|<@[!&]?\d|<#\d")

hostile = st.one_of(
    st.text(max_size=3000),
    st.sampled_from(["@everyone", "@here", "<@123456789012345678>", "<@&123456789012345678>", "[x](https://e.x)",
                     "```", "**", "\\", "||spoiler||", "# head", "> q", "-# small", "😀" * 1200, "a" * 5000,
                     "\u200b@everyone", "@\u200beveryone", "@@everyone", "\\@everyone", "\\\\@everyone"]),
).map(lambda s: s)
texts = st.lists(hostile, min_size=1, max_size=4).map(" ".join)


def summaries() -> st.SearchStrategy[PostSummary]:
    return st.builds(
        PostSummary,
        uri=st.one_of(st.just("https://m.example/@a/1"), st.text(max_size=600)),
        url=st.one_of(st.just("https://m.example/@a/1"), st.text(max_size=600)),
        source=st.sampled_from(["mastodon", "discord"]),
        origin=st.one_of(st.just("https://m.example"), st.text(max_size=300)),
        author=texts,
        created_at=st.just(datetime(2026, 3, 10, 9, tzinfo=UTC)),
        text=texts,
        spoiler_text=st.one_of(st.just(""), texts),
        cx=st.sampled_from(["complaint", "question", None]),
        replies=st.integers(0, 10**9),
        boosts=st.integers(0, 10**9),
        favourites=st.integers(0, 10**9),
        followers=st.integers(0, 10**9),
    )


@st.composite
def digests(draw: Any) -> Digest:
    names = draw(st.lists(texts.filter(bool), min_size=0, max_size=25, unique=True))
    brands = []
    for name in names:
        posts = draw(st.lists(summaries(), max_size=12))
        brands.append(BrandDigest(
            brand=name, mentions=draw(st.integers(0, 10**6)), previous_day=draw(st.integers(0, 10**6)),
            average_7d=draw(st.floats(0, 10**6)), sentiment={s: draw(st.integers(0, 10**6)) for s in SENTIMENTS},
            needs_answer=posts, needs_answer_total=len(posts) + draw(st.integers(0, 100)), top_posts=posts[:5]))
    ranking = st.lists(st.tuples(texts, st.integers(0, 10**6)), max_size=10)
    return Digest(day=DAY, timezone="Europe/Amsterdam", brands=brands, hashtags=draw(ranking),
                  sources=draw(ranking), unbranded_tags=draw(ranking), unbranded_posts=draw(st.integers(0, 10**6)),
                  total_posts=draw(st.integers(0, 10**6)),
                  series={b.brand: [DayCounts(DAY, {})] for b in brands})


def assert_deliverable(digest: Digest) -> None:
    payloads = with_nonce(render(digest).payloads, "0123456789abcdef0123")
    assert payloads
    for payload in payloads:
        assert RULES.problems(json.loads(json.dumps(payload))) == []
        assert chunk.limit_problems(payload) == []
        assert payload["allowed_mentions"] == {"parse": []}
        assert not PING.search(json.dumps(payload, ensure_ascii=False).replace("\\\\", "\\"))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(digests())
def test_any_digest_renders_to_messages_discord_accepts_that_ping_no_one(digest: Digest) -> None:
    assert_deliverable(digest)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(texts, texts, st.integers(0, 3), st.sampled_from(["complaint", "question", "praise"]),
                          st.integers(0, 23), st.integers(0, 10**6)), max_size=30))
def test_any_stored_posts_make_a_deliverable_digest(rows: list[tuple[str, str, int, str, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'p.db'}")
        try:
            brands = ["Acme", "@everyone", "**Bold** <@1>", "x" * 300]
            store(db, [post(datetime(2026, 3, 10, hour, tzinfo=AMS) - timedelta(days=hour % 2), text, name=author,
                            brands=[brands[b]], cx=cx, reactions=(n, n, n), followers=n)
                       for text, author, b, cx, hour, n in rows])
            with db.transaction() as session:
                digest = build_digest(session, DAY, zone=AMS, brands=brands, watched_tags=["coffee"])
            assert_deliverable(digest)
        finally:
            db.close()
