"""Poll cursors: how far each timeline has been read. They move in the same transaction as the posts they cover."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import PollCursorRow


@dataclass(frozen=True, slots=True)
class Cursor:
    """A timeline's reading position."""

    newest_id: str | None = None
    backfill_before: str | None = None
    backfill_done: bool = False


def load_cursor(session: Session, source: str, origin: str, scope: str) -> Cursor:
    """The stored position, or a blank one for a timeline never read."""
    row = session.get(PollCursorRow, (source, origin, scope))
    if row is None:
        return Cursor()
    return Cursor(row.newest_id, row.backfill_before, row.backfill_done)


def save_cursor(session: Session, source: str, origin: str, scope: str, cursor: Cursor) -> None:
    """Record the position; commits with whatever else the session holds."""
    row = session.get(PollCursorRow, (source, origin, scope))
    if row is None:
        row = PollCursorRow(source=source, origin=origin, scope=scope)
        session.add(row)
    row.newest_id = cursor.newest_id
    row.backfill_before = cursor.backfill_before
    row.backfill_done = cursor.backfill_done
    row.updated_at = datetime.now(UTC)


def all_cursors(session: Session) -> list[PollCursorRow]:
    """Every stored cursor, for `status` displays."""
    return list(session.scalars(select(PollCursorRow).order_by(PollCursorRow.source, PollCursorRow.origin)))
