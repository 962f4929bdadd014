"""Up to five hashtags of one instance in one request: `/api/v1/timelines/tag/A?any[]=B&any[]=C...`.

Mastodon, Pleroma and Akkoma answer the posts carrying any of the tags; GoToSocial and mastodon-mock ignore `any[]`
and answer tag A alone, which would silently starve B to E. So grouping is never assumed: `honours_any` probes the
instance first (three ordinary, non-paging requests) and grouping is used only where it is seen to work.

Mastodon.py has no `any[]` parameter; its `timeline()` takes the path with a query string, the way its own
`timeline_link` passes `?url=`, and adds `limit` to it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from mastodon import Mastodon

from bot.model import SourceKind, TimelineId
from bot.sources.base import Page
from bot.sources.mastodon.ratelimit import RequestBudget
from bot.sources.mastodon.timeline import PAGE_SIZE, MastodonHashtagTimeline, budgeted_call, page_from_statuses
from bot.sources.threads import run_detached

log = logging.getLogger(__name__)

MAX_GROUP = 5
"""One tag in the path plus Mastodon's limit of 4 in `any[]`."""


def group_path(tags: Sequence[str]) -> str:
    """The timeline path for `tags` merged: the first in the path, the others as `any[]`."""
    if not 1 <= len(tags) <= MAX_GROUP:
        raise ValueError(f"a tag group has 1 to {MAX_GROUP} tags, not {len(tags)}")
    path = f"tag/{quote(tags[0], safe='')}"
    return f"{path}?{urlencode([('any[]', t) for t in tags[1:]])}" if len(tags) > 1 else path


class GroupedTimeline:
    """Hashtags of one instance read in one request; each member is also an ordinary timeline for fallbacks."""

    def __init__(self, client: Mastodon, instance_url: str, tags: Sequence[str], budget: RequestBudget | None = None):
        self._client = client
        self.instance_url = instance_url
        self.tags = tuple(tags)
        group_path(self.tags)  # refuses an empty or too large group here, not at the first poll
        self.budget = budget
        self.members = [MastodonHashtagTimeline(client, instance_url, t, budget) for t in self.tags]
        self.requests = 0

    @property
    def id(self) -> TimelineId:
        """The group as one unit of the schedule: `mastodon:https://x#a+b+c`."""
        return TimelineId(SourceKind.MASTODON, self.instance_url, "+".join(self.tags))

    def __repr__(self) -> str:
        return f"<GroupedTimeline {' '.join('#' + t for t in self.tags)} on {self.instance_url}>"

    async def newest(self) -> Page:
        """The merged timeline's newest page (not a paging request)."""
        return await run_detached(self._fetch)

    def _fetch(self) -> Page:
        self.requests += 1
        path = group_path(self.tags)
        statuses = budgeted_call(
            self.budget, self.instance_url, lambda: self._client.timeline(path, limit=PAGE_SIZE), empty_on_404=True
        )
        return page_from_statuses(statuses, self.instance_url, limit=PAGE_SIZE)


async def honours_any(client: Mastodon, instance_url: str, first: str, second: str,
                      budget: RequestBudget | None = None) -> bool | None:
    """Whether the instance answers `any[]`: True, False, or None when these two tags cannot tell (try others).

    Reads `first` alone, `second` alone and both merged. A post of `second` that is not in `first`'s page but is newer
    than that page's oldest post (or any such post, when `first`'s page is its whole timeline) must be in the merged
    answer if `any[]` works; if it is there, `any[]` works.
    """
    alone = await MastodonHashtagTimeline(client, instance_url, first, budget).older(None)
    other = await MastodonHashtagTimeline(client, instance_url, second, budget).older(None)
    merged = await GroupedTimeline(client, instance_url, [first, second], budget).newest()
    in_first = set(alone.ids)
    only_second = [
        (post, item) for post, item in zip(other.posts, other.post_ids, strict=True) if item not in in_first
    ]
    if not only_second:
        return None
    if any(item in merged.ids for _, item in only_second):
        return True
    floor = alone.oldest_created_at
    expected = [item for post, item in only_second if alone.ends or floor is None or post.created_at > floor]
    if expected:
        log.info("%s ignores any[] on tag timelines: each hashtag is polled on its own", instance_url)
        return False
    return None
