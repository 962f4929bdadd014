"""Reactions arrive after the first poll: recent brand mentions are read again to catch them (and edits)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.daemon.app import Application
from tests.ingest.helpers import make_config, poll_once, stored


def test_a_refresh_picks_up_reactions_and_edits_that_came_after_the_first_poll(db_url: str, mastodon: Any) -> None:
    mention = mastodon.post("Acme is prima #koffie")
    unbranded = mastodon.post("Gewoon koffie #koffie")
    app = Application(make_config(db_url, [mastodon.url]))
    poll_once(app)
    for fan in ("bob", "carol", "dave"):
        mastodon.client(fan).status_favourite(mention["id"])
    mastodon.client("erin").status_reblog(mention["id"])
    mastodon.client("bob").status_favourite(unbranded["id"])
    mastodon.client("alice").status_update(mention["id"], status="Acme is prima, maar duur #koffie")

    result = asyncio.run(app.refresh_engagement(mastodon.url))

    assert (result.asked, result.seen, result.error) == (1, 1, None), "only brand mentions are refreshed"
    rows = {r.text: r for r in stored(app, "SELECT text, favourites, boosts FROM posts")}
    edited = rows["Acme is prima, maar duur #koffie"]
    assert (edited.favourites, edited.boosts) == (3, 1)
    assert rows["Gewoon koffie #koffie"].favourites == 0


def test_a_refresh_of_an_unreachable_instance_reports_and_keeps_what_was_stored(db_url: str, mastodon: Any) -> None:
    mastodon.post("Acme #koffie")
    app = Application(make_config(db_url, [mastodon.url]))
    poll_once(app)

    with mastodon.server.fault(path_regex="^/api/v1/statuses$", status=503, body={"error": "down"}):
        result = asyncio.run(app.refresh_engagement(mastodon.url))

    assert result.error is not None
    assert len(stored(app, "SELECT id FROM posts")) == 1


def test_a_refresh_spends_from_the_instance_budget_and_waits_when_it_is_spent(db_url: str, mastodon: Any) -> None:
    from tests.conftest import RequestCounter, counting_client_factory

    mastodon.post("Acme #koffie")
    counter = RequestCounter()
    app = Application(make_config(db_url, [mastodon.url]), client_factory=counting_client_factory(counter))
    poll_once(app)
    app.budget(mastodon.url).observe(
        200, {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(time.time() + 120)}
    )
    counter.paths.clear()

    result = asyncio.run(app.refresh_engagement(mastodon.url))

    assert result.error is not None and "budget" in result.error
    assert counter.paths == [], "nothing was sent past the polls' shared allowance"


def test_a_refresh_held_back_part_way_keeps_what_it_read_and_goes_on_with_the_rest_next_time(
    db_url: str, mastodon: Any
) -> None:
    now = [time.time()]
    posts = [mastodon.post(f"Acme nummer {i} #koffie") for i in range(30)]  # two requests of 20 ids
    app = Application(make_config(db_url, [mastodon.url]), clock=lambda: now[0])
    poll_once(app)
    # The oldest and the newest get a favourite: one of them is in the first 20 read, the other is left over.
    mastodon.client("bob").status_favourite(posts[0]["id"])
    mastodon.client("bob").status_favourite(posts[-1]["id"])
    asyncio.run(app.describe_servers())  # as the daemon does at start, before any refresh
    budget = app.budget(mastodon.url)

    def one_request_left() -> None:
        # One request above the reserve the budget keeps: 20 ids go, the rest wait for the next window.
        reset = str(now[0] + 120)
        budget.observe(200, {"X-RateLimit-Remaining": str(budget.reserve + 1), "X-RateLimit-Reset": reset})

    one_request_left()
    first = asyncio.run(app.refresh_engagement(mastodon.url))

    assert (first.asked, first.seen) == (30, 20) and first.error is not None and "budget" in first.error
    rows = stored(app, "SELECT id, favourites, refreshed_at FROM posts")
    left_over = {r.id for r in rows if r.refreshed_at is None}
    assert len(left_over) == 10
    assert [r.refreshed_at is not None for r in rows if r.favourites] == [True], "what was read before is kept"

    for post in posts:
        mastodon.client("carol").status_favourite(post["id"])
    now[0] += 300
    one_request_left()
    second = asyncio.run(app.refresh_engagement(mastodon.url))

    assert second.seen == 20
    rows = stored(app, "SELECT id, favourites FROM posts")
    read_again = {r.id for r in rows if r.favourites >= 1}
    assert left_over <= read_again and len(read_again) == 20, (
        "the 10 left over were read first, then 10 of those read least recently; unchanged posts are not read again "
        "and again while others never are"
    )


def test_a_refresh_that_keeps_failing_is_counted_shown_in_status_and_degrades_health(
    sqlite_db: Any, mastodon: Any
) -> None:
    from bot.ops.http import OpsServer

    mastodon.post("Acme #koffie")
    app = Application(make_config(str(sqlite_db.engine.url), [mastodon.url]), db=sqlite_db)
    poll_once(app)
    ops = OpsServer(app.metrics, scheduler_running=lambda: True, db_ping=app.db.ping,
                    degraded=app.refresh_outcomes.failing)
    asyncio.run(app.describe_servers())

    with mastodon.server.fault(path_regex="^/api/v1/statuses$", status=500, body={"error": "boom"}):
        results = [asyncio.run(app.refresh_engagement(mastodon.url)) for _ in range(3)]
    health = asyncio.run(ops.health())
    lines = asyncio.run(app.bot_services().status())

    assert all(r.error_kind == "server" for r in results)
    assert app.metrics.refresh_errors.labels(mastodon.url, "server")._value.get() == 3
    assert health["status"] == "degraded" and mastodon.url in health["degraded"]
    assert any(line.startswith(f"- refresh on {mastodon.url}: FAILING") for line in lines)
    assert any(line.startswith(f"{mastodon.url}: mastodon") for line in lines), "what the server runs"

    asyncio.run(app.refresh_engagement(mastodon.url))

    assert asyncio.run(ops.health())["status"] == "ok", "one refresh that works clears it"


def test_two_failed_refreshes_do_not_yet_degrade_health(sqlite_db: Any, mastodon: Any) -> None:
    mastodon.post("Acme #koffie")
    app = Application(make_config(str(sqlite_db.engine.url), [mastodon.url]), db=sqlite_db)
    poll_once(app)

    with mastodon.server.fault(path_regex="^/api/v1/statuses$", status=500, body={"error": "boom"}):
        for _ in range(2):
            asyncio.run(app.refresh_engagement(mastodon.url))

    assert app.refresh_outcomes.failing() == {}


def test_when_every_one_of_many_posts_answers_gone_nothing_is_deleted(sqlite_db: Any, mastodon: Any) -> None:
    posts = [mastodon.post(f"Acme nummer {i} #koffie") for i in range(12)]
    app = Application(make_config(str(sqlite_db.engine.url), [mastodon.url]), db=sqlite_db)
    poll_once(app)
    for status in posts:  # as a misrouted proxy would make it look
        mastodon.client("alice").status_delete(status["id"])

    result = asyncio.run(app.refresh_engagement(mastodon.url))

    assert result.deleted == 0 and result.error is not None and "not deleting" in result.error
    assert len(stored(app, "SELECT id FROM posts")) == 12


def test_a_few_deleted_posts_among_many_are_deleted(sqlite_db: Any, mastodon: Any) -> None:
    posts = [mastodon.post(f"Acme nummer {i} #koffie") for i in range(12)]
    app = Application(make_config(str(sqlite_db.engine.url), [mastodon.url]), db=sqlite_db)
    poll_once(app)
    for status in posts[:11]:
        mastodon.client("alice").status_delete(status["id"])

    result = asyncio.run(app.refresh_engagement(mastodon.url))

    assert (result.deleted, result.error) == (11, None)
    assert [r.text for r in stored(app, "SELECT text FROM posts")] == ["Acme nummer 11 #koffie"]
