"""The daemon's lifecycle in one place: build the sources and the pipeline, schedule the jobs, run, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.backoff import BackoffPolicy
from bot.config import Config
from bot.digest.deliver import Delivery, DigestService
from bot.digest.schedule import DailyTrigger
from bot.discord_rest import DiscordConnection
from bot.ingest import Ingestor, PollResult, Progress
from bot.logs import hide_secrets
from bot.matching import BrandMatcher
from bot.ops.http import OpsServer
from bot.ops.metrics import Metrics
from bot.pipeline import Pipeline, PostAnalyser
from bot.poll_outcomes import PollOutcomes, timeline_key
from bot.refresh import EngagementRefresher, RefreshResult
from bot.sinks.discord_sink import DiscordSink
from bot.sources.base import Timeline
from bot.sources.discord_channel import DiscordChannelTimeline
from bot.sources.mastodon import MastodonHashtagTimeline, make_client
from bot.sources.ratelimit import RequestBudget
from bot.watch_live import LiveWatchList
from bot.watchlist import EffectiveWatchList
from storage.db import Database
from storage.health import all_health

log = logging.getLogger(__name__)

ClientFactory = Callable[[str, "str | None", float], Any]
"""Builds a Mastodon client from (instance URL, token, timeout)."""


def build_analyser(config: Config) -> PostAnalyser | None:
    """The configured analyser, or None while the analysis package is not installed."""
    try:
        from bot.analysis import Analyser
    except ImportError:
        return None
    watched = [*config.mastodon.hashtags, *(t for inst in config.mastodon.instances for t in inst.hashtags)]
    analyser: PostAnalyser = Analyser(config.analysis, config.topics, brands=config.brands, watched=watched)
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
        watch_refresh: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._clock = clock
        """Wall-clock time for the request budgets (tests pass one they can move forward)."""
        self.db = db or Database(config.storage.url)
        self.pipeline = Pipeline(
            BrandMatcher(config.brands),
            analyser if analyser is not None else build_analyser(config),
            respect_opt_outs=config.mastodon.respect_opt_outs,
        )
        self._client_factory = client_factory
        self._clients: dict[str, Any] = {}
        self.scheduler: AsyncIOScheduler | None = None
        self.metrics = Metrics()
        interval = config.schedule.poll_interval.total_seconds()
        self.backoff = BackoffPolicy(base=interval, cap=max(config.ops.backoff_max.total_seconds(), interval))
        self.ingestor = Ingestor(
            self.db, self.pipeline, deadline=config.ops.poll_timeout.total_seconds(), backoff=self.backoff
        )
        self._budgets: dict[str, RequestBudget] = {}
        self.outcomes = PollOutcomes(self.metrics, self.backoff, lambda: self.scheduler)
        self.ops_server: OpsServer | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()
        """Polls running now, so a shutdown can wait for their transactions."""
        self.watches = LiveWatchList(self.db, config)
        self._matcher_brands = list(config.brands)
        self.watch_refresh = watch_refresh
        """Seconds between looks for run-time watch changes (`watch add/remove` from the CLI or Discord)."""
        hide_secrets([*(i.token() for i in config.mastodon.instances), config.discord.token()])
        discord_token = config.discord.token()
        self.discord = DiscordConnection(discord_token, config.discord.api_base) if discord_token else None
        """The REST client shared by the channel timelines and the digest; None without a token (Mastodon only)."""
        sink = DiscordSink(self.discord, retries=config.discord.digest_retries) if self.discord else None
        self.digests = DigestService(config, self.db, sink)

    def mastodon_client(self, url: str) -> Any:
        """One client per instance, shared by all its hashtags (its connection pool and cached instance info)."""
        if url not in self._clients:
            instance = next(i for i in self.watches.cached().config.mastodon.instances if i.url == url)
            timeout = self.config.mastodon.request_timeout.total_seconds()
            self._clients[url] = self._client_factory(url, instance.token(), timeout)
            self.budget(url).attach(self._clients[url])
        return self._clients[url]

    def budget(self, url: str) -> RequestBudget:
        """The request budget of one instance, shared by all its hashtags."""
        if url not in self._budgets:
            self._budgets[url] = RequestBudget(clock=self._clock)
        return self._budgets[url]

    def timelines(self) -> list[Timeline]:
        """Every timeline the watch list asks to watch: the config's, with run-time changes applied."""
        return self._timelines(self.watchlist())

    def _timelines(self, watchlist: EffectiveWatchList) -> list[Timeline]:
        out: list[Timeline] = []
        for url, tag in watchlist.timelines:
            client, budget = self.mastodon_client(url), self.budget(url)
            out.append(MastodonHashtagTimeline(client, url, tag, budget))
        if self.discord is not None:
            out.extend(DiscordChannelTimeline(self.discord, channel) for channel in watchlist.channels)
        return out

    def watchlist(self) -> EffectiveWatchList:
        """The effective watch list (config plus run-time changes); a brand change rebuilds the matcher."""
        return self._use(self.watches.current())

    def _use(self, watchlist: EffectiveWatchList) -> EffectiveWatchList:
        if watchlist.config.brands != self._matcher_brands:
            self.pipeline.matcher = BrandMatcher(watchlist.config.brands)
            self._matcher_brands = list(watchlist.config.brands)
        return watchlist

    async def reconcile(self, scheduler: AsyncIOScheduler) -> None:
        """Bring the poll jobs in line with a changed watch list: add and remove them without a restart."""
        changed = await self.watches.refresh()
        if changed is None:
            return
        wanted = {timeline_key(t): t for t in self._timelines(self._use(changed))}
        for job in scheduler.get_jobs():
            if job.id.startswith(("mastodon:", "discord:")) and job.id not in wanted:
                scheduler.remove_job(job.id)
                log.info("stopped polling %s: the watch list changed", job.id)
        added = [t for key, t in wanted.items() if scheduler.get_job(key) is None]
        postponed = self._first_runs() if added else {}
        for timeline in added:
            self._add_poll_job(scheduler, timeline, postponed)
            log.info("started polling %s: the watch list changed", timeline_key(timeline))

    def select(self, sources: Sequence[str] = ()) -> list[Timeline]:
        """The timelines whose key contains any of `sources` (all of them when none is given)."""
        timelines = self.timelines()
        if not sources:
            return timelines
        return [t for t in timelines if any(s.casefold() in timeline_key(t).casefold() for s in sources)]

    async def poll(self, timeline: Timeline, progress: Progress | None = None) -> PollResult:
        """Poll one timeline, log and count what it did, and postpone its next poll while it keeps failing."""
        started = time.monotonic()
        self._track(asyncio.current_task())
        backfill = self.config.discord.backfill if timeline.source == "discord" else self.config.mastodon.backfill
        result = await self.ingestor.poll(timeline, backfill=backfill, progress=progress)
        self.outcomes.report(timeline, result, time.monotonic() - started, self._budgets.get(timeline.origin))
        return result

    def _first_runs(self) -> dict[str, datetime]:
        # A source that was backing off when the daemon stopped stays left alone after a restart, so a crash loop
        # cannot hammer an instance that is down.
        with self.db.transaction() as session:
            return {
                f"{row.source}:{row.origin}#{row.scope}": row.backoff_until
                for row in all_health(session)
                if row.backoff_until is not None
            }

    async def poll_all(self, timelines: Sequence[Timeline]) -> list[PollResult]:
        """Poll each timeline once, concurrently."""
        return list(await asyncio.gather(*(self.poll(t) for t in timelines)))

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        """Add one poll job per timeline: every `poll_interval` with jitter, never overlapping itself."""
        postponed = self._first_runs()
        for timeline in self.timelines():
            self._add_poll_job(scheduler, timeline, postponed)
        refresh = self.config.mastodon.refresh_interval.total_seconds()
        for instance in self.config.mastodon.instances:
            scheduler.add_job(
                self.refresh_engagement, IntervalTrigger(seconds=refresh, jitter=int(refresh / 10) or None),
                args=[instance.url], id=f"refresh:{instance.url}", name=f"refresh engagement on {instance.url}",
                max_instances=1, coalesce=True, misfire_grace_time=max(1, int(refresh)), replace_existing=True,
            )
        self._schedule_digest(scheduler)

    def _schedule_digest(self, scheduler: AsyncIOScheduler) -> None:
        settings = self.config.discord
        if self.discord is None or settings.digest_channel is None:
            why = "no Discord token" if self.discord is None else "no [discord] digest_channel"
            log.warning("daily digests are NOT delivered: %s (set %s in the environment and digest_channel in the "
                        "config); `merkwacht digest --dry-run` still shows them", why, settings.token_env)
            if self.discord is None and settings.watch_channels:
                log.warning("Discord channels are not watched either: no Discord token")
            return
        at = self.config.schedule.digest_at
        # A restart after a missed run delivers it late; the digest row keeps a second run from posting twice.
        scheduler.add_job(
            self.deliver_digest, DailyTrigger(at, self.config.zone), id="digest", name=f"daily digest at {at:%H:%M}",
            max_instances=1, coalesce=True, misfire_grace_time=6 * 3600, replace_existing=True,
        )
        scheduler.add_job(self.catch_up_digests, id="digest-catch-up", name="digests missed while stopped",
                          next_run_time=datetime.now(UTC), misfire_grace_time=None, replace_existing=True)

    async def deliver_digest(self) -> Delivery:
        """The cron job: yesterday's digest (local calendar day), sent once."""
        self._track(asyncio.current_task())
        return self._count_digest(await self.digests.deliver_previous_day())

    async def catch_up_digests(self) -> list[Delivery]:
        """After a start: the digests missed while stopped, each sent once."""
        self._track(asyncio.current_task())
        return [self._count_digest(d) for d in await self.digests.catch_up()]

    def _count_digest(self, delivery: Delivery) -> Delivery:
        if delivery.status == "sent":
            self.metrics.digests_sent.labels(str(delivery.channel_id)).inc()
        elif delivery.status == "failed":
            self.metrics.digest_errors.labels(str(delivery.channel_id)).inc()
        return delivery

    async def refresh_engagement(self, instance_url: str) -> RefreshResult:
        """Read this instance's recent brand mentions again, for their reactions and edits since the first poll."""
        refresher = EngagementRefresher(self.db, self.pipeline, self.config.mastodon.refresh_window)
        client = self.mastodon_client(instance_url)
        return await refresher.refresh(client, instance_url, self.budget(instance_url))

    def _add_poll_job(self, scheduler: AsyncIOScheduler, timeline: Timeline, postponed: dict[str, datetime]) -> None:
        interval = self.config.schedule.poll_interval.total_seconds()
        jitter = int(self.config.schedule.poll_jitter.total_seconds())
        now = datetime.now(UTC)
        scheduler.add_job(
            self.poll,
            IntervalTrigger(seconds=interval, jitter=jitter or None),
            args=[timeline],
            id=timeline_key(timeline),
            name=f"poll {timeline_key(timeline)}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(interval)),
            next_run_time=max(now, postponed.get(timeline_key(timeline), now)),
            replace_existing=True,
        )

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until `stop` is set or SIGTERM/SIGINT arrives, then let running polls finish their transaction."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread, or not a Unix loop
                loop.add_signal_handler(sig, stop.set)
        if self.config.ops.http_enabled:
            ops = self.config.ops
            self.ops_server = OpsServer(
                self.metrics,
                scheduler_running=self.scheduler_running,
                db_ping=self.db.ping,
                host=ops.http_host,
                port=ops.http_port,
            )
            await self.ops_server.start()
        scheduler = AsyncIOScheduler(timezone=self.config.zone)
        self.scheduler = scheduler
        self.schedule(scheduler)
        if not scheduler.get_jobs():
            log.warning("nothing to watch yet: add [[mastodon.instances]] and hashtags or brands to the config, "
                        "or use `merkwacht watch add`")
        # Run-time watch changes (CLI, Discord) are applied by this job, so they need no restart.
        scheduler.add_job(
            self.reconcile, IntervalTrigger(seconds=self.watch_refresh), args=[scheduler], id="watchlist",
            name="apply watch list changes", max_instances=1, coalesce=True, replace_existing=True,
        )
        scheduler.start()
        log.info("merkwacht is running: %d jobs", len(scheduler.get_jobs()))
        from bot.discord_bot.client import start_gateway

        # Slash commands ride the gateway; it runs beside the scheduler so its outages never stop a poll.
        gateway = start_gateway(self)
        try:
            await stop.wait()
        finally:
            log.info("stopping: waiting for running polls to finish")
            scheduler.shutdown(wait=False)
            if gateway is not None:
                gateway.cancel()
                await asyncio.gather(gateway, return_exceptions=True)
            await self._drain()
            if self.ops_server is not None:
                await self.ops_server.stop()
            if self.discord is not None:
                await self.discord.close()
            self.close()

    def _track(self, task: asyncio.Task[Any] | None) -> None:
        # APScheduler runs each job as a task named after its executor, not after the job: keep our own list.
        if task is not None and task not in self._in_flight:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    def scheduler_running(self) -> bool:
        """Whether the scheduler is running (what /healthz reports)."""
        return self.scheduler is not None and bool(self.scheduler.running)

    async def _drain(self, grace: float = 8.0) -> None:
        # Jobs are asyncio tasks on this loop; each page commits in a thread, so waiting lets it land.
        tasks = [t for t in self._in_flight if t is not asyncio.current_task() and not t.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            # A poll still waiting on a hung server is given up (its network thread is abandoned); a page being
            # stored finishes its transaction first, because the ingest loop shields it.
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)

    def close(self) -> None:
        """Close the clients and the database."""
        for client in self._clients.values():
            session = getattr(client, "session", None)
            if session is not None:
                session.close()
        self._clients.clear()
        self.db.close()
