"""The gateway client that serves the slash commands, and how the daemon runs it beside the polls.

It connects with the fewest intents that work (guilds; message content only when channels are watched), lets
discord.py reconnect on its own, and never takes the REST polling down with it: a failure here is logged and the
daemon keeps polling.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import discord

from bot.config import DiscordConfig
from bot.discord.commands import AdminTree, BotServices, build_commands
from bot.discord.connection import use_api_base
from bot.ops.backoff import BackoffPolicy

log = logging.getLogger(__name__)


def gateway_intents(*, watch_channels: bool) -> discord.Intents:
    """Guilds only (slash commands and the channel cache need it); message content only for watched channels."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.message_content = watch_channels
    return intents


class CommandBot(discord.Client):
    """A client whose only job is the slash commands, synced to the configured servers on start."""

    def __init__(self, services: BotServices, guild_ids: Sequence[int], *, watch_channels: bool = False) -> None:
        super().__init__(intents=gateway_intents(watch_channels=watch_channels),
                         allowed_mentions=discord.AllowedMentions.none())
        self.guild_ids = list(guild_ids)
        self.tree = AdminTree(self)
        for command in build_commands(services):
            self.tree.add_command(command)

    async def setup_hook(self) -> None:
        """Sync the commands to each configured server (guild commands appear at once; global ones take an hour)."""
        for guild_id in self.guild_ids:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            try:
                synced = await self.tree.sync(guild=guild)
            except discord.Forbidden:
                log.error("Discord: cannot register slash commands in server %s: invite the bot with the "
                          "applications.commands scope", guild_id)
            except discord.HTTPException as exc:
                log.error("Discord: registering slash commands in server %s failed: %s", guild_id, exc)
            else:
                log.info("Discord: %d slash commands ready in server %s", len(synced), guild_id)


RECONNECT_BACKOFF = BackoffPolicy(base=5.0, cap=300.0)
"""Between two gateway starts after a failure that discord.py's own reconnecting did not absorb."""


async def run_gateway(
    make_bot: Callable[[], CommandBot], token: str, *, backoff: BackoffPolicy = RECONNECT_BACKOFF
) -> None:
    """Keep a bot connected until cancelled; gives up only on a bad token or intents the portal has not allowed."""
    failures = 0
    while True:
        bot = make_bot()  # a closed client cannot start again
        try:
            async with bot:
                await bot.start(token, reconnect=True)
            return
        except discord.LoginFailure:
            log.error("Discord refused the bot token: slash commands are off; polling goes on")
            return
        except discord.PrivilegedIntentsRequired:
            log.error("Discord: the Message Content intent is not enabled for this bot in the Developer Portal; "
                      "slash commands are off; polling goes on")
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            # discord.py reconnects by itself on network errors; this is for whatever escapes it.
            failures += 1
            delay = backoff.delay(failures)
            log.exception("Discord gateway stopped; reconnecting in %.0fs (polling is not affected)", delay)
            await asyncio.sleep(delay)


def start_gateway(
    services: BotServices, settings: DiscordConfig, *, watch_channels: bool
) -> asyncio.Task[None] | None:
    """Start the slash-command client beside the polls, when a token and `[discord] guild_ids` are configured."""
    if not settings.guild_ids:
        log.info("Discord slash commands are off: no [discord] guild_ids")
        return None
    token = settings.token()
    if token is None:
        log.warning("Discord slash commands are off: no token in %s", settings.token_env or settings.token_file)
        return None
    use_api_base(settings.api_base)
    return asyncio.create_task(
        run_gateway(lambda: CommandBot(services, settings.guild_ids, watch_channels=watch_channels), token),
        name="discord gateway",
    )
