"""One effective configuration: a brand or hashtag added at run time reaches every consumer, and a removal leaves it.

The consumers are the poll jobs, the engagement refresh, the scheduled digest, `merkwacht digest`, `/digest preview`
and `/status`. Each test makes the change the way an operator would (`merkwacht watch ...`) and then looks at what
that consumer does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import discord
import pytest
import simcord
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.daemon.app import Application
from bot.discord.gateway import CommandBot
from tests.digest.seeding import post, store
from tests.watch.helpers import GUILD_ID, config_of, merkwacht, write_config

DAY = date(2026, 3, 30)
NOON = datetime(2026, 3, 30, 10, 0, tzinfo=UTC)
ELSEWHERE = "http://127.0.0.1:8"
"""An instance only a run-time change names."""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path / "config.toml", f"sqlite:///{tmp_path / 'm.db'}")


@pytest.fixture
def app(config_path: Path) -> Iterator[Application]:
    config = config_of(config_path)
    app = Application(config.model_copy(update={"ops": config.ops.model_copy(update={"http_enabled": False})}))
    yield app
    app.close()


def add_zed_and_thee(config_path: Path) -> None:
    assert merkwacht(config_path, "watch", "add", "brand", "Zed", "--term", "Zed").exit_code == 0
    assert merkwacht(config_path, "watch", "add", "hashtag", "thee").exit_code == 0


def remove_zed_and_thee(config_path: Path) -> None:
    assert merkwacht(config_path, "watch", "remove", "brand", "Zed").exit_code == 0
    assert merkwacht(config_path, "watch", "remove", "hashtag", "thee").exit_code == 0


def seed_the_day(app: Application) -> None:
    store(app.db, [post(NOON, "Zed is great", brands=["Zed"]), post(NOON, "verse #thee", tags=["thee"])])


def test_poll_jobs_follow_run_time_hashtags(app: Application, config_path: Path) -> None:
    async def jobs_after(change: object) -> set[str]:
        scheduler = AsyncIOScheduler()
        app.schedule(scheduler)
        await app.reconcile(scheduler)
        return {job.id for job in scheduler.get_jobs()}

    add_zed_and_thee(config_path)
    assert merkwacht(config_path, "watch", "add", "hashtag", "zeddy", "--instance", ELSEWHERE).exit_code == 0
    added = asyncio.run(jobs_after(None))
    assert {"mastodon:http://127.0.0.1:9#thee", f"mastodon:{ELSEWHERE}#zeddy"} <= added

    remove_zed_and_thee(config_path)
    assert "mastodon:http://127.0.0.1:9#thee" not in asyncio.run(jobs_after(None))


def test_the_engagement_refresh_covers_run_time_instances_and_matches_run_time_brands(
    app: Application, config_path: Path
) -> None:
    async def scenario() -> tuple[set[str], set[str]]:
        scheduler = AsyncIOScheduler()
        app.schedule(scheduler)
        before = {job.id for job in scheduler.get_jobs() if job.id.startswith("refresh:")}
        await asyncio.to_thread(add_zed_and_thee, config_path)
        await asyncio.to_thread(merkwacht, config_path, "watch", "add", "hashtag", "zeddy", "--instance", ELSEWHERE)
        await app.reconcile(scheduler)
        after = {job.id for job in scheduler.get_jobs() if job.id.startswith("refresh:")}
        return before, after

    before, after = asyncio.run(scenario())
    assert f"refresh:{ELSEWHERE}" not in before and f"refresh:{ELSEWHERE}" in after
    assert [m.brand for m in app.pipeline.matcher.match(post(NOON, "Zed broke again").post)] == ["Zed"]


def test_the_scheduled_digest_counts_run_time_brands_and_hashtags(app: Application, config_path: Path) -> None:
    seed_the_day(app)
    add_zed_and_thee(config_path)
    digest = app.digests.build(DAY)
    assert "Zed" in [b.brand for b in digest.brands]
    assert ("thee", 1) in digest.unbranded_tags

    remove_zed_and_thee(config_path)
    digest = app.digests.build(DAY)
    assert "Zed" not in [b.brand for b in digest.brands]
    assert "thee" not in dict(digest.unbranded_tags)


def test_merkwacht_digest_counts_run_time_brands(app: Application, config_path: Path) -> None:
    seed_the_day(app)
    add_zed_and_thee(config_path)

    def shown() -> tuple[list[str], str]:
        """The brands with a section of their own, and the 'watched hashtags without a brand' line."""
        result = merkwacht(config_path, "digest", "--date", DAY.isoformat(), "--dry-run", "--json")
        assert result.exit_code == 0, result.output
        embeds = [e for line in result.output.splitlines() for e in json.loads(line).get("embeds", [])]
        fields = {f["name"]: f["value"] for e in embeds for f in e.get("fields", [])}
        return [e["title"] for e in embeds], fields["Watched hashtags without a brand"]

    titles, unbranded = shown()
    assert "Zed" in titles and "#thee" in unbranded
    remove_zed_and_thee(config_path)
    titles, unbranded = shown()
    assert "Zed" not in titles and "#thee" not in unbranded


@pytest.fixture
async def guild(app: Application) -> AsyncIterator[tuple[simcord.Env, discord.abc.Messageable, object]]:
    env = simcord.Env(CommandBot(app.bot_services(), [GUILD_ID]))
    guild = env.create_guild("Acme HQ", id=GUILD_ID)
    channel = guild.create_text_channel("general")
    admins = guild.create_role("admins", permissions=discord.Permissions(manage_guild=True))
    admin = guild.add_member(env.create_user("ann"), roles=[admins])
    await env.start()
    try:
        yield env, channel, admin
    finally:
        await env.shutdown()


async def test_digest_preview_shows_run_time_brands(app: Application, config_path: Path, guild: tuple) -> None:
    _, channel, admin = guild
    seed_the_day(app)

    async def sections() -> list[str]:
        """The titles of the preview's embeds: one per brand."""
        result = await admin.slash(channel, "digest preview", date=DAY.isoformat())
        return [e.title for m in (result.response, *result.followups) if m is not None for e in m.embeds]

    await asyncio.to_thread(add_zed_and_thee, config_path)
    assert "Zed" in await sections()
    await asyncio.to_thread(remove_zed_and_thee, config_path)
    assert "Zed" not in await sections()


async def test_status_lists_run_time_hashtags(app: Application, config_path: Path, guild: tuple) -> None:
    _, channel, admin = guild

    async def status() -> str:
        result = await admin.slash(channel, "status")
        assert result.response is not None
        return str(result.response.content)

    await asyncio.to_thread(add_zed_and_thee, config_path)
    assert "#thee on http://127.0.0.1:9" in await status()
    await asyncio.to_thread(remove_zed_and_thee, config_path)
    assert "#thee" not in await status()


def test_a_hashtag_watched_at_run_time_carries_no_sentiment_of_its_own(app: Application, config_path: Path) -> None:
    assert app.pipeline.analyser is not None
    tagged = post(NOON, "Nieuwe kaart vandaag #fantastic", tags=["fantastic"]).post
    plain = post(NOON, "Nieuwe kaart vandaag").post
    before = app.pipeline.analyser.analyse(tagged)

    assert merkwacht(config_path, "watch", "add", "hashtag", "fantastic").exit_code == 0
    app.effective_config()  # what every job does first: read the effective watch list
    after = app.pipeline.analyser.analyse(tagged)

    assert before.sentiment_score != after.sentiment_score, "the hashtag counted while it was not watched"
    assert after.sentiment_score == app.pipeline.analyser.analyse(plain).sentiment_score
