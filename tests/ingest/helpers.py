"""Building an Application for a test: a config as a user would write it, pointed at local servers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from bot.config import Config, parse_config
from bot.daemon.app import Application
from bot.ingest.ingestor import PollResult

BRANDS = """
[[brands]]
name = "Acme"
terms = ["Acme", "Acme Coffee"]
hashtags = ["acme", "acmecoffee"]
handles = ["@acme@mastodon.social"]
exclude = ["Acme Corporation"]
"""


def make_config(
    db_url: str,
    instances: Sequence[str],
    *,
    hashtags: Sequence[str] = ("koffie",),
    extra: str = BRANDS,
    backfill: str = "24h",
    request_timeout: str = "20s",
    ops: str = "",
) -> Config:
    """A config watching `hashtags` (plus the brands' own) on each instance URL; `ops` is the `[ops]` table's body."""
    blocks = "".join(f'\n[[mastodon.instances]]\nurl = "{url}"\n' for url in instances)
    tags = ", ".join(f'"{t}"' for t in hashtags)
    return parse_config(
        f'timezone = "Europe/Amsterdam"\n[storage]\nurl = "{db_url}"\n[ops]\n{ops}\n'
        f'[mastodon]\nhashtags = [{tags}]\nbackfill = "{backfill}"\nrequest_timeout = "{request_timeout}"\n'
        f"{blocks}{extra}"
    )


def poll_once(app: Application, sources: Sequence[str] = ()) -> list[PollResult]:
    """One poll of every selected timeline, as `merkwacht poll` does."""
    return asyncio.run(app.poll_all(app.select(sources)))


def by_scope(results: Sequence[PollResult]) -> dict[str, PollResult]:
    """Poll results keyed by hashtag (tests with one instance)."""
    return {r.timeline.feed: r for r in results}


def stored(app: Application, sql: str, **params: Any) -> list[Any]:
    """Rows of a query on the app's database."""
    from sqlalchemy import text

    with app.db.engine.connect() as conn:
        return list(conn.execute(text(sql), params))


PATIENCE = 60.0
"""Only a bound against hanging forever: every wait for the daemon ends as soon as what it waits for has happened."""


async def until(condition: Callable[[], bool]) -> None:
    """Wait until `condition()` holds; the daemon's effects are rows in the database, and nothing signals them."""

    async def wait() -> None:
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(wait(), PATIENCE)
