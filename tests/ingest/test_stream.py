"""Streaming as a faster path: posts arrive without a poll, edits and deletions apply, and nothing is lost when the
stream drops, stalls or sends garbage, because polling from the cursor fills every gap."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from aiohttp import web

from bot.config import parse_config
from bot.daemon.app import Application
from bot.ingest.matching import BrandMatcher
from bot.ingest.pipeline import Pipeline
from bot.ingest.streamed import StreamStore
from bot.sources.mastodon.stream import HashtagStream, MalformedEvent, StreamEvent, parse_frame
from storage.db import Database
from tests.ingest.helpers import stored

BRAND = '[[brands]]\nname = "Acme"\nterms = ["Acme"]\nhashtags = ["acme"]\n'


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait for `condition`; the bound only keeps a broken build from hanging, it is not what is tested."""
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def subscribers(instance: Any) -> int:
    # mastodon-mock subscribes a WebSocket to its event bus just after accepting it; posting earlier would be lost.
    bus = instance.server._server.config.app.state.event_bus
    return len(bus._subscribers)


def texts(app_or_db: Any) -> list[str]:
    db = app_or_db.db if isinstance(app_or_db, Application) else app_or_db
    with db.engine.connect() as conn:
        return sorted(r[0] for r in conn.exec_driver_sql("SELECT text FROM posts"))


@pytest.fixture
def app(sqlite_db: Database, mastodon: Any, monkeypatch: pytest.MonkeyPatch) -> Application:
    monkeypatch.setenv("MASTODON_TEST_TOKEN", "alice_token")
    config = parse_config(f'[storage]\nurl = "{sqlite_db.engine.url}"\n[ops]\nhttp_enabled = false\n'
                          f'[[mastodon.instances]]\nurl = "{mastodon.url}"\ntoken_env = "MASTODON_TEST_TOKEN"\n'
                          f'{BRAND}')
    return Application(config, db=sqlite_db)


