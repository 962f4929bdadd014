"""Stored posts made to order for digest tests, through the real storage code."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from bot.model import AnalysedPost, Analysis, Author, BrandMatch, Engagement, Post
from storage.db import Database
from storage.posts import store_posts

_ids = itertools.count(1)


def post(
    when: datetime,
    text: str = "a post",
    *,
    brands: Sequence[str] = (),
    sentiment: str | None = "neutral",
    cx: str = "other",
    tags: Sequence[str] = (),
    origin: str = "https://mastodon.example",
    author: str = "alice@mastodon.example",
    name: str = "",
    followers: int = 100,
    reactions: tuple[int, int, int] = (0, 0, 0),
    url: str | None = None,
    spoiler: str = "",
    cx_confidence: float | None = None,
) -> AnalysedPost:
    """One analysed post mentioning `brands` (by term), as the pipeline would hand it to storage."""
    n = next(_ids)
    uri = f"{origin}/statuses/{n}"
    replies, boosts, favourites = reactions
    item = Post(
        uri=uri, source="discord" if origin.startswith("discord:") else "mastodon", origin=origin,
        remote_id=str(n), url=url if url is not None else uri,
        author=Author(handle=author, display_name=name, followers=followers), created_at=when, text=text,
        tags=tuple(tags), engagement=Engagement(replies=replies, boosts=boosts, favourites=favourites),
        spoiler_text=spoiler,
    )
    analysis = None
    if sentiment is not None:
        analysis = Analysis(
            language="en", sentiment=sentiment, sentiment_score=0.0, cx=cx, cx_confidence=cx_confidence  # type: ignore[arg-type]
        )
    matches = tuple(BrandMatch(b, "term", b.lower()) for b in brands)
    return AnalysedPost(item, matches, analysis)


def store(db: Database, items: Sequence[AnalysedPost]) -> None:
    """Store `items` in one transaction."""
    with db.transaction() as session:
        store_posts(session, list(items))
