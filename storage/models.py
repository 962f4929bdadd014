"""The tables, as typed SQLAlchemy 2.0 ORM classes. Alembic migrations in `storage/migrations` create them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.model import TimelineId

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class _SQLiteDateTime(sqlite.DATETIME):
    """SQLite's DATETIME in SQLAlchemy's own text format, converted with the C `isoformat`/`fromisoformat`.

    SQLAlchemy's generic SQLite processors format with `%` and parse with a regular expression, which made datetime
    handling the largest single cost of storing a page of posts. The stored text is identical
    (`2026-11-20 12:00:00.000000`), so databases written either way read the same and compare the same.
    """

    def bind_processor(self, dialect: Dialect) -> Any:
        def process(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        def process(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value)

        return process


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (SQLite keeps none) and always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteDateTime())  # type: ignore[no-untyped-call]
        return dialect.type_descriptor(DateTime())

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # One function instead of TypeDecorator's chain of three: a page of posts binds thousands of datetimes.
        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is UTC:
                # Nearly every value is UTC already (sources normalise to it): its text without the "+00:00" is the
                # same, without building two datetimes. Half the cost; a post binds five or six datetimes.
                return value.isoformat(" ", "microseconds")[:-6]
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r} would be ambiguous; pass an aware one")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} would be ambiguous; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so migrations are the same on every database."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class PostRow(Base):
    """One post, whichever source and however many instances it was seen on: unique by its global `uri`."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    uri: Mapped[str] = mapped_column(Text, unique=True)
    source: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(Text, default="")
    author_handle: Mapped[str] = mapped_column(String(255))
    author_name: Mapped[str] = mapped_column(Text, default="")
    author_url: Mapped[str] = mapped_column(Text, default="")
    author_followers: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(index=True)
    edited_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    refreshed_at: Mapped[datetime | None]
    """When the engagement refresh last asked the origin for it (whether or not anything had changed)."""
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    language_source: Mapped[str | None] = mapped_column(String(16))
    """`declared` (the source's), `detected` (none declared) or `corrected` (detected over a wrong declaration)."""
    replies: Mapped[int] = mapped_column(Integer, default=0)
    boosts: Mapped[int] = mapped_column(Integer, default=0)
    favourites: Mapped[int] = mapped_column(Integer, default=0)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    cx: Mapped[str | None] = mapped_column(String(16))
    sentiment_confidence: Mapped[float | None] = mapped_column(Float)
    """The analyser's probability of `sentiment` (0..1); NULL for posts analysed before it gave one."""
    cx_confidence: Mapped[float | None] = mapped_column(Float)
    topics: Mapped[list[str] | None]


