"""Statuses read again by id, on any Mastodon-API server: 20 per request where the server can, else one by one.

What comes back says three things: the post as it is now (edits, reactions), that it is gone (404/410 for one
status; absent from a bulk answer, which only a single read can confirm), or that the server cannot do what was
asked (404/405 to a bulk read: Mastodon before 4.3, GoToSocial, Takahē).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mastodon.errors import MastodonAPIError, MastodonNotFoundError

from bot.model import Post
from bot.sources.base import SourceError
from bot.sources.mastodon.ratelimit import RequestBudget
from bot.sources.mastodon.timeline import _classify, page_from_statuses

STATUSES_PER_REQUEST = 20
"""Mastodon's limit on `id[]` in `GET /api/v1/statuses`."""


class AnsweredStatus(Exception):
    """The server answered with a status code that means something here: 404, 405 or 410."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _status_of(exc: Exception) -> int | None:
    if isinstance(exc, MastodonNotFoundError):
        return 404
    if isinstance(exc, MastodonAPIError) and len(exc.args) > 1 and isinstance(exc.args[1], int):
        return int(exc.args[1])
    return None


def spend(budget: RequestBudget | None, origin: str, call: Callable[[], Any]) -> Any:
    """One blocking call from the instance's budget; 404/405/410 raise `AnsweredStatus`, other errors `SourceError`."""
    if budget is not None:
        wait = budget.take()
        if wait:
            raise SourceError("deferred", f"request budget of {origin} spent", retry_after=wait)
    try:
        return call()
    except Exception as exc:
        status = _status_of(exc)
        if status in (404, 405, 410):
            raise AnsweredStatus(status) from exc
        error = _classify(exc)
        if error.kind == "rate_limited" and budget is not None:
            error.retry_after = budget.wait() or None
        raise error from exc
    finally:
        if budget is not None:
            budget.finished()


@dataclass(slots=True)
class BulkAnswer:
    """One bulk read: the posts found and the ids asked for that were not in the answer."""

    posts: list[Post] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def read_many(client: Any, origin: str, ids: Sequence[str], budget: RequestBudget | None) -> BulkAnswer:
    """Up to 20 statuses in one request (blocking); `AnsweredStatus(404|405)` when the server has no bulk reads."""
    answer = spend(budget, origin, lambda: client.statuses(list(ids)))
    if not isinstance(answer, list):
        raise SourceError("malformed", f"expected a list of statuses, got {type(answer).__name__}")
    try:
        page = page_from_statuses(answer, origin)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SourceError("malformed", f"the statuses answer has an unexpected shape: {exc!r}") from exc
    returned = {str(s.get("id")) for s in answer if hasattr(s, "get")}
    return BulkAnswer(page.posts, [i for i in ids if i not in returned])


def read_one(client: Any, origin: str, status_id: str, budget: RequestBudget | None) -> Post | None:
    """One status as it is now (blocking); None when the server says it is gone (404 or 410)."""
    try:
        status = spend(budget, origin, lambda: client.status(status_id))
    except AnsweredStatus as answered:
        if answered.status in (404, 410):
            return None
        raise SourceError("server", f"{origin} answered {answered.status} to GET /api/v1/statuses/:id") from answered
    page = page_from_statuses([status], origin)
    if not page.posts:
        raise SourceError("malformed", f"status {status_id} from {origin} could not be read")
    return page.posts[0]
