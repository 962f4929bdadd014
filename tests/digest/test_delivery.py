"""Exactly once: a day's digest reaches a channel once, whatever crashes, restarts and failures happen between."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config
from bot.digest.deliver import DigestService
from bot.discord.sink import DeliveryError
from storage import digests
from storage.db import Database
from tests.digest.seeding import post, store

AMS = ZoneInfo("Europe/Amsterdam")
DAY = date(2026, 3, 10)
CHANNEL = 123456789012345678


class RecordingSink:
    """A channel that keeps what it was sent; it can be told to fail."""

    def __init__(self, fail_at: set[int] | None = None, permanent: bool = False) -> None:
        self.sent: list[tuple[dict[str, Any], list[str]]] = []
        self.fail_at = fail_at or set()
        self.permanent = permanent
        self.calls = 0

    async def send(self, channel_id: int, payload: dict[str, Any], files: Sequence[tuple[str, bytes]] = ()) -> str:
        self.calls += 1
        if self.calls in self.fail_at:
            raise DeliveryError("Discord is unavailable: 503", permanent=self.permanent)
        self.sent.append((payload, [name for name, _ in files]))
        return str(1000 + len(self.sent))


def config(**discord: Any) -> Config:
    return Config.model_validate({
        "timezone": "Europe/Amsterdam",
        "brands": [{"name": f"Brand{i}", "terms": [f"brand{i}"]} for i in range(12)],
        "discord": {"digest_channel": CHANNEL, **discord},
    })


@pytest.fixture
def busy_day(db: Database) -> Database:
    """A day with enough posts that the digest takes more than one message."""
    long = "this product broke again and nobody answers my emails " * 4
    store(db, [post(datetime(2026, 3, 10, 9, i % 60, tzinfo=AMS), f"{long} {i}", brands=[f"Brand{i % 12}"],
                    cx="complaint", reactions=(1, 1, 1)) for i in range(120)])
    return db


async def test_a_digest_is_sent_once_and_never_again(busy_day: Database) -> None:
    sink = RecordingSink()
    service = DigestService(config, busy_day, sink)
    first = await service.deliver(DAY)
    again = await service.deliver(DAY)
    assert first.status == "sent" and len(first.message_ids) == len(sink.sent) > 1
    assert again.status == "already_sent" and len(sink.sent) == len(first.message_ids)
    state = digests.find(busy_day, DAY, str(CHANNEL))
    assert state is not None and state.sent and state.message_ids == first.message_ids


async def test_the_chart_goes_with_the_first_message_only(busy_day: Database) -> None:
    sink = RecordingSink()
    await DigestService(config, busy_day, sink).deliver(DAY)
    assert sink.sent[0][1] == ["merkwacht-2026-03-10.png"]
    assert all(files == [] for _, files in sink.sent[1:])


async def test_every_message_carries_the_rows_nonce_and_asks_discord_to_enforce_it(busy_day: Database) -> None:
    sink = RecordingSink()
    await DigestService(config, busy_day, sink).deliver(DAY)
    state = digests.find(busy_day, DAY, str(CHANNEL))
    assert state is not None
    assert [p["nonce"] for p, _ in sink.sent] == [f"{state.nonce}.{i}" for i in range(len(sink.sent))]
    assert all(p["enforce_nonce"] is True and p["allowed_mentions"] == {"parse": []} for p, _ in sink.sent)


async def test_after_a_failure_midway_a_restart_sends_only_the_rest_under_the_same_nonces(busy_day: Database) -> None:
    broken = RecordingSink(fail_at={2})
    failed = await DigestService(config, busy_day, broken).deliver(DAY)
    assert failed.status == "failed" and len(failed.message_ids) == 1
    state = digests.find(busy_day, DAY, str(CHANNEL))
    assert state is not None and not state.sent and "503" in (state.last_error or "")

    restarted = RecordingSink()
    done = await DigestService(config, busy_day, restarted).deliver(DAY)
    assert done.status == "sent"
    assert next(p["nonce"] for p, _ in restarted.sent) == f"{state.nonce}.1"
    assert len(broken.sent) + len(restarted.sent) == len(done.message_ids)


async def test_catch_up_after_downtime_sends_missed_days_once(busy_day: Database) -> None:
    sink = RecordingSink()
    service = DigestService(config, busy_day, sink)
    now = datetime(2026, 3, 11, 10, tzinfo=AMS)  # after 09:00: the 10th is due
    first = await service.catch_up(now)
    second = await service.catch_up(now)
    assert [(d.day, d.status) for d in first] == [(DAY, "sent")]
    assert [(d.day, d.status) for d in second] == [(DAY, "already_sent")]


def test_before_digest_time_yesterdays_digest_is_not_due_yet(db: Database) -> None:
    service = DigestService(config, db, RecordingSink())
    assert service.config.schedule.digest_at == time(9)
    assert service.due_days(datetime(2026, 3, 11, 8, tzinfo=AMS))[-1] == date(2026, 3, 9)
    assert service.due_days(datetime(2026, 3, 11, 9, 1, tzinfo=AMS))[-1] == date(2026, 3, 10)


async def test_an_empty_day_is_still_delivered_as_one_line(db: Database) -> None:
    sink = RecordingSink()
    result = await DigestService(config, db, sink).deliver(DAY)
    assert result.status == "sent" and len(sink.sent) == 1
    assert "a quiet day" in sink.sent[0][0]["content"]


async def test_two_processes_claiming_the_same_day_share_one_nonce(db: Database) -> None:
    a = digests.claim(db, DAY, str(CHANNEL), datetime(2026, 3, 11, tzinfo=UTC))
    b = digests.claim(db, DAY, str(CHANNEL), datetime(2026, 3, 11, tzinfo=UTC))
    assert a.nonce == b.nonce and b.attempts == 2
