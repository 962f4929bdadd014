"""The slash commands, driven in simcord by members with and without Manage Server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord

from bot.daemon.app import Application
from bot.discord.commands import REFUSAL
from bot.discord.gateway import CommandBot
from tests.watch.helpers import GUILD_ID, config_of, write_config


class World:
    """A server with the bot in it, an admin, a plain member, and the daemon's application behind the bot."""

    def __init__(self, env: simcord.Env, app: Application) -> None:
        self.env, self.app = env, app
        self.guild = env.guild
        self.channel = self.guild.channels["general"]
        admins = self.guild.create_role("admins", permissions=discord.Permissions(manage_guild=True))
        self.admin = self.guild.add_member(env.create_user("ann"), roles=[admins])
        self.member = self.guild.add_member(env.create_user("bob"))

    def timelines(self) -> list[tuple[str, str]]:
        return self.app.watches.current().timelines


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    path = write_config(tmp_path / "config.toml", f"sqlite:///{tmp_path / 'm.db'}")
    config = config_of(path)
    app = Application(config.model_copy(update={"ops": config.ops.model_copy(update={"http_enabled": False})}))
    bot = CommandBot(app.bot_services(), [GUILD_ID])
    env = simcord.Env(bot)
    env.create_guild("Acme HQ", id=GUILD_ID).create_text_channel("general")
    await env.start()
    try:
        yield World(env, app)
    finally:
        await env.shutdown()
        app.close()


async def test_an_admin_adds_a_hashtag_and_only_they_see_the_reply(world: World) -> None:
    result = await world.admin.slash(world.channel, "watch add hashtag", name="#Thee")
    assert result.response is not None and result.response.ephemeral
    assert result.response.content == "now watching #thee"
    assert ("http://127.0.0.1:9", "thee") in world.timelines()


async def test_the_watch_list_shows_origins(world: World) -> None:
    await world.admin.slash(world.channel, "watch add hashtag", name="thee")
    result = await world.admin.slash(world.channel, "watch list")
    assert result.response is not None and result.response.ephemeral
    text = result.response.content
    assert "#koffie (config)" in text
    assert "#thee (runtime, added by discord:ann" in text


async def test_members_without_manage_server_do_not_see_the_commands(world: World) -> None:
    assert "watch add hashtag" in world.admin.available_commands(world.channel)
    assert not any(c.startswith(("watch", "digest", "status")) for c in world.member.available_commands(world.channel))


async def test_an_override_that_lets_a_member_see_the_command_is_still_refused(world: World) -> None:
    # Server admins can open a command to anyone; Merkwacht checks Manage Server again when it runs.
    commands = await world.env.bot.tree.fetch_commands(guild=discord.Object(GUILD_ID))  # type: ignore[attr-defined]
    watch = next(c for c in commands if c.name == "watch")
    world.guild.set_command_permissions(watch, {world.member: True})
    result = await world.member.slash(world.channel, "watch add hashtag", name="thee")
    assert result.response is not None and result.response.ephemeral
    assert result.response.content == REFUSAL
    assert ("http://127.0.0.1:9", "thee") not in world.timelines()


@pytest.mark.parametrize(
    ("command", "options", "message"),
    [
        ("watch add hashtag", {"name": "acme coffee"}, "'acme coffee' is not a hashtag"),
        ("watch add hashtag", {"name": "thee", "brand": "Nope"}, "there is no brand 'Nope'"),
        ("watch add hashtag", {"name": "thee", "instance": "gopher://x"}, "is not an http(s) URL"),
        ("watch add brand", {"name": "Empty"}, "has no terms, hashtags or handles"),
        ("watch add channel", {"channel": "999"}, "there is no channel 999 in this server"),
    ],
)
async def test_bad_input_gets_a_clear_message_and_saves_nothing(
    world: World, command: str, options: dict[str, Any], message: str
) -> None:
    before = world.app.watches.current().entries
    result = await world.admin.slash(world.channel, command, **options)
    assert result.response is not None and result.response.ephemeral
    assert result.response.content.startswith("Not changed:") and message in result.response.content
    assert world.app.watches.current().entries == before


async def test_a_channel_the_bot_cannot_read_is_refused(world: World) -> None:
    secret = world.guild.create_text_channel("secret")
    secret_overwrites = {world.guild.default_role: discord.PermissionOverwrite(view_channel=False)}
    channel = world.env.bot.get_channel(secret.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.edit(overwrites=secret_overwrites)  # type: ignore[arg-type]
    result = await world.admin.slash(world.channel, "watch add channel", channel=str(secret.id))
    assert result.response is not None
    assert result.response.content == (
        "Not changed: the bot cannot read #secret: give it View Channel and Read Message History in that channel, "
        "then try again"
    )
    readable = await world.admin.slash(world.channel, "watch add channel", channel=f"<#{world.channel.id}>")
    assert readable.response is not None and readable.response.content == f"now watching channel {world.channel.id}"


async def test_status_lists_sources_and_counts(world: World) -> None:
    result = await world.admin.slash(world.channel, "status")
    assert result.response is not None and result.response.ephemeral
    assert "#koffie on http://127.0.0.1:9: not polled yet" in result.response.content
    assert "0 posts stored" in result.response.content


async def test_digest_preview_is_shown_only_to_the_admin(world: World) -> None:
    result = await world.admin.slash(world.channel, "digest preview", date="2026-03-30")
    messages = [m for m in (result.response, *result.followups) if m is not None]
    assert messages and all(m.ephemeral for m in messages)
    assert "Merkwacht daily digest" in messages[0].content and "nothing mentioned Acme" in messages[0].content
    assert world.channel.last_message is None


async def test_digest_preview_refuses_a_bad_date(world: World) -> None:
    result = await world.admin.slash(world.channel, "digest preview", date="yesterday")
    assert result.response is not None and result.response.ephemeral
    assert "'yesterday' is not a date" in result.response.content


async def test_digest_send_refuses_today_since_the_full_digest_could_then_never_be_posted(world: World) -> None:
    today = datetime.now(world.app.config.zone).date()
    result = await world.admin.slash(world.channel, "digest send", date=today.isoformat())
    assert result.response is not None and result.response.ephemeral
    assert "is today and not over" in result.response.content and "/digest preview" in result.response.content
    assert world.channel.last_message is None


async def test_a_huge_pasted_value_is_refused_in_a_reply_discord_accepts(world: World) -> None:
    result = await world.admin.slash(world.channel, "watch add hashtag", name="h" * 3000)
    assert result.response is not None and result.response.ephemeral
    assert result.response.content.startswith("Not changed: a hashtag of 3000 characters is longer than the 255")
    assert len(result.response.content) <= 2000
    removed = await world.admin.slash(world.channel, "watch remove brand", name="b" * 2500)
    assert removed.response is not None and removed.response.content.startswith("Not changed: there is no brand")
    assert len(removed.response.content) <= 2000
