"""The exactly-once ledger of alerts, and run-time mutes.

An alert is recorded (pending, with a nonce and its exact payload) in the same transaction that decides it, before
anything is sent. Sending uses the nonce with Discord's `enforce_nonce`, and the message id is saved after Discord
confirms; a crash between the two leaves the row pending, and the retry after a restart sends the same payload under
the same nonce, which Discord answers with the first message instead of posting a second one.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import AlertMuteRow, AlertRow

PENDING = "pending"
SENT = "sent"
HELD = "held"
SUMMARISED = "summarised"
DROPPED = "dropped"
DELIVERED = (PENDING, SENT)
"""Statuses that reach (or are about to reach) the channel: they count for cooldowns and the hourly cap."""


@dataclass(frozen=True, slots=True)
class AlertState:
    """An alert row as plain data."""

    id: int
    key: str
    kind: str
    brand: str
    channel_id: str
    status: str
    reason: str | None
    nonce: str
    message_id: str | None
    payload: dict[str, Any]
    figures: dict[str, Any]
    attempts: int
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert about to be recorded: its key, what it is, and whether it goes out now or waits."""

    key: str
    kind: str
    brand: str
    channel_id: str
    status: str
    payload: dict[str, Any]
    figures: dict[str, Any]
    reason: str | None = None
    covers: Sequence[int] = field(default_factory=tuple)
    """For a summary: the ids of the held alerts it reports, marked summarised in the same transaction."""


def _state(row: AlertRow) -> AlertState:
    return AlertState(row.id, row.key, row.kind, row.brand, row.channel_id, row.status, row.reason, row.nonce,
                      row.message_id, dict(row.payload or {}), dict(row.figures or {}), row.attempts, row.created_at,
                      row.updated_at, row.sent_at, row.last_error)


def replace(state: AlertState, **changes: Any) -> AlertState:
    """A copy of `state` with `changes`."""
    return dataclasses.replace(state, **changes)


def new_nonce() -> str:
    """A random 20-character nonce (Discord allows 25; `.0` is appended for the one message)."""
    return secrets.token_hex(10)


def known_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of `keys` the ledger already holds (whatever became of them)."""
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(session.scalars(select(AlertRow.key).where(AlertRow.key.in_(wanted[start:start + 500]))))
    return found


def record(session: Session, alert: NewAlert, now: datetime) -> AlertState:
    """Add `alert` to the ledger in the caller's transaction (its key must be new)."""
    row = AlertRow(key=alert.key, kind=alert.kind, brand=alert.brand, channel_id=alert.channel_id,
                   status=alert.status, reason=alert.reason, nonce=new_nonce(), message_id=None,
                   payload=alert.payload, figures=alert.figures, attempts=0, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    if alert.covers:
        session.execute(update(AlertRow).where(AlertRow.id.in_(list(alert.covers)), AlertRow.status == HELD)
                        .values(status=SUMMARISED, summary_id=row.id, updated_at=now))
    return _state(row)


def recent(session: Session, since: datetime, channel_id: str | None = None) -> list[AlertState]:
    """Alerts recorded since `since` (of one channel, when given), oldest first: what cooldowns and caps look at."""
    query = select(AlertRow).where(AlertRow.created_at >= since)
    if channel_id is not None:
        query = query.where(AlertRow.channel_id == channel_id)
    return [_state(r) for r in session.scalars(query.order_by(AlertRow.created_at, AlertRow.id))]


def held(session: Session, channel_id: str) -> list[AlertState]:
    """Alerts waiting for a summary, oldest first."""
    rows = session.scalars(select(AlertRow).where(AlertRow.status == HELD, AlertRow.channel_id == channel_id)
                           .order_by(AlertRow.created_at, AlertRow.id))
    return [_state(r) for r in rows]


def pending(db: Database) -> list[AlertState]:
    """Alerts decided but not confirmed by Discord (a crash or a failure came between): to send again, oldest first."""
    with db.transaction() as session:
        rows = session.scalars(select(AlertRow).where(AlertRow.status == PENDING).order_by(AlertRow.id))
        return [_state(r) for r in rows]


def begin_attempt(db: Database, alert_id: int) -> None:
    """Count an attempt to send, before it is made."""
    with db.transaction() as session:
        session.execute(update(AlertRow).where(AlertRow.id == alert_id).values(attempts=AlertRow.attempts + 1))


def mark_sent(db: Database, alert_id: int, message_id: str, now: datetime | None = None) -> None:
    """Discord confirmed the alert as `message_id`: it will never be sent again."""
    now = now or datetime.now(UTC)
    with db.transaction() as session:
        session.execute(update(AlertRow).where(AlertRow.id == alert_id).values(
            status=SENT, message_id=message_id, sent_at=now, updated_at=now, last_error=None))


def record_failure(db: Database, alert_id: int, error: str, *, give_up: bool = False) -> None:
    """Keep the error of a failed send; the alert stays pending for the next check unless `give_up`."""
    values: dict[str, Any] = {"last_error": error[:2000]}
    if give_up:
        values.update(status=DROPPED, reason=f"not deliverable: {error[:200]}")
    with db.transaction() as session:
        session.execute(update(AlertRow).where(AlertRow.id == alert_id).values(**values))


def update_alert(session: Session, alert_id: int, payload: dict[str, Any], figures: dict[str, Any],
                 now: datetime) -> None:
    """An open alert was extended (a spike still going, or grown and edited in place): keep what it says now."""
    session.execute(update(AlertRow).where(AlertRow.id == alert_id).values(
        payload=payload, figures=figures, updated_at=now))


def latest(db: Database, limit: int = 20, brand: str | None = None) -> list[AlertState]:
    """The most recent alerts, newest first."""
    with db.transaction() as session:
        query = select(AlertRow)
        if brand is not None:
            query = query.where(func.lower(AlertRow.brand) == brand.casefold())
        return [_state(r) for r in session.scalars(query.order_by(AlertRow.id.desc()).limit(limit))]


@dataclass(frozen=True, slots=True)
class Mute:
    """A brand muted at run time."""

    brand: str
    until: datetime | None
    muted_by: str
    muted_at: datetime


def mute(db: Database, brand: str, until: datetime | None, by: str, now: datetime | None = None) -> Mute:
    """Mute `brand`'s alerts until `until` (or until unmuted); muting again replaces the previous mute."""
    now = now or datetime.now(UTC)
    key = brand.casefold()
    with db.transaction() as session:
        session.execute(delete(AlertMuteRow).where(AlertMuteRow.brand == key))
        session.add(AlertMuteRow(brand=key, until=until, muted_by=by, muted_at=now))
    return Mute(key, until, by, now)


def unmute(db: Database, brand: str) -> bool:
    """Unmute `brand`; whether it was muted."""
    with db.transaction() as session:
        result = session.execute(delete(AlertMuteRow).where(AlertMuteRow.brand == brand.casefold()))
        return bool(getattr(result, "rowcount", 0))


def mutes(session: Session, now: datetime) -> dict[str, Mute]:
    """The mutes in force at `now`, by case-folded brand (lapsed ones are ignored, and left for the record)."""
    rows = session.scalars(select(AlertMuteRow))
    return {r.brand: Mute(r.brand, r.until, r.muted_by, r.muted_at) for r in rows if r.until is None or r.until > now}
