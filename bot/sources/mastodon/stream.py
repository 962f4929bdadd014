"""Mastodon's streaming API as a faster path: one WebSocket per instance carrying its watched hashtags.

Mastodon 4.2+ streams hashtags only to a user token, so a stream runs only for instances with `token_env`. The
stream is never the truth: the cursor and `min_id` polling are. A stream that drops, stalls or sends garbage loses
nothing, because every (re)connect asks for an immediate poll of that instance (`on_connect`), which reads whatever
came between the last poll and the new connection; posts seen twice meet the unique `uri`.

Protocol (Mastodon's multiplexed WebSocket): connect to `/api/v1/streaming?access_token=...&stream=hashtag&tag=T0`,
then send `{"type": "subscribe", "stream": "hashtag", "tag": T}` for every tag. Frames are
`{"stream": ["hashtag", T], "event": "update" | "status.update" | "delete", "payload": "<JSON text>"}`. mastodon-mock
honours only the connection's own `stream=` (it ignores subscribe messages) and names edits `status_update`; both are
handled, so against the mock only the first tag streams and the rest are polled as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from bot.model import Post
from bot.ops.backoff import BackoffPolicy
from bot.sources.mastodon.status import status_to_post

log = logging.getLogger(__name__)

StreamEventKind = Literal["update", "edit", "delete"]
"""A new post, an edit of one, or a deletion."""

_KINDS: dict[str, StreamEventKind] = {"update": "update", "status.update": "edit", "status_update": "edit",
                                      "delete": "delete"}


class MalformedEvent(ValueError):
    """A frame that is not a streaming event this client understands; it is skipped and counted."""


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event from an instance's stream."""

    kind: StreamEventKind
    origin: str
    post: Post | None = None
    """The post, for `update` and `edit`."""
    remote_id: str | None = None
    """The instance's id of the deleted status, for `delete`."""


def parse_frame(text: str | bytes, origin: str) -> StreamEvent | None:
    """The event in one WebSocket frame; None for events Merkwacht does not use; MalformedEvent for garbage."""
    try:
        frame = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent(f"not JSON: {exc}") from None
    if not isinstance(frame, dict):
        raise MalformedEvent(f"a frame is a JSON object, not {type(frame).__name__}")
    if "error" in frame and "event" not in frame:
        raise MalformedEvent(f"the server says: {frame['error']}")
    name = frame.get("event")
    if not isinstance(name, str):
        raise MalformedEvent("a frame without an event name")
    kind = _KINDS.get(name)
    if kind is None:
        return None  # notifications, filters_changed, announcements...: not ours
    payload = frame.get("payload")
    if kind == "delete":
        if not isinstance(payload, str | int) or not str(payload).strip():
            raise MalformedEvent("a delete without the deleted status's id")
        return StreamEvent("delete", origin, remote_id=str(payload).strip())
    try:
        status = json.loads(payload) if isinstance(payload, str) else payload
        if not isinstance(status, dict):
            raise MalformedEvent(f"an {name} whose payload is not a status")
        return StreamEvent(kind, origin, post=status_to_post(status, origin))
    except MalformedEvent:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        # ValueError includes `UnstorablePost`: a status the storage edge refuses is as unusable as garbage.
        raise MalformedEvent(f"an {name} whose status cannot be read: {exc}") from None


@dataclass(slots=True)
class StreamStats:
    """What a stream has done since the daemon started."""

    connects: int = 0
    events: int = 0
    malformed: int = 0
    stored_batches: int = 0
    last_error: str | None = None
    unavailable: str | None = None
    """Why this instance streams nothing (no streaming, token refused); polling alone serves it."""
    by_kind: dict[str, int] = field(default_factory=dict)


Handler = Callable[[Sequence[StreamEvent]], Awaitable[object]]
"""Stores a batch of events (and checks alerts); runs for every batch the stream receives."""


class StreamUnavailable(Exception):
    """The server does not stream to this client (no streaming, or the token is refused): poll only."""


