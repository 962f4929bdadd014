"""Poll cursors: how far each timeline has been read. They move in the same transaction as the posts they cover."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.model import TimelineId
from storage.bulk import conflict_insert
from storage.models import PollCursorRow


@dataclass(frozen=True, slots=True)
class Cursor:
    """A timeline's reading position."""

    newest_id: str | None = None
    backfill_before: str | None = None
    backfill_done: bool = False


def load_cursor(session: Session, timeline: TimelineId) -> Cursor:
    """The stored position, or a blank one for a timeline never read."""
    row = session.get(PollCursorRow, (timeline.source.value, timeline.server, timeline.feed))
    if row is None:
        return Cursor()
    return Cursor(row.newest_id, row.backfill_before, row.backfill_done)


def save_cursor(session: Session, timeline: TimelineId, cursor: Cursor) -> None:
    """Record the position; commits with whatever else the session holds."""
    # One upsert rather than a load and a flush: it runs once per stored page, so it is on the hot path.
    values = {
        "newest_id": cursor.newest_id,
        "backfill_before": cursor.backfill_before,
        "backfill_done": cursor.backfill_done,
        "updated_at": datetime.now(UTC),
    }
    key = {"source": timeline.source.value, "origin": timeline.server, "scope": timeline.feed}
    statement = conflict_insert(session, PollCursorRow.__table__).values(**key, **values)
    session.execute(statement.on_conflict_do_update(index_elements=list(key), set_=values))


def all_cursors(session: Session) -> list[PollCursorRow]:
    """Every stored cursor, for `status` displays."""
    return list(session.scalars(select(PollCursorRow).order_by(PollCursorRow.source, PollCursorRow.origin)))
