"""Source health: each timeline's last success and failure, so an outage is visible and never silent."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import SourceHealthRow


def _row(session: Session, source: str, origin: str, scope: str) -> SourceHealthRow:
    row = session.get(SourceHealthRow, (source, origin, scope))
    if row is None:
        row = SourceHealthRow(
            source=source, origin=origin, scope=scope, consecutive_errors=0, total_errors=0, total_polls=0,
            posts_new=0, posts_skipped=0,
        )
        session.add(row)
    return row


def record_success(session: Session, source: str, origin: str, scope: str, *, new: int, skipped: int) -> None:
    """A poll went through: the error streak ends and the counters grow."""
    row = _row(session, source, origin, scope)
    row.total_polls += 1
    row.posts_new += new
    row.posts_skipped += skipped
    row.consecutive_errors = 0
    row.failing_since = None
    row.backoff_until = None
    row.last_success_at = datetime.now(UTC)


def record_failure(
    session: Session, source: str, origin: str, scope: str, error: str, *, backoff_until: datetime | None = None
) -> int:
    """A poll failed; returns how many times in a row it has now failed."""
    now = datetime.now(UTC)
    row = _row(session, source, origin, scope)
    row.total_polls += 1
    row.total_errors += 1
    row.consecutive_errors += 1
    row.last_error = error[:2000]
    row.last_error_at = now
    row.failing_since = row.failing_since or now
    row.backoff_until = backoff_until
    return row.consecutive_errors


def all_health(session: Session) -> list[SourceHealthRow]:
    """Every source's health row."""
    return list(session.scalars(select(SourceHealthRow).order_by(SourceHealthRow.source, SourceHealthRow.origin)))
