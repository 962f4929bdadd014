"""Build, render and deliver one day's digest exactly once per channel; the entry point of the cron job and the CLI."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.digest.build import build_digest, previous_local_day
from bot.digest.model import Digest
from bot.digest.render import Rendered, render, with_nonce
from bot.discord.sink import DeliveryError
from storage import digests
from storage.db import Database

log = logging.getLogger(__name__)

CATCH_UP_DAYS = 3
"""On start, pending digests this many days back are finished; older ones are left (and logged) as stale."""


class MessageSink(Protocol):
    """Anything that posts a message payload and answers with the new message's id."""

    async def send(self, channel_id: int, payload: dict[str, Any], files: Sequence[tuple[str, bytes]] = ()) -> str:
        """Post one message; raises DeliveryError."""
        ...


@dataclass(frozen=True, slots=True)
class Prepared:
    """A digest ready to send: the data, the payloads (without nonces) and the chart."""

    digest: Digest
    rendered: Rendered
    chart: bytes | None

    def files(self, index: int) -> list[tuple[str, bytes]]:
        """The files message `index` carries: the chart, on the first message only."""
        if index == 0 and self.chart is not None and self.rendered.chart_filename:
            return [(self.rendered.chart_filename, self.chart)]
        return []


DeliveryStatus = Literal["sent", "already_sent", "failed"]
"""What one delivery did: sent it now, found it sent before (and sent nothing), or gave up for this run."""


@dataclass(slots=True)
class Delivery:
    """What delivering one digest did."""

    day: date
    channel_id: int
    status: DeliveryStatus
    message_ids: list[str] = field(default_factory=list)
    error: str | None = None


class DigestService:
    """Everything about the daily digest that the daemon, the CLI and the demo share."""

    def __init__(self, config: Callable[[], Config], db: Database, sink: MessageSink | None = None) -> None:
        self._config = config
        self.db = db
        self.sink = sink

    @property
    def config(self) -> Config:
        """The effective configuration now (file and run-time changes): its brands and hashtags make the digest."""
        return self._config()

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone, which defines a day."""
        return self.config.zone

    def build(self, day: date) -> Digest:
        """The digest data for local `day`, for the brands and hashtags watched now."""
        config = self.config
        with self.db.transaction() as session:
            return build_digest(session, day, zone=config.zone, brands=[b.name for b in config.brands],
                                watched_tags=config.own_hashtags())

    def prepare(self, day: date, *, chart: bool = True) -> Prepared:
        """Query, render and chart the digest for `day` (blocking; run it in a thread from asyncio)."""
        digest = self.build(day)
        has_data = any(d.total for days in digest.series.values() for d in days)
        if chart and has_data:
            # Imported here: matplotlib (and Pillow) then load with the day's first chart, not at every start-up.
            from bot.digest.chart import render_chart

            png: bytes | None = render_chart(digest)
        else:
            png = None
        return Prepared(digest, render(digest, with_chart=png is not None), png)

    def payloads(self, day: date, channel_id: int | None = None) -> tuple[Prepared, list[dict[str, Any]]]:
        """The exact bodies that would be POSTed for `day`, under the nonce of its row (or a new one)."""
        prepared = self.prepare(day)
        state = digests.find(self.db, day, str(channel_id)) if channel_id else None
        return prepared, with_nonce(prepared.rendered.payloads, state.nonce if state else digests.new_nonce())

    async def deliver(self, day: date, channel_id: int | None = None) -> Delivery:
        """Send the digest for `day` unless it was sent already; resumes a partly sent one under its nonces."""
        channel = channel_id or self.config.discord.digest_channel
        if channel is None or self.sink is None:
            raise DeliveryError("no digest channel or no Discord token configured", permanent=True)
        key = str(channel)
        existing = await asyncio.to_thread(digests.find, self.db, day, key)
        if existing is not None and existing.sent:
            log.info("digest for %s was already sent to channel %s; not sending it again", day, channel)
            return Delivery(day, channel, "already_sent", existing.message_ids)
        prepared = await asyncio.to_thread(self.prepare, day)
        state = await asyncio.to_thread(digests.claim, self.db, day, key)
        payloads = with_nonce(prepared.rendered.payloads, state.nonce)
        ids = list(state.message_ids)
        try:
            for index in range(len(ids), len(payloads)):
                message_id = await self.sink.send(channel, payloads[index], prepared.files(index))
                await asyncio.to_thread(digests.record_message, self.db, day, key, index, message_id)
                ids.append(message_id)
        except DeliveryError as exc:
            await asyncio.to_thread(digests.record_failure, self.db, day, key, str(exc))
            log.error("digest for %s not delivered to channel %s (attempt %d, %d of %d messages sent): %s",
                      day, channel, state.attempts, len(ids), len(payloads), exc)
            return Delivery(day, channel, "failed", ids, str(exc))
        await asyncio.to_thread(digests.mark_sent, self.db, day, key)
        log.info("digest for %s sent to channel %s: %d message(s)", day, channel, len(ids))
        return Delivery(day, channel, "sent", ids)

    async def deliver_previous_day(self, now: datetime | None = None) -> Delivery:
        """The cron job: the digest of the local calendar day before `now`."""
        return await self.deliver(previous_local_day(now or datetime.now(UTC), self.zone))

    def due_days(self, now: datetime) -> list[date]:
        """Days whose digest should exist by `now` and might not: the catch-up list after downtime."""
        local = now.astimezone(self.zone)
        last = local.date() - timedelta(days=1)
        if local.time() < self.config.schedule.digest_at:
            last -= timedelta(days=1)
        return [last - timedelta(days=i) for i in range(CATCH_UP_DAYS - 1, -1, -1)]

    async def catch_up(self, now: datetime | None = None) -> list[Delivery]:
        """After a start: send what is due and unsent since the last days (pending rows first, then yesterday's)."""
        channel = self.config.discord.digest_channel
        if channel is None or self.sink is None:
            return []
        now = now or datetime.now(UTC)
        days = self.due_days(now)
        pending = await asyncio.to_thread(digests.unsent, self.db, str(channel), days[0])
        todo = sorted({*(p.day for p in pending), days[-1]})
        return [await self.deliver(day) for day in todo]
