"""Query results to a `Digest`: which local day, which UTC instants bound it, and the per-brand numbers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.digest.model import SENTIMENTS, BrandDigest, DayCounts, Digest, SourceGap
from storage import digest_queries as q
from storage.health import outages

CHART_DAYS = 14
"""Days shown in the chart, ending with the digest day; also covers the day before and the 7-day average."""


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local calendar day starts (23 or 25 hours apart around DST changes)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def day_bounds(first: date, days: int, zone: ZoneInfo) -> list[datetime]:
    """`days + 1` UTC instants: the local midnights starting `first` and each following day."""
    return [local_midnight(first + timedelta(days=i), zone) for i in range(days + 1)]


def previous_local_day(now: datetime, zone: ZoneInfo) -> date:
    """The calendar day before `now` in `zone`: what a digest sent at `now` covers."""
    return now.astimezone(zone).date() - timedelta(days=1)


MIN_GAP = timedelta(minutes=15)
"""Outages shorter than this (a failed poll retried minutes later) lose nothing worth a note: the cursor catches up."""


def source_gaps(session: Session, start: datetime, end: datetime) -> list[SourceGap]:
    """The sources that were down for a while during [start, end)."""
    gaps = []
    for outage in outages(session, start, min_duration=MIN_GAP):
        if outage.started_at >= end:
            continue
        gaps.append(
            SourceGap(outage.timeline, outage.started_at, outage.ended_at, outage.errors)
        )
    return gaps


def build_digest(
    session: Session,
    day: date,
    *,
    zone: ZoneInfo,
    brands: Sequence[str],
    watched_tags: Sequence[str] = (),
    needs_answer_limit: int = 10,
    top_limit: int = 5,
) -> Digest:
    """Everything the digest for local `day` says, from the stored posts."""
    first = day - timedelta(days=CHART_DAYS - 1)
    bounds = day_bounds(first, CHART_DAYS, zone)
    start, end = bounds[-2], bounds[-1]
    brands = list(dict.fromkeys(brands))
    series = q.mention_series(session, brands, bounds)
    answer = q.needs_answer(session, brands, start, end, limit=needs_answer_limit)
    top = q.top_posts(session, brands, start, end, limit=top_limit)
    total, unbranded = q.post_counts(session, start, end)

    brand_digests = []
    chart: dict[str, list[DayCounts]] = {}
    for brand in brands:
        days = [DayCounts(first + timedelta(days=i), counts) for i, counts in enumerate(series[brand])]
        chart[brand] = days
        week = days[-8:-1]
        brand_digests.append(
            BrandDigest(
                brand=brand,
                mentions=days[-1].total,
                previous_day=days[-2].total,
                average_7d=sum(d.total for d in week) / len(week),
                sentiment={s: days[-1].by_sentiment.get(s, 0) for s in SENTIMENTS},
                needs_answer=answer[brand].posts,
                needs_answer_total=answer[brand].total,
                top_posts=top[brand].posts,
            )
        )
    return Digest(
        day=day,
        timezone=zone.key,
        brands=brand_digests,
        hashtags=q.busiest_hashtags(session, start, end),
        sources=q.busiest_sources(session, start, end),
        unbranded_tags=q.unbranded_tags(session, list(watched_tags), start, end),
        unbranded_posts=unbranded,
        total_posts=total,
        series=chart,
        gaps=source_gaps(session, start, end),
    )
