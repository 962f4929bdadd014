"""Removing posts: deleted at the source, written by someone who opted out, or asked to be forgotten.

A post goes with everything stored about it (tags, brand mentions, per-instance ids), in the caller's transaction.
The children are deleted explicitly rather than trusting `ON DELETE CASCADE`, which SQLite only honours on
connections that switched foreign keys on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from storage.models import MentionRow, PostRow, PostSourceRow, PostTagRow, SkippedPostRow

_CHUNK = 500
"""Ids per `IN (...)`: well under both databases' limits on bound parameters."""


@dataclass(frozen=True, slots=True)
class Removed:
    """What a removal took out of storage."""

    posts: int = 0
    tags: int = 0
    mentions: int = 0
    sources: int = 0

    def __add__(self, other: Removed) -> Removed:
        return Removed(self.posts + other.posts, self.tags + other.tags, self.mentions + other.mentions,
                       self.sources + other.sources)


def _count(result: Any) -> int:
    # A DELETE's result is a CursorResult, whose rowcount the generic `Result` type does not declare.
    return int(result.rowcount or 0)


def delete_posts(session: Session, post_ids: Iterable[int]) -> Removed:
    """Delete these posts and their tags, mentions and per-instance ids."""
    ids = list(dict.fromkeys(post_ids))
    total = Removed()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        tags = _count(session.execute(delete(PostTagRow).where(PostTagRow.post_id.in_(chunk))))
        mentions = _count(session.execute(delete(MentionRow).where(MentionRow.post_id.in_(chunk))))
        sources = _count(session.execute(delete(PostSourceRow).where(PostSourceRow.post_id.in_(chunk))))
        posts = _count(session.execute(delete(PostRow).where(PostRow.id.in_(chunk))))
        total = total + Removed(posts, tags, mentions, sources)
    return total


def post_ids_by_remote(session: Session, origin: str, remote_ids: Sequence[str]) -> list[int]:
    """The stored posts known on `origin` under these ids."""
    out: list[int] = []
    for start in range(0, len(remote_ids), _CHUNK):
        chunk = list(remote_ids[start : start + _CHUNK])
        query = select(PostSourceRow.post_id).where(PostSourceRow.origin == origin, PostSourceRow.remote_id.in_(chunk))
        out += list(session.scalars(query))
    return out


def delete_remote(session: Session, origin: str, remote_ids: Sequence[str]) -> Removed:
    """Delete the posts that `origin` knows under these ids (it said they are gone)."""
    return delete_posts(session, post_ids_by_remote(session, origin, remote_ids))


def post_ids_by_author(session: Session, handles: Iterable[str], source: str | None = None) -> list[int]:
    """Every stored post written by one of `handles` (case-insensitive), of `source` or of any source."""
    wanted = sorted({h.strip().lstrip("@").casefold() for h in handles if h.strip()})
    if not wanted:
        return []
    query = select(PostRow.id).where(func.lower(PostRow.author_handle).in_(wanted))
    if source is not None:
        query = query.where(PostRow.source == source)
    return list(session.scalars(query))


def delete_by_author(session: Session, handles: Iterable[str], source: str | None = None) -> Removed:
    """Delete everything stored from these authors (an opt-out found later, or `merkwacht forget`)."""
    return delete_posts(session, post_ids_by_author(session, handles, source))


def channel_posts(session: Session, channel_id: str, since: datetime, until: datetime) -> dict[str, int]:
    """Stored messages of one Discord channel written in [since, until): message id -> post id."""
    query = (
        select(PostSourceRow.remote_id, PostSourceRow.post_id)
        .join(PostRow, PostRow.id == PostSourceRow.post_id)
        .where(
            PostRow.source == "discord",
            PostSourceRow.origin.like(f"discord:%/{channel_id}"),
            PostRow.created_at >= since,
            PostRow.created_at < until,
        )
    )
    return {row.remote_id: row.post_id for row in session.execute(query)}


def delete_skipped_of(session: Session, handle: str) -> int:
    """Delete the `skipped_posts` records whose uri is a status of `user@host` (Mastodon's `/users/<user>/...`
    and the `/@<user>/...` form other servers use): the uri names the person."""
    user, _, host = handle.strip().lstrip("@").casefold().partition("@")
    if not user or not host:
        return 0
    patterns = [f"%://{host}/users/{user}/%", f"%://{host}/@{user}/%"]
    condition = or_(*(func.lower(SkippedPostRow.uri).like(p) for p in patterns))
    return _count(session.execute(delete(SkippedPostRow).where(condition)))
