"""The instance budgets shared by workers: every request counted in the database, so all workers together stay
within an instance's 5-minute API limit and 15-minute paging limit."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

from bot.worker.budget import SharedBudget
from storage import budgets
from storage.budgets import Limits
from storage.db import Database

ORIGIN = "https://mastodon.example"
SMALL = Limits(limit=20, window=300.0, paging_limit=10, paging_window=900.0, reserve=5)


def test_requests_go_until_the_window_is_spent_then_wait_for_the_oldest_to_leave_it(db: Database) -> None:
    sent = [budgets.take(db, ORIGIN, 1000.0 + i, limits=SMALL) for i in range(15)]
    assert sent == [0.0] * 15
    wait = budgets.take(db, ORIGIN, 1020.0, limits=SMALL)
    # The oldest request (at 1000) leaves the 300 s window at 1300; one second of margin for clocks.
    assert wait == pytest.approx(281.0)
    assert budgets.take(db, ORIGIN, 1301.0, limits=SMALL) == 0.0


def test_paging_requests_spend_the_paging_budget_and_ordinary_ones_do_not(db: Database) -> None:
    for i in range(5):
        assert budgets.take(db, ORIGIN, 1000.0 + i, paging=True, limits=SMALL) == 0.0
    assert budgets.take(db, ORIGIN, 1010.0, paging=True, limits=SMALL) > 800.0
    assert budgets.take(db, ORIGIN, 1010.0, limits=SMALL) == 0.0
    assert budgets.used(db, ORIGIN, 1010.0, paging=True, limits=SMALL) == 5
    assert budgets.used(db, ORIGIN, 1010.0, limits=SMALL) == 6


def test_each_instance_has_its_own_budget(db: Database) -> None:
    for i in range(15):
        budgets.take(db, ORIGIN, 1000.0 + i, limits=SMALL)
    assert budgets.take(db, ORIGIN, 1016.0, limits=SMALL) > 0
    assert budgets.take(db, "https://other.example", 1016.0, limits=SMALL) == 0.0


def test_a_shared_budget_refuses_what_another_worker_already_spent(db: Database) -> None:
    now = [1000.0]
    first, second = (SharedBudget(db, ORIGIN, clock=lambda: now[0]) for _ in range(2))
    for budget in (first, second):
        budget.limit, budget._known = 20, True  # as if an answer had said the instance allows 20 per window
    taken = [first.take() for _ in range(10)] + [second.take() for _ in range(10)]
    assert taken.count(0.0) == 15
    assert second.deferred == 5
    assert first.paging_used() == 0


def _take_many(url: str, start: Any, results: Any) -> None:
    db = Database(url, migrate=False)
    try:
        db.ping()
        start.wait(60)  # all three take at the same moment: the race the lock is for
        results.put(sum(1 for i in range(200) if budgets.take(db, ORIGIN, 5000.0 + i * 0.001, limits=SMALL) == 0.0))
    finally:
        db.close()


def test_three_processes_taking_at_once_spend_no_more_than_the_budget_together(postgres_url: str) -> None:
    Database(postgres_url).close()  # migrate once, before the racers
    context = multiprocessing.get_context("spawn")
    results, start = context.Queue(), context.Barrier(3)
    racers = [context.Process(target=_take_many, args=(postgres_url, start, results)) for _ in range(3)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(120)
    assert sum(results.get(timeout=10) for _ in racers) == SMALL.limit - SMALL.reserve
