"""Storing analysed posts: one row per `uri`, however often and wherever it is seen, in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from bot.model import AnalysedPost, Post
from storage.bulk import BulkInsert
from storage.models import MentionRow, PostRow, PostSourceRow, PostTagRow

POSTS = cast(Table, PostRow.__table__)
TAGS = cast(Table, PostTagRow.__table__)
MENTIONS = cast(Table, MentionRow.__table__)
SOURCES = cast(Table, PostSourceRow.__table__)

_POST_COLUMNS = (
    "uri",
    "source",
    "origin",
    "url",
    "author_handle",
    "author_name",
    "author_url",
    "author_followers",
    "created_at",
    "edited_at",
    "first_seen_at",
    "updated_at",
    "text",
    "language",
    "language_source",
    "replies",
    "boosts",
    "favourites",
    "sensitive",
    "spoiler_text",
    "in_reply_to",
    "sentiment",
    "sentiment_score",
    "cx",
    "sentiment_confidence",
    "cx_confidence",
    "topics",
)
INSERT_POSTS = BulkInsert(POSTS, _POST_COLUMNS, conflict=["uri"], returning=["id", "uri"])
INSERT_TAGS = BulkInsert(TAGS, ("post_id", "tag", "created_at"))
INSERT_MENTIONS = BulkInsert(MENTIONS, ("post_id", "brand", "kind", "matched", "created_at", "sentiment"))
INSERT_SOURCES = BulkInsert(SOURCES, ("post_id", "origin", "remote_id", "seen_at"), conflict=["origin", "remote_id"])

_CHUNK = 500
"""Rows per `IN (...)` look-up: well under SQLite's 32766 bound parameters and PostgreSQL's 65535."""


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What storing a batch did."""

    new: int = 0
    duplicate: int = 0
    updated: int = 0
    """Duplicates whose text changed (an edit) and were rewritten."""


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _post_values(post: Post, item: AnalysedPost, now: datetime) -> dict[str, Any]:
    analysis = item.analysis
    return {
        "uri": post.uri,
        "source": post.source,
        "origin": post.origin,
        "url": post.url,
        "author_handle": post.author.handle,
        "author_name": post.author.display_name,
        "author_url": post.author.url,
        "author_followers": post.author.followers,
        "created_at": post.created_at,
        "edited_at": post.edited_at,
        "first_seen_at": now,
        "updated_at": now,
        "text": post.text,
        "language": analysis.language if analysis and analysis.language else post.language,
        "language_source": _language_source(post, item),
        "replies": post.engagement.replies,
        "boosts": post.engagement.boosts,
        "favourites": post.engagement.favourites,
        "sensitive": post.sensitive,
        "spoiler_text": post.spoiler_text,
        "in_reply_to": post.in_reply_to,
        "sentiment": analysis.sentiment if analysis else None,
        "sentiment_score": analysis.sentiment_score if analysis else None,
        "cx": analysis.cx if analysis else None,
        "sentiment_confidence": analysis.sentiment_confidence if analysis else None,
        "cx_confidence": analysis.cx_confidence if analysis else None,
        "topics": list(analysis.topics) if analysis else None,
    }


def _language_source(post: Post, item: AnalysedPost) -> str | None:
    if post.language_source is not None:
        return post.language_source
    if post.language:
        return "declared"
    return "detected" if item.analysis is not None and item.analysis.language else None


def _children(post_id: int, item: AnalysedPost) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    created = item.post.created_at
    tags = [{"post_id": post_id, "tag": t, "created_at": created} for t in dict.fromkeys(item.post.tags)]
    sentiment = item.analysis.sentiment if item.analysis else None
    mentions = [
        {
            "post_id": post_id,
            "brand": m.brand,
            "kind": m.kind,
            "matched": m.matched,
            "created_at": created,
            "sentiment": sentiment,
        }
        for m in dict.fromkeys(item.matches)
    ]
    return tags, mentions


def _newer(incoming: datetime | None, stored: datetime | None) -> bool:
    return incoming is not None and (stored is None or incoming > stored)


def _latest_per_uri(items: Iterable[AnalysedPost]) -> dict[str, AnalysedPost]:
    latest: dict[str, AnalysedPost] = {}
    for item in items:
        seen = latest.get(item.post.uri)
        if seen is None or _newer(item.post.edited_at, seen.post.edited_at):
            latest[item.post.uri] = item
    return latest


