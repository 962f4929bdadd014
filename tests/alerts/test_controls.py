"""Run-time control of alerts: `/alerts ...` in Discord (simcord) and `merkwacht alerts ...` in the terminal."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord
import pytest
import simcord

from bot.daemon.app import Application
from bot.digest import chunk
from bot.discord.gateway import CommandBot
from storage import alerts as ledger
from storage.db import Database
from tests.watch.helpers import GUILD_ID, config_of, merkwacht, write_config

ALERTS = "[alerts]\nchannel = 777000000000000001\n"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path / "config.toml", f"sqlite:///{tmp_path / 'm.db'}", extra=ALERTS)


def test_a_brand_is_muted_for_a_while_and_listed_as_muted(config_path: Path) -> None:
    result = merkwacht(config_path, "alerts", "mute", "acme", "2h")
    assert result.exit_code == 0 and result.output.startswith("Alerts for Acme are muted until ")
    listing = merkwacht(config_path, "alerts", "list").output
    assert "Muted: acme until" in listing and "No alerts yet." in listing
    db = Database(config_of(config_path).storage.url)
    with db.transaction() as session:
        until = ledger.mutes(session, datetime.now(UTC))["acme"].until
    db.close()
    assert until is not None and timedelta(minutes=119) < until - datetime.now(UTC) <= timedelta(hours=2)


def test_unmuting_lets_alerts_through_again(config_path: Path) -> None:
    merkwacht(config_path, "alerts", "mute", "Acme")
    assert merkwacht(config_path, "alerts", "unmute", "ACME").output.strip() == "Alerts for Acme are on again"
    assert "Muted:" not in merkwacht(config_path, "alerts", "list").output


def test_an_unknown_brand_or_a_bad_duration_is_refused_with_what_would_work(config_path: Path) -> None:
    result = merkwacht(config_path, "alerts", "mute", "Acne")
    assert result.exit_code == 1 and "there is no brand 'Acne'; the brands are: Acme" in result.output
    result = merkwacht(config_path, "alerts", "mute", "Acme", "soon")
    assert result.exit_code == 1 and "'soon' is not a duration like 30s, 5m or 1h" in result.output


def test_the_test_alert_is_clearly_marked_and_within_discord_limits(config_path: Path) -> None:
    result = merkwacht(config_path, "alerts", "test", "--dry-run")
    payload = json.loads(result.output)
    assert payload["content"].startswith("🧪 TEST ALERT (a sample, nothing happened): **Acme** needs an answer now")
    assert payload["allowed_mentions"] == {"parse": []} and chunk.limit_problems(payload) == []


class World:
    """A server with the bot, an admin and a plain member."""

    def __init__(self, env: simcord.Env) -> None:
        self.env = env
        self.channel = env.guild.channels["general"]
        admins = env.guild.create_role("admins", permissions=discord.Permissions(manage_guild=True))
        self.admin = env.guild.add_member(env.create_user("ann"), roles=[admins])
        self.member = env.guild.add_member(env.create_user("bob"))


@pytest.fixture
async def world(config_path: Path) -> AsyncIterator[World]:
    config = config_of(config_path)
    app = Application(config.model_copy(update={"ops": config.ops.model_copy(update={"http_enabled": False})}))
    env = simcord.Env(CommandBot(app.bot_services(), [GUILD_ID]))
    env.create_guild("Acme HQ", id=GUILD_ID).create_text_channel("general")
    await env.start()
    try:
        yield World(env)
    finally:
        await env.shutdown()
        app.close()


async def test_an_admin_mutes_and_unmutes_a_brand_from_discord(world: World) -> None:
    result = await world.admin.slash(world.channel, "alerts mute", brand="acme", duration="1d")
    assert result.response is not None and result.response.ephemeral
    assert result.response.content.startswith("Alerts for Acme are muted until ")
    listing = await world.admin.slash(world.channel, "alerts list")
    assert listing.response is not None and "Muted: acme" in listing.response.content
    result = await world.admin.slash(world.channel, "alerts unmute", brand="Acme")
    assert result.response is not None and result.response.content == "Alerts for Acme are on again"


async def test_a_bad_mute_is_refused_and_changes_nothing(world: World) -> None:
    result = await world.admin.slash(world.channel, "alerts mute", brand="Nobody")
    assert result.response is not None and result.response.content.startswith("Not changed: there is no brand")


async def test_alert_commands_are_for_admins_only(world: World) -> None:
    assert "alerts mute" in world.admin.available_commands(world.channel)
    assert not any(c.startswith("alerts") for c in world.member.available_commands(world.channel))
