"""No alert storms: mutes, quiet hours in the brand's time zone, a cooldown per brand and kind, a cap per hour.

An alert that may not go out now is *held*, not lost: once the brand may be alerted again (quiet hours over, the
cooldown passed, the cap has room) one summary reports everything held for it. A muted brand's alerts are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from storage.alerts import DELIVERED, AlertState

Status = Literal["pending", "held", "dropped"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What becomes of a finding: sent now (`pending` until Discord confirms), held for a summary, or dropped."""

    status: Status
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """The anti-storm settings."""

    cooldown: timedelta = timedelta(minutes=30)
    max_per_hour: int = 6


def in_quiet_hours(now: datetime, zone: ZoneInfo, span: tuple[time, time] | None) -> bool:
    """Whether `now` falls in the local `span` (which may run past midnight), on the wall clock of `zone`."""
    if span is None:
        return False
    local = now.astimezone(zone).time().replace(tzinfo=None)
    start, end = span
    return start <= local < end if start < end else (local >= start or local < end)


def _delivered(recent: Sequence[AlertState]) -> list[AlertState]:
    return [a for a in recent if a.status in DELIVERED]


def decide(kind: str, brand: str, now: datetime, recent: Sequence[AlertState], limits: Limits, *, muted: bool,
           quiet: bool) -> Decision:
    """The fate of a new `kind` alert for `brand` at `now`, given the alerts of the recent past (any status)."""
    if muted:
        return Decision("dropped", "brand muted")
    if quiet:
        return Decision("held", "quiet hours")
    delivered = _delivered(recent)
    if any(a.brand.casefold() == brand.casefold() and a.kind == kind and a.created_at > now - limits.cooldown
           for a in delivered):
        return Decision("held", "cooldown")
    if sum(a.created_at > now - timedelta(hours=1) for a in delivered) >= limits.max_per_hour:
        return Decision("held", "hourly cap")
    return Decision("pending")


def summary_due(brand: str, now: datetime, recent: Sequence[AlertState], limits: Limits, *, quiet: bool) -> bool:
    """Whether the alerts held for `brand` may be summarised now: no quiet hours, no cooldown, room in the cap."""
    if quiet:
        return False
    delivered = _delivered(recent)
    if any(a.brand.casefold() == brand.casefold() and a.created_at > now - limits.cooldown for a in delivered):
        return False
    return sum(a.created_at > now - timedelta(hours=1) for a in delivered) < limits.max_per_hour
