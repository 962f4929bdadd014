"""A Discord channel's message history as a `Timeline`, read over REST through discord.py's HTTP client.

Ids are snowflakes: their order is time order, so the ingest cursor (the newest stored message id) resumes exactly
where the last poll stopped. Discord answers each history page newest first, 100 messages at most. An item whose id
is not a snowflake (a broken or hostile server) is skipped with a warning and recorded as rejected; it never becomes
the cursor, and the rest of its page is stored.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp
import discord

from bot.discord.connection import MESSAGE_CONTENT_HELP, DiscordConnection
from bot.model import Author, Post, SourceKind, TimelineId
from bot.sources.base import Page, Rejected, SourceError
from bot.sources.clean import clean_line, clean_post, shown_id

log = logging.getLogger(__name__)

PAGE_SIZE = 100
DISCORD_EPOCH_MS = 1_420_070_400_000
_USER_MESSAGE_TYPES = {0, 19}
"""Default messages and replies; joins, pins, boosts and other system messages are not customer posts."""


MAX_SNOWFLAKE = 2**64 - 1
"""Snowflakes are unsigned 64-bit integers; a larger number is no Discord id (and no date `snowflake_time` can make)."""


def parse_snowflake(value: object) -> int | None:
    """`value` as a snowflake (a JSON number, or a string of ASCII digits as Discord sends them), or None if it is none.

    `int()` alone would also take " 12", "1_2", "-3", "١٢" and True, none of which Discord sends.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and 0 < len(value) <= 20 and value.isascii() and value.isdigit():
        number = int(value)
    else:
        return None
    return number if 0 <= number <= MAX_SNOWFLAKE else None


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


def _mentions(message: dict[str, Any], user_id: int | None) -> bool:
    mentions = message.get("mentions")
    return isinstance(mentions, list) and any(isinstance(u, dict) and str(u.get("id")) == str(user_id)
                                              for u in mentions)


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
                # The raw JSON, not discord.py's channel object: that one parses `last_message_id`, and a channel
                # whose newest message has an odd id must still be read.
                channel: Any = await client.http.get_channel(self.channel_id)
                if not isinstance(channel, dict):
                    raise SourceError("malformed", f"{self._where()}: the channel answer is a "
                                                   f"{type(channel).__name__}, not a channel")
                self._guild_id = parse_snowflake(channel.get("guild_id")) or 0
                name = channel.get("name")
                self._channel_name = name if isinstance(name, str) else ""
            # The raw JSON: bot flags, webhook ids and message types decide what is a customer post.
            data: Any = await client.http.logs_from(self.channel_id, PAGE_SIZE, before=before, after=after)
            own_id = client.user.id if client.user else None
        except Exception as exc:
            raise self._error(exc) from exc
        if not isinstance(data, list):
            raise SourceError("malformed", f"{self._where()}: the history answer is a {type(data).__name__}, "
                                           "not a list of messages")
        return self._to_page(data, own_id)

    def _where(self) -> str:
        name = f" (#{clean_line(self._channel_name, 100)})" if self._channel_name else ""
        return f"Discord channel {self.channel_id}{name}"

    def _to_page(self, data: list[Any], own_id: int | None) -> Page:
        rejected: list[Rejected] = []
        readable: list[tuple[int, dict[str, Any]]] = []
        for item in data:
            raw = item.get("id") if isinstance(item, dict) else None
            message_id = parse_snowflake(raw)
            if message_id is None:
                # Not orderable, not linkable, no cursor: skipped and recorded, so the rest of the page is stored and
                # the cursor moves on over the messages that have a real id.
                reason = (f"a JSON {type(item).__name__}, not a message" if not isinstance(item, dict)
                          else "the message has no id" if raw is None
                          else f"its id {shown_id(raw)} is not a Discord snowflake")
                log.warning("skipping a message in %s: %s", self._where(), reason)
                rejected.append(Rejected("" if raw is None else str(raw), "", reason))
            else:
                readable.append((message_id, item))
        # Discord orders a page newest first whichever way it was asked for; sort to be independent of that.
        readable.sort(key=lambda pair: pair[0], reverse=True)
        people = []
        for message_id, message in readable:
            try:
                if self._is_customer_post(message, own_id):
                    people.append((message_id, message))
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
                rejected.append(self._unreadable(message_id, exc))
        # Messages that mention the bot keep their text without the intent, so only the others tell.
        telling = [m for _, m in people if not _mentions(m, own_id)]
        if telling and not any(_has_body(m) for m in telling):
            # Without the Message Content intent every message arrives empty: stop here so the cursor stays, and
            # these messages are read again once the intent is on.
            if not self._reported_content:
                self._reported_content = True
                log.error("Discord channel %s: %s", self.channel_id, MESSAGE_CONTENT_HELP)
            raise SourceError("forbidden", f"Discord channel {self.channel_id}: Message Content intent is off")
        posts = []
        for message_id, message in people:
            if not message.get("content"):
                continue
            try:
                posts.append(self._post(message_id, message))
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
                # One unreadable message must not stop the channel: it is recorded as skipped and the cursor moves.
                rejected.append(self._unreadable(message_id, exc))
        # Only snowflakes become cursors: the newest and oldest readable ids bound what this page covered.
        return Page(
            posts=posts,
            newest_id=str(readable[0][0]) if readable else None,
            oldest_id=str(readable[-1][0]) if readable else None,
            oldest_created_at=snowflake_time(readable[-1][0]) if readable else None,
            raw_count=len(data),
            ends=len(data) < PAGE_SIZE,
            rejected=rejected,
        )

    def _unreadable(self, message_id: int, exc: Exception) -> Rejected:
        log.warning("skipping an unreadable message %s in %s: %s", message_id, self._where(), clean_line(exc, 200))
        return Rejected(str(message_id), "", f"unreadable message: {exc}")

    @staticmethod
    def _is_customer_post(message: dict[str, Any], own_id: int | None) -> bool:
        author = message.get("author") or {}
        if author.get("bot") or message.get("webhook_id"):
            return False  # other bots, webhooks, and the digest itself
        if own_id is not None and str(author.get("id")) == str(own_id):
            return False
        return int(message.get("type", 0)) in _USER_MESSAGE_TYPES

    def _post(self, message_id: int, message: dict[str, Any]) -> Post:
        author = message.get("author") or {}
        created = snowflake_time(message_id)
        edited = message.get("edited_timestamp")
        name = (message.get("member") or {}).get("nick") or author.get("global_name") or author.get("username", "")
        return clean_post(Post(
            uri=jump_url(self._guild_id, self.channel_id, str(message_id)),
            source=SourceKind.DISCORD,
            origin=f"discord:{self._guild_id or 0}/{self.channel_id}",
            remote_id=str(message_id),
            url=jump_url(self._guild_id, self.channel_id, str(message_id)),
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