class Gate:
    """A reconnect delay the test opens when it wants: the stream stays down until then."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.waits = 0

    async def sleep(self, _seconds: float) -> None:
        self.waits += 1
        await self.open.wait()


async def running(stream: HashtagStream, instance: Any) -> asyncio.Task[None]:
    task = asyncio.create_task(stream.run())
    await eventually(lambda: stream.connected.is_set() and subscribers(instance) > 0, "the stream is subscribed")
    return task


async def test_a_post_arrives_through_the_stream_without_any_poll(app: Application, mastodon: Any) -> None:
    store = StreamStore(app.db, app.pipeline)
    stream = HashtagStream(mastodon.url, "alice_token", lambda: ["acme"], store.handle)
    task = await running(stream, mastodon)
    await asyncio.to_thread(mastodon.post, "Acme ships fast #acme")
    await eventually(lambda: texts(app) == ["Acme ships fast #acme"], "the streamed post is stored")
    assert [r.brand for r in stored(app, "SELECT DISTINCT brand FROM mentions")] == ["Acme"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_edits_and_deletions_from_the_stream_are_applied(app: Application, mastodon: Any) -> None:
    store = StreamStore(app.db, app.pipeline)
    stream = HashtagStream(mastodon.url, "alice_token", lambda: ["acme"], store.handle)
    task = await running(stream, mastodon)
    first = await asyncio.to_thread(mastodon.post, "Acme is slow #acme")
    second = await asyncio.to_thread(mastodon.post, "Acme again #acme")
    await eventually(lambda: len(texts(app)) == 2, "both posts are stored")
    await asyncio.to_thread(mastodon.client().status_update, first["id"], "Acme is fast now #acme")
    await eventually(lambda: "Acme is fast now #acme" in texts(app), "the edit is applied")
    await asyncio.to_thread(mastodon.client().status_delete, second["id"])
    await eventually(lambda: texts(app) == ["Acme is fast now #acme"], "the deletion is applied")
    assert stream.stats.by_kind == {"update": 2, "edit": 1, "delete": 1}
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_stream_that_drops_mid_burst_loses_nothing_because_the_poll_fills_the_gap(
        app: Application, mastodon: Any) -> None:
    gate = Gate()
    streamed: list[int] = []

    async def poll_now() -> None:
        await app.poll_all(app.timelines())

    store = StreamStore(app.db, app.pipeline)

    async def handle(events: Sequence[StreamEvent]) -> None:
        await store.handle(events)
        streamed.append(len(events))
        if sum(streamed) >= 3:
            await stream.restart()  # the connection dies in the middle of the burst

    stream = HashtagStream(mastodon.url, "alice_token", lambda: ["acme"], handle, on_connect=poll_now,
                           sleep=gate.sleep)
    task = await running(stream, mastodon)
    for i in range(3):
        await asyncio.to_thread(mastodon.post, f"Acme burst {i} #acme")
    await eventually(lambda: gate.waits == 1, "the stream noticed the drop")
    for i in range(3, 10):
        await asyncio.to_thread(mastodon.post, f"Acme burst {i} #acme")
    assert len(texts(app)) == 3, "the posts written while the stream was down are not stored yet"
    gate.open.set()
    await eventually(lambda: len(texts(app)) == 10, "the reconnect's poll read the gap")
    assert texts(app) == sorted(f"Acme burst {i} #acme" for i in range(10))
    assert len({r.uri for r in stored(app, "SELECT uri FROM posts")}) == 10
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
async def fake_stream() -> AsyncIterator[tuple[str, list[str]]]:
    """A streaming server that sends the frames a test puts in the list, then closes."""
    frames: list[str] = []

    async def ws(request: web.Request) -> web.WebSocketResponse:
        if request.query.get("stream") != "hashtag":
            raise web.HTTPBadRequest()
        response = web.WebSocketResponse()
        await response.prepare(request)
        for frame in frames:
            await response.send_str(frame)
        await response.close()
        return response

    app = web.Application()
    app.router.add_get("/api/v1/streaming", ws)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", frames
    await runner.cleanup()


STATUS = {"id": "9", "uri": "https://x.example/statuses/9", "url": "https://x.example/@a/9",
          "created_at": "2026-03-10T10:00:00.000Z", "content": "<p>Acme broke my mug #acme</p>",
          "account": {"acct": "a", "url": "https://x.example/@a", "followers_count": 5}, "tags": [{"name": "acme"}]}


async def test_a_malformed_event_is_skipped_and_counted_and_the_next_one_stored(
        tmp_path: Any, fake_stream: tuple[str, list[str]]) -> None:
    url, frames = fake_stream
    frames += ["not json at all", json.dumps({"event": "update", "payload": "{\"id\": "}),
               json.dumps({"event": "update", "payload": json.dumps({"id": "8"})}), json.dumps([1, 2]),
               json.dumps({"stream": ["hashtag", "acme"], "event": "update", "payload": json.dumps(STATUS)})]
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    config = parse_config(BRAND)
    store = StreamStore(db, Pipeline(BrandMatcher(config.brands)))
    gate = Gate()
    stream = HashtagStream(url, "token", lambda: ["acme"], store.handle, sleep=gate.sleep)
    task = asyncio.create_task(stream.run())
    await eventually(lambda: gate.waits == 1, "the server closed the stream")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert stream.stats.malformed == 4 and stream.stats.events == 1
    assert texts(db) == ["Acme broke my mug #acme"]
    db.close()


async def test_a_server_without_streaming_leaves_the_instance_to_polling(
        tmp_path: Any, fake_stream: tuple[str, list[str]]) -> None:
    url, _ = fake_stream
    stream = HashtagStream(url + "/no-streaming-here", "token", lambda: ["acme"], lambda e: asyncio.sleep(0))
    await asyncio.wait_for(stream.run(), timeout=30)  # returns: it does not retry a server that cannot stream
    assert stream.stats.unavailable == "the server answered 404 to the streaming request"
    assert stream.stats.connects == 0


@pytest.mark.parametrize("frame", ["", "{", "[]", '{"event": 3}', '{"event": "delete", "payload": ""}',
                                   '{"event": "update", "payload": "[]"}', '{"error": "Invalid access token"}'])
def test_frames_that_are_not_events_raise_a_clear_error(frame: str) -> None:
    with pytest.raises(MalformedEvent):
        parse_frame(frame, "https://x.example")


def test_events_merkwacht_does_not_use_are_ignored_quietly() -> None:
    assert parse_frame('{"event": "notification", "payload": "{}"}', "https://x.example") is None
    assert parse_frame('{"event": "delete", "payload": "123"}', "https://x.example") == \
        StreamEvent("delete", "https://x.example", remote_id="123")


async def test_a_hashtag_added_at_run_time_is_streamed_after_the_stream_follows_the_watch_list(
        app: Application, mastodon: Any) -> None:
    watched = ["acme"]
    store = StreamStore(app.db, app.pipeline)
    stream = HashtagStream(mastodon.url, "alice_token", lambda: list(watched), store.handle,
                           sleep=lambda _s: asyncio.sleep(0))
    task = await running(stream, mastodon)
    await stream.follow()
    assert stream.stats.connects == 1, "nothing changed, so no reconnect"
    watched[:] = ["koffie"]
    await stream.follow()
    await eventually(lambda: stream.subscribed == ["koffie"] and subscribers(mastodon) > 0, "resubscribed")
    await asyncio.to_thread(mastodon.post, "Koffie van Acme #koffie")
    await eventually(lambda: texts(app) == ["Koffie van Acme #koffie"], "the new hashtag's post is streamed")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
