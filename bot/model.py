"""Plain data shared by every stage of the pipeline: sources, analysis, storage and digest.

Nothing here knows about HTTP, SQL or Discord; each stage turns its own input into these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

SentimentLabel = Literal["positive", "neutral", "negative"]
"""The three sentiment classes Merkwacht reports."""

CxType = Literal["complaint", "praise", "question", "suggestion", "other"]
"""What a community manager does with a post: answer it, thank for it, or just note it."""

MatchKind = Literal["term", "hashtag", "handle"]
"""How a brand was found in a post."""


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
    source: str
    """`mastodon` or `discord`."""
    origin: str
    """Where it was read: the instance base URL, or `discord:<guild>/<channel>`."""
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
