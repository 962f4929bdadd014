"""The digest fires once per local day, also across the Europe/Amsterdam spring and autumn changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest.schedule import DailyTrigger

AMS = ZoneInfo("Europe/Amsterdam")


def fire_times(trigger: DailyTrigger, start: datetime, count: int) -> list[datetime]:
    """Fire times the way APScheduler asks for them: the previous one, and a clock just past it."""
    out: list[datetime] = []
    previous = None
    now = start
    for _ in range(count):
        nxt = trigger.get_next_fire_time(previous, now)
        assert nxt is not None
        out.append(nxt)
        previous, now = nxt, nxt.astimezone(UTC) + timedelta(seconds=1)
    return out


@pytest.mark.parametrize("at", [time(0, 0), time(2, 30), time(3, 0), time(9, 0), time(23, 30)])
@pytest.mark.parametrize("start", [datetime(2026, 3, 26, 12, tzinfo=AMS), datetime(2026, 10, 22, 12, tzinfo=AMS)],
                         ids=["spring", "autumn"])
def test_fires_once_on_every_local_day_across_a_dst_change(at: time, start: datetime) -> None:
    times = fire_times(DailyTrigger(at, AMS), start, 7)
    days = [t.astimezone(AMS).date() for t in times]
    assert days == [days[0] + timedelta(days=i) for i in range(7)]  # consecutive, none twice, none skipped
    assert days[0] <= start.date() + timedelta(days=1)
    assert times == sorted(times)


def test_nine_oclock_stays_nine_oclock_local_after_the_change() -> None:
    times = fire_times(DailyTrigger(time(9), AMS), datetime(2026, 3, 28, 12, tzinfo=AMS), 2)
    assert [t.astimezone(UTC).hour for t in times] == [7, 7]  # 09:00 CEST both days (the 29th is summer time)
    assert [t.astimezone(AMS).hour for t in times] == [9, 9]


def test_a_time_in_the_spring_gap_fires_just_after_it_and_the_repeated_hour_fires_once() -> None:
    trigger = DailyTrigger(time(2, 30), AMS)
    assert trigger.fire_time(date(2026, 3, 29)).astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert trigger.fire_time(date(2026, 10, 25)).astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_a_late_start_fires_the_same_day_if_the_time_is_still_ahead() -> None:
    trigger = DailyTrigger(time(9), AMS)
    assert trigger.get_next_fire_time(None, datetime(2026, 5, 1, 8, tzinfo=AMS)) == datetime(2026, 5, 1, 9, tzinfo=AMS)
    assert trigger.get_next_fire_time(None, datetime(2026, 5, 1, 10, tzinfo=AMS)) == datetime(2026, 5, 2, 9, tzinfo=AMS)


def test_in_a_real_scheduler_the_job_runs_once_per_day() -> None:
    from apscheduler.job import Job
    from apscheduler.schedulers.base import BaseScheduler

    class Dummy(BaseScheduler):  # type: ignore[misc]
        def shutdown(self, wait: bool = True) -> None: ...
        def wakeup(self) -> None: ...

    job = Job(Dummy(), id="digest", func=print, trigger=DailyTrigger(time(2, 30), AMS), executor="default",
              args=(), kwargs={}, name="digest", misfire_grace_time=3600, coalesce=True, max_instances=1,
              next_run_time=datetime(2026, 10, 24, 2, 30, tzinfo=AMS))
    runs = job._get_run_times(datetime(2026, 10, 27, 12, tzinfo=AMS))
    assert [r.astimezone(AMS).date() for r in runs] == [date(2026, 10, d) for d in (24, 25, 26, 27)]
