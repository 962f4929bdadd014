"""Posting a rendered message to a Discord channel through discord.py's REST client, exactly as rendered.

The payload dict is sent as the JSON body (or as `payload_json` beside the files), so what `--dry-run --json` prints
is byte for byte what Discord receives. discord.py already waits out 429s and retries 5xx a few times; this layer adds
backoff retries around whole sends and separates errors worth retrying from those that need a human.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import discord
from discord.http import Route

from bot.discord.connection import DiscordConnection
from bot.ops.backoff import BackoffPolicy

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class DeliveryError(Exception):
    """A message could not be posted; `permanent` ones (no access, unknown channel) are not retried."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def describe(exc: BaseException, channel_id: int) -> DeliveryError:
    """A DeliveryError saying in plain words what went wrong with `channel_id` and whether a retry can help."""
    if isinstance(exc, discord.Forbidden):
        return DeliveryError(
            f"Discord refused to post in channel {channel_id} ({exc.code} {exc.text}): give the bot View Channel, "
            "Send Messages, Embed Links and Attach Files there",
            permanent=True,
        )
    if isinstance(exc, discord.NotFound):
        return DeliveryError(
            f"Discord channel {channel_id} does not exist or the bot is not in its server ({exc.code} {exc.text}); "
            "check [discord] digest_channel",
            permanent=True,
        )
    if isinstance(exc, discord.LoginFailure):
        return DeliveryError(f"Discord rejected the bot token: {exc}", permanent=True)
    if isinstance(exc, discord.DiscordServerError | discord.RateLimited):
        return DeliveryError(f"Discord is unavailable: {exc}", permanent=False)
    if isinstance(exc, discord.HTTPException):
        # A 400 means the payload broke a rule the renderer should have kept: retrying cannot fix it.
        return DeliveryError(f"Discord rejected the message ({exc.status} {exc.code}): {exc.text}", permanent=True)
    if isinstance(exc, aiohttp.ClientError | TimeoutError | OSError):
        return DeliveryError(f"cannot reach Discord: {exc!r}", permanent=False)
    raise exc


SEND_BACKOFF = BackoffPolicy(base=2.0, cap=60.0)
"""Between two tries of one message: 2 s, then up to 4, 8, 16 s (discord.py already waits out 429s by itself)."""


class DiscordSink:
    """Sends message payloads to channels, retrying transient failures with exponential backoff."""

    def __init__(
        self,
        connection: DiscordConnection,
        *,
        retries: int = 4,
        backoff: BackoffPolicy = SEND_BACKOFF,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.connection = connection
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep

    async def send(self, channel_id: int, payload: dict[str, Any], files: Sequence[tuple[str, bytes]] = ()) -> str:
        """Post `payload` (with `files` as files[0..]) to `channel_id`; the new message's id, or DeliveryError."""
        for attempt in range(self.retries + 1):
            try:
                return await self._post(channel_id, payload, files)
            except Exception as exc:
                error = describe(exc, channel_id)
                if error.permanent or attempt == self.retries:
                    raise error from exc
                delay = self.backoff.delay(attempt + 1)
                log.warning("posting to Discord channel %s failed (%s); retry %d/%d in %.0fs",
                            channel_id, error, attempt + 1, self.retries, delay)
                await self._sleep(delay)
        raise AssertionError("unreachable")

    async def edit(self, channel_id: int, message_id: str, payload: dict[str, Any]) -> None:
        """Replace the content and embeds of the bot's message `message_id` (an alert that grew); or DeliveryError."""
        body = {k: v for k, v in payload.items() if k in ("content", "embeds", "allowed_mentions")}
        route = Route("PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=channel_id,
                      message_id=message_id)
        for attempt in range(self.retries + 1):
            try:
                client = await self.connection.client()
                await client.http.request(route, json=body)
                return
            except Exception as exc:
                error = describe(exc, channel_id)
                if error.permanent or attempt == self.retries:
                    raise error from exc
                await self._sleep(self.backoff * 2**attempt)

    async def _post(self, channel_id: int, payload: dict[str, Any], files: Sequence[tuple[str, bytes]]) -> str:
        client = await self.connection.client()
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        if not files:
            data = await client.http.request(route, json=payload)
        else:
            # discord.File rewinds its buffer when discord.py retries, so the file is re-sent whole.
            dfiles = [discord.File(io.BytesIO(content), filename=name) for name, content in files]
            form: list[dict[str, Any]] = [{"name": "payload_json", "value": json.dumps(payload)}]
            for index, file in enumerate(dfiles):
                form.append({"name": f"files[{index}]", "value": file.fp, "filename": file.filename,
                             "content_type": "image/png" if file.filename.endswith(".png") else
                             "application/octet-stream"})
            try:
                data = await client.http.request(route, form=form, files=dfiles)
            finally:
                for file in dfiles:
                    file.close()
        return str(data["id"])
