"""Reading hashtag timelines from real (local) Mastodon servers: nothing missed, nothing stored twice.

Every test here runs on SQLite and on PostgreSQL, through Mastodon.py over HTTP against mastodon-mock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from math import ceil
from typing import Any

import pytest

from bot.daemon.app import Application
from tests.conftest import RequestCounter, counting_client_factory
from tests.ingest.helpers import by_scope, make_config, poll_once, stored


def app_for(db_url: str, *instances: Any, counter: RequestCounter | None = None, **kw: Any) -> Application:
    config = make_config(db_url, [i.url for i in instances], **kw)
    if counter is None:
        return Application(config)
    return Application(config, client_factory=counting_client_factory(counter))


def test_first_poll_backfills_the_window_and_stops_there(db_url: str, mastodon: Any) -> None:
    now = datetime.now(UTC)
    old = mastodon.post("Oude koffie #koffie", when=now - timedelta(hours=30))
    recent = [mastodon.post(f"Koffie nummer {i} #koffie", when=now - timedelta(hours=20, minutes=i)) for i in range(45)]
    app = app_for(db_url, mastodon, hashtags=["koffie"], extra="")

    result = by_scope(poll_once(app))["koffie"]

    assert result.ok and result.new == len(recent)
    uris = {r.uri for r in stored(app, "SELECT uri FROM posts")}
    assert old["uri"] not in uris
    assert {s["uri"] for s in recent} == uris


def test_catches_up_on_more_than_a_page_of_new_posts_between_polls(db_url: str, mastodon: Any) -> None:
    mastodon.post("Eerste #koffie")
    counter = RequestCounter()
    app = app_for(db_url, mastodon, counter=counter, extra="")
    poll_once(app)

    new = [mastodon.post(f"Post {i} #koffie", user=("alice", "bob", "carol")[i % 3]) for i in range(130)]
    counter.paths.clear()
    result = by_scope(poll_once(app))["koffie"]

    assert result.new == 130 and result.duplicate == 0
    assert {s["uri"] for s in new} <= {r.uri for r in stored(app, "SELECT uri FROM posts")}
    # The newest page (40 posts, not a paging request), then forward pages of 40 from the cursor until one meets it.
    assert counter.timeline_requests() == 1 + ceil((130 - 40) / 40)


def test_an_idle_poll_costs_one_request_per_timeline(db_url: str, mastodon: Any) -> None:
    mastodon.post("Acme en #koffie")
    counter = RequestCounter()
    app = app_for(db_url, mastodon, counter=counter)
    poll_once(app)
    counter.paths.clear()

    results = poll_once(app)

    assert all(r.ok and r.new == 0 for r in results)
    assert counter.timeline_requests() == len(results) == 3  # koffie, acme, acmecoffee
    assert len(counter.paths) == 3, "no other requests (the instance info is fetched once per client)"


def test_a_restart_resumes_from_the_stored_cursor(db_url: str, mastodon: Any) -> None:
    mastodon.post("Voor de herstart #koffie")
    poll_once(app_for(db_url, mastodon, extra=""))
    later = [mastodon.post(f"Tijdens downtime {i} #koffie") for i in range(50)]

    counter = RequestCounter()
    restarted = app_for(db_url, mastodon, counter=counter, extra="")
    result = by_scope(poll_once(restarted))["koffie"]

    assert result.new == 50 and result.duplicate == 0
    assert counter.timeline_requests() == 1 + ceil((50 - 40) / 40), "no second backfill after a restart"
    assert {s["uri"] for s in later} <= {r.uri for r in stored(restarted, "SELECT uri FROM posts")}


def test_a_post_under_several_watched_tags_is_stored_once_with_every_tag(db_url: str, mastodon: Any) -> None:
    status = mastodon.post("Acme #koffie #acme #AcmeCoffee")
    app = app_for(db_url, mastodon)

    results = by_scope(poll_once(app))

    assert sum(r.new for r in results.values()) == 1
    assert sum(r.duplicate for r in results.values()) == 2
    [row] = stored(app, "SELECT id, uri FROM posts")
    assert row.uri == status["uri"]
    tags = {r.tag for r in stored(app, "SELECT tag FROM post_tags WHERE post_id = :id", id=row.id)}
    assert tags == {"koffie", "acme", "acmecoffee"}


def test_the_same_post_on_two_instances_is_stored_once_with_both_remote_ids(
    db_url: str, mastodon: Any, second_mastodon: Any
) -> None:
    original = mastodon.post("Acme koffie is op #koffie")
    copy = second_mastodon.post("Acme koffie is op #koffie", user="bob")
    second_mastodon.federate(copy["id"], original["uri"])
    only_here = second_mastodon.post("Alleen hier #koffie", user="carol")
    app = app_for(db_url, mastodon, second_mastodon, hashtags=["koffie"], extra="")

    poll_once(app)
    poll_once(app)

    assert sorted(r.uri for r in stored(app, "SELECT uri FROM posts")) == sorted([original["uri"], only_here["uri"]])
    sources = stored(app, "SELECT origin, remote_id FROM post_sources ORDER BY origin")
    assert {(s.origin, s.remote_id) for s in sources} >= {
        (mastodon.url, str(original["id"])),
        (second_mastodon.url, str(copy["id"])),
    }


def test_a_boost_counts_for_the_original_post(db_url: str, mastodon: Any) -> None:
    from bot.sources.mastodon.status import status_to_post

    original = mastodon.post("Acme is top #koffie")
    boost = mastodon.client("bob").status_reblog(original["id"])

    post = status_to_post(boost, mastodon.url)

    assert post.uri == original["uri"]
    assert post.author.handle.startswith("alice@")
    assert post.text == "Acme is top #koffie"


def test_an_edit_seen_later_updates_the_stored_text_and_matches(
    db_url: str, mastodon: Any, second_mastodon: Any
) -> None:
    original = mastodon.post("Lekkere koffie vandaag #koffie")
    app = app_for(db_url, mastodon, second_mastodon, hashtags=["koffie"])
    poll_once(app)
    edited = mastodon.client("alice").status_update(original["id"], status="Lekkere Acme koffie vandaag #koffie")
    # The edited version reaches the second instance later, as federation delivers it.
    copy = second_mastodon.post(edited["content"].replace("<p>", "").replace("</p>", ""), user="bob")
    second_mastodon.federate(copy["id"], original["uri"])
    second_mastodon.client("bob").status_update(copy["id"], status="Lekkere Acme koffie vandaag #koffie")

    poll_once(app)

    [row] = stored(app, "SELECT id, text, edited_at FROM posts")
    assert row.text == "Lekkere Acme koffie vandaag #koffie"
    assert row.edited_at is not None
    assert [m.brand for m in stored(app, "SELECT brand FROM mentions WHERE post_id = :id", id=row.id)] == ["Acme"]


def test_an_unknown_hashtag_is_an_empty_timeline_not_an_error(db_url: str, mastodon: Any) -> None:
    with mastodon.server.fault(
        path_regex=r"^/api/v1/timelines/tag/nobodyusesthis$", status=404, body={"error": "Record not found"}
    ):
        results = by_scope(poll_once(app_for(db_url, mastodon, hashtags=["nobodyusesthis"], extra="")))

    assert results["nobodyusesthis"].ok
    assert results["nobodyusesthis"].new == 0


def test_posts_of_people_who_opted_out_are_not_stored_and_are_counted(
    db_url: str, mastodon: Any, noindex_accounts: set[str]
) -> None:
    noindex_accounts.add("bob")
    mastodon.set_note("carol", '<p>Hobbyfotograaf. <a href="/tags/nobot">#<span>NoBot</span></a></p>')
    mastodon.post("Acme koffie #koffie", user="alice")
    mastodon.post("Acme koffie #koffie", user="bob")
    mastodon.post("Acme koffie #koffie", user="carol")
    app = app_for(db_url, mastodon, hashtags=["koffie"], extra="")

    result = by_scope(poll_once(app))["koffie"]

    assert (result.new, result.skipped) == (1, 2)
    # Handles carry the account's home domain (from its profile URL), not the address we reached the server on.
    assert [r.author_handle for r in stored(app, "SELECT author_handle FROM posts")] == ["alice@mock.local"]
    [health] = stored(app, "SELECT posts_skipped FROM source_health")
    assert health.posts_skipped == 2


def test_opt_outs_can_be_switched_off(db_url: str, mastodon: Any, noindex_accounts: set[str]) -> None:
    noindex_accounts.add("bob")
    mastodon.post("Acme koffie #koffie", user="bob")
    config = make_config(db_url, [mastodon.url], extra="")
    config = config.model_copy(update={"mastodon": config.mastodon.model_copy(update={"respect_opt_outs": False})})

    result = by_scope(poll_once(Application(config)))["koffie"]

    assert (result.new, result.skipped) == (1, 0)


def test_stored_posts_carry_brand_mentions_with_what_matched(db_url: str, mastodon: Any) -> None:
    mastodon.post("Net Acme Coffee gehaald, en de film van Acme Corporation gezien #koffie")
    mastodon.post("De nieuwe Acme Corporation film is slecht #koffie")
    app = app_for(db_url, mastodon)

    poll_once(app)

    rows = stored(app, "SELECT p.text, m.kind, m.matched FROM mentions m JOIN posts p ON p.id = m.post_id")
    assert {(r.kind, r.matched) for r in rows} == {("term", "Acme"), ("term", "Acme Coffee")}
    assert all("Net Acme Coffee" in r.text for r in rows), (
        "the post whose only 'Acme' is in 'Acme Corporation' is no mention"
    )


@pytest.mark.parametrize("status", [500, 503])
def test_a_failing_instance_is_reported_and_the_next_poll_fills_the_gap(
    db_url: str, mastodon: Any, status: int
) -> None:
    mastodon.post("Voor #koffie")
    app = app_for(db_url, mastodon, extra="")
    poll_once(app)
    during = [mastodon.post(f"Tijdens storing {i} #koffie") for i in range(3)]

    with mastodon.server.fault(path_regex=r"^/api/v1/timelines/tag/", status=status, body={"error": "down"}):
        failed = by_scope(poll_once(app))["koffie"]
    recovered = by_scope(poll_once(app))["koffie"]

    assert not failed.ok and failed.error_kind == "server"
    assert recovered.ok and recovered.new == len(during)
    [health] = stored(app, "SELECT consecutive_errors, total_errors, last_error FROM source_health")
    assert (health.consecutive_errors, health.total_errors) == (0, 1)
