"""The digest as Discord messages: every limit kept, long days split cleanly, untrusted text made harmless."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from bot.demo.discord_fake import BodyValidator
from bot.digest import chunk
from bot.digest.model import SENTIMENTS, BrandDigest, DayCounts, Digest
from bot.digest.render import escape, plain_url, render, with_nonce
from bot.model import PostSummary

DAY = date(2026, 3, 10)


def summary(text: str = "where is my order?", **kw: Any) -> PostSummary:
    base: dict[str, Any] = dict(uri="https://m.example/@a/1", url="https://m.example/@a/1", source="mastodon",
                                origin="https://m.example", author="Alice",
                                created_at=datetime(2026, 3, 10, 9, tzinfo=UTC),
                                text=text, cx="question", sentiment="negative", followers=50, favourites=3)
    base.update(kw)
    return PostSummary(**base)


def brand(name: str = "Acme", *, posts: list[PostSummary] | None = None, mentions: int = 12) -> BrandDigest:
    posts = posts if posts is not None else [summary()]
    return BrandDigest(brand=name, mentions=mentions, previous_day=8, average_7d=8.0,
                       sentiment={"positive": 5, "neutral": 4, "negative": 3, "unknown": 0},
                       needs_answer=posts, needs_answer_total=len(posts), top_posts=posts[:5])


def digest(brands: list[BrandDigest], total: int = 20) -> Digest:
    series = {b.brand: [DayCounts(DAY, {s: 1 for s in SENTIMENTS})] for b in brands}
    return Digest(day=DAY, timezone="Europe/Amsterdam", brands=brands, hashtags=[("coffee", 4)],
                  sources=[("https://m.example", 9), ("discord:1/234", 3)], unbranded_tags=[("coffee", 2)],
                  unbranded_posts=3, total_posts=total, series=series)


def all_text(payloads: list[dict[str, Any]]) -> str:
    return repr(payloads)


def test_a_normal_day_is_one_message_with_the_chart_and_every_number(discord_rules: BodyValidator) -> None:
    payloads = render(digest([brand()])).payloads
    assert len(payloads) == 1
    first = payloads[0]
    assert first["attachments"][0]["filename"] == "merkwacht-2026-03-10.png"
    assert first["embeds"][0]["image"] == {"url": "attachment://merkwacht-2026-03-10.png"}
    text = all_text(payloads)
    for expected in ("Tuesday 10 March 2026", "12 mentions", "+4 vs the day before (8)", "+50% vs the 7-day average",
                     "5 positive", "Needs an answer (1)", "https://m.example/@a/1", "<#234>"):
        assert expected in text
    assert discord_rules.problems(first) == []


def test_a_quiet_day_says_so_in_one_line() -> None:
    quiet = digest([brand(posts=[], mentions=0)], total=0)
    payloads = render(quiet, with_chart=False).payloads
    assert len(payloads) == 1 and payloads[0]["embeds"] == []
    assert "\n" not in payloads[0]["content"] and "a quiet day" in payloads[0]["content"]


def test_a_long_digest_is_split_into_messages_that_each_fit(discord_rules: BodyValidator) -> None:
    long_posts = [summary("word " * 80, uri=f"https://m.example/@a/{i}", url=f"https://m.example/@a/{i}")
                  for i in range(40)]
    payloads = render(digest([brand(f"Brand {i}", posts=long_posts) for i in range(15)])).payloads
    assert len(payloads) > 3
    for p in payloads:
        assert discord_rules.problems(p) == [] and chunk.limit_problems(p) == []
    assert payloads[0]["content"].endswith(f"(1/{len(payloads)})")
    assert "attachments" not in payloads[1]
    # Split between posts: no post line ends up without its link right after it.
    for p in payloads:
        for e in p["embeds"]:
            lines = e.get("description", "").split("\n")
            assert not lines[-1].startswith("• ")


def test_a_post_longer_than_the_excerpt_is_cut_at_a_word_with_an_ellipsis() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    description = render(digest([brand(posts=[summary(text)])])).payloads[0]["embeds"][1]["description"]
    line = next(x for x in description.split("\n") if "word0" in x)
    assert re.search(r"word\d+…$", line)


def test_hostile_text_cannot_ping_link_or_format() -> None:
    hostile = summary("@everyone @here <@123456789012345678> <@&123456789012345678> **bold** [click](https://evil.example)"
                      " ```code``` # Heading\n> quote", author="@everyone")
    payload = render(digest([brand(posts=[hostile])])).payloads[0]
    assert payload["allowed_mentions"] == {"parse": []}
    text = all_text([payload])
    assert "@everyone" not in text.replace("\\\\@\u200beveryone", "")
    assert "<@" not in text and "](" not in text and "**bold**" not in text and "```" not in text


def test_escaping_keeps_the_text_readable() -> None:
    assert escape("50% off *today*\n\nonly") == r"50% off \*today\* only"


def test_links_are_shown_only_as_plain_urls() -> None:
    assert plain_url("https://m.example/@a/1") == "https://m.example/@a/1"
    assert plain_url("https://x.example/a)[b](c") is None
    assert plain_url("javascript:alert(1)") is None


def test_nonces_make_every_message_idempotent() -> None:
    payloads = with_nonce(render(digest([brand()])).payloads * 2, "0123456789abcdef0123")
    assert [p["nonce"] for p in payloads] == ["0123456789abcdef0123.0", "0123456789abcdef0123.1"]
    assert all(p["enforce_nonce"] is True for p in payloads)


def test_shorten_counts_emoji_as_discord_might() -> None:
    assert chunk.dlen("😀") == 2
    cut = chunk.shorten("😀" * 3000, 2000)
    assert chunk.dlen(cut) <= 2000 and cut.endswith("…")


def test_discord_channels_are_shown_by_their_name_and_their_posts_say_where_they_were_written() -> None:
    # `<#id>` is how Discord itself names a channel: each reader sees its current name, as a link.
    discord_post = summary(source="discord", origin="discord:1/234", author="bob")
    text = all_text(render(digest([brand(posts=[discord_post])])).payloads)
    assert "2. <#234> — 3" in text
    assert "**bob** (<#234>)" in text


def test_an_origin_that_is_not_a_discord_channel_id_is_escaped_not_trusted_as_markup() -> None:
    odd = summary(source="discord", origin="discord:1/<@everyone>", author="bob")
    day = replace(digest([brand(posts=[odd])]), sources=[("discord:1/<@everyone>", 1)])
    text = all_text(render(day).payloads)
    assert "<@everyone>" not in text and "**bob** (Discord)" in text


def test_reaction_counts_read_as_english_and_an_author_without_followers_is_not_said_to_have_0() -> None:
    from bot.digest.render import post_lines

    one = replace(summary(), boosts=1, favourites=0, replies=0, followers=0)
    many = replace(summary(), boosts=2, favourites=1, replies=3, followers=1)

    [line_one] = post_lines(one, zone_label="UTC", score=True)
    [line_many] = post_lines(many, zone_label="UTC", score=True)

    assert "1 reaction (1 boost, 0 favourites, 0 replies)" in line_one and "followers" not in line_one
    assert "6 reactions (2 boosts, 1 favourite, 3 replies) for 1 follower" in line_many


def test_the_headline_counts_posts_and_mentions_separately_when_a_post_names_two_brands() -> None:
    # 4 posts: 3 name a brand (one of them names both), 1 names none; Acme has 2 mentioning posts, Bonen 2.
    day = replace(digest([brand("Acme", mentions=2), brand("Bonen", mentions=2)], total=4), unbranded_posts=1)

    text = all_text(render(day).payloads)

    assert "4 posts collected: 3 mention a brand, 1 without a brand." in text
    assert "4 brand mentions in all (a post naming several brands counts for each)" in text
