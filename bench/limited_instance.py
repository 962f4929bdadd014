"""A simulated Mastodon instance for the coverage benchmark: hashtag timelines with Mastodon's paging semantics and
both of its rate limits, on a clock the benchmark moves.

Why not mastodon-mock over HTTP: two simulated hours of 200 tags are thousands of polls, and the point is what the
scheduler does against the limits over hours, not the HTTP stack (which the test suite covers against
mastodon-mock). Everything on our side of the wire is the real code: `budgeted_call` spends from the real
`RequestBudget`, the answer is normalised by `page_from_statuses` as in production, and the real `Ingestor` stores
it. What this server models, from Mastodon's source:

- `GET /api/v1/timelines/tag/:tag` with `limit` (≤ 40), `max_id`, `min_id`, newest first; `min_id` gives the posts
  right after the cursor; `any[]` (up to 4 more tags) when `honours_any` is set (Mastodon, Pleroma, Akkoma), ignored
  otherwise (GoToSocial, mastodon-mock);
- rack-attack's throttles: 300 requests per 5 minutes per IP, and 300 paging requests (`min_id`, `max_id`,
  `since_id`, `page`) per 15 minutes per IP, each counted in fixed windows aligned to the epoch as rack-attack does;
  every answer carries `X-RateLimit-*` of the general limit, a refused one is a 429 with the throttle's own reset.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mastodon.errors import MastodonRatelimitError

from bot.model import SourceKind, TimelineId
from bot.sources.base import Page
from bot.sources.mastodon.ratelimit import RequestBudget, is_paging
from bot.sources.mastodon.timeline import PAGE_SIZE, budgeted_call, page_from_statuses

URL = "https://limited.example"


@dataclass
class Throttle:
    """One rack-attack throttle: `limit` requests per `period` seconds, in windows aligned to the epoch."""

    limit: int
    period: float
    window: int = -1
    count: int = 0

    def allow(self, now: float) -> bool:
        """Count one request; False (a 429) when this window's allowance is spent."""
        window = int(now // self.period)
        if window != self.window:
            self.window, self.count = window, 0
        self.count += 1
        return self.count <= self.limit

    def headers(self, now: float) -> dict[str, str]:
        """`X-RateLimit-*` as Mastodon sends them (Reset as an ISO timestamp)."""
        reset = (int(now // self.period) + 1) * self.period
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.limit - self.count, 0)),
            "X-RateLimit-Reset": datetime.fromtimestamp(reset, UTC).isoformat(),
        }


