"""Hashtag timelines of Mastodon-API servers (Mastodon, GoToSocial, Takahē, ...) through Mastodon.py."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonReadTimeout,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from bot.model import SourceKind, TimelineId
from bot.sources.base import Page, Rejected, SourceError
from bot.sources.clean import MAX_ID, clean_line, shown_id
from bot.sources.mastodon.ratelimit import RequestBudget, is_paging
from bot.sources.mastodon.status import status_to_post
from bot.sources.threads import run_detached

log = logging.getLogger(__name__)

PAGE_SIZE = 40
"""Mastodon's maximum `limit` for timelines."""
PROJECT_URL = "https://github.com/merkwacht/merkwacht"


def user_agent(contact: str | None = None) -> str:
    """`Merkwacht/<version> (+<project>; <contact>)`: who reads, and how instance admins reach the operator."""
    try:
        from importlib.metadata import version

        release = version("merkwacht")
    except Exception:  # not installed as a distribution (a bare checkout): the name alone still says who it is
        release = "dev"
    parts = [f"+{PROJECT_URL}", *([contact] if contact else [])]
    return f"Merkwacht/{release} ({'; '.join(parts)})"


USER_AGENT = user_agent()
"""The User-Agent without an operator contact (`mastodon.contact` adds one)."""


CONNECTIONS_PER_INSTANCE = 16
"""Kept-alive connections to one instance: all its hashtags may poll at once (requests' default pool keeps 10)."""


def make_client(url: str, token: str | None, timeout: float, agent: str = USER_AGENT) -> Mastodon:
    """A Mastodon.py client that works with any Mastodon-API server and raises on rate limits instead of sleeping."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=CONNECTIONS_PER_INSTANCE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return Mastodon(
        session=session,
        api_base_url=url,
        access_token=token,
        # Takahē answers 404 to /api/v1/instance/, and ids/features differ per server: check nothing up front.
        version_check_mode="none",
        # "wait" and "pace" sleep inside the call and are not thread-safe; backoff is the scheduler's job.
        ratelimit_method="throw",
        request_timeout=timeout,
        user_agent=agent,
    )


def _classify(exc: Exception) -> SourceError:
    if isinstance(exc, MastodonRatelimitError):
        return SourceError("rate_limited", f"rate limited: {exc}")
    if isinstance(exc, MastodonReadTimeout) or isinstance(exc.__context__, requests.Timeout):
        # Mastodon.py wraps requests' Timeout in a plain MastodonNetworkError; the cause tells them apart.
        return SourceError("timeout", f"timed out: {exc}")
    if isinstance(exc, MastodonNetworkError):
        return SourceError("network", f"network error: {exc}")
    if isinstance(exc, MastodonUnauthorizedError):
        return SourceError("unauthorized", f"the instance refused the token (401): {exc}")
    if isinstance(exc, MastodonServerError):
        return SourceError("server", f"server error: {exc}")
    if isinstance(exc, MastodonAPIError):
        status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        if status is None and "Could not parse response as JSON" in str(exc.args[0] if exc.args else ""):
            # A 200 with a truncated body or an HTML page from a proxy: the server is up but unreadable.
            return SourceError("malformed", f"the answer was not JSON: {str(exc)[:300]}")
        if status == 403:
            return SourceError("forbidden", f"forbidden (403): {exc}")
        if status == 429:
            return SourceError("rate_limited", f"rate limited: {exc}")
        return SourceError("server", f"API error: {exc}")
    return SourceError("malformed", f"unreadable answer: {exc!r}")


class MastodonHashtagTimeline:
    """One hashtag on one instance, read newest-first in pages of 40, as a `Timeline`."""

    def __init__(self, client: Mastodon, instance_url: str, tag: str, budget: RequestBudget | None = None) -> None:
        self._client = client
        self.id = TimelineId(SourceKind.MASTODON, instance_url, tag)
        self.requests = 0
        """Requests sent so far, for tests and metrics."""
        self.budget = budget
        """The instance's request budget, shared with its other hashtags; None spends without counting."""

    def __repr__(self) -> str:
        return f"<MastodonHashtagTimeline #{self.id.feed} on {self.id.server}>"

    async def newer(self, after_id: str) -> Page:
        """The posts right after `after_id` (Mastodon's `min_id`)."""
        return await run_detached(self._fetch, {"min_id": after_id})

    async def older(self, before_id: str | None) -> Page:
        """The posts right before `before_id` (`max_id`), or the newest ones."""
        return await run_detached(self._fetch, {"max_id": before_id} if before_id else {})

    head_first = True
    """The ingest loop may read the newest page (no paging parameters, so outside Mastodon's paging limit) first."""

    def _fetch(self, params: Mapping[str, str]) -> Page:
        self.requests += 1
        statuses = budgeted_call(
            self.budget,
            self.id.server,
            lambda: self._client.timeline_hashtag(self.id.feed, limit=PAGE_SIZE, **params),
            # GoToSocial answers 404 for a tag nobody used yet: that is an empty timeline, not a failure.
            empty_on_404=True,
            paging=is_paging(params),
        )
        try:
            return page_from_statuses(statuses, self.id.server, limit=PAGE_SIZE)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SourceError("malformed", f"the timeline answer has an unexpected shape: {exc!r}") from exc


