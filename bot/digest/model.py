"""A day's digest as plain data: what the queries found, before anything is rendered for Discord."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.model import PostSummary, TimelineId

SENTIMENTS: tuple[str, ...] = ("positive", "neutral", "negative", "unknown")
"""Sentiment buckets in display order; `unknown` holds posts the analysis has not labelled."""


@dataclass(frozen=True, slots=True)
class DayCounts:
    """Distinct posts mentioning a brand on one local day, per sentiment bucket."""

    day: date
    by_sentiment: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """All posts of the day, whatever their sentiment."""
        return sum(self.by_sentiment.values())


@dataclass(frozen=True, slots=True)
class BrandDigest:
    """One brand's day: volume and its trend, sentiment, what needs an answer and what travelled furthest."""

    brand: str
    mentions: int
    previous_day: int
    average_7d: float
    """Mean daily mentions over the 7 days before the digest day."""
    sentiment: dict[str, int]
    needs_answer: list[PostSummary]
    """Complaints and questions, oldest first (possibly only the first ones)."""
    needs_answer_total: int
    top_posts: list[PostSummary]
    """Highest engagement relative to the author's reach first."""


@dataclass(frozen=True, slots=True)
class SourceGap:
    """A source that could not be read during part of the digest's day, so its numbers may be low."""

    timeline: TimelineId
    started_at: datetime
    ended_at: datetime | None
    """None while it is still down."""
    failed_polls: int

    @property
    def name(self) -> str:
        """In plain text: `mastodon.social #acme`, `Discord channel 1234`."""
        return self.timeline.label


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything one day's digest says."""

    day: date
    timezone: str
    brands: list[BrandDigest]
    hashtags: list[tuple[str, int]]
    """Busiest hashtags of the day among all stored posts, busiest first."""
    sources: list[tuple[str, int]]
    """Busiest origins (instances, Discord channels), busiest first."""
    unbranded_tags: list[tuple[str, int]]
    """Watched hashtags' activity in posts that mention no brand."""
    unbranded_posts: int
    total_posts: int
    series: dict[str, list[DayCounts]]
    """Per brand, the 14 days up to and including `day`, oldest first: the chart's data."""
    gaps: list[SourceGap] = field(default_factory=list)
    """Sources that were down during the day: a dip in the numbers is never left unexplained."""

    @property
    def is_empty(self) -> bool:
        """Nothing at all was stored for the day."""
        return self.total_posts == 0 and not any(b.mentions for b in self.brands)