class PostSourceRow(Base):
    """Where a post was read and under which id: one row per (origin, remote id)."""

    __tablename__ = "post_sources"
    __table_args__ = (UniqueConstraint("origin", "remote_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(String(255))
    remote_id: Mapped[str] = mapped_column(String(128))
    seen_at: Mapped[datetime]


class PostTagRow(Base):
    """A hashtag a post carries, lower-case without `#`."""

    __tablename__ = "post_tags"
    __table_args__ = (Index("ix_post_tags_tag_created_at", "tag", "created_at"),)

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    # Copied from the post so per-day tag counts are an index range scan, not a join over every post.
    created_at: Mapped[datetime]


class MentionRow(Base):
    """One reason a post mentions a brand: the configured term, hashtag or handle that matched."""

    __tablename__ = "mentions"
    # Covering the digest's per-brand, per-day, per-sentiment counts: an index-only range scan.
    __table_args__ = (Index("ix_mentions_brand_created_at_sentiment", "brand", "created_at", "sentiment", "post_id"),)

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    brand: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    matched: Mapped[str] = mapped_column(String(255), primary_key=True)
    # Copied from the post: the digest counts mentions per brand, day and sentiment without touching `posts`.
    created_at: Mapped[datetime]
    sentiment: Mapped[str | None] = mapped_column(String(16))


class PollCursorRow(Base):
    """How far one timeline (an instance's hashtag, a Discord channel) has been read."""

    __tablename__ = "poll_cursors"

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    origin: Mapped[str] = mapped_column(String(255), primary_key=True)
    scope: Mapped[str] = mapped_column(String(255), primary_key=True)
    newest_id: Mapped[str | None] = mapped_column(String(128))
    """The newest item stored; the next poll asks for what came after it."""
    backfill_before: Mapped[str | None] = mapped_column(String(128))
    """While the first backfill runs: the oldest item stored so far, where it resumes after a crash."""
    backfill_done: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class SourceHealthRow(Base):
    """How a source has been doing: its last success and error, and whether it is backing off."""

    __tablename__ = "source_health"

    @property
    def timeline(self) -> TimelineId:
        """Which timeline this row is about."""
        return TimelineId.of(self.source, self.origin, self.scope)

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    origin: Mapped[str] = mapped_column(String(255), primary_key=True)
    scope: Mapped[str] = mapped_column(String(255), primary_key=True)
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    total_errors: Mapped[int] = mapped_column(Integer, default=0)
    total_polls: Mapped[int] = mapped_column(Integer, default=0)
    posts_new: Mapped[int] = mapped_column(BigInteger, default=0)
    posts_skipped: Mapped[int] = mapped_column(BigInteger, default=0)
    last_success_at: Mapped[datetime | None]
    last_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[datetime | None]
    backoff_until: Mapped[datetime | None]


class DigestRow(Base):
    """One day's digest for one channel: pending until Discord confirmed every message, then sent."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("day", "channel_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    channel_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    nonce: Mapped[str] = mapped_column(String(32))
    message_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class WatchRow(Base):
    """One watch changed at run time (CLI or Discord): added, or removed (a tombstone that can hide a config entry).

    The config file seeds the watch list; these rows are layered on top of it by `bot.watch.watchlist`.
    """

    __tablename__ = "watches"
    __table_args__ = (UniqueConstraint("kind", "key", "instance"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    """`hashtag`, `brand` or `channel`."""
    key: Mapped[str] = mapped_column(String(255))
    """The normalised hashtag, the case-folded brand name, or the channel id."""
    instance: Mapped[str] = mapped_column(String(255), default="")
    """For hashtags: the one instance URL it is polled on, or "" for every instance."""
    brand: Mapped[str | None] = mapped_column(String(255))
    """For hashtags: the brand it counts for."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """For brands: the brand definition, validated like a `[[brands]]` table."""
    state: Mapped[str] = mapped_column(String(16))
    """`active` or `removed`."""
    config_fingerprint: Mapped[str | None] = mapped_column(String(64))
    """On a removal of a config entry: what that entry looked like; the tombstone lapses once the config differs."""
    changed_by: Mapped[str] = mapped_column(String(255))
    changed_at: Mapped[datetime]


class WatchChangeRow(Base):
    """The append-only audit log of watch changes; its highest id doubles as the watch list's change counter."""

    __tablename__ = "watch_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(255))
    instance: Mapped[str] = mapped_column(String(255), default="")
    action: Mapped[str] = mapped_column(String(16))
    """`add`, `remove` or `lapse` (a run-time removal that ended because the config changed)."""
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    changed_by: Mapped[str] = mapped_column(String(255))
    changed_at: Mapped[datetime] = mapped_column(index=True)


class SourceOutageRow(Base):
    """One ended outage of a timeline: from its first failed poll to the poll that worked again.

    The digest reads these to say which sources were down and for how long, so a dip in the numbers is explained;
    an outage still going on is `SourceHealthRow.failing_since`.
    """

    __tablename__ = "source_outages"
    __table_args__ = (Index("ix_source_outages_ended_at", "ended_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    errors: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class SkippedPostRow(Base):
    """A post that was read but could not be stored, with the reason: the timeline's cursor moved past it."""

    __tablename__ = "skipped_posts"
    __table_args__ = (
        Index("ix_skipped_posts_skipped_at", "skipped_at"),
        # `storage.skipped.record_skipped` looks up the ids of a page before recording them once each.
        Index("ix_skipped_posts_remote_id", "remote_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(255))
    remote_id: Mapped[str] = mapped_column(String(128))
    uri: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    skipped_at: Mapped[datetime]


class MentionCountRow(Base):
    """Brand mentions of posts that retention purged, per brand, UTC hour and sentiment.

    The digest's chart and its comparisons (the day before, the 7-day average) count mentions per local day; once
    `storage.retention` deletes old posts, their counts live on here, so a chart over the window stays right. Hours
    rather than days: a local day is a whole number of UTC hours in every zone with a whole-hour offset.
    """

    __tablename__ = "mention_counts"

    brand: Mapped[str] = mapped_column(String(255), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    sentiment: Mapped[str] = mapped_column(String(16), primary_key=True)
    """The sentiment label, or `unknown` (as the digest's live counts spell a missing one)."""
    posts: Mapped[int] = mapped_column(Integer, default=0)


class AlertRow(Base):
    """One alert, from the moment it was decided: pending with a nonce, then sent with Discord's message id.

    `key` makes an alert happen once: a post's needs-an-answer alert, a brand's spike or sentiment turn from the
    minute it began. Held alerts (quiet hours, cooldown, the hourly cap) wait for a summary; dropped ones (a muted
    brand) are only recorded.
    """

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_brand_kind_created_at", "brand", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    """`needs_answer`, `spike`, `sentiment` or `summary`."""
    brand: Mapped[str] = mapped_column(String(255))
    channel_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    """`pending`, `sent`, `held`, `summarised` or `dropped`."""
    reason: Mapped[str | None] = mapped_column(Text)
    """Why it was held or dropped."""
    nonce: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The message body as sent (or to be sent), without its nonce."""
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The numbers behind it (count, expected, share, followers...) and a one-line headline."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    summary_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    """For a held alert: the summary that reported it."""
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class AlertMuteRow(Base):
    """A brand whose alerts are muted at run time (`/alerts mute`), until a time or until unmuted."""

    __tablename__ = "alert_mutes"

    brand: Mapped[str] = mapped_column(String(255), primary_key=True)
    """The case-folded brand name."""
    until: Mapped[datetime | None]
    muted_by: Mapped[str] = mapped_column(String(255))
    muted_at: Mapped[datetime]


class BudgetSpendRow(Base):
    """One request sent to a Mastodon instance by any `merkwacht worker`: the instance budgets shared by all workers.

    Workers count what was sent in the last 5 (API) and 15 (paging) minutes from these rows, under a per-instance
    lock, so all of them together stay within each instance's limits (`storage.budgets`).
    """

    __tablename__ = "budget_spends"
    __table_args__ = (Index("ix_budget_spends_origin_sent_at", "origin", "sent_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    origin: Mapped[str] = mapped_column(String(255))
    sent_at: Mapped[float] = mapped_column(Float)
    """Epoch seconds (the budgets' clock)."""
    paging: Mapped[bool] = mapped_column(Boolean, default=False)
