"""Plain data shared by every stage of the pipeline: sources, analysis, storage and digest.

Nothing here knows about HTTP, SQL or Discord; each stage turns its own input into these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

SentimentLabel = Literal["positive", "neutral", "negative"]
"""The three sentiment classes Merkwacht reports."""

CxType = Literal["complaint", "praise", "question", "suggestion", "other"]
"""What a community manager does with a post: answer it, thank for it, or just note it."""

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
"""The databases Merkwacht stores to (SQLAlchemy backend names); the config refuses any other URL."""

LanguageSource = Literal["declared", "detected", "corrected"]
"""Where a stored post's language came from: the source's declaration, detection (none declared), or detection
overriding a declaration the text clearly contradicts (GoToSocial declares `en` for every post)."""

MatchKind = Literal["term", "hashtag", "handle"]
"""How a brand was found in a post."""


class SourceKind(StrEnum):
    """Where posts come from. A `StrEnum`, so it is stored and compared as its plain value."""

    MASTODON = "mastodon"
    DISCORD = "discord"


@dataclass(frozen=True, slots=True, order=True)
class TimelineId:
    """One timeline Merkwacht reads: a hashtag on a Mastodon-API server, or a Discord channel.

    Its three parts are stored as the `source`, `origin` and `scope` columns of the cursor and health tables.
    """

    source: SourceKind
    server: str
    """The instance's base URL, or `discord` (a channel id is unique across Discord)."""
    feed: str
    """The hashtag (lower-case, without `#`), or the channel id."""

    @property
    def key(self) -> str:
        """Its one-word name, used for scheduler jobs and `poll --source`: `mastodon:https://x#tag`."""
        return f"{self.source.value}:{self.server}#{self.feed}"

    @property
    def label(self) -> str:
        """In plain text: `mastodon.social #acme`, `Discord channel 1234`."""
        if self.source is SourceKind.DISCORD:
            return f"Discord channel {self.feed}"
        return f"{self.server.split('://', 1)[-1]} #{self.feed}"

    def __str__(self) -> str:
        return self.key

    @classmethod
    def of(cls, source: str, server: str, feed: str) -> TimelineId:
        """From stored column values (the source as text)."""
        return cls(SourceKind(source), server, feed)


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a post, as the source describes them."""

    handle: str
    """`user@instance` on the fediverse, the user id on Discord."""
    display_name: str = ""
    url: str = ""
    followers: int = 0
    bot: bool = False
    opted_out: bool = False
    """The author asked not to be indexed (`noindex`, or #nobot / #noindex / #nosearch in the bio)."""


@dataclass(frozen=True, slots=True)
class Engagement:
    """How others reacted to a post when it was last seen."""

    replies: int = 0
    boosts: int = 0
    favourites: int = 0

    @property
    def total(self) -> int:
        """All reactions together."""
        return self.replies + self.boosts + self.favourites


@dataclass(frozen=True, slots=True)
class Post:
    """One normalised post from any source, before analysis."""

    uri: str
    """Globally unique identity: the ActivityPub `uri`, or a Discord message's jump URL."""
    source: SourceKind
    origin: str
    """Where it was read, as a link target: the instance base URL, or `discord:<guild>/<channel>`."""
    remote_id: str
    """The id the origin uses for it; opaque, never compared or converted."""
    url: str
    author: Author
    created_at: datetime
    """Timezone-aware UTC."""
    text: str
    """Plain text: markup removed, entities decoded, link text kept."""
    language: str | None = None
    """The language the source declared, if any (ISO 639-1)."""
    tags: tuple[str, ...] = ()
    """Hashtags, lower-case, without `#`."""
    mentions: tuple[str, ...] = ()
    """Mentioned accounts as `user@instance` (lower-case)."""
    edited_at: datetime | None = None
    engagement: Engagement = field(default_factory=Engagement)
    sensitive: bool = False
    spoiler_text: str = ""
    in_reply_to: str | None = None
    language_source: LanguageSource | None = None
    """Set by the language check: `corrected` when `language` is the detected one replacing the declaration."""


@dataclass(frozen=True, slots=True)
class BrandMatch:
    """One reason a post mentions a brand."""

    brand: str
    kind: MatchKind
    matched: str
    """The configured term, hashtag or handle that matched."""


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the analysis stage concluded about a post."""

    language: str | None
    sentiment: SentimentLabel
    sentiment_score: float
    """From -1 (very negative) to 1 (very positive)."""
    cx: CxType
    topics: tuple[str, ...] = ()
    sentiment_confidence: float | None = None
    """How sure the analyser is of `sentiment`: the model's probability of that label (0..1); None if unknown."""
    cx_confidence: float | None = None
    """How sure the analyser is of `cx`, likewise."""


@dataclass(frozen=True, slots=True)
class AnalysedPost:
    """A post with what matching and analysis found: the unit that storage keeps."""

    post: Post
    matches: tuple[BrandMatch, ...] = ()
    analysis: Analysis | None = None


@dataclass(frozen=True, slots=True)
class PostSummary:
    """One stored post as a digest or an alert shows it: who, where, when, an excerpt and a link."""

    uri: str
    url: str
    source: str
    origin: str
    author: str
    created_at: datetime
    text: str
    spoiler_text: str = ""
    sentiment: str | None = None
    cx: str | None = None
    replies: int = 0
    boosts: int = 0
    favourites: int = 0
    followers: int = 0

    @property
    def engagement(self) -> int:
        """All reactions together."""
        return self.replies + self.boosts + self.favourites


WatchKind = Literal["hashtag", "brand", "channel"]
"""What a watch-list entry is about."""

WatchState = Literal["active", "removed", "lapsed"]
"""A run-time watch change: it adds its entry, removes it, or no longer applies (the config file changed it)."""

WATCH_ABSENT = "absent"
"""The fingerprint of a config entry the config does not have."""


@dataclass(frozen=True, slots=True)
class StoredWatch:
    """A run-time change as stored: what it is about, whether it adds or removes, and who made it when."""

    kind: WatchKind
    key: str
    instance: str = ""
    brand: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    state: WatchState = "active"
    config_fingerprint: str | None = WATCH_ABSENT
    changed_by: str = ""
    changed_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether this row adds (rather than removes) its entry."""
        return self.state == "active"


@dataclass(frozen=True, slots=True)
class SkippedPost:
    """A post that was read but could not be stored, with the reason: recorded so the timeline moves on past it."""

    timeline: TimelineId
    remote_id: str
    uri: str
    reason: str
