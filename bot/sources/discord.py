"""A Discord channel's message history as a `Timeline`, read over REST through discord.py's HTTP client.

Ids are snowflakes: their order is time order, so the ingest cursor (the newest stored message id) resumes exactly
where the last poll stopped. Discord answers each history page newest first, 100 messages at most.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, cast

import aiohttp
import discord

from bot.discord.connection import MESSAGE_CONTENT_HELP, DiscordConnection
from bot.model import Author, Post, SourceKind, TimelineId
from bot.sources.base import Page, Rejected, SourceError
from bot.sources.clean import clean_post

log = logging.getLogger(__name__)

PAGE_SIZE = 100
DISCORD_EPOCH_MS = 1_420_070_400_000
_USER_MESSAGE_TYPES = {0, 19}
"""Default messages and replies; joins, pins, boosts and other system messages are not customer posts."""


def snowflake_time(snowflake: str | int) -> datetime:
    """When a snowflake id was made (aware UTC)."""
    return datetime.fromtimestamp(((int(snowflake) >> 22) + DISCORD_EPOCH_MS) / 1000, UTC)


def time_snowflake(when: datetime) -> int:
    """The smallest snowflake made at `when`: `after=` this reads everything written since."""
    return (int(when.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22


def jump_url(guild_id: int | None, channel_id: int, message_id: str) -> str:
    """The message's link, its global identity in Merkwacht (`uri`)."""
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


def _has_body(message: dict[str, Any]) -> bool:
    return any(message.get(k) for k in ("content", "embeds", "attachments", "sticker_items", "poll",
                                        "message_snapshots", "components"))


class DiscordChannelTimeline:
    """The history of one watched channel; the digest's own messages and every bot's are left out."""

    def __init__(self, connection: DiscordConnection, channel_id: int) -> None:
        self.connection = connection
        self.channel_id = channel_id
        self.id = TimelineId(SourceKind.DISCORD, "discord", str(channel_id))
        """Channels are told apart by their id; the posts read carry `discord:<guild>/<channel>` as origin."""
        self._guild_id: int | None = None
        self._channel_name = ""
        self._reported_content = False

    async def newer(self, after_id: str) -> Page:
        """Up to 100 messages right after `after_id`."""
        return await self._page(after=after_id)

    async def older(self, before_id: str | None) -> Page:
        """Up to 100 messages right before `before_id`, or the newest ones."""
        return await self._page(before=before_id)

    async def _page(self, *, after: str | None = None, before: str | None = None) -> Page:
        try:
            client = await self.connection.client()
            if self._guild_id is None:
                channel = await client.fetch_channel(self.channel_id)
                guild = getattr(channel, "guild", None)
                self._guild_id = guild.id if guild is not None else 0
                self._channel_name = getattr(channel, "name", "") or ""
            # The raw JSON: bot flags, webhook ids and message types decide what is a customer post.
            data = cast(list[dict[str, Any]], await client.http.logs_from(
                self.channel_id, PAGE_SIZE, before=before, after=after
            ))
            own_id = client.user.id if client.user else None
        except Exception as exc:
            raise self._error(exc) from exc
        return self._to_page(data, own_id)

    def _to_page(self, data: list[dict[str, Any]], own_id: int | None) -> Page:
        # Discord orders a page newest first whichever way it was asked for; sort to be independent of that.
        data = sorted(data, key=lambda m: int(m["id"]), reverse=True)
        people = [m for m in data if self._is_customer_post(m, own_id)]
        # Messages that mention the bot keep their text without the intent, so only the others tell.
        telling = [m for m in people if not any(str(u.get("id")) == str(own_id) for u in m.get("mentions") or [])]
        if telling and not any(_has_body(m) for m in telling):
            # Without the Message Content intent every message arrives empty: stop here so the cursor stays, and
            # these messages are read again once the intent is on.
            if not self._reported_content:
                self._reported_content = True
                log.error("Discord channel %s: %s", self.channel_id, MESSAGE_CONTENT_HELP)
            raise SourceError("forbidden", f"Discord channel {self.channel_id}: Message Content intent is off")
        posts, rejected = [], []
        for message in people:
            if not message.get("content"):
                continue
            try:
                posts.append(self._post(message))
            except (KeyError, TypeError, ValueError, OverflowError) as exc:
                # One unreadable message must not stop the channel: it is recorded as skipped and the cursor moves.
                log.warning("skipping an unreadable message %r in Discord channel %s: %s", message.get("id"),
                            self.channel_id, exc)
                rejected.append(Rejected(str(message.get("id")), "", str(exc)))
        return Page(
            posts=posts,
            newest_id=str(data[0]["id"]) if data else None,
            oldest_id=str(data[-1]["id"]) if data else None,
            oldest_created_at=snowflake_time(data[-1]["id"]) if data else None,
            raw_count=len(data),
            rejected=rejected,
        )

    @staticmethod
    def _is_customer_post(message: dict[str, Any], own_id: int | None) -> bool:
        author = message.get("author") or {}
        if author.get("bot") or message.get("webhook_id"):
            return False  # other bots, webhooks, and the digest itself
        if own_id is not None and str(author.get("id")) == str(own_id):
            return False
        return int(message.get("type", 0)) in _USER_MESSAGE_TYPES

    def _post(self, message: dict[str, Any]) -> Post:
        author = message.get("author") or {}
        created = snowflake_time(message["id"])
        edited = message.get("edited_timestamp")
        name = (message.get("member") or {}).get("nick") or author.get("global_name") or author.get("username", "")
        return clean_post(Post(
            uri=jump_url(self._guild_id, self.channel_id, str(message["id"])),
            source=SourceKind.DISCORD,
            origin=f"discord:{self._guild_id or 0}/{self.channel_id}",
            remote_id=str(message["id"]),
            url=jump_url(self._guild_id, self.channel_id, str(message["id"])),
            author=Author(handle=str(author.get("id", "")), display_name=name, bot=bool(author.get("bot"))),
            created_at=created,
            text=message.get("content") or "",
            tags=(),
            edited_at=datetime.fromisoformat(edited) if edited else None,
            in_reply_to=str((message.get("message_reference") or {}).get("message_id") or "") or None,
        ))

    def _error(self, exc: BaseException) -> SourceError:
        where = f"Discord channel {self.channel_id}"
        if isinstance(exc, SourceError):
            return exc
        if isinstance(exc, discord.Forbidden):
            return SourceError("forbidden", f"{where}: missing access ({exc.code} {exc.text}); give the bot View "
                                            "Channel and Read Message History there")
        if isinstance(exc, discord.NotFound):
            return SourceError("not_found", f"{where}: unknown channel ({exc.code} {exc.text}); check "
                                            "[discord] watch_channels")
        if isinstance(exc, discord.LoginFailure):
            return SourceError("unauthorized", f"Discord rejected the bot token: {exc}")
        if isinstance(exc, discord.RateLimited):
            return SourceError("rate_limited", f"{where}: rate limited", retry_after=exc.retry_after)
        if isinstance(exc, discord.DiscordServerError):
            return SourceError("server", f"{where}: Discord server error {exc.status}")
        if isinstance(exc, discord.HTTPException):
            return SourceError("malformed", f"{where}: Discord answered {exc.status} {exc.code}: {exc.text}")
        if isinstance(exc, TimeoutError):
            return SourceError("timeout", f"{where}: Discord did not answer in time")
        if isinstance(exc, aiohttp.ClientError | OSError):
            return SourceError("network", f"{where}: cannot reach Discord: {exc!r}")
        raise exc
