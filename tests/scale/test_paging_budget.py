"""The 15-minute paging budget: counted per instance, never overspent, and a paging 429 stops only paging."""

from __future__ import annotations

from bot.sources.mastodon.ratelimit import PagingBudget, RequestBudget, is_paging


def _budget(clock: list[float], *, limit: int = 300, paging: int = 300) -> RequestBudget:
    budget = RequestBudget(
        limit=limit, window=300, reserve=0, clock=lambda: clock[0],
        paging=PagingBudget(limit=paging, window=900, reserve=0, clock=lambda: clock[0]),
    )
    budget.observe(200, {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(limit)})
    budget.finished()
    return budget


def test_only_min_id_max_id_since_id_and_page_make_a_request_a_paging_one() -> None:
    assert is_paging({"min_id": "1"}) and is_paging({"max_id": "1"}) and is_paging({"since_id": "1"})
    assert is_paging({"page": "2"})
    assert not is_paging({}) and not is_paging({"limit": "40"}) and not is_paging(["any"])


def test_paging_requests_stop_at_the_paging_limit_while_ordinary_ones_still_go() -> None:
    clock = [1_800_000_000.0]
    budget = _budget(clock, paging=3)
    assert [budget.take(paging=True) for _ in range(3)] == [0.0, 0.0, 0.0]

    wait = budget.take(paging=True)

    assert 899 <= wait <= 902, "the oldest paging request leaves the 15-minute window in 900 s"
    assert budget.take() == 0.0, "a request without paging parameters is not held back"
    assert budget.paging_used() == 3 and budget.deferred == 1


def test_the_paging_window_slides_request_by_request() -> None:
    clock = [1_800_000_000.0]
    budget = _budget(clock, paging=2)
    budget.take(paging=True)
    clock[0] += 400
    budget.take(paging=True)
    clock[0] += 501  # the first one has left the window, the second has not
    assert budget.take(paging=True) == 0.0
    assert budget.take(paging=True) > 0


def test_a_paging_request_spends_from_the_api_budget_too() -> None:
    clock = [1_800_000_000.0]
    budget = _budget(clock, limit=2)
    assert budget.take(paging=True) == 0.0 and budget.take() == 0.0
    assert budget.take(paging=True) > 0 and budget.paging_used() == 1


def test_a_429_to_a_paging_request_holds_back_paging_only() -> None:
    clock = [1_800_000_000.0]
    budget = _budget(clock)
    budget.take(paging=True)

    budget.observe(429, {"Retry-After": "600"}, paging=True)

    assert budget.wait(paging=True) >= 600
    assert budget.wait() == 0.0 and budget.take() == 0.0, "requests without paging parameters go on"
    clock[0] += 601
    assert budget.take(paging=True) == 0.0


def test_a_paging_429_whose_reset_has_already_passed_holds_paging_back_a_moment_not_fifteen_minutes() -> None:
    clock = [1_800_000_000.0]
    budget = _budget(clock)
    budget.take(paging=True)

    # A 2-second window's reset, read after it passed (a slow answer on a loaded machine).
    budget.observe(429, {"X-RateLimit-Limit": "300", "X-RateLimit-Reset": str(int(clock[0]) - 1)}, paging=True)

    assert budget.wait(paging=True) <= 2.0


def test_a_paging_429_that_says_nothing_holds_paging_back_for_the_whole_paging_window() -> None:
    clock = [1_800_000_000.0]
    budget = _budget(clock)
    budget.take(paging=True)

    budget.observe(429, {}, paging=True)

    assert budget.wait(paging=True) >= 899
