"""The slash commands: `/watch ...`, `/digest preview|send`, `/status`; each calls the service the CLI calls.

Every command is registered with `default_member_permissions` = Manage Server, and checked again when it runs
(`AdminTree.interaction_check`), because a server's admins can override the default per command, role or channel.
Replies are ephemeral, except the digest itself, which `/digest send` posts to the digest channel.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import discord
from discord import app_commands

from bot.alerts.control import AlertControl, AlertControlError
from bot.digest.build import previous_local_day
from bot.digest.days import DayRefused, check_digest_day
from bot.digest.deliver import DigestService
from bot.discord.access import GatewayChannelAccess
from bot.watch.service import Change, WatchError, WatchService, describe

log = logging.getLogger(__name__)

ADMIN = discord.Permissions(manage_guild=True)
REFUSAL = "Only members with the Manage Server permission can change or inspect what Merkwacht watches."
LIMIT = 1900
"""Under Discord's 2000 characters per message, with room for the 'and N more' line."""


@dataclass(frozen=True, slots=True)
class BotServices:
    """What the commands need: the watch list, a way to make the digest service, and the status report."""

    watches: WatchService
    digests: Callable[[discord.Client], DigestService]
    """A digest service that posts through this client (brands from the current watch list)."""
    status: Callable[[], Awaitable[list[str]]]
    alerts: AlertControl | None = None
    """Alert mutes, the latest alerts and the test alert (`/alerts ...`)."""


class AdminTree(app_commands.CommandTree[discord.Client]):
    """A command tree that refuses, ephemerally, anyone without Manage Server, whatever the command overrides say."""

    async def interaction_check(self, interaction: discord.Interaction[discord.Client], /) -> bool:
        """The run-time half of the admin-only rule."""
        if interaction.guild is not None and interaction.permissions.manage_guild:
            return True
        await interaction.response.send_message(REFUSAL, ephemeral=True)
        return False


def actor(interaction: discord.Interaction[discord.Client]) -> str:
    """Who a Discord change is recorded as."""
    return f"discord:{interaction.user.name} ({interaction.user.id})"


def fit(lines: Sequence[str], limit: int = LIMIT) -> str:
    """As many whole lines as fit one message, then how many were left out."""
    out: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        if size + len(line) + 1 > limit:
            out.append(f"… and {len(lines) - index} more (`merkwacht watch list` shows everything)")
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def _words(value: str | None) -> list[str]:
    # Discord has no list options: several terms are typed separated by commas.
    return [w.strip() for w in (value or "").split(",") if w.strip()]


def _channel_id(value: str) -> str:
    match = re.fullmatch(r"\s*<#(\d+)>\s*", value)
    return match[1] if match else value.strip()


def _day(value: str | None, services: BotServices) -> date:
    if not value:
        return previous_local_day(datetime.now(UTC), services.watches.config.zone)
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise WatchError(f"{value!r} is not a date like 2026-03-30") from None


async def _day_or_refuse(
    interaction: discord.Interaction[discord.Client], value: str | None, services: BotServices, *, sending: bool
) -> date | None:
    """The day asked for, or None after telling the member (only them) why it is not a day, or not one to send."""
    try:
        day = _day(value, services)
        today = datetime.now(services.watches.config.zone).date()
        # The same rule as `merkwacht digest --date`; there is no forcing a partial day from Discord.
        check_digest_day(day, today, sending=sending, force_hint="")
    except (WatchError, DayRefused) as exc:
        await interaction.response.send_message(str(exc).replace("preview it instead", "use /digest preview"),
                                                ephemeral=True)
        return None
    return day


async def _reply(interaction: discord.Interaction[discord.Client], work: Awaitable[Change]) -> None:
    try:
        change = await work
        text = change.message if change.changed else f"Nothing changed: {change.message}."
    except WatchError as exc:
        text = f"Not changed: {exc}"
    # A reply Discord refuses (over 2,000 characters, when a member pasted something huge) would leave them with
    # "The application did not respond".
    await interaction.response.send_message(_bounded(text), ephemeral=True)


