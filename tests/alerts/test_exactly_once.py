"""Exactly once across a SIGKILL between Discord's answer and the ledger write, over real HTTP to the Discord fake."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from discord.http import Route

from bot.alerts.service import AlertService
from bot.demo.discord_fake import FakeDiscord, running_in_thread
from bot.discord.connection import DiscordConnection
from bot.discord.sink import DiscordSink
from storage import alerts as ledger
from storage.db import Database
from tests.alerts.helpers import CHANNEL, config
from tests.digest.seeding import post, store

NOW = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    base = Route.BASE
    with running_in_thread() as server:
        server.add_channel(CHANNEL, name="alerts")
        yield server
    Route.BASE = base


async def test_an_alert_is_posted_once_when_the_process_is_killed_between_send_and_ledger_write(
        tmp_path: Path, fake: FakeDiscord) -> None:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    db = Database(url)
    store(db, [post(NOW - timedelta(minutes=2), "acme lost my parcel", brands=["Acme"], sentiment="negative",
                    cx="complaint", followers=40_000)])
    command = [sys.executable, "-m", "tests.alerts.kill_after_send", url, fake.url, NOW.isoformat()]
    child = await asyncio.to_thread(subprocess.run, command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                    capture_output=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    assert len(fake.received) == 1, "Discord got the alert before the kill"
    [left] = ledger.pending(db)
    assert left.message_id is None, "the kill came before the ledger write"

    connection = DiscordConnection("fake-token", fake.url)
    service = AlertService(lambda: config(), db, DiscordSink(connection), clock=lambda: NOW + timedelta(minutes=1))
    report = await service.check()
    await connection.close()
    channel = fake.channels[CHANNEL].messages
    assert len(channel) == 1, "the retry under the same nonce returned the first message"
    assert report.sent == [left.key]
    assert ledger.latest(db)[0].message_id == channel[0]["id"]
    assert ledger.pending(db) == []
    db.close()


async def test_a_grown_spike_edits_the_posted_message_in_place(fake: FakeDiscord) -> None:
    connection = DiscordConnection("fake-token", fake.url)
    sink = DiscordSink(connection)
    first = {"content": "**Acme** volume spike: 20 mentions", "embeds": [], "allowed_mentions": {"parse": []},
             "nonce": "n1.0", "enforce_nonce": True}
    message_id = await sink.send(CHANNEL, first)
    await sink.edit(CHANNEL, message_id, {**first, "content": "**Acme** volume spike: 45 mentions"})
    await connection.close()
    [message] = fake.channels[CHANNEL].messages
    assert message["content"] == "**Acme** volume spike: 45 mentions" and message["edited_timestamp"]
    assert "nonce" not in fake.edited[0].body, "an edit carries no nonce (Discord refuses one)"


async def test_the_test_alert_reaches_the_alert_channel_clearly_marked(fake: FakeDiscord, tmp_path: Path) -> None:
    from bot.alerts.control import AlertControl

    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    connection = DiscordConnection("fake-token", fake.url)
    await AlertControl(db, lambda: config()).send_test(DiscordSink(connection))
    await connection.close()
    db.close()
    [received] = fake.received
    assert received.body["content"].startswith("🧪 TEST ALERT (a sample, nothing happened)")
    assert fake.rejected == []
