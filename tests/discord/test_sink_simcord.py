"""Posting the digest with discord.py, checked against simcord's simulated Discord."""

from __future__ import annotations

import discord
import pytest
import simcord

from bot.discord.connection import DiscordConnection, new_client
from bot.discord.sink import DeliveryError, DiscordSink

PAYLOAD = {
    "content": "**Merkwacht daily digest**",
    "embeds": [{"title": "Acme", "description": "12 mentions", "color": 0x2B8A3E,
                "image": {"url": "attachment://chart.png"}}],
    "allowed_mentions": {"parse": []},
    "attachments": [{"id": "0", "filename": "chart.png"}],
    "nonce": "abc.0",
    "enforce_nonce": True,
}


async def test_the_digest_arrives_with_its_embeds_and_chart() -> None:
    async with simcord.run(new_client()) as env:
        channel = env.create_guild().create_text_channel("digest")
        sink = DiscordSink(DiscordConnection.attached(env.bot), retries=0)
        message_id = await sink.send(channel.id, PAYLOAD, [("chart.png", b"\x89PNG fake")])
        message = channel.last_message
        assert message is not None and str(message.id) == message_id
        assert message.content == "**Merkwacht daily digest**"
        assert [e.title for e in message.embeds] == ["Acme"]
        assert [a.filename for a in message.attachments] == ["chart.png"]


async def test_a_channel_without_send_permission_is_a_permanent_error_that_says_what_to_grant() -> None:
    async with simcord.run(new_client()) as env:
        guild = env.create_guild()
        channel = guild.create_text_channel(
            "read-only", overwrites={guild.default_role: discord.PermissionOverwrite(send_messages=False)}
        )
        sink = DiscordSink(DiscordConnection.attached(env.bot), retries=3)
        with pytest.raises(DeliveryError) as caught:
            await sink.send(channel.id, PAYLOAD)
        assert caught.value.permanent and "Send Messages" in str(caught.value)
