"""What every source offers the ingest loop: a timeline read forward from a cursor, and backward for a backfill.

The core never sees HTTP: a source turns its server's answers into normalised `Post`s and opaque ids.
Methods are coroutines; a source built on a blocking client runs it in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from bot.model import Post, TimelineId

SourceErrorKind = Literal[
    "network", "timeout", "rate_limited", "deferred", "unauthorized", "forbidden", "not_found", "server", "malformed"
]
"""Why a source could not be read; `deferred` means our own request budget is spent, so nothing was sent."""


class SourceError(Exception):
    """A source could not be read this time; `kind` says why, for health, metrics and backoff."""

    def __init__(self, kind: SourceErrorKind, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind: SourceErrorKind = kind
        self.retry_after = retry_after
        """Seconds the server asked us to wait, when it said."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """An item of a page that could not be made into a storable post, and why."""

    remote_id: str
    uri: str
    reason: str


@dataclass(frozen=True, slots=True)
class Page:
    """One answer of a timeline: the posts in it, newest first as the server ordered them."""

    posts: list[Post] = field(default_factory=list)
    newest_id: str | None = None
    """The id to read forward from next time (the server's newest in this page)."""
    oldest_id: str | None = None
    """The id to continue a backward read from."""
    oldest_created_at: datetime | None = None
    """When the oldest item in the page was written, to stop a backfill."""
    raw_count: int = 0
    """Items the server returned, before any was dropped (0 means the end was reached)."""
    ids: tuple[str, ...] = ()
    """The ids of every item returned, in the server's order (compared for equality only, never for order)."""
    post_ids: tuple[str, ...] = ()
    """The id of the item each of `posts` came from (a boost's own id, not its original's), in the same order."""
    ends: bool = False
    """The server returned fewer items than asked: nothing lies beyond this page in the direction read."""
    rejected: list[Rejected] = field(default_factory=list)
    """Items that could not be made into a storable post, with the reason (the ingest loop records them)."""


class Timeline(Protocol):
    """A stream of posts that a cursor can resume: a hashtag on an instance, or a Discord channel."""

    @property
    def id(self) -> TimelineId:
        """Which timeline this is: its cursor, health and scheduler job are keyed by it."""
        ...

    async def newer(self, after_id: str) -> Page:
        """The page of items right after `after_id` (forward paging)."""
        ...

    async def older(self, before_id: str | None) -> Page:
        """The page of items right before `before_id`, or the newest page when it is None."""
        ...
