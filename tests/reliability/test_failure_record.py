"""A failed poll is stored together with when its timeline may be polled again, so a restart keeps the wait."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import BrandConfig
from bot.ingest.ingestor import Ingestor
from bot.ingest.matching import BrandMatcher
from bot.ingest.pipeline import Pipeline
from bot.model import SourceKind, TimelineId
from bot.ops.backoff import BackoffPolicy
from bot.sources.base import Page, SourceError
from storage.health import all_health


class RateLimitedTimeline:
    """A timeline whose server answers every read with 429 and `Retry-After: 600`."""

    id = TimelineId(SourceKind.MASTODON, "https://busy.example", "koffie")

    async def newer(self, after_id: str) -> Page:
        raise SourceError("rate_limited", "429 Too Many Requests", retry_after=600)

    async def older(self, before_id: str | None) -> Page:
        raise SourceError("rate_limited", "429 Too Many Requests", retry_after=600)


def test_a_failure_is_stored_with_when_to_try_again_as_the_server_asked(sqlite_db: Any) -> None:
    ingestor = Ingestor(sqlite_db, Pipeline(BrandMatcher([BrandConfig(name="Acme", terms=["acme"])])),
                        backoff=BackoffPolicy(base=60, cap=3600))
    before = datetime.now(UTC)

    result = asyncio.run(ingestor.poll(RateLimitedTimeline(), backfill=timedelta(hours=1)))

    assert result.error_kind == "rate_limited" and result.consecutive_errors == 1
    assert result.backoff_until is not None
    assert before + timedelta(seconds=600) <= result.backoff_until <= datetime.now(UTC) + timedelta(seconds=631)
    with sqlite_db.transaction() as session:
        [row] = all_health(session)
    assert (row.consecutive_errors, row.backoff_until) == (1, result.backoff_until)
    assert row.last_error == "rate_limited: 429 Too Many Requests"
