"""The digest's aggregations over one day (and the days before it), each a range scan on a `created_at` index.

Day boundaries are computed by the caller from local midnights, so every query takes UTC instants and stays portable:
no dialect's date functions, no time zone arithmetic in SQL. `EXPLAIN` checks in tests/digest keep them off full scans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, literal, select
from sqlalchemy.orm import Session

from bot.model import PostSummary
from storage.models import MentionRow, PostRow, PostTagRow
from storage.retention import aggregate_series

NEEDS_ANSWER = ("complaint", "question")
"""Customer-experience types a community manager should answer."""

REACH_FLOOR = 100
"""Engagement is divided by max(followers, this): a 3-follower account's 5 boosts matter, but not infinitely."""


@dataclass(frozen=True, slots=True)
class Ranked:
    """Some posts of one brand and how many there were in all."""

    posts: list[PostSummary]
    total: int


def _summary_columns() -> list[Any]:
    return [
        PostRow.uri,
        PostRow.url,
        PostRow.source,
        PostRow.origin,
        PostRow.author_handle,
        PostRow.author_name,
        PostRow.created_at,
        PostRow.text,
        PostRow.spoiler_text,
        PostRow.sentiment,
        PostRow.cx,
        PostRow.replies,
        PostRow.boosts,
        PostRow.favourites,
        PostRow.author_followers,
    ]


def _summary(row: Any) -> PostSummary:
    return PostSummary(
        uri=row.uri,
        url=row.url,
        source=row.source,
        origin=row.origin,
        author=row.author_name or row.author_handle,
        created_at=row.created_at,
        text=row.text,
        spoiler_text=row.spoiler_text,
        sentiment=row.sentiment,
        cx=row.cx,
        replies=row.replies,
        boosts=row.boosts,
        favourites=row.favourites,
        followers=row.author_followers,
    )


def engagement_score() -> Any:
    """Reactions per 100 followers, with the follower count floored at REACH_FLOOR (an SQL expression)."""
    reactions = PostRow.replies + PostRow.boosts + PostRow.favourites
    reach = case((PostRow.author_followers > REACH_FLOOR, PostRow.author_followers), else_=REACH_FLOOR)
    return reactions * literal(100.0) / reach


def mention_series_query(brands: Sequence[str], bounds: Sequence[datetime]) -> Select[Any]:
    """Distinct mentioning posts per (brand, day index, sentiment) for the days between consecutive `bounds`."""
    # The day index is a CASE over the ordered boundaries: one pass over the range, no date functions per dialect.
    day = case(*[(MentionRow.created_at < b, i) for i, b in enumerate(bounds[1:])], else_=None).label("day")
    sentiment = func.coalesce(MentionRow.sentiment, "unknown").label("sentiment")
    return (
        select(MentionRow.brand, day, sentiment, func.count(func.distinct(MentionRow.post_id)))
        .where(MentionRow.brand.in_(brands), MentionRow.created_at >= bounds[0], MentionRow.created_at < bounds[-1])
        .group_by(MentionRow.brand, day, sentiment)
    )


def mention_series(
    session: Session, brands: Sequence[str], bounds: Sequence[datetime]
) -> dict[str, list[dict[str, int]]]:
    """Per brand, per day (oldest first), posts per sentiment bucket; days without posts hold empty dicts."""
    out: dict[str, list[dict[str, int]]] = {b: [{} for _ in bounds[1:]] for b in brands}
    if not brands:
        return out
    for brand, day, sentiment, count in session.execute(mention_series_query(brands, bounds)):
        if day is not None:
            out[brand][int(day)][sentiment] = int(count)
    # Days whose posts retention purged: their counts were kept in `mention_counts` (storage/retention.py).
    for brand, index, sentiment, count in aggregate_series(session, brands, bounds):
        counts = out[brand][index]
        counts[sentiment] = counts.get(sentiment, 0) + count
    return out


def _brand_posts(brands: Sequence[str], start: datetime, end: datetime) -> Any:
    # One row per (brand, post): a post matched by a term and a hashtag is still one mention.
    return (
        select(MentionRow.brand, MentionRow.post_id)
        .where(MentionRow.brand.in_(brands), MentionRow.created_at >= start, MentionRow.created_at < end)
        .distinct()
        .subquery("bp")
    )


