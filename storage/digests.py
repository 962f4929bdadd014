"""The exactly-once record of each day's digest per channel: pending with a nonce, then sent with message ids.

Sending resumes where it stopped: the ids of messages Discord confirmed are saved one by one, so a restart sends
only the rest, under the same nonces. If two processes race for the same row, both use its nonce, and Discord's
`enforce_nonce` returns the first one's message to the second instead of posting twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import DigestRow

PENDING = "pending"
SENT = "sent"


@dataclass(frozen=True, slots=True)
class DigestState:
    """A digest row as plain data."""

    day: date
    channel_id: str
    status: str
    nonce: str
    message_ids: list[str]
    attempts: int
    last_error: str | None
    sent_at: datetime | None

    @property
    def sent(self) -> bool:
        """Whether Discord confirmed every message."""
        return self.status == SENT


def _state(row: DigestRow) -> DigestState:
    return DigestState(
        row.day,
        row.channel_id,
        row.status,
        row.nonce,
        list(row.message_ids or []),
        row.attempts,
        row.last_error,
        row.sent_at,
    )


def new_nonce() -> str:
    """A random 20-character nonce; a message index is appended per message, within Discord's 25."""
    return secrets.token_hex(10)


def _get(session: Session, day: date, channel_id: str) -> DigestRow | None:
    return session.scalars(select(DigestRow).where(DigestRow.day == day, DigestRow.channel_id == channel_id)).first()


def find(db: Database, day: date, channel_id: str) -> DigestState | None:
    """The row for (day, channel), if there is one."""
    with db.transaction() as session:
        row = _get(session, day, channel_id)
        return _state(row) if row else None


def claim(db: Database, day: date, channel_id: str, now: datetime | None = None) -> DigestState:
    """The row for (day, channel), created pending with a fresh nonce if absent; an attempt is counted."""
    now = now or datetime.now(UTC)
    try:
        with db.transaction() as session:
            row = _get(session, day, channel_id)
            if row is None:
                row = DigestRow(
                    day=day,
                    channel_id=channel_id,
                    status=PENDING,
                    nonce=new_nonce(),
                    message_ids=[],
                    attempts=0,
                    created_at=now,
                )
                session.add(row)
            if row.status != SENT:
                row.attempts += 1
            session.flush()
            return _state(row)
    except IntegrityError:
        # Another process created it between our read and insert: theirs (and its nonce) wins.
        with db.transaction() as session:
            row = _get(session, day, channel_id)
            assert row is not None
            row.attempts += 1
            return _state(row)


def record_message(db: Database, day: date, channel_id: str, index: int, message_id: str) -> None:
    """Save that message `index` of the digest was confirmed by Discord as `message_id`."""
    with db.transaction() as session:
        row = _get(session, day, channel_id)
        assert row is not None, "record_message before claim"
        ids = list(row.message_ids or [])
        if index < len(ids):
            return
        # A JSON column is only saved when reassigned, not when mutated in place.
        row.message_ids = [*ids, message_id]


def mark_sent(db: Database, day: date, channel_id: str, now: datetime | None = None) -> None:
    """Every message is confirmed: the digest for (day, channel) will never be sent again."""
    with db.transaction() as session:
        row = _get(session, day, channel_id)
        assert row is not None
        row.status, row.sent_at, row.last_error = SENT, now or datetime.now(UTC), None


def record_failure(db: Database, day: date, channel_id: str, error: str) -> None:
    """Keep the last error of a failed send; the row stays pending for the next attempt."""
    with db.transaction() as session:
        row = _get(session, day, channel_id)
        if row is not None:
            row.last_error = error[:2000]


def unsent(db: Database, channel_id: str, since: date) -> list[DigestState]:
    """Pending digests for `channel_id` from `since` on, oldest first: what a restart should finish."""
    with db.transaction() as session:
        rows = session.scalars(
            select(DigestRow)
            .where(DigestRow.channel_id == channel_id, DigestRow.day >= since, DigestRow.status != SENT)
            .order_by(DigestRow.day)
        )
        return [_state(r) for r in rows]
