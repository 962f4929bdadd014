"""The daemon's lifecycle in one place: build the sources and the pipeline, schedule the jobs, run, stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Config
from bot.ingest import Ingestor, PollResult, Progress
from bot.matching import BrandMatcher
from bot.pipeline import Pipeline, PostAnalyser
from bot.sources.base import Timeline
from bot.sources.mastodon import MastodonHashtagTimeline, make_client
from storage.db import Database

log = logging.getLogger(__name__)

ClientFactory = Callable[[str, "str | None", float], Any]
"""Builds a Mastodon client from (instance URL, token, timeout)."""


def timeline_key(timeline: Timeline) -> str:
    """A stable name for a timeline, used as job id and in `poll --source`: `mastodon:https://x#tag`."""
    return f"{timeline.source}:{timeline.origin}#{timeline.scope}"


def build_analyser(config: Config) -> PostAnalyser | None:
    """The configured analyser, or None while the analysis package is not installed."""
    try:
        from bot.analysis import Analyser
    except ImportError:
        return None
    analyser: PostAnalyser = Analyser(config.analysis, config.topics)
    return analyser


class Application:
    """Everything the daemon runs, wired from one config; the CLI, the demo and the tests all start here."""

    def __init__(
        self,
        config: Config,
        *,
        db: Database | None = None,
        client_factory: ClientFactory = make_client,
        analyser: PostAnalyser | None = None,
    ) -> None:
        self.config = config
        self.db = db or Database(config.storage.url)
        self.pipeline = Pipeline(
            BrandMatcher(config.brands),
            analyser if analyser is not None else build_analyser(config),
            respect_opt_outs=config.mastodon.respect_opt_outs,
        )
        self.ingestor = Ingestor(self.db, self.pipeline)
        self._client_factory = client_factory
        self._clients: dict[str, Any] = {}
        self.scheduler: AsyncIOScheduler | None = None

    def mastodon_client(self, url: str) -> Any:
        """One client per instance, shared by all its hashtags (its connection pool and cached instance info)."""
        if url not in self._clients:
            instance = next(i for i in self.config.mastodon.instances if i.url == url)
            timeout = self.config.mastodon.request_timeout.total_seconds()
            self._clients[url] = self._client_factory(url, instance.token(), timeout)
        return self._clients[url]

    def timelines(self) -> list[Timeline]:
        """Every timeline the config asks to watch."""
        out: list[Timeline] = []
        for instance in self.config.mastodon.instances:
            for tag in self.config.watched_hashtags(instance):
                out.append(MastodonHashtagTimeline(self.mastodon_client(instance.url), instance.url, tag))
        return out

    def select(self, sources: Sequence[str] = ()) -> list[Timeline]:
        """The timelines whose key contains any of `sources` (all of them when none is given)."""
        timelines = self.timelines()
        if not sources:
            return timelines
        return [t for t in timelines if any(s.casefold() in timeline_key(t).casefold() for s in sources)]

    async def poll(self, timeline: Timeline, progress: Progress | None = None) -> PollResult:
        """Poll one timeline and log what it did."""
        result = await self.ingestor.poll(timeline, backfill=self.config.mastodon.backfill, progress=progress)
        if result.ok:
            log.info(
                "polled %s: %d new, %d duplicate, %d skipped (opt-out), %d pages",
                timeline_key(timeline), result.new, result.duplicate, result.skipped, result.pages,
            )
        else:
            log.warning("polling %s failed (%s): %s", timeline_key(timeline), result.error_kind, result.error)
        return result

    async def poll_all(self, timelines: Sequence[Timeline]) -> list[PollResult]:
        """Poll each timeline once, concurrently."""
        return list(await asyncio.gather(*(self.poll(t) for t in timelines)))

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        """Add one poll job per timeline: every `poll_interval` with jitter, never overlapping itself."""
        interval = self.config.schedule.poll_interval.total_seconds()
        jitter = int(self.config.schedule.poll_jitter.total_seconds())
        for timeline in self.timelines():
            scheduler.add_job(
                self.poll,
                IntervalTrigger(seconds=interval, jitter=jitter or None),
                args=[timeline],
                id=timeline_key(timeline),
                name=f"poll {timeline_key(timeline)}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(interval),
                next_run_time=datetime.now(UTC),
                replace_existing=True,
            )

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until `stop` is set or SIGTERM/SIGINT arrives, then let running polls finish their transaction."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # not the main thread, or not a Unix loop
                pass
        scheduler = AsyncIOScheduler(timezone=self.config.zone)
        self.scheduler = scheduler
        self.schedule(scheduler)
        if not scheduler.get_jobs():
            log.warning("nothing to watch: add [[mastodon.instances]] and hashtags or brands to the config")
        scheduler.start()
        log.info("merkwacht is running: %d jobs", len(scheduler.get_jobs()))
        try:
            await stop.wait()
        finally:
            log.info("stopping: waiting for running polls to finish")
            scheduler.shutdown(wait=False)
            await self._drain()
            self.close()

    async def _drain(self, timeout: float = 8.0) -> None:
        # Jobs are asyncio tasks on this loop; each page commits in a thread, so waiting lets it land.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and "poll" in repr(t.get_coro())]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    def close(self) -> None:
        """Close the clients and the database."""
        for client in self._clients.values():
            session = getattr(client, "session", None)
            if session is not None:
                session.close()
        self._clients.clear()
        self.db.close()
