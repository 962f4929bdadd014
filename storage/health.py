"""Source health: each timeline's last success and failure, so an outage is visible and never silent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.model import TimelineId
from storage.models import SourceHealthRow, SourceOutageRow


def _row(session: Session, timeline: TimelineId) -> SourceHealthRow:
    row = session.get(SourceHealthRow, (timeline.source.value, timeline.server, timeline.feed))
    if row is None:
        row = SourceHealthRow(
            source=timeline.source.value,
            origin=timeline.server,
            scope=timeline.feed,
            consecutive_errors=0,
            total_errors=0,
            total_polls=0,
            posts_new=0,
            posts_skipped=0,
        )
        session.add(row)
    return row


def record_success(session: Session, timeline: TimelineId, *, new: int, skipped: int) -> float | None:
    """A poll went through: the error streak ends and the counters grow.

    Returns how many seconds the source had been failing when this ends an outage (which is then kept for the
    digest), else None.
    """
    now = datetime.now(UTC)
    row = _row(session, timeline)
    recovered_after = None
    if row.failing_since is not None:
        recovered_after = (now - row.failing_since).total_seconds()
        session.add(
            SourceOutageRow(
                source=timeline.source.value,
                origin=timeline.server,
                scope=timeline.feed,
                started_at=row.failing_since,
                ended_at=now,
                errors=row.consecutive_errors,
                last_error=row.last_error,
            )
        )
    row.total_polls += 1
    row.posts_new += new
    row.posts_skipped += skipped
    row.consecutive_errors = 0
    row.failing_since = None
    row.backoff_until = None
    row.last_success_at = now
    return recovered_after


def record_failure(
    session: Session,
    timeline: TimelineId,
    error: str,
    *,
    kind: str | None = None,
) -> int:
    """A poll failed; returns how many times in a row it has now failed. Its backoff is the caller's to set."""
    now = datetime.now(UTC)
    row = _row(session, timeline)
    row.total_polls += 1
    row.total_errors += 1
    row.consecutive_errors += 1
    row.last_error = (f"{kind}: {error}" if kind else error)[:2000]
    row.last_error_at = now
    row.failing_since = row.failing_since or now
    return row.consecutive_errors


def all_health(session: Session) -> list[SourceHealthRow]:
    """Every source's health row."""
    return list(session.scalars(select(SourceHealthRow).order_by(SourceHealthRow.source, SourceHealthRow.origin)))


def set_backoff(session: Session, timeline: TimelineId, until: datetime | None) -> None:
    """Note until when a failing source is left alone (shown by health and metrics; the scheduler enforces it)."""
    _row(session, timeline).backoff_until = until


@dataclass(frozen=True, slots=True)
class Outage:
    """A time a source could not be read: ended (`ended_at` set) or still going on."""

    timeline: TimelineId
    started_at: datetime
    ended_at: datetime | None
    errors: int
    last_error: str | None

    def duration(self, now: datetime) -> timedelta:
        """How long it lasted, or has lasted so far."""
        return (self.ended_at or now) - self.started_at


def outages(session: Session, since: datetime, *, min_duration: timedelta = timedelta(0)) -> list[Outage]:
    """Outages that ended at or after `since`, and those still going on, oldest first: what a digest must mention.

    `min_duration` leaves out blips (one failed poll retried a minute later) that cost no data worth a note.
    """
    now = datetime.now(UTC)
    found = [
        Outage(TimelineId.of(r.source, r.origin, r.scope), r.started_at, r.ended_at, r.errors, r.last_error)
        for r in session.scalars(select(SourceOutageRow).where(SourceOutageRow.ended_at >= since))
    ]
    found += [
        Outage(TimelineId.of(r.source, r.origin, r.scope), r.failing_since, None, r.consecutive_errors, r.last_error)
        for r in session.scalars(select(SourceHealthRow).where(SourceHealthRow.failing_since.is_not(None)))
        if r.failing_since is not None
    ]
    return sorted((o for o in found if o.duration(now) >= min_duration), key=lambda o: o.started_at)
