"""The same ingest, refresh, edit, deletion and opt-out behaviour on every kind of Mastodon-API server.

Each test runs on four profiles (see `profiles.py`): Mastodon 4.5, Mastodon 4.0 (no bulk status reads), a
GoToSocial-like server (ULID ids, 405 on bulk reads, every post `en`) and a Takahē-like one (no
`/api/v1/instance/`, 405 on bulk reads).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.daemon.app import Application
from bot.sources.mastodon.instance import describe
from tests.ingest.helpers import make_config, poll_once, stored
from tests.servers.conftest import ProfiledServer

EXPECTED = {
    # profile: (software, read one at a time)
    "mastodon-4.5": ("mastodon", False),
    "mastodon-4.0": ("mastodon", True),
    "gotosocial": ("gotosocial", True),
    "takahe": ("takahe", True),
}


@pytest.fixture
def app(server: ProfiledServer, tmp_path: Path) -> Any:
    """Merkwacht configured with the profile's URL, on SQLite."""
    application = Application(make_config(f"sqlite:///{tmp_path / 'm.db'}", [server.url]))
    yield application
    application.close()


def _counts(app: Application) -> dict[str, int]:
    return {t: stored(app, f"SELECT count(*) AS n FROM {t}")[0].n for t in ("posts", "post_tags", "mentions",
                                                                            "post_sources")}


def test_every_post_is_stored_once_and_posts_between_two_polls_are_all_caught(
    server: ProfiledServer, app: Application
) -> None:
    for i in range(45):  # more than one page of 40
        server.mock.post(f"Koffie nummer {i} #koffie")
    first = poll_once(app)

    for i in range(12):
        server.mock.post(f"Later nog {i} #koffie")
    second = poll_once(app)

    assert sum(r.new for r in first) == 45 and sum(r.new for r in second) == 12
    ids = [r.remote_id for r in stored(app, "SELECT remote_id FROM post_sources")]
    assert len(ids) == len(set(ids)) == 57
    if server.profile == "gotosocial":
        assert all(len(i) == 26 for i in ids), "GoToSocial's ULIDs are kept as the server spells them"


def test_the_server_is_recognised_and_its_description_shown(server: ProfiledServer, app: Application) -> None:
    infos = asyncio.run(app.describe_servers())

    software, single = EXPECTED[server.profile]
    assert infos[0].software == software and infos[0].error is None
    assert infos[0].capabilities.bulk_status_reads is not single
    line = describe(infos[0])[0]
    assert software in line and ("one at a time" in line) is single
    if server.profile == "takahe":
        assert infos[0].read_from.startswith("/api/v1/instance"), "v2 answered 404, v1 without the slash did"


def test_a_refresh_picks_up_reactions_and_an_edit_on_every_server(server: ProfiledServer, app: Application) -> None:
    mention = server.mock.post("Acme is prima #koffie")
    poll_once(app)
    for fan in ("bob", "carol"):
        server.mock.client(fan).status_favourite(mention["id"])
    server.mock.client("alice").status_update(mention["id"], status="Acme is prima, maar duur #koffie")

    result = asyncio.run(app.refresh_engagement(server.url))

    assert result.error is None and (result.asked, result.seen) == (1, 1)
    assert result.mode == ("single" if EXPECTED[server.profile][1] else "bulk")
    [row] = stored(app, "SELECT text, favourites FROM posts")
    assert (row.text, row.favourites) == ("Acme is prima, maar duur #koffie", 2)


def test_a_server_that_does_not_describe_itself_is_tried_once_and_its_answer_remembered(
    server: ProfiledServer, app: Application
) -> None:
    server.shim.anonymous = True
    server.mock.post("Acme #koffie")
    poll_once(app)

    first = asyncio.run(app.refresh_engagement(server.url))
    second = asyncio.run(app.refresh_engagement(server.url))

    single = EXPECTED[server.profile][1]
    assert first.error is None and second.error is None and first.seen == second.seen == 1
    bulk_reads = server.shim.paths.count("/api/v1/statuses")
    assert bulk_reads == (1 if single else 2), "a 404/405 to a bulk read is asked once, then remembered"
    assert (second.mode == "single") is single
    info = app.servers.get(server.url)
    assert info is not None and any("one status at a time" in d for d in info.detected) is single


def test_a_post_deleted_at_the_source_is_removed_with_everything_stored_about_it(
    server: ProfiledServer, app: Application
) -> None:
    doomed = server.mock.post("Acme kwijt #koffie #acme")
    server.mock.post("Acme blijft #koffie")
    poll_once(app)
    before = _counts(app)
    server.mock.client("alice").status_delete(doomed["id"])

    result = asyncio.run(app.refresh_engagement(server.url))

    assert result.error is None and result.deleted == 1
    assert [r.text for r in stored(app, "SELECT text FROM posts")] == ["Acme blijft #koffie"]
    after = _counts(app)
    assert after["posts"] == before["posts"] - 1 and after["post_sources"] == before["post_sources"] - 1
    assert after["post_tags"] == before["post_tags"] - 2, "its two tags went with it"
    assert after["mentions"] < before["mentions"]
    assert stored(app, "SELECT count(*) AS n FROM mentions m LEFT JOIN posts p ON p.id = m.post_id "
                       "WHERE p.id IS NULL")[0].n == 0
    deleted = app.metrics.posts_deleted.labels("mastodon", server.url, "deleted")._value.get()
    assert deleted == 1


def test_an_author_who_turns_indexable_off_is_removed_on_the_next_refresh(
    server: ProfiledServer, app: Application
) -> None:
    server.mock.post("Acme is top #koffie", user="bob")
    server.mock.post("Gewoon koffie #koffie", user="bob")
    server.mock.post("Acme is ook goed #koffie", user="carol")
    poll_once(app)
    server.mock.set_indexable("bob", False)

    result = asyncio.run(app.refresh_engagement(server.url))

    assert result.opted_out == 2, "both of bob's posts go, the one without a brand too"
    assert [r.author_handle.split("@")[0] for r in stored(app, "SELECT author_handle FROM posts")] == ["carol"]


def test_posts_of_accounts_that_are_not_indexable_are_never_stored(server: ProfiledServer, app: Application) -> None:
    server.mock.set_indexable("dave", False)
    server.mock.post("Acme #koffie", user="dave")
    server.mock.post("Acme #koffie", user="erin")

    results = poll_once(app)

    assert sum(r.new for r in results) == 1 and sum(r.skipped for r in results) == 1


def test_on_a_server_that_declares_english_for_everything_dutch_posts_are_stored_as_dutch(
    server: ProfiledServer, app: Application
) -> None:
    server.mock.post("Acme bezorgt alweer te laat en de klantenservice neemt niet op #koffie", language="nl")
    poll_once(app)

    [row] = stored(app, "SELECT language, language_source, sentiment FROM posts")

    expected = "corrected" if server.profile == "gotosocial" else "declared"
    assert (row.language, row.language_source) == ("nl", expected)
    assert row.sentiment == "negative"