def _ranked(
    session: Session,
    brands: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    limit: int,
    order: Sequence[Any],
    condition: Any,
) -> dict[str, Ranked]:
    out = {b: Ranked([], 0) for b in brands}
    if not brands:
        return out
    bp = _brand_posts(brands, start, end)
    inner = (
        select(
            bp.c.brand,
            *_summary_columns(),
            func.row_number().over(partition_by=bp.c.brand, order_by=list(order)).label("rn"),
            func.count().over(partition_by=bp.c.brand).label("total"),
        )
        .join(PostRow, PostRow.id == bp.c.post_id)
        .where(condition)
        .subquery("ranked")
    )
    stmt = select(inner).where(inner.c.rn <= limit).order_by(inner.c.brand, inner.c.rn)
    for row in session.execute(stmt):
        ranked = out[row.brand]
        out[row.brand] = Ranked([*ranked.posts, _summary(row)], int(row.total))
    return out


def needs_answer(
    session: Session, brands: Sequence[str], start: datetime, end: datetime, *, limit: int = 10
) -> dict[str, Ranked]:
    """Per brand, `limit` complaints and questions of [start, end), the analyser's most confident first (then oldest
    first; posts without a confidence last), and their number."""
    return _ranked(
        session,
        brands,
        start,
        end,
        limit=limit,
        order=(PostRow.cx_confidence.desc().nulls_last(), PostRow.created_at, PostRow.id),
        condition=PostRow.cx.in_(NEEDS_ANSWER),
    )


def top_posts(
    session: Session, brands: Sequence[str], start: datetime, end: datetime, *, limit: int = 5
) -> dict[str, Ranked]:
    """Per brand, the posts of [start, end) with the most engagement for their author's reach."""
    score = engagement_score()
    reactions = PostRow.replies + PostRow.boosts + PostRow.favourites
    return _ranked(
        session,
        brands,
        start,
        end,
        limit=limit,
        order=(score.desc(), reactions.desc(), PostRow.id),
        condition=reactions > 0,
    )


def busiest_hashtags(session: Session, start: datetime, end: datetime, *, limit: int = 10) -> list[tuple[str, int]]:
    """The hashtags most used by posts written in [start, end)."""
    count = func.count().label("n")
    stmt = (
        select(PostTagRow.tag, count)
        .join(PostRow, PostRow.id == PostTagRow.post_id)
        .where(PostRow.created_at >= start, PostRow.created_at < end)
        .group_by(PostTagRow.tag)
        .order_by(count.desc(), PostTagRow.tag)
        .limit(limit)
    )
    return [(tag, int(n)) for tag, n in session.execute(stmt)]


def busiest_sources(session: Session, start: datetime, end: datetime, *, limit: int = 10) -> list[tuple[str, int]]:
    """The origins (instances, Discord channels) with the most posts written in [start, end)."""
    count = func.count().label("n")
    stmt = (
        select(PostRow.origin, count)
        .where(PostRow.created_at >= start, PostRow.created_at < end)
        .group_by(PostRow.origin)
        .order_by(count.desc(), PostRow.origin)
        .limit(limit)
    )
    return [(origin, int(n)) for origin, n in session.execute(stmt)]


def _no_brand(post_id: Any) -> Any:
    return ~exists().where(MentionRow.post_id == post_id)


def unbranded_tags(session: Session, tags: Sequence[str], start: datetime, end: datetime) -> list[tuple[str, int]]:
    """How many posts of [start, end) that mention no brand carry each of the watched `tags`, busiest first."""
    if not tags:
        return []
    count = func.count().label("n")
    stmt = (
        select(PostTagRow.tag, count)
        .where(PostTagRow.tag.in_(tags), PostTagRow.created_at >= start, PostTagRow.created_at < end)
        .where(_no_brand(PostTagRow.post_id))
        .group_by(PostTagRow.tag)
        .order_by(count.desc(), PostTagRow.tag)
    )
    return [(tag, int(n)) for tag, n in session.execute(stmt)]


def post_counts(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """(all posts, posts mentioning no brand) written in [start, end)."""
    in_range = and_(PostRow.created_at >= start, PostRow.created_at < end)
    total = session.scalar(select(func.count()).select_from(PostRow).where(in_range)) or 0
    unbranded = session.scalar(select(func.count()).select_from(PostRow).where(in_range, _no_brand(PostRow.id))) or 0
    return int(total), int(unbranded)
