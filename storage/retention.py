"""`storage.retention`: posts older than the retention are deleted, their brand-mention counts kept as aggregates.

The digest's chart and comparisons read mentions per brand, local day and sentiment. Before a batch of old posts
is deleted, its mentions are counted per brand, UTC hour and sentiment and added to `mention_counts` in the same
transaction, so the digest's numbers over any window are the same before and after a purge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.db import Database
from storage.deletions import Removed, delete_posts
from storage.models import MentionCountRow, MentionRow, PostRow

BATCH = 2000
"""Posts purged per transaction: a first purge of a large database never holds one huge transaction."""

UNKNOWN = "unknown"
"""How a mention without a sentiment is counted (as the digest's live counts spell it)."""


@dataclass(frozen=True, slots=True)
class Purged:
    """What one purge removed, and how many mention counts it kept."""

    removed: Removed
    counted: int
    """Brand mentions (distinct post × brand) added to `mention_counts`."""


def hour_of(when: datetime) -> datetime:
    """The start of the UTC hour `when` falls in."""
    return when.replace(minute=0, second=0, microsecond=0)


def _add_counts(session: Session, counts: Counter[tuple[str, datetime, str]]) -> None:
    if not counts:
        return
    brands = sorted({k[0] for k in counts})
    hours = sorted({k[1] for k in counts})
    existing = {
        (row.brand, row.hour, row.sentiment)
        for row in session.execute(
            select(MentionCountRow.brand, MentionCountRow.hour, MentionCountRow.sentiment).where(
                MentionCountRow.brand.in_(brands), MentionCountRow.hour >= hours[0], MentionCountRow.hour <= hours[-1]
            )
        )
    }
    fresh = []
    for key, n in counts.items():
        if key in existing:
            brand, hour, sentiment = key
            session.execute(
                update(MentionCountRow)
                .where(MentionCountRow.brand == brand, MentionCountRow.hour == hour,
                       MentionCountRow.sentiment == sentiment)
                .values(posts=MentionCountRow.posts + n)
            )
        else:
            fresh.append(MentionCountRow(brand=key[0], hour=key[1], sentiment=key[2], posts=n))
    session.add_all(fresh)
    session.flush()


def purge_batch(session: Session, before: datetime, batch: int = BATCH) -> Purged:
    """Count, then delete, up to `batch` posts written before `before`, in the caller's transaction."""
    ids = list(session.scalars(select(PostRow.id).where(PostRow.created_at < before).order_by(PostRow.id)
                               .limit(batch)))
    if not ids:
        return Purged(Removed(), 0)
    pairs: dict[tuple[str, int], tuple[datetime, str]] = {}
    for row in session.execute(
        select(MentionRow.brand, MentionRow.post_id, MentionRow.created_at, MentionRow.sentiment).where(
            MentionRow.post_id.in_(ids)
        )
    ):
        # One mention per (post, brand), however many of the brand's terms and tags matched.
        pairs[(row.brand, row.post_id)] = (hour_of(row.created_at), row.sentiment or UNKNOWN)
    counts: Counter[tuple[str, datetime, str]] = Counter(
        (brand, hour, sentiment) for (brand, _), (hour, sentiment) in pairs.items()
    )
    _add_counts(session, counts)
    return Purged(delete_posts(session, ids), len(pairs))


def aggregate_series(
    session: Session, brands: Sequence[str], bounds: Sequence[datetime]
) -> list[tuple[str, int, str, int]]:
    """(brand, day index, sentiment, posts) from `mention_counts` for the days between consecutive `bounds`."""
    if not brands:
        return []
    out: Counter[tuple[str, int, str]] = Counter()
    rows: Any = session.execute(
        select(MentionCountRow.brand, MentionCountRow.hour, MentionCountRow.sentiment, MentionCountRow.posts).where(
            MentionCountRow.brand.in_(list(brands)), MentionCountRow.hour >= bounds[0],
            MentionCountRow.hour < bounds[-1]
        )
    )
    for brand, hour, sentiment, posts in rows:
        day = next(i for i, end in enumerate(bounds[1:]) if hour < end)
        out[(brand, day, sentiment)] += int(posts)
    return [(brand, day, sentiment, n) for (brand, day, sentiment), n in out.items()]


def purge(db: Database, before: datetime, batch: int = BATCH) -> Purged:
    """Purge every post written before `before`, a committed batch at a time; what was removed in all."""
    removed, counted = Removed(), 0
    while True:
        with db.transaction() as session:
            done = purge_batch(session, before, batch)
        removed, counted = removed + done.removed, counted + done.counted
        if done.removed.posts < batch:
            return Purged(removed, counted)
