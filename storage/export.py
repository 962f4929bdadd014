"""Reading stored posts back out, with their tags and brands, in pages that keep memory flat."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import MentionRow, PostRow, PostTagRow

EXPORT_PAGE = 1000


def iter_export_rows(
    session: Session, since: datetime | None = None, authors: Sequence[str] = ()
) -> Iterator[dict[str, Any]]:
    """Every stored post (written at or after `since`, by one of `authors` if given), oldest first, as a dict."""
    wanted = sorted({a.strip().lstrip("@").casefold() for a in authors if a.strip()})
    last: tuple[datetime, int] | None = None
    while True:
        query = select(PostRow).order_by(PostRow.created_at, PostRow.id).limit(EXPORT_PAGE)
        if since is not None:
            query = query.where(PostRow.created_at >= since)
        if wanted:
            query = query.where(func.lower(PostRow.author_handle).in_(wanted))
        if last is not None:
            query = query.where(
                (PostRow.created_at > last[0]) | ((PostRow.created_at == last[0]) & (PostRow.id > last[1]))
            )
        posts = list(session.scalars(query))
        if not posts:
            return
        ids = [p.id for p in posts]
        tags: dict[int, list[str]] = {}
        for post_id, tag in session.execute(
            select(PostTagRow.post_id, PostTagRow.tag).where(PostTagRow.post_id.in_(ids))
        ):
            tags.setdefault(post_id, []).append(tag)
        brands: dict[int, list[str]] = {}
        for post_id, brand in session.execute(
            select(MentionRow.post_id, MentionRow.brand).where(MentionRow.post_id.in_(ids)).distinct()
        ):
            brands.setdefault(post_id, []).append(brand)
        for post in posts:
            yield {
                "uri": post.uri,
                "url": post.url,
                "source": post.source,
                "instance": post.origin,
                "author": post.author_handle,
                "author_name": post.author_name,
                "author_followers": post.author_followers,
                "created_at": post.created_at.isoformat(),
                "language": post.language,
                "language_source": post.language_source,
                "spoiler_text": post.spoiler_text,
                "text": post.text,
                "tags": sorted(tags.get(post.id, [])),
                "brands": sorted(brands.get(post.id, [])),
                "engagement": {"replies": post.replies, "boosts": post.boosts, "favourites": post.favourites},
                "sentiment": {
                    "label": post.sentiment,
                    "score": post.sentiment_score,
                    "confidence": post.sentiment_confidence,
                },
                "cx": post.cx,
                "cx_confidence": post.cx_confidence,
                "topics": post.topics or [],
            }
        session.expunge_all()
        last = (posts[-1].created_at, posts[-1].id)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
"""What spreadsheet programs read as the start of a formula (OWASP's list for CSV injection)."""


def csv_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: a leading `'` neutralises a would-be formula (`=HYPERLINK(...)`).

    Numbers are left alone, so negative scores stay numbers.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
