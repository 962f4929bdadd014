"""A local fake of the Discord REST API: the few routes discord.py and Merkwacht use, with Discord's ways of failing.

It answers `GET /users/@me`, `GET /oauth2/applications/@me`, `GET /channels/{id}` and `GET/POST
/channels/{id}/messages`; serves 429s as Discord does (JSON `retry_after` and a `Via` header, or discord.py takes it
for a Cloudflare ban) and 5xx on request, and, on request, messages whose id is no snowflake (as a broken or hostile
server might); honours `nonce` + `enforce_nonce`; and checks every posted body against
Discord's OpenAPI `MessageCreateRequest` schema plus the documented limits the schema leaves out (content 2000,
6000 characters of embed text), answering 400 like Discord when a body breaks them. The tests and `merkwacht demo`
run it on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
MESSAGE_CONTENT = 1 << 18
MESSAGE_CONTENT_LIMITED = 1 << 19
_POSITION = "x-fake-position"
"""Where a message served with an odd id sits in its channel's history (the snowflake it would have had); never
served."""
DEFAULT_OPENAPI = Path(__file__).with_name("discord_message_create.json")
"""`MessageCreateRequest` and what it references, extracted unchanged from Discord's OpenAPI description (MIT) and
shipped with the package so the demo validates offline; `MERKWACHT_DISCORD_OPENAPI` may name the full description."""


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly `application/json`: with a charset parameter discord.py treats the body as text.
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


def load_message_schema(path: Path | None = None) -> dict[str, Any] | None:
    """A JSON Schema for `MessageCreateRequest` from Discord's OpenAPI file, or None when the file is not there."""
    path = path or Path(os.environ.get("MERKWACHT_DISCORD_OPENAPI", DEFAULT_OPENAPI))
    if not path.is_file():
        return None
    spec = json.loads(path.read_text(encoding="utf-8"))
    return {"$ref": "#/components/schemas/MessageCreateRequest", "components": spec["components"]}


def _position(message: dict[str, Any]) -> int:
    return int(message[_POSITION] if _POSITION in message else message["id"])


def _author_id(message: dict[str, Any]) -> Any:
    author = message.get("author")
    return author.get("id") if isinstance(author, dict) else None


