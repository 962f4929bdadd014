"""One discord.py client used over REST only (no gateway), shared by the channel sources and the digest sink.

Merkwacht polls channel history and posts the digest; neither needs a gateway connection, so the client only logs in
(`GET /users/@me`, `GET /oauth2/applications/@me`) and makes REST calls.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord.http import Route

log = logging.getLogger(__name__)

PORTAL = "https://discord.com/developers/applications"
MESSAGE_CONTENT_HELP = (
    "the Message Content intent is off for this bot, so Discord sends channel messages without their text. "
    f"Turn on 'Message Content Intent' under Bot > Privileged Gateway Intents in the Developer Portal ({PORTAL}); "
    "a verified bot (in 100 or more servers) must request it from Discord. "
    "Messages are read again from the same place once it is on; nothing is stored empty."
)
"""What to tell the operator when message text comes back empty."""


def use_api_base(api_base: str) -> None:
    """Point every discord.py REST route at `api_base` (a proxy, or the tests' local server).

    `Route.BASE` is a class attribute that discord.py reads when each request is built, so this is process-wide by
    discord.py's design; it is set here, once, when the connection is opened from `[discord] api_base`.
    """
    if api_base != Route.BASE:
        Route.BASE = api_base


def new_client() -> discord.Client:
    """A client that can ping no one, whatever a payload says: `AllowedMentions.none()` client-wide."""
    intents = discord.Intents.default()
    intents.message_content = True
    return discord.Client(intents=intents, allowed_mentions=discord.AllowedMentions.none())


class DiscordConnection:
    """Logs in lazily on first use, once, and hands out the ready client; `close()` ends its HTTP session."""

    def __init__(self, token: str | None, api_base: str, *, client: discord.Client | None = None) -> None:
        self._token = token
        self.api_base = api_base
        self._client = client
        self._ready = client is not None and token is None
        self._lock = asyncio.Lock()
        self.message_content_enabled: bool | None = None
        """What the application's flags say about the Message Content intent, once logged in."""

    @classmethod
    def attached(cls, client: discord.Client) -> DiscordConnection:
        """A connection around a client that is already logged in (simcord's, in tests)."""
        return cls(None, Route.BASE, client=client)

    async def client(self) -> discord.Client:
        """The logged-in client; raises discord.LoginFailure on a bad token."""
        async with self._lock:
            if self._client is not None and self._ready:
                return self._client
            if self._token is None:
                raise discord.LoginFailure("no Discord token: set the variable named by [discord] token_env")
            use_api_base(self.api_base)
            client = self._client or new_client()
            await client.login(self._token)
            self._client, self._ready = client, True
            self._check_intents(client)
            return client

    def _check_intents(self, client: discord.Client) -> None:
        app = client.application
        if app is None:
            return
        flags = app.flags
        enabled = flags.gateway_message_content or flags.gateway_message_content_limited
        self.message_content_enabled = enabled
        if not enabled:
            log.error("Discord: %s", MESSAGE_CONTENT_HELP)

    async def close(self) -> None:
        """Close the HTTP session (a client handed in by the caller is left to the caller)."""
        if self._client is not None and self._token is not None:
            await self._client.close()
