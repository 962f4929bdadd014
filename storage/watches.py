"""Run-time watch rows and their audit log: read them, and change them one writer at a time.

The CLI and the Discord bot may change the watch list at the same moment, from different processes. Each change
reads the current rows, checks itself against them and writes, all inside one transaction that first takes the
watch list's write lock, so a second writer waits for the first and then sees its change: neither is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.model import StoredWatch
from storage.models import WatchChangeRow, WatchRow


def lock_for_change(session: Session) -> None:
    """Take the watch list's write lock for the rest of this transaction (readers are not blocked)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE watches IN SHARE ROW EXCLUSIVE MODE"))
    else:
        # SQLite: a write statement, even one that touches no row, takes the database's write lock before any
        # read of this transaction; with the busy timeout a second writer waits instead of failing.
        session.execute(text("UPDATE watches SET id = id WHERE 1 = 0"))


def revision(session: Session) -> int:
    """A number that grows with every change: the daemon re-reads the watch list only when it moved."""
    return int(session.scalar(select(func.coalesce(func.max(WatchChangeRow.id), 0))) or 0)


def _stored(row: WatchRow) -> StoredWatch:
    return StoredWatch(
        kind=cast(Any, row.kind),
        key=row.key,
        instance=row.instance,
        brand=row.brand,
        payload=dict(row.payload or {}),
        state=cast(Any, row.state),
        config_fingerprint=row.config_fingerprint,
        changed_by=row.changed_by,
        changed_at=row.changed_at,
    )


def load(session: Session) -> list[StoredWatch]:
    """Every run-time row, oldest change first."""
    rows = session.scalars(select(WatchRow).order_by(WatchRow.changed_at, WatchRow.id))
    return [_stored(r) for r in rows]


def save(session: Session, watch: StoredWatch, *, action: str, detail: dict[str, Any] | None = None) -> None:
    """Write `watch` over any earlier row for the same entry, and log the change."""
    now = watch.changed_at or datetime.now(UTC)
    row = session.scalar(
        select(WatchRow).where(
            WatchRow.kind == watch.kind, WatchRow.key == watch.key, WatchRow.instance == watch.instance
        )
    )
    if row is None:
        row = WatchRow(kind=watch.kind, key=watch.key, instance=watch.instance)
        session.add(row)
    row.brand = watch.brand
    row.payload = dict(watch.payload)
    row.state = watch.state
    row.config_fingerprint = watch.config_fingerprint
    row.changed_by = watch.changed_by
    row.changed_at = now
    session.add(
        WatchChangeRow(
            kind=watch.kind,
            key=watch.key,
            instance=watch.instance,
            action=action,
            detail=detail or {},
            changed_by=watch.changed_by,
            changed_at=now,
        )
    )
    session.flush()


def mark_lapsed(session: Session, rows: Sequence[StoredWatch], *, by: str) -> None:
    """Record that these run-time changes ended because the config changed the entries they were made against."""
    now = datetime.now(UTC)
    for watch in rows:
        row = session.scalar(
            select(WatchRow).where(
                WatchRow.kind == watch.kind, WatchRow.key == watch.key, WatchRow.instance == watch.instance
            )
        )
        if row is None or row.state == "lapsed" or row.config_fingerprint != watch.config_fingerprint:
            continue
        detail = {"was": row.state, "by": row.changed_by}
        row.state = "lapsed"
        session.add(
            WatchChangeRow(
                kind=row.kind,
                key=row.key,
                instance=row.instance,
                action="lapse",
                detail=detail,
                changed_by=by,
                changed_at=now,
            )
        )
    session.flush()


def history(session: Session, limit: int = 50) -> list[WatchChangeRow]:
    """The latest changes, newest first."""
    return list(session.scalars(select(WatchChangeRow).order_by(WatchChangeRow.id.desc()).limit(limit)))
