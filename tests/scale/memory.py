"""An in-memory hashtag timeline with Mastodon's paging semantics, for property tests of the poll loop.

Ids are the server's business: here they are increasing integers as strings, and only this fake compares them (as
Mastodon compares snowflakes in SQL). The poll loop under test sees opaque strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.model import Author, Post, SourceKind, TimelineId
from bot.sources.base import Page, SourceError

ORIGIN = "https://memory.example"


@dataclass
class MemoryTimeline:
    """One hashtag: `add` and `delete` posts between polls; `fail_at` makes chosen requests fail (by number)."""

    scope: str = "koffie"
    page_size: int = 40
    head_first: bool = True
    origin: str = ORIGIN
    ids: list[int] = field(default_factory=list)
    """Ids of the posts on the timeline, oldest first."""
    next_id: int = 1000
    requests: int = 0
    paging_requests: int = 0
    fail_at: set[int] = field(default_factory=set)
    start: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=1))

    @property
    def id(self) -> TimelineId:
        """The hashtag on the in-memory instance."""
        return TimelineId(SourceKind.MASTODON, self.origin, self.scope)

    def add(self, count: int) -> list[str]:
        """Publish `count` new posts; their uris."""
        out = []
        for _ in range(count):
            self.next_id += 1
            self.ids.append(self.next_id)
            out.append(self.uri(self.next_id))
        return out

    def delete(self, index: int) -> str | None:
        """Delete the post at `index` (modulo the timeline's length); its uri."""
        if not self.ids:
            return None
        return self.uri(self.ids.pop(index % len(self.ids)))

    def uri(self, item: int) -> str:
        """The global uri of post `item`."""
        return f"{self.origin}/statuses/{item}"

    def _post(self, item: int) -> Post:
        return Post(
            uri=self.uri(item), source=SourceKind.MASTODON, origin=self.origin, remote_id=str(item), url=self.uri(item),
            author=Author("alice@memory.example"), created_at=self.start + timedelta(seconds=item - 1000),
            text=f"post {item} #{self.scope}", tags=(self.scope,),
        )

    def _page(self, items: list[int]) -> Page:
        newest_first = sorted(items, reverse=True)
        posts = [self._post(i) for i in newest_first]
        return Page(
            posts=posts,
            newest_id=str(newest_first[0]) if items else None,
            oldest_id=str(newest_first[-1]) if items else None,
            oldest_created_at=posts[-1].created_at if posts else None,
            raw_count=len(items),
            ids=tuple(str(i) for i in newest_first),
            post_ids=tuple(str(i) for i in newest_first),
            ends=len(items) < self.page_size,
        )

    def _request(self, paging: bool) -> None:
        self.requests += 1
        self.paging_requests += paging
        if self.requests in self.fail_at:
            raise SourceError("network", f"request {self.requests} failed (injected)")

    async def newer(self, after_id: str) -> Page:
        """Mastodon's `min_id`: the page of posts right after `after_id`."""
        self._request(True)
        return self._page([i for i in self.ids if i > int(after_id)][: self.page_size])

    async def older(self, before_id: str | None) -> Page:
        """Mastodon's `max_id` (or the newest page, not a paging request, without it)."""
        self._request(before_id is not None)
        items = [i for i in self.ids if before_id is None or i < int(before_id)]
        return self._page(items[-self.page_size:])


@dataclass
class MemoryServer:
    """Several hashtags of one in-memory instance, each post carrying one or more of them; `any[]` honoured."""

    page_size: int = 40
    posts: dict[int, tuple[str, ...]] = field(default_factory=dict)
    next_id: int = 5000
    requests: int = 0
    start: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=1))

    def add(self, tags: tuple[str, ...]) -> str:
        """Publish a post carrying `tags`; its uri."""
        self.next_id += 1
        self.posts[self.next_id] = tags
        return f"{ORIGIN}/statuses/{self.next_id}"

    def delete(self, index: int) -> str | None:
        """Delete the post at `index` (modulo the number of posts); its uri."""
        if not self.posts:
            return None
        item = sorted(self.posts)[index % len(self.posts)]
        del self.posts[item]
        return f"{ORIGIN}/statuses/{item}"

    def page(self, tags: tuple[str, ...], params: dict[str, str]) -> Page:
        """One request of the merged timeline of `tags`."""
        self.requests += 1
        items = sorted(i for i, carried in self.posts.items() if set(carried) & set(tags))
        if "min_id" in params:
            chosen = [i for i in items if i > int(params["min_id"])][: self.page_size]
        else:
            chosen = [i for i in items if "max_id" not in params or i < int(params["max_id"])][-self.page_size:]
        newest_first = sorted(chosen, reverse=True)
        posts = [
            Post(uri=f"{ORIGIN}/statuses/{i}", source=SourceKind.MASTODON, origin=ORIGIN, remote_id=str(i),
                 url=f"{ORIGIN}/statuses/{i}", author=Author("bob@memory.example"),
                 created_at=self.start + timedelta(seconds=i - 5000), text=f"post {i}", tags=self.posts[i])
            for i in newest_first
        ]
        return Page(
            posts=posts, newest_id=str(newest_first[0]) if chosen else None,
            oldest_id=str(newest_first[-1]) if chosen else None,
            oldest_created_at=posts[-1].created_at if posts else None, raw_count=len(chosen),
            ids=tuple(str(i) for i in newest_first), post_ids=tuple(str(i) for i in newest_first),
            ends=len(chosen) < self.page_size,
        )


@dataclass
class ServerTag:
    """One hashtag of a `MemoryServer` as an ordinary timeline."""

    server: MemoryServer
    tag: str
    head_first: bool = True

    @property
    def id(self) -> TimelineId:
        """The hashtag on the in-memory instance."""
        return TimelineId(SourceKind.MASTODON, ORIGIN, self.tag)

    async def newer(self, after_id: str) -> Page:
        """`min_id` paging."""
        return self.server.page((self.tag,), {"min_id": after_id})

    async def older(self, before_id: str | None) -> Page:
        """`max_id` paging, or the newest page."""
        return self.server.page((self.tag,), {"max_id": before_id} if before_id else {})


@dataclass
class ServerGroup:
    """Hashtags of a `MemoryServer` read together with `any[]`."""

    server: MemoryServer
    tags: tuple[str, ...]

    @property
    def id(self) -> TimelineId:
        """The group as one unit."""
        return TimelineId(SourceKind.MASTODON, ORIGIN, "+".join(self.tags))

    @property
    def members(self) -> list[ServerTag]:
        """Each tag on its own."""
        return [ServerTag(self.server, t) for t in self.tags]

    async def newest(self) -> Page:
        """The merged newest page."""
        return self.server.page(self.tags, {})
