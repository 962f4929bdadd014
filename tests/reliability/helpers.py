"""Building blocks for the reliability tests: configs pointed at local servers, a clock that tests move forward."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.config import Config
from tests.ingest.helpers import make_config, stored


class FakeClock:
    """Wall-clock time that only moves when the test says so (for rate-limit windows of minutes)."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass."""
        self.now += seconds


def config_for(
    db_url: str,
    instances: Sequence[str],
    *,
    hashtags: Sequence[str] = ("koffie",),
    request_timeout: str = "10s",
    poll_timeout: str = "60s",
    ops: str = "http_enabled = false",
    extra: str = "",
) -> Config:
    """A config watching `hashtags` on each instance, with the network limits a test needs."""
    return make_config(
        db_url, instances, hashtags=hashtags, extra=extra, request_timeout=request_timeout,
        ops=f'poll_timeout = "{poll_timeout}"\n{ops}',
    )


def stored_ids(app: Any, origin: str) -> list[str]:
    """The remote ids stored for `origin`, one per stored sighting (so a duplicate would show twice)."""
    return [r.remote_id for r in stored(app, "SELECT remote_id FROM post_sources WHERE origin = :o", o=origin)]