def budgeted_call(
    budget: RequestBudget | None,
    origin: str,
    call: Callable[[], Any],
    *,
    empty_on_404: bool = False,
    paging: bool = False,
) -> list[Any]:
    """One blocking Mastodon.py call that answers a list, spent from the instance's budget(s), errors as SourceError.

    A `paging` call (min_id, max_id, since_id) spends from the 15-minute paging budget too.
    """
    if budget is not None:
        wait = budget.take(paging=paging)
        if wait:
            # Not sent at all: the instance's allowance is spent until its window resets. Other instances have their
            # own budgets, so only this instance's work waits.
            which = "paging budget" if paging and budget.wait() == 0.0 else "request budget"
            raise SourceError("deferred", f"{which} of {origin} spent", retry_after=wait)
    try:
        answer = call()
    except MastodonNotFoundError as exc:
        if empty_on_404:
            return []
        raise _classify(exc) from exc
    except Exception as exc:
        error = _classify(exc)
        if error.kind == "rate_limited" and budget is not None:
            # The budget saw the 429's headers (Retry-After, X-RateLimit-Reset) through the response hook.
            error.retry_after = budget.wait(paging=paging) or None
        raise error from exc
    finally:
        if budget is not None:
            budget.finished()
    if not isinstance(answer, list):
        raise SourceError("malformed", f"expected a list of statuses, got {type(answer).__name__}")
    return answer


def page_from_statuses(
    statuses: Sequence[Mapping[str, Any]], instance_url: str, *, limit: int | None = None
) -> Page:
    """Normalise a timeline answer; statuses that cannot be read are logged and left out, never fatal.

    With the `limit` asked for, a shorter answer marks the page as the end of the timeline in that direction.
    """
    posts, post_ids = [], []
    rejected = []
    for status in statuses:
        try:
            posts.append(status_to_post(status, instance_url))
            post_ids.append(_item_id(status))
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            status_id = status.get("id") if isinstance(status, Mapping) else None
            log.warning(
                "skipping an unreadable status %s from %s: %s", shown_id(status_id), instance_url, clean_line(exc, 200)
            )
            uri = status.get("uri") if isinstance(status, Mapping) else None
            rejected.append(Rejected(str(status_id), str(uri or ""), str(exc)))
    oldest = posts[-1].created_at if posts else None
    return Page(
        posts=posts,
        newest_id=cursor_id(statuses),
        oldest_id=cursor_id(reversed(statuses)),
        oldest_created_at=oldest,
        raw_count=len(statuses),
        ids=tuple(_item_id(status) for status in statuses),
        post_ids=tuple(post_ids),
        ends=limit is not None and len(statuses) < limit,
        rejected=rejected,
    )


def _item_id(status: Any) -> str:
    # Compared for equality only; a status without an id matches nothing (and is never a cursor).
    value = status.get("id") if isinstance(status, Mapping) else None
    return "" if value is None else str(value)


def cursor_id(statuses: Iterable[Any]) -> str | None:
    """The first id in `statuses` that can be a stored cursor: present, printable, at most MAX_ID characters.

    A hostile or broken server's status without an id, or with a 10,000-character one, must not fail the page (and
    so block the timeline for good); the next usable id serves as the cursor instead.
    """
    for status in statuses:
        value = status.get("id") if isinstance(status, Mapping) else None
        text = "" if value is None else str(value)
        if text and len(text) <= MAX_ID and clean_line(text, MAX_ID) == text:
            return text
    return None
