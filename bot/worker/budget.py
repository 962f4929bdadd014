"""An instance's request budget shared by every worker: the in-memory budget, with each request also counted in the
database (`storage.budgets`), so all workers together stay within the instance's API and paging limits."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.sources.mastodon.ratelimit import RequestBudget
from storage import budgets
from storage.db import Database


class SharedBudget(RequestBudget):
    """A `RequestBudget` whose requests are counted in the database too; the stricter of the two decides.

    The in-memory part still learns from each answer's headers (which count what every worker on this IP or token
    sent) and from 429s; the database part counts what all workers sent, which no header says for paging requests.
    """

    def __init__(self, db: Database, origin: str, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock=clock)
        self.db = db
        self.origin = origin

    def _limits(self) -> budgets.Limits:
        return budgets.Limits(
            limit=self.limit, window=self.window, paging_limit=self.paging.limit,
            paging_window=self.paging.window, reserve=self.reserve,
        )

    def take(self, *, paging: bool = False) -> float:
        """Spend one request from the shared budget and then the local one: 0.0 if it may go now, else seconds."""
        # Shared first: a request the local budget then refuses stays counted, which errs on the safe side.
        wait = budgets.take(self.db, self.origin, self._clock(), paging=paging, limits=self._limits())
        if wait:
            with self._lock:
                self.deferred += 1
            return wait
        return super().take(paging=paging)

    def paging_used(self) -> int:
        """Paging requests all workers sent in the current 15-minute window."""
        return budgets.used(self.db, self.origin, self._clock(), paging=True, limits=self._limits())
