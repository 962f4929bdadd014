"""The three alert rules as pure functions of what storage found: no clock, no database, no Discord.

- needs an answer now: a complaint or question whose author's reach or early engagement passes a threshold (or any
  complaint, for brands that ask for that);
- volume spike: the mentions of the last hour are improbable under the brand's hour-of-week baseline
  (negative-binomial tail below `alpha`, and at least `min_count` of them);
- sentiment turn: the negative share of the last hours is improbable under the brand's normal share (binomial tail
  below `alpha`), at least `min_lift` above it, with at least `min_posts` labelled posts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.alerts.stats import binom_sf, nbinom_sf
from storage.alert_queries import StoredPost

AlertKind = Literal["needs_answer", "spike", "sentiment", "summary"]
"""What an alert is about; a summary reports alerts held back by quiet hours, a cooldown or the hourly cap."""

KINDS: tuple[AlertKind, ...] = ("needs_answer", "spike", "sentiment")
"""The kinds a rule can find (a summary is made by the anti-storm policy)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """Something worth an alert, before the anti-storm policy and rendering."""

    key: str
    """The ledger key: one alert per post, per spike and per sentiment turn."""
    kind: AlertKind
    brand: str
    at: datetime
    figures: dict[str, Any]
    posts: tuple[StoredPost, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class AnswerRule:
    """When a complaint or question needs an answer now."""

    followers: int = 1000
    engagement: int = 10
    any_complaint: bool = False


def post_key(uri: str) -> str:
    """The ledger key of a post's needs-an-answer alert (a digest of its uri, which can be long)."""
    return "answer:" + hashlib.sha256(uri.encode()).hexdigest()[:40]


def needs_answer(post: StoredPost, rule: AnswerRule) -> Finding | None:
    """A finding when `post` is a complaint or question that passes `rule`, else None."""
    if post.cx not in ("complaint", "question"):
        return None
    reasons = []
    if rule.followers and post.followers >= rule.followers:
        reasons.append("reach")
    if rule.engagement and post.engagement >= rule.engagement:
        reasons.append("engagement")
    if rule.any_complaint and post.cx == "complaint":
        reasons.append("every complaint")
    if not reasons:
        return None
    figures = {"cx": post.cx, "followers": post.followers, "engagement": post.engagement, "reasons": reasons}
    return Finding(post_key(post.uri), "needs_answer", post.brand, post.created_at, figures, (post,))


@dataclass(frozen=True, slots=True)
class SpikeRule:
    """How improbable, and how large, a count must be to be a spike."""

    alpha: float = 1e-4
    min_count: int = 8


def spike(brand: str, count: int, expected: float, overdispersion: float, at: datetime, rule: SpikeRule,
          window_hours: float = 1.0) -> Finding | None:
    """A finding when `count` mentions (in the window ending `at`) are far above the `expected` count, else None."""
    if count < rule.min_count:
        return None
    p = nbinom_sf(count, max(expected, 1e-3), overdispersion)
    if p >= rule.alpha:
        return None
    figures = {"count": count, "expected": round(expected, 2), "p": p, "overdispersion": round(overdispersion, 3),
               "window_hours": window_hours, "peak": count}
    return Finding(f"spike:{brand.casefold()}:{at:%Y-%m-%dT%H:%M}", "spike", brand, at, figures)


@dataclass(frozen=True, slots=True)
class SentimentRule:
    """How improbable, how far above normal and how well supported a negative share must be."""

    alpha: float = 1e-3
    min_posts: int = 10
    min_lift: float = 0.2


PRIOR_NEGATIVE_SHARE = 0.2
"""The negative share assumed of a brand without history (about what customer talk shows)."""
PRIOR_POSTS = 20.0
"""How many labelled posts that assumption is worth."""


def normal_share(negative: int, labelled: int) -> float:
    """A brand's usual negative share from its history, shrunk toward PRIOR_NEGATIVE_SHARE while history is thin."""
    return (negative + PRIOR_NEGATIVE_SHARE * PRIOR_POSTS) / (labelled + PRIOR_POSTS)


def sentiment_turn(brand: str, negative: int, labelled: int, normal: float, at: datetime, rule: SentimentRule,
                   window_hours: float = 3.0) -> Finding | None:
    """A finding when `negative` of `labelled` recent posts is far above the `normal` share, else None."""
    if labelled < rule.min_posts or labelled == 0:
        return None
    share = negative / labelled
    if share < normal + rule.min_lift:
        return None
    p = binom_sf(negative, labelled, min(max(normal, 1e-3), 0.999))
    if p >= rule.alpha:
        return None
    figures = {"negative": negative, "labelled": labelled, "share": round(share, 3), "normal": round(normal, 3),
               "p": p, "window_hours": window_hours}
    return Finding(f"sentiment:{brand.casefold()}:{at:%Y-%m-%dT%H:%M}", "sentiment", brand, at, figures)