def store_posts(session: Session, items: Sequence[AnalysedPost], now: datetime | None = None) -> StoreResult:
    """Insert new posts with their tags, mentions and source ids; refresh known ones. Runs in the caller's transaction.

    A known post keeps its row: its engagement becomes the highest any instance reported, and a newer edit
    replaces its text, tags, mentions and analysis.
    """
    if not items:
        return StoreResult()
    now = now or datetime.now(UTC)
    latest = _latest_per_uri(items)
    posts = POSTS
    # Insert first: most posts in a page are new, and ON CONFLICT DO NOTHING leaves the known ones (and any a
    # concurrent writer stored a moment ago) alone; only those are then looked up.
    ids: dict[str, int] = {}
    inserted: set[str] = set()
    for row in INSERT_POSTS.execute(session, [_post_values(i.post, i, now) for i in latest.values()]):
        ids[row.uri] = row.id
        inserted.add(row.uri)
    fresh = [item for uri, item in latest.items() if uri in inserted]
    existing: dict[str, Any] = {}
    for chunk in _chunks([uri for uri in latest if uri not in inserted]):
        rows = session.execute(
            select(
                posts.c.id, posts.c.uri, posts.c.edited_at, posts.c.replies, posts.c.boosts, posts.c.favourites
            ).where(posts.c.uri.in_(chunk))
        )
        existing.update({row.uri: row for row in rows})
    ids.update({row.uri: row.id for row in existing.values()})

    tag_rows: list[dict[str, Any]] = []
    mention_rows: list[dict[str, Any]] = []
    for item in fresh:
        tags, mentions = _children(ids[item.post.uri], item)
        tag_rows += tags
        mention_rows += mentions

    updated = 0
    for uri, row in existing.items():
        item = latest[uri]
        post = item.post
        changes: dict[str, Any] = {}
        for field in ("replies", "boosts", "favourites"):
            value = getattr(post.engagement, field)
            if value > getattr(row, field):
                changes[field] = value
        if _newer(post.edited_at, row.edited_at):
            values = _post_values(post, item, now)
            for key in ("uri", "source", "origin", "first_seen_at", "replies", "boosts", "favourites"):
                values.pop(key)
            changes.update(values)
            session.execute(delete(PostTagRow).where(PostTagRow.post_id == row.id))
            session.execute(delete(MentionRow).where(MentionRow.post_id == row.id))
            tags, mentions = _children(row.id, item)
            tag_rows += tags
            mention_rows += mentions
            updated += 1
        if changes:
            changes["updated_at"] = now
            session.execute(update(posts).where(posts.c.id == row.id).values(**changes))

    INSERT_TAGS.execute(session, tag_rows)
    INSERT_MENTIONS.execute(session, mention_rows)
    source_rows = [
        {"post_id": ids[i.post.uri], "origin": i.post.origin, "remote_id": i.post.remote_id, "seen_at": now}
        for i in items
        if i.post.uri in ids
    ]
    INSERT_SOURCES.execute(session, source_rows)
    return StoreResult(new=len(inserted), duplicate=len(items) - len(inserted), updated=updated)


def posts_to_refresh(session: Session, origin: str, since: datetime, limit: int = 2000) -> list[str]:
    """Ids on `origin` of the brand mentions first read there and written since `since`, least recently read first.

    Each post is refreshed from the instance it was first read on only, so two instances never both spend requests
    on it.
    """
    mentioned = select(MentionRow.post_id).where(MentionRow.post_id == PostRow.id).exists()
    query = (
        select(PostSourceRow.remote_id)
        .join(PostRow, PostRow.id == PostSourceRow.post_id)
        .where(PostSourceRow.origin == origin, PostRow.origin == origin, PostRow.created_at >= since, mentioned)
        .order_by(func.coalesce(PostRow.refreshed_at, PostRow.first_seen_at), PostRow.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def mark_refreshed(session: Session, origin: str, remote_ids: Sequence[str], now: datetime | None = None) -> None:
    """Note that the posts with these ids on `origin` were just asked for again, found or not (a deleted one too)."""
    now = now or datetime.now(UTC)
    for chunk in _chunks(remote_ids):
        asked = select(PostSourceRow.post_id).where(PostSourceRow.origin == origin, PostSourceRow.remote_id.in_(chunk))
        session.execute(update(POSTS).where(POSTS.c.id.in_(asked)).values(refreshed_at=now))
