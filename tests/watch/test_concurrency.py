"""Changes made at the same moment from the CLI and from Discord are both kept, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.watch.service import WatchService
from storage.db import Database
from tests.watch.helpers import config_of, merkwacht, write_config

ROUNDS = 8


def test_cli_and_discord_changes_at_the_same_time_are_all_kept(tmp_path: Path, db_url: str) -> None:
    path = write_config(tmp_path / "config.toml", db_url)
    config = config_of(path)
    # The Discord bot is another process in production: its own engine, its own connections.
    discord_side = WatchService(Database(config.storage.url), config)

    def from_cli() -> None:
        for i in range(ROUNDS):
            assert merkwacht(path, "watch", "add", "hashtag", f"cli{i}").exit_code == 0

    async def from_discord() -> None:
        for i in range(ROUNDS):
            await discord_side.add_hashtag(f"discord{i}", by="discord:ann (1)")
            await discord_side.add_brand(f"Brand{i}", terms=[f"brand {i}"], by="discord:ann (1)")

    async def both() -> None:
        await asyncio.gather(asyncio.to_thread(from_cli), from_discord())

    asyncio.run(both())

    watched = {tag for _, tag in discord_side.current().timelines}
    brands = {b.name for b in discord_side.current().config.brands}
    discord_side.db.close()
    assert {f"cli{i}" for i in range(ROUNDS)} <= watched
    assert {f"discord{i}" for i in range(ROUNDS)} <= watched
    assert {f"Brand{i}" for i in range(ROUNDS)} <= brands
    history = merkwacht(path, "watch", "history", "--limit", "100").output.splitlines()
    assert len(history) == 3 * ROUNDS


def test_the_same_hashtag_added_from_both_sides_at_once_is_one_watch(tmp_path: Path, db_url: str) -> None:
    path = write_config(tmp_path / "config.toml", db_url)
    config = config_of(path)
    services = [WatchService(Database(config.storage.url), config) for _ in range(4)]

    async def race() -> list[bool]:
        changes = await asyncio.gather(*(s.add_hashtag("thee", by=f"side{i}") for i, s in enumerate(services)))
        return [c.changed for c in changes]

    changed = asyncio.run(race())
    entries = [e for e in services[0].current().entries if e.key == "thee"]
    for s in services:
        s.db.close()
    assert changed.count(True) == 1  # the others were told it is already watched
    assert len(entries) == 1 and entries[0].active
