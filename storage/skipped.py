"""Posts that could not be stored, with the reason: the record that lets a timeline move past them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.model import SkippedPost, TimelineId
from storage.models import SkippedPostRow


def record_skipped(session: Session, items: Sequence[SkippedPost], now: datetime | None = None) -> None:
    """Add one row per skipped post. The caller bounds and cleans the fields (the ingest loop does)."""
    when = now or datetime.now(UTC)
    session.add_all(
        SkippedPostRow(source=s.timeline.source.value, origin=s.timeline.server, scope=s.timeline.feed,
                       remote_id=s.remote_id, uri=s.uri, reason=s.reason, skipped_at=when)
        for s in items
    )


def skipped_posts(session: Session, limit: int = 1000) -> list[SkippedPost]:
    """The most recently skipped posts, newest first."""
    rows = session.scalars(select(SkippedPostRow).order_by(SkippedPostRow.id.desc()).limit(limit))
    return [SkippedPost(TimelineId.of(r.source, r.origin, r.scope), r.remote_id, r.uri, r.reason) for r in rows]
