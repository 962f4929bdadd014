"""The daemon's side of `any[]` grouping: find out which instances honour it, and poll a group of timelines.

An instance is grouped only after `honours_any` has seen it work (GoToSocial and mastodon-mock ignore `any[]`, and a
wrong guess would starve every tag but the first of a group). A probe that cannot tell (the two tags it tried share
all their posts, or have none) tries other pairs; an instance still undecided is probed again later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from bot.daemon.outcomes import PollOutcomes
from bot.ingest.grouped import GroupPoller
from bot.ingest.ingestor import Ingestor, PollResult
from bot.sources.base import SourceError, Timeline
from bot.sources.mastodon.grouped import GroupedTimeline, honours_any
from bot.sources.mastodon.ratelimit import RequestBudget

log = logging.getLogger(__name__)

PAIRS_PER_PROBE = 3
"""Tag pairs tried per probe (three requests each, none of them paging)."""
IGNORES_ANY = frozenset({"gotosocial"})
"""Software known to answer a tag timeline's first tag alone whatever `any[]` says: not probed, never grouped."""
REPROBE_AFTER = 1800.0
"""Seconds before an instance that could not be decided is probed again."""


class AnyTagSupport:
    """Which instances honour `any[]` on tag timelines, as probed."""

    def __init__(self, client: Callable[[str], Any], budget: Callable[[str], RequestBudget],
                 clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._budget = budget
        self._clock = clock
        self.known: dict[str, bool] = {}
        self._tried: dict[str, float] = {}

    def honoured(self, origin: str) -> bool:
        """Whether `origin` was seen to honour `any[]` (False until a probe has shown it)."""
        return self.known.get(origin, False)

    async def probe(self, origin: str, tags: Sequence[str], software: str = "unknown") -> bool | None:
        """Probe `origin` with pairs of its watched `tags` unless it is decided or was tried lately; `software`
        known to ignore `any[]` (from the instance's own description) is decided without a request."""
        if software in IGNORES_ANY:
            self.known[origin] = False
        if origin in self.known or len(tags) < 2:
            return self.known.get(origin)
        if self._clock() - self._tried.get(origin, -REPROBE_AFTER) < REPROBE_AFTER:
            return None
        self._tried[origin] = self._clock()
        pairs = list(zip(tags[0::2], tags[1::2], strict=False))[:PAIRS_PER_PROBE]
        for first, second in pairs:
            try:
                verdict = await honours_any(self._client(origin), origin, first, second, self._budget(origin))
            except SourceError as exc:
                log.debug("any[] probe of %s failed (%s): trying later", origin, exc)
                return None
            if verdict is not None:
                self.known[origin] = verdict
                if verdict:
                    log.info("%s honours any[]: quiet hashtags are read five to a request", origin)
                return verdict
        return None


async def poll_group(
    ingestor: Ingestor, outcomes: PollOutcomes, client: Any, budget: RequestBudget, unit: Sequence[Timeline],
    backfill: timedelta,
) -> list[PollResult]:
    """Poll timelines of one instance in one `any[]` request; each member's result is reported as its own poll."""
    started = time.monotonic()
    origin = unit[0].id.server
    group = GroupedTimeline(client, origin, [t.id.feed for t in unit], budget)
    results = await GroupPoller(ingestor).poll(group, backfill=backfill)
    seconds = time.monotonic() - started
    for timeline, result in zip(unit, results, strict=True):
        outcomes.report(timeline, result, seconds, budget)
    return results
