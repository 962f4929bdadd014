"""Per-instance request budgets, shared by every hashtag polled on that instance: the API limit and the paging limit.

Mastodon (config/initializers/rack_attack.rb) allows 300 requests per 5 minutes per account and per IP, whatever the
endpoint. With 50 watched tags on one instance, each poll of each tag spends from the same allowance, so the budget
lives with the instance's client, not with a timeline. It starts from Mastodon's documented default, counts what we
send, and corrects itself from each answer's `X-RateLimit-Limit/-Remaining/-Reset` (Reset as an ISO timestamp on
Mastodon, epoch seconds elsewhere).

Mastodon also allows only 300 *paging* requests (any request with `min_id`, `max_id`, `since_id` or `page`) per 15
minutes per account or IP. Ordinary answers' headers speak of the general limit only, so this second budget is kept
by counting what we send in a sliding 15-minute window (`PagingBudget`); it shows itself from the server only as a 429.

A request that would overspend is not sent and not waited for: `take()` says how long until the window resets, and
the caller defers that timeline's poll, so other instances (other budgets) carry on untouched.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_LIMIT = 300
"""Mastodon's default: requests per window."""
DEFAULT_WINDOW = 300.0
"""Mastodon's default window, in seconds."""
RESET_MARGIN = 1.0
"""Seconds added to a reset time: epoch resets are truncated to the second, and clocks differ a little."""
PAGING_LIMIT = 300
"""Mastodon's default: paging requests (min_id, max_id, since_id, page) per paging window."""
PAGING_WINDOW = 900.0
"""Mastodon's paging window, in seconds (15 minutes)."""
PAGING_PARAMS = frozenset({"min_id", "max_id", "since_id", "page"})
"""Query parameters that make a request count against Mastodon's paging limit."""
PROBE_WAIT = 10.0
"""The longest other requests wait (in their worker threads) while the first one learns the instance's limits."""
UNCONFIRMED_WAIT = 10.0
"""The longest a spent budget defers a poll while the window's end is only our guess: answers in flight will tell."""


def parse_reset(value: str, now: float) -> float | None:
    """An `X-RateLimit-Reset` value as epoch seconds: ISO 8601 (Mastodon) or epoch seconds (GoToSocial, the mock).

    Small numbers are taken as seconds from now, as some proxies send; anything unreadable is None.
    """
    text = value.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return number if number > 1e9 else now + max(number, 0.0)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def parse_retry_after(value: str, now: float) -> float | None:
    """A `Retry-After` header as seconds to wait: delta-seconds or an HTTP date."""
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(text).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return None


def is_paging(params: Mapping[str, object] | Iterable[str]) -> bool:
    """Whether a request with these query parameters counts against Mastodon's paging limit."""
    return any(key in PAGING_PARAMS for key in params)


class PagingBudget:
    """Paging requests sent to one instance in the last `window` seconds, counted (no header reports them)."""

    def __init__(
        self,
        limit: int = PAGING_LIMIT,
        window: float = PAGING_WINDOW,
        *,
        reserve: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.window = window
        self.reserve = reserve
        """Paging requests left unspent: another process on the same IP, or a request we did not see."""
        self._clock = clock
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self.used_total = 0
        """Paging requests sent since start (for status and metrics)."""

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] + self.window <= now:
            self._sent.popleft()

    def wait(self, now: float | None = None) -> float:
        """Seconds until one more paging request may go (0.0 now); the caller holds the instance budget's lock."""
        now = self._clock() if now is None else now
        self._expire(now)
        blocked = max(self._blocked_until - now, 0.0)
        if len(self._sent) < self.limit - self.reserve:
            return blocked
        # The oldest requests leave the window one by one: wait for enough of them to make room for one more.
        leaving = self._sent[len(self._sent) - (self.limit - self.reserve)]
        return max(leaving + self.window - now + RESET_MARGIN, blocked, 1.0)

    def spend(self, now: float | None = None) -> None:
        """Count one paging request sent now."""
        self._sent.append(self._clock() if now is None else now)
        self.used_total += 1

    def used(self, now: float | None = None) -> int:
        """Paging requests in the current window."""
        self._expire(self._clock() if now is None else now)
        return len(self._sent)

    def refused(self, until: float) -> None:
        """The server refused a paging request (429): send none before `until`."""
        self._blocked_until = max(self._blocked_until, until)


