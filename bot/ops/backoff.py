"""When to try a failing source again: exponential backoff with full jitter, capped, honouring the server's word.

Pure policy, no clock and no I/O: the daemon asks `delay()` after each failed poll and postpones only that source's
job, so one instance being down never slows the others.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

RETRY_AFTER_KINDS = frozenset({"rate_limited", "deferred"})
"""Error kinds where the server (or our own request budget) says when to come back."""


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Exponential backoff: the ceiling doubles per consecutive failure from `base` up to `cap`."""

    base: float = 60.0
    """Seconds; the daemon uses the poll interval, so a first failure is retried about on schedule."""
    cap: float = 3600.0
    """The longest wait between two attempts, however long the outage."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def ceiling(self, failures: int) -> float:
        """The longest delay after `failures` consecutive failures (1 = the first)."""
        exponent = min(max(failures - 1, 0), 32)  # bounded so the power never overflows
        return min(self.cap, self.base * 2.0**exponent)

    def delay(self, failures: int, *, retry_after: float | None = None, kind: str | None = None) -> float:
        """Seconds to wait before the next attempt.

        Full jitter between `base` and the ceiling spreads retries of many sources that failed together (an
        instance restart) instead of sending them back all at once. A server that said when to return is believed,
        with a little jitter on top so every tag of that instance does not return in the same second.
        """
        if retry_after is not None and retry_after > 0 and (kind is None or kind in RETRY_AFTER_KINDS):
            wait = min(retry_after, self.cap)  # a nonsensical reset days away must not silence a source for days
            return wait + self.rng.uniform(0, min(30.0, wait * 0.1))
        if failures <= 0:
            return self.base
        high = self.ceiling(failures)
        low = min(self.base, high)
        delay = low + self.rng.uniform(0, high - low)
        if retry_after is not None and retry_after > delay:
            delay = retry_after
        return delay
