"""What the alert rules read: a brand's mention times, its sentiment counts, and recent posts that may need an answer.

Each is a range scan of the `mentions` index on (brand, created_at, sentiment, post_id), joined to `posts` only for
the few posts an alert links to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import Session

from storage.models import MentionRow, PostRow

NEEDS_ANSWER = ("complaint", "question")


@dataclass(frozen=True, slots=True)
class StoredPost:
    """A stored post as an alert shows it."""

    id: int
    brand: str
    uri: str
    url: str
    source: str
    origin: str
    author: str
    followers: int
    created_at: datetime
    text: str
    spoiler_text: str
    sentiment: str | None
    cx: str | None
    replies: int
    boosts: int
    favourites: int

    @property
    def engagement(self) -> int:
        """All reactions together."""
        return self.replies + self.boosts + self.favourites


def _columns(brand: Any) -> list[Any]:
    return [PostRow.id, brand, PostRow.uri, PostRow.url, PostRow.source, PostRow.origin,
            func.coalesce(func.nullif(PostRow.author_name, ""), PostRow.author_handle).label("author"),
            PostRow.author_followers, PostRow.created_at, PostRow.text, PostRow.spoiler_text, PostRow.sentiment,
            PostRow.cx, PostRow.replies, PostRow.boosts, PostRow.favourites]


def _posts(session: Session, query: Select[Any]) -> list[StoredPost]:
    return [StoredPost(*row) for row in session.execute(query)]


def mention_times(session: Session, brand: str, since: datetime, until: datetime) -> list[datetime]:
    """When each post mentioning `brand` in [since, until) was written (each post once, however it matched)."""
    query = (select(MentionRow.post_id, MentionRow.created_at).distinct()
             .where(MentionRow.brand == brand, MentionRow.created_at >= since, MentionRow.created_at < until))
    return [row.created_at for row in session.execute(query)]


def sentiment_counts(session: Session, brand: str, since: datetime, until: datetime) -> tuple[int, int]:
    """(negative, labelled) posts mentioning `brand` in [since, until)."""
    query = (select(MentionRow.post_id, MentionRow.sentiment).distinct()
             .where(MentionRow.brand == brand, MentionRow.created_at >= since, MentionRow.created_at < until,
                    MentionRow.sentiment.is_not(None)))
    negative = labelled = 0
    for row in session.execute(query):
        labelled += 1
        negative += row.sentiment == "negative"
    return negative, labelled


def first_mention_at(session: Session, brand: str) -> datetime | None:
    """When the oldest stored post mentioning `brand` was written: where the brand's history starts."""
    return session.scalar(select(func.min(MentionRow.created_at)).where(MentionRow.brand == brand))


def answer_candidates(session: Session, since: datetime) -> list[StoredPost]:
    """Complaints and questions written since `since` that mention a brand, one entry per (post, brand)."""
    mentioned = (select(MentionRow.post_id, MentionRow.brand).distinct()
                 .where(MentionRow.created_at >= since).subquery())
    query = (select(*_columns(mentioned.c.brand))
             .join(mentioned, mentioned.c.post_id == PostRow.id)
             .where(PostRow.cx.in_(NEEDS_ANSWER))
             .order_by(PostRow.created_at, PostRow.id, mentioned.c.brand))
    return _posts(session, query)


def brand_posts(session: Session, brand: str, since: datetime, until: datetime, *, negative: bool = False,
                limit: int = 5) -> list[StoredPost]:
    """Up to `limit` posts mentioning `brand` in [since, until), most engaged first (only negative ones if asked)."""
    ids = select(MentionRow.post_id).where(MentionRow.brand == brand, MentionRow.created_at >= since,
                                           MentionRow.created_at < until)
    if negative:
        ids = ids.where(MentionRow.sentiment == "negative")
    engagement = PostRow.replies + PostRow.boosts + PostRow.favourites
    query = (select(*_columns(literal(brand).label("brand"))).where(PostRow.id.in_(ids))
             .order_by(engagement.desc(), PostRow.author_followers.desc(), PostRow.id).limit(limit))
    return _posts(session, query)
