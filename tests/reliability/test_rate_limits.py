"""Rate limits: all hashtags of an instance spend from one budget; a spent budget holds back only that instance."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from mastodon_mock.config import DatabaseConfig, MastodonMockConfig, RateLimitConfig
from mastodon_mock.testing.server import MockServer

from bot.daemon.app import Application
from bot.sources.mastodon.ratelimit import RequestBudget, parse_reset
from bot.sources.mastodon.timeline import make_client
from tests.fediverse import Instance, _seed
from tests.reliability.helpers import config_for, stored_ids

TAGS = [f"merk{i:02d}" for i in range(50)]


@pytest.mark.slow
def test_fifty_hashtags_on_one_instance_never_exceed_its_rate_limit_and_miss_nothing(
    sqlite_db: Any, second_mastodon: Any
) -> None:
    # A strict instance: 40 requests per 2-second window (Mastodon: 300 per 5 minutes; same shape, faster).
    strict_config = MastodonMockConfig(
        database=DatabaseConfig(path=":memory:"), seed=_seed(),
        ratelimit=RateLimitConfig(enabled=True, limit=40, window_seconds=2),
    )
    statuses: Counter[int] = Counter()

    def factory(url: str, token: str | None, timeout: float) -> Any:
        client = make_client(url, token, timeout)
        if url == strict.url:
            client.session.hooks["response"].append(lambda r, *a, **k: statuses.update([r.status_code]))
        return client

    with MockServer(config=strict_config) as server:
        strict = Instance(server)
        # Ten posts carrying five watched tags each: every one of the 50 timelines has a post.
        posted = [strict.post(" ".join(f"#{t}" for t in TAGS[i * 5:i * 5 + 5]))["id"] for i in range(10)]
        relaxed = [second_mastodon.post(f"Rustig {i} #merk00 #merk01")["id"] for i in range(3)]
        app = Application(
            config_for(str(sqlite_db.engine.url), [strict.url, second_mastodon.url], hashtags=TAGS),
            db=sqlite_db, client_factory=factory,
        )

        async def poll_until_caught_up() -> tuple[int, list[Any]]:
            rounds, relaxed_results = 0, []
            waiting = app.timelines()
            while waiting and rounds < 40:
                results = await app.poll_all(waiting)
                relaxed_results += [(rounds, r) for r in results if r.timeline.server == second_mastodon.url]
                assert all(r.ok or r.error_kind == "deferred" for r in results), [r.error for r in results]
                waiting = [t for t, r in zip(waiting, results, strict=True) if not r.ok]
                if waiting:
                    # The daemon would postpone these jobs by retry_after; here the test waits that long itself.
                    await asyncio.sleep(max(r.retry_after or 0 for r in results if not r.ok))
                rounds += 1
            return rounds, relaxed_results

        rounds, relaxed_results = asyncio.run(poll_until_caught_up())
        budget = app.budget(strict.url)
        app.close()

    assert statuses[429] == 0, "the instance never had to refuse a request"
    assert budget.deferred > 0 and rounds > 1, "the budget did hold polls back"
    assert len(relaxed_results) == 50 and all(r.ok for _, r in relaxed_results), (
        "the other instance's 50 timelines were all read in the first round, never waiting for the strict one"
    )
    assert sorted(set(stored_ids(app, strict.url))) == sorted(str(i) for i in posted)
    assert len(stored_ids(app, strict.url)) == len(posted), "each post stored once, though 5 tags found it"
    assert sorted(stored_ids(app, second_mastodon.url)) == sorted(str(i) for i in relaxed)


def test_the_budget_reads_iso_and_epoch_resets_and_a_429s_retry_after() -> None:
    now = 1_800_000_000.0
    iso = datetime.fromtimestamp(now + 30, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert parse_reset(iso, now) == now + 30, "Mastodon's ISO timestamp"
    assert parse_reset("1800000300", now) == 1_800_000_300.0
    assert parse_reset("45", now) == now + 45, "a small number is seconds from now"
    assert parse_reset("soon", now) is None

    clock = [now]
    budget = RequestBudget(limit=300, window=300, reserve=0, clock=lambda: clock[0])
    budget.observe(200, {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "1800000100"})
    budget.finished()  # that request is over: its answer told the instance's limits
    assert budget.take() == 0.0 and budget.take() == 0.0
    assert 100 <= budget.take() <= 102, "spent: wait until the window resets"
    budget.observe(429, {"Retry-After": "600"})
    assert budget.wait() >= 600, "a 429's Retry-After is honoured"
    clock[0] += 700
    assert budget.take() == 0.0, "a new window refills the budget"


def test_an_epoch_reset_truncated_to_a_moment_ago_still_ends_the_window_not_our_five_minute_guess() -> None:
    now = 1_800_000_000.4
    clock = [now]
    budget = RequestBudget(limit=40, window=300, reserve=0, clock=lambda: clock[0])
    assert budget.take() == 0.0

    # The server's window ends "at 1800000000": truncated, it reads as 0.4 s ago.
    budget.observe(200, {"X-RateLimit-Limit": "40", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1800000000"})
    budget.finished()

    assert budget.take() <= 1.0, "spent until the server's window ends, a second at most; not 300 s"


def test_a_late_answer_from_an_ended_window_does_not_spend_the_new_one_for_five_minutes() -> None:
    now = 1_800_000_000.0
    clock = [now]
    budget = RequestBudget(limit=40, window=300, reserve=0, clock=lambda: clock[0])
    assert budget.take() == 0.0
    budget.observe(200, {"X-RateLimit-Limit": "40", "X-RateLimit-Remaining": "30", "X-RateLimit-Reset": "1800000002"})
    budget.finished()
    sent_before_the_reset = budget.take()
    assert sent_before_the_reset == 0.0

    clock[0] = now + 3.5  # the server's window ended at +2; the next request starts a new window here
    assert budget.take() == 0.0
    # Now the answer to the request sent before the reset arrives, counting the old window down to nothing.
    budget.observe(200, {"X-RateLimit-Limit": "40", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1800000002"})

    assert budget.take() == 0.0, "the new window is not spent by an answer about the old one"


def test_a_burst_that_spends_a_new_window_before_any_answer_looks_again_in_seconds_not_five_minutes() -> None:
    now = 1_800_000_000.0
    clock = [now]
    budget = RequestBudget(limit=40, window=300, reserve=5, clock=lambda: clock[0])
    assert budget.take() == 0.0
    budget.observe(200, {"X-RateLimit-Limit": "40", "X-RateLimit-Remaining": "39", "X-RateLimit-Reset": "1800000002"})
    budget.finished()

    clock[0] = now + 3.5  # the server's window is over; 50 timelines poll at once
    sent = [budget.take() for _ in range(35)]
    assert sent == [0.0] * 35
    wait = budget.take()
    assert 0 < wait <= 10, f"deferred by {wait:.0f}s: no answer has said when this window ends yet"

    # The first answer of the new window tells its end: the wait is until then.
    budget.observe(200, {"X-RateLimit-Limit": "40", "X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "1800000005"})
    assert budget.take() <= 3.0
