"""Watched channels read through discord.py against simcord's simulated Discord: paging, filtering, errors."""

from __future__ import annotations

import logging
from datetime import timedelta

import discord
import pytest
import simcord
from sqlalchemy import select

from bot.config import BrandConfig
from bot.discord.connection import DiscordConnection
from bot.ingest.ingestor import Ingestor
from bot.ingest.matching import BrandMatcher
from bot.ingest.pipeline import Pipeline
from bot.sources.discord import DiscordChannelTimeline
from storage.db import Database
from storage.models import MentionRow, PostRow

# simcord's clock starts on 2026-01-01; reach back far enough to include it whatever today is.
BACKFILL = timedelta(days=3650)


def ingestor(db: Database) -> Ingestor:
    return Ingestor(db, Pipeline(BrandMatcher([BrandConfig(name="Acme", terms=["acme"])])))


def stored(db: Database) -> list[PostRow]:
    with db.transaction() as session:
        return list(session.scalars(select(PostRow).order_by(PostRow.id)))


@pytest.fixture
def env(simcord_env: simcord.Env) -> simcord.Env:
    """simcord's running environment around Merkwacht's REST client (`simcord_bot` in conftest.py)."""
    return simcord_env


async def test_a_poll_reads_every_message_across_pages_and_resumes_after_the_last(
    env: simcord.Env, sqlite_db: Database
) -> None:
    guild = env.create_guild()
    channel = guild.create_text_channel("support")
    alice = guild.add_member(env.create_user("alice"))
    for i in range(230):
        await alice.send(channel, f"message {i} about acme")
    timeline = DiscordChannelTimeline(DiscordConnection.attached(env.bot), channel.id)

    first = await ingestor(sqlite_db).poll(timeline, backfill=BACKFILL)
    assert first.ok and first.new == 230 and first.pages >= 3
    for i in range(230, 260):
        await alice.send(channel, f"message {i}")
    second = await ingestor(sqlite_db).poll(timeline, backfill=BACKFILL)
    assert second.new == 30

    posts = stored(sqlite_db)
    assert len(posts) == 260 and {p.source for p in posts} == {"discord"}
    assert sorted(int(p.text.split()[1]) for p in posts) == list(range(260))
    newest = channel.last_message
    assert newest is not None
    assert f"https://discord.com/channels/{guild.id}/{channel.id}/{newest.id}" in {p.uri for p in posts}
    with sqlite_db.transaction() as session:
        assert session.scalar(select(MentionRow.brand).limit(1)) == "Acme"


async def test_bots_and_merkwachts_own_messages_are_not_ingested(env: simcord.Env, sqlite_db: Database) -> None:
    guild = env.create_guild()
    channel = guild.create_text_channel("support")
    alice = guild.add_member(env.create_user("alice"))
    other_bot = guild.add_member(env.create_user("helperbot", bot=True))
    await alice.send(channel, "a customer writes")
    await other_bot.send(channel, "an automated reply")
    own = await env.bot.fetch_channel(channel.id)
    assert isinstance(own, discord.TextChannel)
    await own.send("Merkwacht daily digest")

    result = await ingestor(sqlite_db).poll(DiscordChannelTimeline(DiscordConnection.attached(env.bot), channel.id),
                                            backfill=BACKFILL)
    assert result.ok
    assert [p.text for p in stored(sqlite_db)] == ["a customer writes"]


async def test_missing_message_content_intent_is_reported_once_and_nothing_is_stored_empty(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    intents = discord.Intents.default()  # the portal switch is off: no message_content
    client = discord.Client(intents=intents, allowed_mentions=discord.AllowedMentions.none())
    async with simcord.run(client, approved_intents=intents) as env:
        guild = env.create_guild()
        channel = guild.create_text_channel("support")
        alice = guild.add_member(env.create_user("alice"))
        await alice.send(channel, "acme is down")
        timeline = DiscordChannelTimeline(DiscordConnection.attached(env.bot), channel.id)
        with caplog.at_level(logging.ERROR):
            first = await ingestor(sqlite_db).poll(timeline, backfill=BACKFILL)
            second = await ingestor(sqlite_db).poll(timeline, backfill=BACKFILL)
    assert first.error_kind == second.error_kind == "forbidden"
    assert "Message Content intent" in (first.error or "")
    reports = [r.getMessage() for r in caplog.records if "Privileged Gateway Intents" in r.getMessage()]
    assert len(reports) == 1 and "Developer Portal" in reports[0]
    assert stored(sqlite_db) == []


async def test_a_channel_the_bot_cannot_see_fails_clearly_and_others_go_on(
    env: simcord.Env, sqlite_db: Database
) -> None:
    guild = env.create_guild()
    hidden = guild.create_text_channel(
        "staff", overwrites={guild.default_role: discord.PermissionOverwrite(view_channel=False)}
    )
    open_channel = guild.create_text_channel("support")
    alice = guild.add_member(env.create_user("alice"))
    await alice.send(open_channel, "hello acme")
    connection = DiscordConnection.attached(env.bot)

    blocked = await ingestor(sqlite_db).poll(DiscordChannelTimeline(connection, hidden.id), backfill=BACKFILL)
    unknown = await ingestor(sqlite_db).poll(DiscordChannelTimeline(connection, 999999999999999999),
                                             backfill=BACKFILL)
    fine = await ingestor(sqlite_db).poll(DiscordChannelTimeline(connection, open_channel.id), backfill=BACKFILL)

    assert blocked.error_kind == "forbidden" and "Read Message History" in (blocked.error or "")
    assert unknown.error_kind == "not_found" and "watch_channels" in (unknown.error or "")
    assert fine.ok and fine.new == 1