def _bounded(text: str, limit: int = LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message_kwargs(payload: dict[str, Any], files: Sequence[tuple[str, bytes]]) -> dict[str, Any]:
    return {
        "content": payload.get("content") or None,
        "embeds": [discord.Embed.from_dict(e) for e in payload.get("embeds", [])],
        "files": [discord.File(io.BytesIO(data), filename=name) for name, data in files],
        "allowed_mentions": discord.AllowedMentions.none(),
    }


def build_commands(services: BotServices) -> list[app_commands.Group | app_commands.Command[Any, Any, Any]]:
    """The command groups, bound to `services`."""
    watch = app_commands.Group(name="watch", description="What Merkwacht watches", default_permissions=ADMIN,
                               guild_only=True)
    add = app_commands.Group(name="add", description="Watch something more", parent=watch)
    remove = app_commands.Group(name="remove", description="Stop watching something", parent=watch)
    svc = services.watches

    @watch.command(name="list", description="Everything watched, and whether the config or a run-time change says so")
    async def watch_list(interaction: discord.Interaction[discord.Client]) -> None:
        entries = await svc.entries()
        lines = [describe(e) for e in entries] or ["Nothing is watched yet: `/watch add hashtag` starts."]
        await interaction.response.send_message(fit(lines), ephemeral=True)

    @add.command(name="hashtag", description="Poll a hashtag on every instance (or one)")
    @app_commands.describe(name="The hashtag, with or without #", brand="Count it for this brand",
                           instance="Only on this instance (https://…)")
    async def add_hashtag(interaction: discord.Interaction[discord.Client], name: str, brand: str | None = None,
                          instance: str | None = None) -> None:
        await _reply(interaction, svc.add_hashtag(name, brand=brand, instance=instance, by=actor(interaction)))

    @add.command(name="brand", description="Add a brand, or replace its definition")
    @app_commands.describe(name="The brand's name", terms="Words that mention it, comma-separated",
                           hashtags="Its hashtags, comma-separated", handles="Its accounts (@x@y), comma-separated",
                           exclude="Phrases that are not it, comma-separated")
    async def add_brand(interaction: discord.Interaction[discord.Client], name: str, terms: str | None = None,
                        hashtags: str | None = None, handles: str | None = None, exclude: str | None = None) -> None:
        change = svc.add_brand(name, terms=_words(terms), hashtags=_words(hashtags), handles=_words(handles),
                               exclude=_words(exclude), by=actor(interaction))
        await _reply(interaction, change)

    @add.command(name="channel", description="Read a channel of this server for mentions")
    @app_commands.describe(channel="The channel id, or #channel")
    async def add_channel(interaction: discord.Interaction[discord.Client], channel: str) -> None:
        assert interaction.guild is not None  # guild_only
        access = GatewayChannelAccess(interaction.guild)
        await _reply(interaction, svc.add_channel(_channel_id(channel), access=access, by=actor(interaction)))

    @remove.command(name="hashtag", description="Stop polling a hashtag (everywhere, or on one instance)")
    @app_commands.describe(name="The hashtag", instance="Only on this instance (https://…)")
    async def remove_hashtag(interaction: discord.Interaction[discord.Client], name: str,
                             instance: str | None = None) -> None:
        await _reply(interaction, svc.remove_hashtag(name, instance=instance, by=actor(interaction)))

    @remove.command(name="brand", description="Stop matching a brand")
    async def remove_brand(interaction: discord.Interaction[discord.Client], name: str) -> None:
        await _reply(interaction, svc.remove_brand(name, by=actor(interaction)))

    @remove.command(name="channel", description="Stop reading a channel")
    @app_commands.describe(channel="The channel id, or #channel")
    async def remove_channel(interaction: discord.Interaction[discord.Client], channel: str) -> None:
        await _reply(interaction, svc.remove_channel(_channel_id(channel), by=actor(interaction)))

    digest = app_commands.Group(name="digest", description="The daily digest", default_permissions=ADMIN,
                                guild_only=True)

    @digest.command(name="preview", description="Show the digest only to you (default: yesterday)")
    @app_commands.describe(date="The day, like 2026-03-30")
    async def digest_preview(interaction: discord.Interaction[discord.Client], date: str | None = None) -> None:
        day = await _day_or_refuse(interaction, date, services, sending=False)
        if day is None:
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        prepared = await asyncio.to_thread(services.digests(interaction.client).prepare, day)
        for index, payload in enumerate(prepared.rendered.payloads):
            await interaction.followup.send(ephemeral=True, **_message_kwargs(payload, prepared.files(index)))

    @digest.command(name="send", description="Post the digest to the digest channel (once per day)")
    @app_commands.describe(date="The day, like 2026-03-30")
    async def digest_send(interaction: discord.Interaction[discord.Client], date: str | None = None) -> None:
        day = await _day_or_refuse(interaction, date, services, sending=True)
        if day is None:
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            delivery = await services.digests(interaction.client).deliver(day)
        except Exception as exc:  # the sink's DeliveryError, or no digest channel configured
            await interaction.followup.send(f"The digest for {day} was not sent: {exc}", ephemeral=True)
            return
        text = {
            "sent": f"Posted the digest for {day} in <#{delivery.channel_id}> ({len(delivery.message_ids)} messages).",
            "already_sent": f"The digest for {day} was already posted in <#{delivery.channel_id}>; not posting twice.",
        }.get(delivery.status, f"The digest for {day} was not sent: {delivery.error}")
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(name="status", description="Sources, last polls, errors and counts")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def status(interaction: discord.Interaction[discord.Client]) -> None:
        await interaction.response.send_message(fit(await services.status()), ephemeral=True)

    commands: list[app_commands.Group | app_commands.Command[Any, Any, Any]] = [watch, digest, status]
    if services.alerts is not None:
        commands.append(alert_commands(services.alerts))
    return commands


def alert_commands(control: AlertControl) -> app_commands.Group:
    """`/alerts list|mute|unmute|test`, admin-only like the rest."""
    group = app_commands.Group(name="alerts", description="Alerts within minutes", default_permissions=ADMIN,
                               guild_only=True)

    async def answer(interaction: discord.Interaction[discord.Client], work: Callable[[], str]) -> None:
        try:
            text = await asyncio.to_thread(work)
        except AlertControlError as exc:
            text = f"Not changed: {exc}"
        await interaction.response.send_message(text, ephemeral=True)

    @group.command(name="list", description="Alert settings, muted brands and the latest alerts")
    async def alerts_list(interaction: discord.Interaction[discord.Client]) -> None:
        await answer(interaction, lambda: fit(control.lines()))

    @group.command(name="mute", description="Mute a brand's alerts, for a while or until unmuted")
    @app_commands.describe(brand="The brand", duration="How long, like 2h or 1d (default: until /alerts unmute)")
    async def alerts_mute(interaction: discord.Interaction[discord.Client], brand: str,
                          duration: str | None = None) -> None:
        await answer(interaction, lambda: control.mute(brand, duration, actor(interaction)))

    @group.command(name="unmute", description="Let a brand's alerts through again")
    async def alerts_unmute(interaction: discord.Interaction[discord.Client], brand: str) -> None:
        await answer(interaction, lambda: control.unmute(brand))

    @group.command(name="test", description="Post a clearly marked sample alert in the alert channel")
    async def alerts_test(interaction: discord.Interaction[discord.Client]) -> None:
        from bot.discord.connection import DiscordConnection
        from bot.discord.sink import DeliveryError, DiscordSink

        await interaction.response.defer(ephemeral=True, thinking=True)
        sink = DiscordSink(DiscordConnection.attached(interaction.client), retries=1)
        try:
            await control.send_test(sink)
        except (AlertControlError, DeliveryError) as exc:
            await interaction.followup.send(f"The test alert was not posted: {exc}", ephemeral=True)
            return
        channel = control.channel()
        await interaction.followup.send(f"Posted a test alert in <#{channel}>.", ephemeral=True)

    return group