def streaming_url(instance_url: str, token: str, tag: str) -> str:
    """The WebSocket URL of an instance's multiplexed stream, opened on `tag`."""
    parts = urlsplit(instance_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = urlencode({"access_token": token, "stream": "hashtag", "tag": tag})
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/api/v1/streaming", query, ""))


class HashtagStream:
    """Keeps one WebSocket to an instance open, subscribed to its hashtags, until cancelled.

    Events go to `handle` in small batches (what arrived together); after every successful connect `on_connect` is
    awaited, so the daemon can poll the instance at once and close the gap the stream could not see.
    """

    def __init__(
        self,
        instance_url: str,
        token: str,
        tags: Callable[[], Sequence[str]],
        handle: Handler,
        *,
        on_connect: Callable[[], Awaitable[None]] | None = None,
        backoff: BackoffPolicy | None = None,
        heartbeat: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.instance_url = instance_url
        self._token = token
        self._tags = tags
        self._handle = handle
        self._on_connect = on_connect
        self.backoff = backoff or BackoffPolicy(base=2.0, cap=300.0)
        self.heartbeat = heartbeat
        """Seconds between WebSocket pings; a connection that stops answering them is dropped and reopened."""
        self._sleep = sleep
        self.stats = StreamStats()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self.subscribed: list[str] = []
        """The hashtags of the open connection."""
        self.connected = asyncio.Event()
        """Set while a connection is open and subscribed (tests and the status report wait on it)."""

    async def run(self) -> None:
        """Stream until cancelled; returns early only when the server cannot stream to us (polling goes on)."""
        failures = 0
        while True:
            try:
                await self._session()
                failures = 0
            except asyncio.CancelledError:
                raise
            except StreamUnavailable as exc:
                self.stats.unavailable = str(exc)
                log.warning("streaming from %s is off (%s); its hashtags are polled as before",
                            self.instance_url, exc)
                return
            except Exception as exc:
                failures += 1
                # The token rides in the URL (the streaming API's way for WebSockets), which errors may quote.
                self.stats.last_error = repr(exc).replace(self._token, "[redacted]")
                delay = self.backoff.delay(failures)
                log.info("stream from %s dropped (%s); reconnecting in %.0fs, polling fills the gap",
                         self.instance_url, self.stats.last_error, delay)
                await self._sleep(delay)
            finally:
                self.connected.clear()
                self._ws = None

    async def follow(self) -> None:
        """Reconnect if the watched hashtags are no longer those subscribed (the watch list changed)."""
        if self._ws is not None and list(dict.fromkeys(self._tags())) != self.subscribed:
            await self.restart()

    async def restart(self) -> None:
        """Close the connection so the stream reconnects, subscribed to the current hashtags (and polled at once)."""
        if self._ws is not None:
            await self._ws.close()

    async def _session(self) -> None:
        tags = list(dict.fromkeys(self._tags()))
        if not tags:
            await self._sleep(60.0)  # nothing to stream yet; look again later
            return
        url = streaming_url(self.instance_url, self._token, tags[0])
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=20)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                ws = await session.ws_connect(url, heartbeat=self.heartbeat, autoping=True)
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status in (400, 401, 403, 404, 410, 501):
                    raise StreamUnavailable(f"the server answered {exc.status} to the streaming request") from None
                raise
            async with ws:
                self._ws = ws
                for tag in tags:
                    await ws.send_str(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": tag}))
                self.subscribed = tags
                self.stats.connects += 1
                self.connected.set()
                if self._on_connect is not None:
                    await self._on_connect()
                await self._read(ws)
            if ws.close_code == 1008 and self.stats.events == 0:
                raise StreamUnavailable(f"the server closed the stream at once ({ws.close_code} policy violation)")
            raise ConnectionResetError(f"the stream closed (code {ws.close_code})")

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            message = await ws.receive()
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                return
            if message.type == aiohttp.WSMsgType.ERROR:
                raise ConnectionResetError(f"stream error: {ws.exception()!r}")
            batch = [event for event in [self.accept(message.data)] if event is not None]
            # Whatever else already arrived goes in the same batch: one transaction for a burst.
            while batch and len(batch) < 100:
                try:
                    more = await asyncio.wait_for(ws.receive(), timeout=0.05)
                except TimeoutError:
                    break
                if more.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    await self._deliver(batch)
                    if more.type == aiohttp.WSMsgType.ERROR:
                        raise ConnectionResetError(f"stream error: {ws.exception()!r}")
                    return
                event = self.accept(more.data)
                if event is not None:
                    batch.append(event)
            if batch:
                await self._deliver(batch)

    def accept(self, data: Any) -> StreamEvent | None:
        """One frame's event, counted; a malformed frame is logged, counted and skipped."""
        try:
            event = parse_frame(data, self.instance_url)
        except MalformedEvent as exc:
            self.stats.malformed += 1
            log.warning("skipped a malformed event from %s's stream: %s", self.instance_url, exc)
            return None
        if event is not None:
            self.stats.events += 1
            self.stats.by_kind[event.kind] = self.stats.by_kind.get(event.kind, 0) + 1
        return event

    async def _deliver(self, batch: Sequence[StreamEvent]) -> None:
        await self._handle(batch)
        self.stats.stored_batches += 1
