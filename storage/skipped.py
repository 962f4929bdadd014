"""Posts that could not be stored, with the reason: the record that lets a timeline move past them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.model import SkippedPost, TimelineId
from storage.models import SkippedPostRow


def record_skipped(session: Session, items: Sequence[SkippedPost], now: datetime | None = None) -> int:
    """Add one row per skipped post not recorded yet (same timeline, id and URI), and say how many were new.

    A page whose items have no usable id cannot move its timeline's cursor, so it is read again at the next poll, and
    the same items are skipped again: they are recorded once, not at every poll. The caller bounds and cleans the
    fields (the ingest loop does)."""
    if not items:
        return 0
    row = SkippedPostRow
    ids = sorted({s.remote_id for s in items})
    known = {
        tuple(r)
        for r in session.execute(
            select(row.source, row.origin, row.scope, row.remote_id, row.uri).where(row.remote_id.in_(ids))
        )
    }
    when = now or datetime.now(UTC)
    fresh = []
    for s in items:
        key = (s.timeline.source.value, s.timeline.server, s.timeline.feed, s.remote_id, s.uri)
        if key not in known:
            known.add(key)
            fresh.append(s)
    session.add_all(
        SkippedPostRow(source=s.timeline.source.value, origin=s.timeline.server, scope=s.timeline.feed,
                       remote_id=s.remote_id, uri=s.uri, reason=s.reason, skipped_at=when)
        for s in fresh
    )
    return len(fresh)


def skipped_posts(session: Session, limit: int = 1000) -> list[SkippedPost]:
    """The most recently skipped posts, newest first."""
    rows = session.scalars(select(SkippedPostRow).order_by(SkippedPostRow.id.desc()).limit(limit))
    return [SkippedPost(TimelineId.of(r.source, r.origin, r.scope), r.remote_id, r.uri, r.reason) for r in rows]
