"""When the digest job fires: once per local calendar day at `schedule.digest_at`, across DST changes.

APScheduler 3.11's CronTrigger is not safe here (checked with 3.11.3 in Europe/Amsterdam): after a 00:00 run on the
spring-forward day it skips the next day, and a time inside the repeated autumn hour fires twice. This trigger works
in local calendar days instead: a wall time that does not exist that day fires at the same offset as just before the
gap (02:30 becomes 03:30), one that exists twice fires at its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger


class DailyTrigger(BaseTrigger):  # type: ignore[misc]
    """Fires at local time `at` in `zone`, exactly once per local calendar day."""

    def __init__(self, at: time, zone: ZoneInfo) -> None:
        self.at = at
        self.zone = zone

    def fire_time(self, day: date) -> datetime:
        """The instant the job fires on local `day` (aware, in the zone)."""
        # fold=0: a repeated wall time means its first occurrence, a missing one the pre-gap offset.
        wall = datetime.combine(day, self.at, tzinfo=self.zone).replace(fold=0)
        return wall.astimezone(UTC).astimezone(self.zone)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """The first fire time after `previous_fire_time` (on a later local day), or from `now` on the first call."""
        start = previous_fire_time + timedelta(microseconds=1) if previous_fire_time else now
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        after_day = previous_fire_time.astimezone(self.zone).date() if previous_fire_time else None
        while True:
            candidate = self.fire_time(day)
            if candidate >= start and (after_day is None or day > after_day):
                return candidate
            day += timedelta(days=1)

    def __str__(self) -> str:
        return f"daily at {self.at:%H:%M} {self.zone.key}"

    def __repr__(self) -> str:
        return f"<DailyTrigger at={self.at:%H:%M} zone={self.zone.key!r}>"