class RequestBudget:
    """How many requests one instance still allows before its rate-limit windows reset (API and paging); thread-safe."""

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        window: float = DEFAULT_WINDOW,
        *,
        reserve: int = 5,
        clock: Callable[[], float] = time.time,
        paging: PagingBudget | None = None,
    ) -> None:
        self.limit = limit
        self.window = window
        self.reserve = reserve
        """Requests left unspent for what the budget does not see first (Mastodon.py's instance look-up, a retry)."""
        self.paging = paging or PagingBudget(clock=clock)
        """The instance's 15-minute paging budget, counted."""
        self.used_total = 0
        """Requests sent since start (for status and metrics)."""
        self._clock = clock
        self._lock = threading.Condition()
        self._remaining = limit
        self._reset: float | None = None
        self._reset_confirmed = False
        """Whether the server said when the current window ends (else `_reset` is our guess of a default window)."""
        self._probing = False
        self._answered = False
        self._known = False
        """Whether an answer has told us the instance's limits (until then, one request at a time)."""
        self.deferred = 0
        """Requests refused so far because the budget was spent (for metrics and tests)."""
        self.throttled = 0
        """429 answers seen (for metrics and tests)."""

    def _roll(self, now: float) -> None:
        # A window that has ended has refilled; without a known window, start one at the first request.
        if self._reset is None:
            self._reset, self._reset_confirmed = now + self.window, False
        elif now >= self._reset + RESET_MARGIN:
            self._remaining = self.limit
            self._reset, self._reset_confirmed = now + self.window, False

    def _until_reset(self, now: float) -> float:
        assert self._reset is not None
        wait = max(self._reset + RESET_MARGIN - now, 1.0)
        if not self._reset_confirmed:
            # A burst right after a window rolled over can spend the budget before the first answer says when the
            # server's window really ends; deferring by our guess (a whole default window, five minutes) would make
            # a timeline wait that long although the server refills in seconds. Look again soon instead.
            wait = min(wait, UNCONFIRMED_WAIT)
        return wait

    def take(self, *, paging: bool = False) -> float:
        """Spend one request (a paging one from both budgets): 0.0 if it may go now, else seconds to wait (nothing
        spent)."""
        with self._lock:
            now = self._clock()
            self._roll(now)
            if not self._known:
                # Until an answer says what this instance allows, a burst of 50 first polls must not go out at once:
                # the others wait for the first answer (or give up waiting and go, if it never comes).
                self._lock.wait_for(lambda: self._known or not self._probing, timeout=PROBE_WAIT)
                if not self._known:
                    self._probing = True
                now = self._clock()
                self._roll(now)
            if self._remaining <= self.reserve:
                self.deferred += 1
                self.finished_locked()
                return self._until_reset(now)
            if paging:
                wait = self.paging.wait(now)
                if wait:
                    self.deferred += 1
                    self.finished_locked()
                    return wait
                self.paging.spend(now)
            self._remaining -= 1
            self.used_total += 1
            return 0.0

    def finished(self) -> None:
        """A request ended, answered or not; a probe that got no answer (a reset, a timeout) lets the next one try."""
        with self._lock:
            self.finished_locked()

    def finished_locked(self) -> None:
        """`finished`, for a caller that holds the lock (a refused `take` sends nothing, so its probe is over)."""
        self._probing = False
        self._known = self._known or self._answered
        self._lock.notify_all()

    def wait(self, *, paging: bool = False) -> float:
        """Seconds until a request (a paging one) may go again (0.0 when it may go now), without spending anything."""
        with self._lock:
            now = self._clock()
            self._roll(now)
            general = 0.0 if self._remaining > self.reserve else self._until_reset(now)
            return max(general, self.paging.wait(now)) if paging else general

    def paging_used(self) -> int:
        """Paging requests in the current 15-minute window."""
        with self._lock:
            return self.paging.used(self._clock())

    @property
    def remaining(self) -> int:
        """Requests left in the current window, as far as we know."""
        with self._lock:
            return self._remaining

    def observe(self, status: int, headers: Mapping[str, str], *, paging: bool = False) -> None:
        """Correct the budget from one answer's rate-limit headers (and a 429's Retry-After).

        A 429 to a paging request while the API budget still had room is the paging limit's: it holds back paging
        requests only (Mastodon's two throttles both say 300, so the headers cannot tell them apart).
        """
        now = self._clock()
        limit = _int(headers.get("X-RateLimit-Limit"))
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        reset_header = headers.get("X-RateLimit-Reset")
        reset = parse_reset(reset_header, now) if reset_header else None
        retry_header = headers.get("Retry-After")
        retry_after = parse_retry_after(retry_header, now) if retry_header else None
        with self._lock:
            # An answer, with headers or without (then the defaults stand), means the instance's limits are known
            # once the probe's call is over (Mastodon.py's own instance look-up is then cached too).
            self._answered = True
            if limit is not None and limit > 0:
                self.limit = limit
            self._roll(now)
            if reset is not None and reset + RESET_MARGIN <= now:
                # A late answer from a window that has already ended (on a busy machine an answer can arrive after
                # the window rolled over here): its count is of requests that no longer count. Taking its
                # "0 remaining" into the new window spent that window at once, until our guess of its end (a whole
                # default window, five minutes) although the server refills in seconds.
                remaining = None
            if reset is not None and reset + RESET_MARGIN > now:
                # The server knows when its window ends (ours was a guess until now). An epoch reset is truncated to
                # the second, so one that seems a moment past is still this window's: ignoring it would leave our
                # guess (a whole default window) in charge and stall the instance for minutes.
                self._reset, self._reset_confirmed = reset, True
            if remaining is not None:
                # Never raise the count from an answer: requests sent after it are already spent, and answers to
                # concurrent requests arrive out of order. The lowest count is the safe one; a new window refills.
                self._remaining = min(self._remaining, remaining)
            if status == 429:
                self.throttled += 1
                until = now + retry_after if retry_after is not None else None
                if reset is not None and reset > now:
                    until = max(until or 0.0, reset)
                if paging and self._remaining > self.reserve:
                    if until is None:
                        # A reset already past (a short window, a slow answer) means "again soon"; only a 429 that
                        # says nothing at all is taken as the whole paging window.
                        told = retry_after is not None or reset is not None
                        until = now + (RESET_MARGIN if told else self.paging.window)
                    self.paging.refused(until)
                    return
                self._remaining = 0
                if until is None:
                    # A bare 429: the server did not say when, so assume a whole window rather than guess short.
                    until = now + self.window
                # Said by the server, or (a bare 429) a whole window assumed on purpose: either way, not a guess.
                self._reset, self._reset_confirmed = until, True

    def attach(self, client: Any) -> None:
        """Watch every answer `client` (a Mastodon.py client) receives, whichever thread sent the request."""
        session = getattr(client, "session", None)
        hooks = getattr(session, "hooks", None)
        if isinstance(hooks, dict):
            hooks.setdefault("response", []).append(self._hook)

    def _hook(self, response: Any, *args: Any, **kwargs: Any) -> None:
        request = getattr(response, "request", None)
        url = str(getattr(request, "url", "") or "")
        paging = is_paging(key.split("[")[0] for key, _ in parse_qsl(urlsplit(url).query))
        self.observe(int(response.status_code), response.headers, paging=paging)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None
