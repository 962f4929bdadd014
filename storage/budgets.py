"""The instance budgets shared by several workers: every request sent to an instance is a row, counted under a lock.

Mastodon limits each account or IP to 300 requests per 5 minutes and 300 paging requests per 15 minutes. One process
counts these in memory (`bot.sources.mastodon.ratelimit`); workers on several machines count them here instead. A
request may go only if, in the rows of the last 5 (15) minutes, there is room: a sliding window is stricter than
Mastodon's fixed one (any fixed window lies inside a sliding one), so all workers together never overspend.

On PostgreSQL the count and the new row are made under a transaction-scoped advisory lock per instance, so two
workers cannot both take the last request. SQLite serves a single process and needs none.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import BudgetSpendRow

MARGIN = 1.0
"""Seconds added to a wait: clocks of different machines differ a little."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one instance allows: requests per window and paging requests per paging window, less a reserve each."""

    limit: int = 300
    window: float = 300.0
    paging_limit: int = 300
    paging_window: float = 900.0
    reserve: int = 5


def _lock(db: Database, session: Session, origin: str) -> None:
    if db.dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:origin))"), {"origin": origin})


def _wait(times: list[float], allowed: int, window: float, now: float) -> float:
    # `times` are sorted, all inside the window: room once enough of the oldest have left it.
    if len(times) < allowed:
        return 0.0
    leaving = times[len(times) - allowed]
    return max(leaving + window - now + MARGIN, 1.0)


def take(db: Database, origin: str, now: float, *, paging: bool = False, limits: Limits = Limits()) -> float:
    """Spend one request (a paging one from both budgets) of `origin`: 0.0 if it may go now, else seconds to wait."""
    horizon = now - max(limits.window, limits.paging_window)
    with db.transaction() as session:
        _lock(db, session, origin)
        old = BudgetSpendRow.origin == origin, BudgetSpendRow.sent_at <= horizon
        session.execute(delete(BudgetSpendRow).where(*old))
        rows = session.execute(
            select(BudgetSpendRow.sent_at, BudgetSpendRow.paging)
            .where(BudgetSpendRow.origin == origin)
            .order_by(BudgetSpendRow.sent_at)
        ).all()
        general = [at for at, _ in rows if at > now - limits.window]
        wait = _wait(general, limits.limit - limits.reserve, limits.window, now)
        if paging:
            paged = [at for at, was_paging in rows if was_paging and at > now - limits.paging_window]
            wait = max(wait, _wait(paged, limits.paging_limit - limits.reserve, limits.paging_window, now))
        if wait:
            return wait
        session.add(BudgetSpendRow(origin=origin, sent_at=now, paging=paging))
        return 0.0


def used(db: Database, origin: str, now: float, *, paging: bool = False, limits: Limits = Limits()) -> int:
    """Requests (paging requests) sent to `origin` by all workers in the current window."""
    window = limits.paging_window if paging else limits.window
    query = select(func.count()).where(BudgetSpendRow.origin == origin, BudgetSpendRow.sent_at > now - window)
    if paging:
        query = query.where(BudgetSpendRow.paging.is_(True))
    with db.transaction() as session:
        return int(session.execute(query).scalar_one())


def spends(db: Database, origin: str) -> list[tuple[float, bool]]:
    """Every request still on record for `origin`, oldest first, as (sent at, paging): for checks and status."""
    with db.transaction() as session:
        rows = session.execute(
            select(BudgetSpendRow.sent_at, BudgetSpendRow.paging)
            .where(BudgetSpendRow.origin == origin)
            .order_by(BudgetSpendRow.sent_at)
        ).all()
    return [(at, paging) for at, paging in rows]
