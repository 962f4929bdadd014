"""Run by the exactly-once test in a child process: send the pending alerts, and die by SIGKILL right after Discord
confirms the first one, before the ledger can record it.

Usage: python -m tests.alerts.kill_after_send DB_URL API_BASE NOW_ISO
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.alerts.service import AlertService
from bot.discord.connection import DiscordConnection
from bot.discord.sink import DiscordSink
from storage.db import Database
from tests.alerts.helpers import config


class KilledAfterSend(DiscordSink):
    """The real sink; the process is killed the moment Discord has answered."""

    async def send(self, channel_id: int, payload: dict[str, Any], files: Sequence[tuple[str, bytes]] = ()) -> str:
        await super().send(channel_id, payload, files)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


async def main(db_url: str, api_base: str, now: datetime) -> None:
    connection = DiscordConnection("fake-token", api_base)
    service = AlertService(lambda: config(), Database(db_url), KilledAfterSend(connection), clock=lambda: now)
    await service.check()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])))