def _embed_text(embed: dict[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
    return total + sum(len(f.get("name") or "") + len(f.get("value") or "") for f in embed.get("fields") or [])


class BodyValidator:
    """Discord's checks on a message create body: the OpenAPI schema and the limits documented beside it."""

    def __init__(self, schema: dict[str, Any] | None) -> None:
        self.schema = schema
        self._validator: Any = None
        if schema is not None:
            # jsonschema is a test dependency: the demo, installed without it, still checks the limits below.
            try:
                jsonschema: Any = importlib.import_module("jsonschema")
            except ImportError:
                return
            self._validator = jsonschema.Draft202012Validator(schema)

    def problems(self, body: Any) -> list[str]:
        """Every reason Discord would refuse `body`; empty if it would accept it."""
        out: list[str] = []
        if self._validator is not None:
            out += [f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}"
                    for e in self._validator.iter_errors(body)]
        if not isinstance(body, dict):
            return out or ["body is not a JSON object"]
        if len(body.get("content") or "") > 2000:
            out.append("content: Must be 2000 or fewer in length.")
        embeds = body.get("embeds") or []
        if sum(_embed_text(e) for e in embeds if isinstance(e, dict)) > 6000:
            out.append("embeds: Embed size exceeds maximum size of 6000")
        if not (body.get("content") or embeds or body.get("attachments") or body.get("sticker_ids")):
            out.append("Cannot send an empty message")
        return out


@dataclass
class Channel:
    """A text channel in the fake, with its messages oldest first."""

    id: int
    guild_id: int
    name: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    readable: bool = True
    writable: bool = True


@dataclass
class Fault:
    """An answer to give instead of the real one, for the next `times` matching requests."""

    method: str
    path_part: str
    status: int
    times: int = 1
    retry_after: float = 0.0
    after_effect: bool = False
    """Do the request's work, then answer with the fault anyway: a response lost on the way back."""


@dataclass
class Received:
    """One message create the fake accepted: the body as posted and the files beside it."""

    channel_id: int
    body: dict[str, Any]
    files: dict[str, bytes]
    message_id: str


class FakeDiscord:
    """The fake's state and its aiohttp application; start it with `start()`, stop with `close()`."""

    def __init__(self, *, schema: dict[str, Any] | None = None, message_content: bool = True,
                 bot_id: int = 1100000000000000001) -> None:
        self.validator = BodyValidator(schema if schema is not None else load_message_schema())
        self.message_content = message_content
        self.bot = {"id": str(bot_id), "username": "merkwacht", "global_name": "Merkwacht", "discriminator": "0",
                    "avatar": None, "bot": True, "flags": 0}
        self.channels: dict[int, Channel] = {}
        self.faults: list[Fault] = []
        self.received: list[Received] = []
        self.edited: list[Received] = []
        self.rejected: list[tuple[dict[str, Any], list[str]]] = []
        self.requests: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- set-up -----------------------------------------------------------------------------------------------
    def add_channel(self, channel_id: int, *, guild_id: int = 900000000000000001, name: str = "general",
                    readable: bool = True, writable: bool = True) -> Channel:
        """A text channel the bot can (or cannot) read and write."""
        channel = Channel(channel_id, guild_id, name, readable=readable, writable=writable)
        self.channels[channel_id] = channel
        return channel

    def snowflake(self, when: datetime | None = None) -> str:
        """A new id, later than every earlier one made for the same instant."""
        when = when or datetime.now(UTC)
        return str(((int(when.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22) + next(self._ids) % (1 << 22))

    def add_message(self, channel_id: int, content: str, *, author: str = "alice", author_id: int | None = None,
                    bot: bool = False, when: datetime | None = None, message_type: int = 0) -> dict[str, Any]:
        """A message in `channel_id` as a user (or bot) wrote it; kept in id order."""
        channel = self.channels[channel_id]
        uid = str(author_id or 1200000000000000000 + abs(hash(author)) % 10**12)
        message = self._message(channel, content, {"id": uid, "username": author, "global_name": author.title(),
                                                   "discriminator": "0", "avatar": None, "bot": bot},
                                when=when, message_type=message_type)
        channel.messages.append(message)
        channel.messages.sort(key=_position)
        return message

    def add_message_with_odd_id(self, channel_id: int, content: str, odd_id: Any = None, *,
                                when: datetime | None = None) -> dict[str, Any]:
        """A user's message served with `odd_id` (any JSON value) as its id, or with no `id` at all when it is None.

        Real Discord never does this; a broken proxy or a hostile fake might. The message keeps the place in the
        history that the snowflake it would have had gives it.
        """
        message = self.add_message(channel_id, content, when=when)
        message[_POSITION] = int(message.pop("id"))
        if odd_id is not None:
            message["id"] = odd_id
        return message

    def fail(self, method: str, path_part: str, status: int, *, times: int = 1, retry_after: float = 0.0,
             after_effect: bool = False) -> None:
        """Answer the next `times` requests whose path contains `path_part` with `status` (429 as Discord does)."""
        self.faults.append(Fault(method, path_part, status, times, retry_after, after_effect))

    # -- running ------------------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(middlewares=[self._faults])
        app.router.add_get(API_PREFIX + "/users/@me", self._me)
        app.router.add_get(API_PREFIX + "/oauth2/applications/@me", self._application)
        app.router.add_get(API_PREFIX + "/channels/{channel_id}", self._channel)
        app.router.add_get(API_PREFIX + "/channels/{channel_id}/messages", self._history)
        app.router.add_post(API_PREFIX + "/channels/{channel_id}/messages", self._create)
        app.router.add_patch(API_PREFIX + "/channels/{channel_id}/messages/{message_id}", self._edit)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host:port` (a free port by default); returns the `api_base` to configure."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1] if self._runner.addresses else port
        self.url = f"http://{host}:{bound}{API_PREFIX}"
        return self.url

    async def close(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- handlers -----------------------------------------------------------------------------------------------
    @web.middleware
    async def _faults(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if not request.headers.get("Authorization", "").startswith("Bot "):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        for fault in self.faults:
            if fault.times > 0 and fault.method == request.method and fault.path_part in request.path:
                fault.times -= 1
                if fault.after_effect:
                    await handler(request)
                return self._fault_response(fault)
        response: web.StreamResponse = await handler(request)
        return response

    @staticmethod
    def _fault_response(fault: Fault) -> web.Response:
        if fault.status == 429:
            body = {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": False}
            headers = {"Via": "1.1 google", "Retry-After": str(max(1, round(fault.retry_after))),
                       "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset-After": str(fault.retry_after), "X-RateLimit-Scope": "user",
                       "X-RateLimit-Bucket": "fake-bucket"}
            return _json(body, 429, headers)
        return _json({"message": f"{fault.status}: Server Error", "code": 0}, fault.status)

    async def _me(self, request: web.Request) -> web.Response:
        return _json(self.bot)

    async def _application(self, request: web.Request) -> web.Response:
        flags = MESSAGE_CONTENT_LIMITED if self.message_content else 0
        return _json({"id": self.bot["id"], "name": "Merkwacht", "description": "", "icon": None, "bot_public": False,
                      "bot_require_code_grant": False, "owner": {**self.bot, "bot": False}, "verify_key": "0" * 64,
                      "flags": flags, "rpc_origins": [], "team": None})

    def _lookup(self, request: web.Request, *, write: bool = False) -> Channel | web.Response:
        try:
            channel = self.channels[int(request.match_info["channel_id"])]
        except (KeyError, ValueError):
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        if not channel.readable:
            return _json({"message": "Missing Access", "code": 50001}, 403)
        if write and not channel.writable:
            return _json({"message": "Missing Permissions", "code": 50013}, 403)
        return channel

    async def _channel(self, request: web.Request) -> web.Response:
        channel = self._lookup(request)
        if isinstance(channel, web.Response):
            return channel
        last = channel.messages[-1].get("id") if channel.messages else None
        return _json({"id": str(channel.id), "type": 0, "guild_id": str(channel.guild_id), "name": channel.name,
                      "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None,
                      "rate_limit_per_user": 0, "last_message_id": last, "flags": 0})

    async def _history(self, request: web.Request) -> web.Response:
        channel = self._lookup(request)
        if isinstance(channel, web.Response):
            return channel
        limit = max(1, min(100, int(request.query.get("limit", "50"))))
        messages = channel.messages
        if "after" in request.query:
            after = int(request.query["after"])
            page = [m for m in messages if _position(m) > after][:limit]
        else:
            before = int(request.query["before"]) if "before" in request.query else None
            page = [m for m in messages if before is None or _position(m) < before][-limit:]
        # Discord answers newest first whichever way it pages.
        return _json([self._as_read(m) for m in reversed(page)])

    def _as_read(self, message: dict[str, Any]) -> dict[str, Any]:
        if _POSITION in message:
            message = {k: v for k, v in message.items() if k != _POSITION}
        if self.message_content or _author_id(message) == self.bot["id"]:
            return message
        mentioned = any(u.get("id") == self.bot["id"] for u in message.get("mentions") or [])
        return message if mentioned else {**message, "content": "", "embeds": [], "attachments": []}

    async def _create(self, request: web.Request) -> web.Response:
        channel = self._lookup(request, write=True)
        if isinstance(channel, web.Response):
            return channel
        files: dict[str, bytes] = {}
        if request.content_type.startswith("multipart/"):
            body: Any = None
            reader = await request.multipart()
            async for part in reader:
                name = getattr(part, "name", None)
                data = await part.read()  # type: ignore[union-attr]
                if name == "payload_json":
                    body = json.loads(data)
                elif name:
                    files[getattr(part, "filename", None) or name] = bytes(data)
        else:
            body = await request.json()
        problems = self.validator.problems(body)
        if problems:
            self.rejected.append((body, problems))
            errors = {"body": {"_errors": [{"code": "BASE_TYPE_INVALID", "message": p} for p in problems]}}
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": errors}, 400)
        if body.get("enforce_nonce") and body.get("nonce") is not None:
            for earlier in channel.messages:
                if earlier.get("nonce") == body["nonce"] and _author_id(earlier) == self.bot["id"]:
                    return _json(earlier)
        message = self._message(channel, body.get("content") or "", self.bot, embeds=body.get("embeds") or [],
                                nonce=body.get("nonce"),
                                attachments=[{"id": self.snowflake(), "filename": n, "size": len(b)}
                                             for n, b in files.items()])
        channel.messages.append(message)
        self.received.append(Received(channel.id, body, files, message["id"]))
        return _json(message)

    async def _edit(self, request: web.Request) -> web.Response:
        # Discord lets the author edit content and embeds; the message keeps its id and gains an edited timestamp.
        channel = self._lookup(request, write=True)
        if isinstance(channel, web.Response):
            return channel
        message = next((m for m in channel.messages if m.get("id") == request.match_info["message_id"]), None)
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        if message["author"]["id"] != self.bot["id"]:
            return _json({"message": "Cannot edit a message authored by another user", "code": 50005}, 403)
        body = await request.json()
        problems = self.validator.problems({**body, "content": body.get("content", message["content"])})
        if not isinstance(body, dict) or problems or {"nonce", "enforce_nonce"} & set(body):
            problems = problems or ["nonce: not allowed on an edit"]
            self.rejected.append((body, problems))
            return _json({"message": "Invalid Form Body", "code": 50035}, 400)
        for key in ("content", "embeds"):
            if key in body:
                message[key] = body[key]
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        self.edited.append(Received(channel.id, body, {}, message["id"]))
        return _json(message)

    def _message(self, channel: Channel, content: str, author: dict[str, Any], *, when: datetime | None = None,
                 message_type: int = 0, embeds: list[Any] | None = None, nonce: Any = None,
                 attachments: list[Any] | None = None) -> dict[str, Any]:
        message_id = self.snowflake(when)
        stamp = (when or datetime.now(UTC)).isoformat()
        return {"id": message_id, "channel_id": str(channel.id), "guild_id": str(channel.guild_id), "type":
                message_type, "content": content, "author": author, "timestamp": stamp, "edited_timestamp": None,
                "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
                "attachments": attachments or [], "embeds": embeds or [], "pinned": False, "flags": 0,
                "nonce": nonce}


@contextmanager
def running_in_thread(fake: FakeDiscord | None = None, host: str = "127.0.0.1") -> Iterator[FakeDiscord]:
    """Serve a fake from its own event loop in a background thread, for synchronous callers like the demo."""
    fake = fake or FakeDiscord()
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.start(host))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="discord-fake", daemon=True)
    thread.start()
    if not started.wait(timeout=10):
        raise RuntimeError("the local Discord fake did not start")
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
