"""A clock the tests move, a sink that records, and configs made to order for alert tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.config import Config
from bot.discord.sink import DeliveryError

CHANNEL = 123456789012345678


class Clock:
    """Now, as the test says."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class RecordingSink:
    """A channel that keeps what it was sent and edited; `enforce_nonce` honoured like Discord."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.edits: list[tuple[str, dict[str, Any]]] = []
        self.fail_next = 0

    async def send(self, channel_id: int, payload: dict[str, Any], files: Sequence[tuple[str, bytes]] = ()) -> str:
        if self.fail_next:
            self.fail_next -= 1
            raise DeliveryError("Discord is unavailable: 503", permanent=False)
        for index, earlier in enumerate(self.sent):
            if payload.get("enforce_nonce") and earlier.get("nonce") == payload.get("nonce"):
                return str(1000 + index)
        self.sent.append(payload)
        return str(1000 + len(self.sent) - 1)

    async def edit(self, channel_id: int, message_id: str, payload: dict[str, Any]) -> None:
        self.edits.append((message_id, payload))


def config(*, brands: Sequence[str] = ("Acme",), timezone: str = "Europe/Amsterdam", **alerts: Any) -> Config:
    """A config with `brands` and an alert channel; `alerts` overrides `[alerts]` keys."""
    return Config.model_validate({
        "timezone": timezone,
        "brands": [{"name": b, "terms": [b.lower()]} for b in brands],
        "alerts": {"channel": CHANNEL, **alerts},
    })
