"""Whether the bot can read a channel: asked of the gateway's cache in Discord, of the REST API from the CLI."""

from __future__ import annotations

import discord

from bot.discord.connection import DiscordConnection

NEEDS = "View Channel and Read Message History"


class GatewayChannelAccess:
    """Answers from the guild the command was run in, as the gateway sees it."""

    def __init__(self, guild: discord.Guild) -> None:
        self.guild = guild

    async def problem(self, channel_id: int) -> str | None:
        """None when the bot can read the channel, else why not."""
        channel = self.guild.get_channel(channel_id)
        if channel is None:
            return f"there is no channel {channel_id} in this server that the bot can see; give it {NEEDS} there"
        if not isinstance(channel, discord.TextChannel | discord.VoiceChannel | discord.ForumChannel):
            return f"#{channel.name} is not a text channel; only text channels can be watched"
        perms = channel.permissions_for(self.guild.me)
        if not (perms.view_channel and perms.read_message_history):
            return f"the bot cannot read #{channel.name}: give it {NEEDS} in that channel, then try again"
        return None


class RestChannelAccess:
    """Answers over the REST API with the bot's token: fetch the channel, then read one message of its history."""

    def __init__(self, connection: DiscordConnection) -> None:
        self.connection = connection

    async def problem(self, channel_id: int) -> str | None:
        """None when the bot can read the channel, else why not."""
        try:
            client = await self.connection.client()
            channel = await client.fetch_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                return f"channel {channel_id} is not a text channel; only text channels can be watched"
            async for _ in channel.history(limit=1):
                break
        except discord.NotFound:
            return f"there is no channel {channel_id}, or the bot is not in its server"
        except discord.Forbidden:
            return f"the bot cannot read channel {channel_id}: give it {NEEDS} in that channel, then try again"
        except discord.LoginFailure as exc:
            return f"cannot check channel {channel_id}: {exc}"
        except (discord.HTTPException, OSError) as exc:
            return f"cannot check channel {channel_id} with Discord right now ({exc}); try again"
        return None
