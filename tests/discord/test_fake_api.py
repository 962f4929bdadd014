"""discord.py over real HTTP against the local Discord fake: login, history, sending, 429s, 5xx and validation."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from discord.http import Route
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.config import BrandConfig, Config
from bot.demo.discord_fake import BodyValidator, FakeDiscord
from bot.digest.deliver import DigestService
from bot.discord.connection import DiscordConnection
from bot.discord.sink import DeliveryError, DiscordSink
from bot.ingest.ingestor import Ingestor
from bot.ingest.matching import BrandMatcher
from bot.ingest.pipeline import Pipeline
from bot.ops.backoff import BackoffPolicy
from bot.sources.discord import DiscordChannelTimeline
from storage.db import Database
from storage.models import PollCursorRow, PostRow, SkippedPostRow
from tests.digest.seeding import post, store

AMS = ZoneInfo("Europe/Amsterdam")
WATCHED, DIGEST = 234567890123456789, 123456789012345678
TOKEN = "fake-token"


@pytest.fixture
async def fake(discord_rules: BodyValidator) -> AsyncIterator[FakeDiscord]:
    """The fake on a free local port, with a watched channel and a digest channel; Route.BASE restored after."""
    server = FakeDiscord(schema=discord_rules.schema)
    server.add_channel(WATCHED, name="support")
    server.add_channel(DIGEST, name="digest")
    await server.start()
    base = Route.BASE
    yield server
    Route.BASE = base  # type: ignore[misc]
    await server.close()


@pytest.fixture
async def connection(fake: FakeDiscord) -> AsyncIterator[DiscordConnection]:
    conn = DiscordConnection(TOKEN, fake.url)
    yield conn
    await conn.close()


async def no_sleep(_: float) -> None:
    return None


def ingestor(db: Database) -> Ingestor:
    return Ingestor(db, Pipeline(BrandMatcher([BrandConfig(name="Acme", terms=["acme"])])))


async def test_history_is_read_through_api_base_oldest_gap_free(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database
) -> None:
    start = datetime.now(UTC) - timedelta(hours=5)
    for i in range(150):
        fake.add_message(WATCHED, f"acme message {i}", when=start + timedelta(minutes=i))
    fake.add_message(WATCHED, "I am a bot", bot=True, author="helper")
    timeline = DiscordChannelTimeline(connection, WATCHED)

    result = await ingestor(sqlite_db).poll(timeline, backfill=timedelta(hours=24))
    fake.add_message(WATCHED, "acme one more")
    again = await ingestor(sqlite_db).poll(timeline, backfill=timedelta(hours=24))

    assert (result.new, again.new) == (150, 1)
    assert ("GET", "/api/v10/users/@me") in fake.requests
    with sqlite_db.transaction() as session:
        uris = list(session.scalars(select(PostRow.uri)))
    assert all(u.startswith(f"https://discord.com/channels/900000000000000001/{WATCHED}/") for u in uris)


async def test_the_backfill_stops_at_the_configured_window(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database
) -> None:
    now = datetime.now(UTC)
    fake.add_message(WATCHED, "acme old news", when=now - timedelta(days=3))
    fake.add_message(WATCHED, "acme fresh", when=now - timedelta(hours=1))
    result = await ingestor(sqlite_db).poll(DiscordChannelTimeline(connection, WATCHED), backfill=timedelta(days=1))
    with sqlite_db.transaction() as session:
        assert list(session.scalars(select(PostRow.text))) == ["acme fresh"]
    assert result.ok


async def test_missing_intent_is_reported_at_login_with_what_to_enable(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    fake.message_content = False
    fake.add_message(WATCHED, "acme is broken")
    with caplog.at_level(logging.ERROR):
        result = await ingestor(sqlite_db).poll(DiscordChannelTimeline(connection, WATCHED), backfill=timedelta(1))
    assert connection.message_content_enabled is False
    assert result.error_kind == "forbidden"
    assert any("Message Content Intent" in r.getMessage() for r in caplog.records)


async def test_access_errors_name_the_channel_and_what_to_fix(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database
) -> None:
    fake.add_channel(345678901234567890, readable=False)
    hidden = DiscordChannelTimeline(connection, 345678901234567890)
    blocked = await ingestor(sqlite_db).poll(hidden, backfill=timedelta(1))
    unknown = await ingestor(sqlite_db).poll(DiscordChannelTimeline(connection, 1), backfill=timedelta(1))
    assert blocked.error_kind == "forbidden" and "345678901234567890" in (blocked.error or "")
    assert unknown.error_kind == "not_found"


def service(db: Database, connection: DiscordConnection, **sink: Any) -> DigestService:
    config = Config.model_validate({
        "timezone": "Europe/Amsterdam",
        "brands": [{"name": f"Brand{i}", "terms": [f"brand{i}"]} for i in range(8)],
        "discord": {"digest_channel": DIGEST},
    })
    return DigestService(lambda: config, db, DiscordSink(connection, sleep=no_sleep, **sink))


def busy_day(db: Database) -> None:
    store(db, [post(datetime(2026, 3, 10, 10, i % 60, tzinfo=AMS), f"@everyone <@1> **{i}** " + "broken " * 60,
                    brands=[f"Brand{i % 8}"], cx="question", reactions=(i, 0, 0)) for i in range(80)])


async def test_the_digest_reaches_discord_valid_with_its_chart_and_pinging_no_one(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database
) -> None:
    busy_day(sqlite_db)
    result = await service(sqlite_db, connection).deliver(date(2026, 3, 10))
    assert result.status == "sent" and fake.rejected == []
    assert [r.message_id for r in fake.received] == result.message_ids and len(result.message_ids) > 1
    assert list(fake.received[0].files) == ["merkwacht-2026-03-10.png"]
    assert fake.received[0].files["merkwacht-2026-03-10.png"].startswith(b"\x89PNG")
    assert all(r.body["allowed_mentions"] == {"parse": []} for r in fake.received)


async def test_a_429_is_waited_out_and_the_message_sent_once(
    fake: FakeDiscord, connection: DiscordConnection
) -> None:
    fake.fail("POST", "/messages", 429, retry_after=0.05)
    message_id = await DiscordSink(connection, sleep=no_sleep).send(DIGEST, {"content": "hello",
                                                                              "allowed_mentions": {"parse": []}})
    assert [r.message_id for r in fake.received] == [message_id]
    assert fake.requests.count(("POST", f"/api/v10/channels/{DIGEST}/messages")) == 2


async def test_a_lost_response_is_retried_and_discord_deduplicates_it_by_nonce(
    fake: FakeDiscord, connection: DiscordConnection
) -> None:
    # Discord posts the message, then the answer is lost as a 502; discord.py retries with the same nonce.
    fake.fail("POST", "/messages", 502, after_effect=True)
    payload = {"content": "digest", "allowed_mentions": {"parse": []}, "nonce": "n0123.0", "enforce_nonce": True}
    message_id = await DiscordSink(connection, sleep=no_sleep).send(DIGEST, payload)
    posted = [m for m in fake.channels[DIGEST].messages if m["content"] == "digest"]
    assert [m["id"] for m in posted] == [message_id]


async def test_an_outage_is_retried_with_backoff_then_reported_and_left_pending(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    fake.fail("POST", "/messages", 503, times=100)
    svc = service(sqlite_db, connection)
    assert isinstance(svc.sink, DiscordSink)
    svc.sink = DiscordSink(connection, retries=3, backoff=BackoffPolicy(base=2.0, cap=60.0), sleep=sleep)
    with caplog.at_level(logging.ERROR):
        result = await svc.deliver(date(2026, 3, 10))
    assert result.status == "failed" and "unavailable" in (result.error or "")
    # Exponential with full jitter: each wait lies between the base and a ceiling that doubles per failure.
    assert len(delays) == 3 and all(2.0 <= wait <= 2.0 * 2**i for i, wait in enumerate(delays))
    assert any("not delivered" in r.getMessage() for r in caplog.records)

    fake.faults.clear()
    retried = await svc.deliver(date(2026, 3, 10))
    assert retried.status == "sent" and len(fake.received) == 1


async def test_the_fake_refuses_what_discord_would(fake: FakeDiscord, connection: DiscordConnection) -> None:
    sink = DiscordSink(connection, sleep=no_sleep)
    with pytest.raises(DeliveryError) as caught:
        await sink.send(DIGEST, {"content": "x" * 2001})
    assert caught.value.permanent and "50035" in str(caught.value)
    with pytest.raises(DeliveryError):
        await sink.send(DIGEST, {"embeds": [{"title": "t" * 257}]})
    assert len(fake.rejected) == 2 and fake.received == []


def test_the_shipped_schema_is_discords_own_unchanged() -> None:
    import json

    from bot.demo.discord_fake import DEFAULT_OPENAPI
    from tests.conftest import SHARED_OPENAPI

    if not SHARED_OPENAPI.is_file():
        pytest.skip(f"Discord's full OpenAPI description is not at {SHARED_OPENAPI} to compare with")
    full = json.loads(SHARED_OPENAPI.read_text())["components"]["schemas"]
    shipped = json.loads(DEFAULT_OPENAPI.read_text())["components"]["schemas"]

    assert "MessageCreateRequest" in shipped
    assert all(shipped[name] == full[name] for name in shipped)


async def test_a_message_deleted_in_a_watched_channel_is_removed_inside_the_refresh_window(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database
) -> None:
    from bot.ingest.refresh import follow_channel_deletions
    from bot.sources.discord import time_snowflake

    now = datetime.now(UTC)
    old = fake.add_message(WATCHED, "acme from last week", when=now - timedelta(days=7))
    kept = fake.add_message(WATCHED, "acme still here", when=now - timedelta(hours=3))
    doomed = fake.add_message(WATCHED, "acme regret", when=now - timedelta(hours=2))
    timeline = DiscordChannelTimeline(connection, WATCHED)
    await ingestor(sqlite_db).poll(timeline, backfill=timedelta(days=10))
    channel = fake.channels[WATCHED]
    channel.messages = [m for m in channel.messages if m["id"] not in (doomed["id"], old["id"])]
    since = now - timedelta(hours=48)

    removed = await follow_channel_deletions(sqlite_db, timeline, str(time_snowflake(since)), since)

    with sqlite_db.transaction() as session:
        texts = sorted(session.scalars(select(PostRow.text)))
    assert removed == 1
    assert texts == ["acme from last week", "acme still here"], "outside the window a deletion is not looked for"
    assert kept["id"] != doomed["id"]


def cursor_of(db: Database) -> str | None:
    with db.transaction() as session:
        return session.scalar(select(PollCursorRow.newest_id).where(PollCursorRow.scope == str(WATCHED)))


def skipped(db: Database) -> list[tuple[str, str]]:
    with db.transaction() as session:
        return [(r.remote_id, r.reason) for r in session.scalars(select(SkippedPostRow).order_by(SkippedPostRow.id))]


async def test_messages_whose_id_is_no_snowflake_are_skipped_by_name_and_the_rest_of_the_page_is_stored(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    start = datetime.now(UTC) - timedelta(hours=6)
    fake.add_message(WATCHED, "acme one", when=start)
    fake.add_message_with_odd_id(WATCHED, "acme with a word for an id", "abc", when=start + timedelta(hours=1))
    fake.add_message_with_odd_id(WATCHED, "acme with a negative id", "-42", when=start + timedelta(hours=2))
    fake.add_message_with_odd_id(WATCHED, "acme with Arabic-Indic digits", "١٢٣", when=start + timedelta(hours=3))
    newest_good = fake.add_message(WATCHED, "acme two", when=start + timedelta(hours=4))
    fake.add_message_with_odd_id(WATCHED, "acme without an id", None, when=start + timedelta(hours=5))
    timeline = DiscordChannelTimeline(connection, WATCHED)

    with caplog.at_level(logging.WARNING):
        result = await ingestor(sqlite_db).poll(timeline, backfill=timedelta(hours=24))

    assert result.ok and (result.new, result.skipped) == (2, 4)
    with sqlite_db.transaction() as session:
        assert sorted(session.scalars(select(PostRow.text))) == ["acme one", "acme two"]
    assert sorted(skipped(sqlite_db)) == [
        ("", "the message has no id"),
        ("-42", "its id '-42' is not a Discord snowflake"),
        ("abc", "its id 'abc' is not a Discord snowflake"),
        ("١٢٣", "its id '١٢٣' is not a Discord snowflake"),
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"Discord channel {WATCHED} (#support)" in w and "'abc'" in w for w in warnings), warnings
    assert cursor_of(sqlite_db) == newest_good["id"], "the cursor is the newest real snowflake, never an odd id"


async def test_after_an_odd_id_at_the_head_of_a_channel_the_next_poll_reads_on_from_the_last_real_id(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database
) -> None:
    now = datetime.now(UTC)
    good = fake.add_message(WATCHED, "acme before", when=now - timedelta(hours=2))
    fake.add_message_with_odd_id(WATCHED, "acme odd", "not-a-number", when=now - timedelta(hours=1))
    timeline = DiscordChannelTimeline(connection, WATCHED)
    await ingestor(sqlite_db).poll(timeline, backfill=timedelta(hours=24))
    assert cursor_of(sqlite_db) == good["id"]

    quiet = await ingestor(sqlite_db).poll(timeline, backfill=timedelta(hours=24))
    assert quiet.ok and (quiet.new, quiet.skipped) == (0, 0), "the odd message was recorded once, not at every poll"
    assert cursor_of(sqlite_db) == good["id"]

    later = fake.add_message(WATCHED, "acme after")
    caught_up = await ingestor(sqlite_db).poll(timeline, backfill=timedelta(hours=24))
    assert caught_up.ok and caught_up.new == 1 and cursor_of(sqlite_db) == later["id"]
    with sqlite_db.transaction() as session:
        assert sorted(session.scalars(select(PostRow.text))) == ["acme after", "acme before"]


async def test_a_channel_whose_only_message_has_an_odd_id_is_asked_once_per_poll_not_until_the_page_limit(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database
) -> None:
    fake.add_message_with_odd_id(WATCHED, "acme odd", {"nested": "object"})
    result = await ingestor(sqlite_db).poll(DiscordChannelTimeline(connection, WATCHED), backfill=timedelta(1))

    assert result.ok and (result.new, result.skipped) == (0, 1)
    assert fake.requests.count(("GET", f"/api/v10/channels/{WATCHED}/messages")) == 1
    assert cursor_of(sqlite_db) is None


async def test_a_page_with_an_odd_id_that_fails_to_store_in_an_outage_is_read_again_whole(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.ingest.ingestor as ingestor_module

    now = datetime.now(UTC)
    fake.add_message(WATCHED, "acme one", when=now - timedelta(hours=3))
    fake.add_message_with_odd_id(WATCHED, "acme odd", "abc", when=now - timedelta(hours=2))
    fake.add_message(WATCHED, "acme two", when=now - timedelta(hours=1))
    real = ingestor_module.store_posts

    def database_down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("INSERT ...", {}, Exception("server closed the connection unexpectedly"))

    timeline = DiscordChannelTimeline(connection, WATCHED)
    monkeypatch.setattr(ingestor_module, "store_posts", database_down)
    failed = await ingestor(sqlite_db).poll(timeline, backfill=timedelta(hours=24))
    monkeypatch.setattr(ingestor_module, "store_posts", real)
    recovered = await ingestor(sqlite_db).poll(timeline, backfill=timedelta(hours=24))

    assert failed.error_kind == "internal"
    assert recovered.ok and (recovered.new, recovered.skipped) == (2, 1)
    assert skipped(sqlite_db) == [("abc", "its id 'abc' is not a Discord snowflake")], "recorded once, when stored"


async def test_a_deleted_message_is_still_found_when_the_channels_newest_message_has_an_odd_id(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database
) -> None:
    from bot.ingest.refresh import follow_channel_deletions
    from bot.sources.discord import time_snowflake

    now = datetime.now(UTC)
    fake.add_message(WATCHED, "acme kept", when=now - timedelta(hours=3))
    doomed = fake.add_message(WATCHED, "acme regret", when=now - timedelta(hours=2))
    fake.add_message_with_odd_id(WATCHED, "acme odd", "abc", when=now - timedelta(hours=1))
    timeline = DiscordChannelTimeline(connection, WATCHED)
    await ingestor(sqlite_db).poll(timeline, backfill=timedelta(days=1))
    channel = fake.channels[WATCHED]
    channel.messages = [m for m in channel.messages if m.get("id") != doomed["id"]]
    since = now - timedelta(hours=48)

    removed = await follow_channel_deletions(sqlite_db, timeline, str(time_snowflake(since)), since)

    with sqlite_db.transaction() as session:
        assert list(session.scalars(select(PostRow.text))) == ["acme kept"]
    assert removed == 1


async def test_a_full_history_page_of_odd_ids_leaves_the_deletion_check_undecided_rather_than_deleting(
    fake: FakeDiscord, connection: DiscordConnection, sqlite_db: Database
) -> None:
    from bot.ingest.refresh import follow_channel_deletions
    from bot.sources.discord import PAGE_SIZE, time_snowflake

    now = datetime.now(UTC)
    for i in range(PAGE_SIZE):
        fake.add_message_with_odd_id(WATCHED, f"acme odd {i}", f"odd-{i}", when=now - timedelta(hours=3))
    fake.add_message(WATCHED, "acme behind the odd page", when=now - timedelta(hours=1))
    timeline = DiscordChannelTimeline(connection, WATCHED)
    await ingestor(sqlite_db).poll(timeline, backfill=timedelta(days=1))
    since = now - timedelta(hours=48)

    removed = await follow_channel_deletions(sqlite_db, timeline, str(time_snowflake(since)), since)

    with sqlite_db.transaction() as session:
        assert list(session.scalars(select(PostRow.text))) == ["acme behind the odd page"]
    assert removed == 0, "the message behind the unreadable page was never looked for, so it is not judged deleted"