@dataclass
class LimitedInstance:
    """The server: posts by id (increasing, as snowflakes are), per tag, and the two throttles."""

    clock: Callable[[], float]
    honours_any: bool = True
    api: Throttle = field(default_factory=lambda: Throttle(300, 300.0))
    paging: Throttle = field(default_factory=lambda: Throttle(300, 900.0))
    by_tag: dict[str, list[int]] = field(default_factory=dict)
    created: dict[int, float] = field(default_factory=dict)
    tags_of: dict[int, tuple[str, ...]] = field(default_factory=dict)
    next_id: int = 100_000
    requests: int = 0
    paging_requests: int = 0
    refused: int = 0
    refused_paging: int = 0

    def publish(self, tags: Sequence[str], when: float) -> str:
        """A new post carrying `tags`, written at `when` (its id follows every earlier one); its uri."""
        self.next_id += 1
        item = self.next_id
        self.created[item] = when
        self.tags_of[item] = tuple(tags)
        for tag in tags:
            self.by_tag.setdefault(tag, []).append(item)
        return self.uri(item)

    def uri(self, item: int) -> str:
        """The post's global uri."""
        return f"{URL}/users/alice/statuses/{item}"

    def timeline(self, tag: str, params: Mapping[str, str], any_tags: Sequence[str] = ()) -> tuple[int, dict[str, str],
                                                                                                 list[dict[str, Any]]]:
        """One request: (status, headers, statuses)."""
        now = self.clock()
        paging = is_paging(params)
        self.requests += 1
        self.paging_requests += paging
        if not self.api.allow(now):
            self.refused += 1
            return 429, self.api.headers(now), []
        if paging and not self.paging.allow(now):
            self.refused += 1
            self.refused_paging += 1
            return 429, self.paging.headers(now), []
        tags = [tag, *(any_tags if self.honours_any else ())]
        items = sorted({i for t in tags for i in self.by_tag.get(t, ())})
        limit = min(int(params.get("limit", PAGE_SIZE)), PAGE_SIZE)
        if "min_id" in params:
            start = bisect.bisect_right(items, int(params["min_id"]))
            chosen = items[start:start + limit]
        else:
            end = bisect.bisect_left(items, int(params["max_id"])) if "max_id" in params else len(items)
            chosen = items[max(end - limit, 0):end]
        return 200, self.api.headers(now), [self.status(i) for i in reversed(chosen)]

    def status(self, item: int) -> dict[str, Any]:
        """A status as Mastodon's JSON has it (the fields the normaliser reads)."""
        return {
            "id": str(item),
            "uri": self.uri(item),
            "url": f"{URL}/@alice/{item}",
            "created_at": datetime.fromtimestamp(self.created[item], UTC).isoformat(),
            "content": f"<p>post {item} " + " ".join(f"#{t}" for t in self.tags_of[item]) + "</p>",
            "language": "en",
            "account": {"acct": "alice", "url": f"{URL}/@alice", "display_name": "Alice", "followers_count": 10},
            "tags": [{"name": t} for t in self.tags_of[item]],
            "mentions": [],
        }


class LimitedTimeline:
    """One hashtag of the simulated instance, read through the production budget and normaliser."""

    def __init__(self, server: LimitedInstance, tag: str, budget: RequestBudget, *, head_first: bool) -> None:
        self.server = server
        self.tag = tag
        self.budget = budget
        self.head_first = head_first

    @property
    def id(self) -> TimelineId:
        """The hashtag on the simulated instance."""
        return TimelineId(SourceKind.MASTODON, URL, self.tag)

    async def newer(self, after_id: str) -> Page:
        """`min_id` paging."""
        return self._fetch({"min_id": after_id})

    async def older(self, before_id: str | None) -> Page:
        """`max_id` paging, or the newest page."""
        return self._fetch({"max_id": before_id} if before_id else {})

    def _fetch(self, params: Mapping[str, str]) -> Page:
        paging = is_paging(params)

        def call() -> list[dict[str, Any]]:
            status, headers, statuses = self.server.timeline(self.tag, {**params, "limit": str(PAGE_SIZE)})
            # What the response hook does in production: every answer corrects the budget.
            self.budget.observe(status, headers, paging=paging)
            if status == 429:
                raise MastodonRatelimitError("Hit rate limit.")
            return statuses

        return page_from_statuses(
            budgeted_call(self.budget, URL, call, empty_on_404=True, paging=paging), URL, limit=PAGE_SIZE
        )


class LimitedGroup:
    """Hashtags of the simulated instance read together with `any[]` (a `TagGroup`)."""

    def __init__(self, members: Sequence[LimitedTimeline]) -> None:
        self.members = list(members)
        self.server = members[0].server
        self.budget = members[0].budget

    @property
    def id(self) -> TimelineId:
        """The group as one unit."""
        return TimelineId(SourceKind.MASTODON, URL, "+".join(m.tag for m in self.members))

    async def newest(self) -> Page:
        """The merged newest page (not a paging request)."""
        tags = [m.tag for m in self.members]

        def call() -> list[dict[str, Any]]:
            status, headers, statuses = self.server.timeline(tags[0], {"limit": str(PAGE_SIZE)}, tags[1:])
            self.budget.observe(status, headers)
            if status == 429:
                raise MastodonRatelimitError("Hit rate limit.")
            return statuses

        return page_from_statuses(budgeted_call(self.budget, URL, call, empty_on_404=True), URL, limit=PAGE_SIZE)
