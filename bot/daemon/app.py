"""The daemon's lifecycle in one place: build the sources and the pipeline, schedule the jobs, run, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.alerts.control import AlertControl
from bot.alerts.service import AlertService
from bot.config import BrandConfig, Config
from bot.config.durations import format_duration
from bot.daemon.grouping import AnyTagSupport, poll_group
from bot.daemon.outcomes import PollOutcomes
from bot.daemon.refresh_outcomes import RefreshOutcomes
from bot.daemon.streams import build_streams, start_streams
from bot.digest.deliver import Delivery, DigestService
from bot.digest.schedule import DailyTrigger
from bot.discord.commands import BotServices
from bot.discord.connection import DiscordConnection
from bot.discord.gateway import start_gateway
from bot.discord.sink import DiscordSink
from bot.ingest.ingestor import Ingestor, PollResult, Progress
from bot.ingest.language_check import LanguageCheck
from bot.ingest.matching import BrandMatcher
from bot.ingest.pipeline import Pipeline, PostAnalyser
from bot.ingest.refresh import EngagementRefresher, RefreshResult, follow_channel_deletions
from bot.ingest.streamed import StreamStore
from bot.model import SourceKind, TimelineId
from bot.ops.backoff import BackoffPolicy
from bot.ops.failures import FailureLog
from bot.ops.http import OpsServer
from bot.ops.logs import hide_secrets
from bot.ops.metrics import Metrics
from bot.schedule.runner import CoverageScheduler
from bot.schedule.status import budget_lines
from bot.sources.base import SourceError, Timeline
from bot.sources.discord import DiscordChannelTimeline
from bot.sources.mastodon.instance import ServerInfo, ServerRegistry, requests_fetch
from bot.sources.mastodon.ratelimit import RequestBudget
from bot.sources.mastodon.stream import HashtagStream
from bot.sources.mastodon.timeline import MastodonHashtagTimeline, make_client, user_agent
from bot.watch.live import LiveWatchList
from bot.watch.service import WatchService
from bot.watch.status import status_lines
from bot.watch.watchlist import EffectiveWatchList
from storage.db import Database
from storage.health import all_health
from storage.retention import purge

log = logging.getLogger(__name__)

ClientFactory = Callable[[str, "str | None", float], Any]
"""Builds a Mastodon client from (instance URL, token, timeout)."""


def build_analyser(config: Config, failures: FailureLog | None = None) -> PostAnalyser | None:
    """The configured analyser, or None while the analysis package is not installed."""
    try:
        from bot.analysis import Analyser
    except ImportError:
        return None
    # The hashtags that select a post carry no sentiment of their own: the watched ones and the brands' (brand names
    # and handles are passed as brands).
    analyser: PostAnalyser = Analyser(config.analysis, config.topics, brands=config.brands,
                                      watched=config.own_hashtags(), failures=failures)
    return analyser


FIRST_ROUND_GAP = 1.25
"""Seconds between two first polls on one instance: Mastodon's 300 requests per 5 minutes, with a fifth spare."""


def first_round_offsets(timelines: Sequence[Timeline], interval: float) -> list[tuple[Timeline, float]]:
    """When each timeline's first poll starts, in seconds from now: per instance one every FIRST_ROUND_GAP, all
    within one `interval`."""
    counts: dict[str, int] = {}
    for timeline in timelines:
        counts[timeline.id.server] = counts.get(timeline.id.server, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for timeline in timelines:
        server = timeline.id.server
        index = seen.get(server, 0)
        seen[server] = index + 1
        out.append((timeline, min(index * FIRST_ROUND_GAP, interval * index / counts[server])))
    return out


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
        budget_factory: Callable[[str], RequestBudget] | None = None,
    ) -> None:
        self.config = config
        self._budget_factory = budget_factory
        """Makes an instance's request budget (`merkwacht worker` passes one shared through the database)."""
        self._clock = clock
        """Wall-clock time for the request budgets (tests pass one they can move forward)."""
        self.db = db or Database(config.storage.url)
        self.metrics = Metrics()
        self.failures = FailureLog(log, lambda stage, error: self.metrics.stage_failures.labels(stage, error).inc())
        """Failures a stage survives (an analysis that raised), logged once per kind and counted in /metrics."""
        self.pipeline = Pipeline(
            BrandMatcher(config.brands),
            analyser if analyser is not None else build_analyser(config, self.failures),
            respect_opt_outs=config.mastodon.respect_opt_outs,
            failures=self.failures,
            language_check=LanguageCheck(config.analysis.languages),
        )
        self._client_factory = client_factory
        self._clients: dict[str, Any] = {}
        self.scheduler: AsyncIOScheduler | None = None
        interval = config.schedule.poll_interval.total_seconds()
        self.backoff = BackoffPolicy(base=interval, cap=max(config.ops.backoff_max.total_seconds(), interval))
        self.ingestor = Ingestor(
            self.db, self.pipeline, deadline=config.ops.poll_timeout.total_seconds(), backoff=self.backoff
        )
        self._budgets: dict[str, RequestBudget] = {}
        self.outcomes = PollOutcomes(self.metrics, self.backoff, lambda: self.scheduler)
        self.servers = ServerRegistry(clock=clock)
        """What each instance runs and can do, read on first use and daily (`merkwacht check`, `/status`)."""
        self.refresh_outcomes = RefreshOutcomes(self.metrics, clock=clock)
        self.ops_server: OpsServer | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()
        """Polls running now, so a shutdown can wait for their transactions."""
        self.watches = LiveWatchList(self.db, config)
        self._selectors: tuple[tuple[BrandConfig, ...], tuple[str, ...]] = (
            tuple(config.brands), tuple(config.own_hashtags())
        )
        """The brands and hashtags that select posts, as the matcher and the analyser were last built or told."""
        self.watch_refresh = watch_refresh
        """Seconds between looks for run-time watch changes (`watch add/remove` from the CLI or Discord)."""
        hide_secrets([*(i.token() for i in config.mastodon.instances), config.discord.token()])
        discord_token = config.discord.token()
        self.discord = DiscordConnection(discord_token, config.discord.api_base) if discord_token else None
        """The REST client shared by the channel timelines and the digest; None without a token (Mastodon only)."""
        sink = DiscordSink(self.discord, retries=config.discord.digest_retries) if self.discord else None
        self.digests = DigestService(self.effective_config, self.db, sink)
        # Alerts retry at the next store rather than inside it, so a Discord outage never holds up a poll for long.
        alert_sink = DiscordSink(self.discord, retries=1) if self.discord else None
        self.alerts = AlertService(self.effective_config, self.db, alert_sink)
        """Checked right after each poll or refresh that stored something (`after_store`)."""
        self._polled: dict[TimelineId, Timeline] = {}
        """The timelines that have a poll job now, by id (the job's id is `TimelineId.key`)."""
        self._refreshed: set[str] = set()
        """The instances that have an engagement refresh job now."""
        self.streams: list[HashtagStream] = []
        """The instances' hashtag streams, while the daemon runs (`bot.daemon.streams`)."""
        self.coverage: CoverageScheduler | None = None
        """The adaptive scheduler of Mastodon timelines (`schedule.strategy = "adaptive"`); None on fixed intervals."""
        self.any_tags = AnyTagSupport(self.mastodon_client, self.budget)
        """Which instances were seen to honour `any[]` (the adaptive schedule groups quiet tags there)."""
        if config.schedule.strategy == "adaptive":
            self.coverage = CoverageScheduler(
                self.poll, self._budgets.get, config.schedule, metrics=self.metrics, clock=clock,
                poll_group=self.poll_group, groups_ok=self.any_tags.honoured,
            )

    def mastodon_client(self, url: str) -> Any:
        """One client per instance, shared by all its hashtags (its connection pool and cached instance info)."""
        if url not in self._clients:
            instance = next(i for i in self.watches.cached().config.mastodon.instances if i.url == url)
            timeout = self.config.mastodon.request_timeout.total_seconds()
            self._clients[url] = client = self._client_factory(url, instance.token(), timeout)
            if self.config.mastodon.contact and hasattr(client, "user_agent"):
                # Instance admins see who reads their server and how to reach the operator.
                client.user_agent = user_agent(self.config.mastodon.contact)
            self.budget(url).attach(self._clients[url])
        return self._clients[url]

    def budget(self, url: str) -> RequestBudget:
        """The request budget of one instance, shared by all its hashtags."""
        if url not in self._budgets:
            factory = self._budget_factory
            self._budgets[url] = factory(url) if factory else RequestBudget(clock=self._clock)
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

    def effective_config(self) -> Config:
        """The configuration in force now (the file's with run-time changes): what every job reads."""
        return self.watchlist().config

    def _use(self, watchlist: EffectiveWatchList) -> EffectiveWatchList:
        config = watchlist.config
        selectors = (tuple(config.brands), tuple(config.own_hashtags()))
        if selectors[0] != self._selectors[0]:
            self.pipeline.matcher = BrandMatcher(config.brands)
        if selectors != self._selectors:
            # What selects a post carries no sentiment: the analyser follows run-time brands and hashtags too.
            select = getattr(self.pipeline.analyser, "select", None)
            if select is not None:
                select(*selectors)
            self._selectors = selectors
        return watchlist

    async def reconcile(self, scheduler: AsyncIOScheduler) -> None:
        """Bring the poll jobs in line with a changed watch list: add and remove them without a restart."""
        changed = await self.watches.refresh()
        if changed is None:
            return
        for stream in self.streams:
            await stream.follow()  # a stream whose hashtags changed reconnects with the new ones
        timelines = self._timelines(self._use(changed))
        if self.coverage is not None:
            self.coverage.sync([t for t in timelines if self._adaptive(t)])
            timelines = [t for t in timelines if not self._adaptive(t)]
        wanted = {t.id: t for t in timelines}
        for timeline_id in [i for i in self._polled if i not in wanted]:
            del self._polled[timeline_id]
            if scheduler.get_job(timeline_id.key) is not None:
                scheduler.remove_job(timeline_id.key)
            log.info("stopped polling %s: the watch list changed", timeline_id)
        added = [t for timeline_id, t in wanted.items() if timeline_id not in self._polled]
        postponed = self._first_runs() if added else {}
        for timeline in added:
            self._add_poll_job(scheduler, timeline, postponed)
            log.info("started polling %s: the watch list changed", timeline.id)
        self._schedule_refreshes(scheduler, changed.config)

    def select(self, sources: Sequence[str] = ()) -> list[Timeline]:
        """The timelines whose key contains any of `sources` (all of them when none is given)."""
        timelines = self.timelines()
        if not sources:
            return timelines
        return [t for t in timelines if any(s.casefold() in t.id.key.casefold() for s in sources)]

    async def poll(self, timeline: Timeline, progress: Progress | None = None) -> PollResult:
        """Poll one timeline, log and count what it did, and postpone its next poll while it keeps failing."""
        started = time.monotonic()
        self._track(asyncio.current_task())
        discord = timeline.id.source is SourceKind.DISCORD
        backfill = self.config.discord.backfill if discord else self.config.mastodon.backfill
        result = await self.ingestor.poll(timeline, backfill=backfill, progress=progress)
        await self.alerts.after_store(result.new + result.updated)
        self.outcomes.report(timeline, result, time.monotonic() - started, self._budgets.get(timeline.id.server))
        return result

    async def poll_group(self, unit: Sequence[Timeline]) -> list[PollResult]:
        """Poll quiet timelines of one instance in one `any[]` request, each reported as its own poll."""
        self._track(asyncio.current_task())
        origin = unit[0].id.server
        return await poll_group(self.ingestor, self.outcomes, self.mastodon_client(origin), self.budget(origin), unit,
                                self.config.mastodon.backfill)

    async def probe_any(self) -> None:
        """Find out which watched instances honour `any[]` (each probed until decided, every half hour at most)."""
        by_origin: dict[str, list[str]] = {}
        for timeline in self.timelines():
            if timeline.id.source is SourceKind.MASTODON:
                by_origin.setdefault(timeline.id.server, []).append(timeline.id.feed)
        for origin, tags in by_origin.items():
            info = self.servers.get(origin)
            await self.any_tags.probe(origin, tags, info.software if info is not None else "unknown")

    def _first_runs(self) -> dict[str, datetime]:
        # A source that was backing off when the daemon stopped stays left alone after a restart, so a crash loop
        # cannot hammer an instance that is down.
        with self.db.transaction() as session:
            return {
                row.timeline.key: row.backoff_until
                for row in all_health(session)
                if row.backoff_until is not None
            }

    async def poll_all(self, timelines: Sequence[Timeline]) -> list[PollResult]:
        """Poll each timeline once, concurrently."""
        return list(await asyncio.gather(*(self.poll(t) for t in timelines)))

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        """Add one poll job per timeline: every `poll_interval` with jitter, never overlapping itself."""
        postponed = self._first_runs()
        timelines = self.timelines()
        if self.coverage is not None:
            # Mastodon timelines follow the adaptive plan; Discord channels keep their interval jobs.
            adaptive = [t for t in timelines if self._adaptive(t)]
            self.coverage.sync(adaptive)
            for timeline in adaptive:
                if timeline.id.key in postponed:
                    self.coverage.postpone(timeline, postponed[timeline.id.key].timestamp())
            timelines = [t for t in timelines if not self._adaptive(t)]
        # Spread from the start: 200 first polls fired in the same second were a thundering herd. Each instance's
        # timelines start one per FIRST_ROUND_GAP (its budget's pace), within one interval.
        for timeline, offset in first_round_offsets(timelines, self.config.schedule.poll_interval.total_seconds()):
            self._add_poll_job(scheduler, timeline, postponed, offset=offset)
        self._schedule_refreshes(scheduler, self.effective_config())
        scheduler.add_job(self.describe_servers, IntervalTrigger(hours=24), id="servers",
                          name="what each instance runs", next_run_time=datetime.now(UTC), replace_existing=True)
        if self.discord is not None:
            every = self.config.mastodon.refresh_interval.total_seconds()
            scheduler.add_job(self.follow_discord_deletions, IntervalTrigger(seconds=every), id="discord-deletions",
                              name="messages deleted in watched Discord channels", max_instances=1, coalesce=True,
                              misfire_grace_time=max(1, int(every)), replace_existing=True)
        if self.config.storage.retention is not None:
            scheduler.add_job(self.purge_old_posts, IntervalTrigger(hours=24), id="retention",
                              name="purge posts past storage.retention", next_run_time=datetime.now(UTC),
                              max_instances=1, coalesce=True, replace_existing=True)
        self._schedule_digest(scheduler)
        if self.alerts.enabled:
            # Besides the check after every store: one a minute, from the start, for what needs no new post (alerts
            # left pending by a crash, summaries due when quiet hours or a cooldown end).
            scheduler.add_job(self.alerts.check, IntervalTrigger(seconds=60), id="alerts",
                              name="alerts pending or due", next_run_time=datetime.now(UTC), max_instances=1,
                              coalesce=True, misfire_grace_time=60, replace_existing=True)
        elif self.config.alerts.channel is not None:
            log.warning("alerts are NOT delivered: no Discord token (set %s)", self.config.discord.token_env)

    def _schedule_refreshes(self, scheduler: AsyncIOScheduler, config: Config) -> None:
        # One engagement refresh per instance of the effective config, run-time instances included.
        refresh = self.config.mastodon.refresh_interval.total_seconds()
        wanted = {instance.url for instance in config.mastodon.instances}
        for url in self._refreshed - wanted:
            if scheduler.get_job(f"refresh:{url}") is not None:
                scheduler.remove_job(f"refresh:{url}")
        for url in sorted(wanted - self._refreshed):
            scheduler.add_job(
                self.refresh_engagement, IntervalTrigger(seconds=refresh, jitter=int(refresh / 10) or None),
                args=[url], id=f"refresh:{url}", name=f"refresh engagement on {url}",
                max_instances=1, coalesce=True, misfire_grace_time=max(1, int(refresh)), replace_existing=True,
            )
        self._refreshed = wanted

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
        self.watchlist()  # the matcher follows run-time brand changes before posts are matched again
        refresher = EngagementRefresher(self.db, self.pipeline, self.config.mastodon.refresh_window, self.servers)
        client = self.mastodon_client(instance_url)
        result = self.refresh_outcomes.report(await refresher.refresh(client, instance_url, self.budget(instance_url)))
        # Reactions that arrived since the first poll can make a complaint urgent.
        await self.alerts.after_store(result.updated)
        return result

    async def describe_servers(self) -> list[ServerInfo]:
        """Read what each instance runs and can do (at start and daily), for the refresh, `check` and `/status`."""
        from bot.sources.threads import run_detached

        return [
            await run_detached(
                self.servers.ensure, i.url, requests_fetch(self.mastodon_client(i.url), self.budget(i.url))
            )
            for i in self.effective_config().mastodon.instances
        ]

    async def follow_discord_deletions(self) -> int:
        """Remove stored messages deleted in the watched Discord channels within the refresh window."""
        from bot.sources.discord import time_snowflake

        since = datetime.now(UTC) - self.config.mastodon.refresh_window
        removed = 0
        for timeline in self.timelines():
            if timeline.id.source is not SourceKind.DISCORD:
                continue
            try:
                gone = await follow_channel_deletions(self.db, timeline, str(time_snowflake(since)), since)
            except SourceError as exc:
                self.metrics.refresh_errors.labels(timeline.id.key, exc.kind).inc()
                log.info("could not check %s for deleted messages (%s): %s", timeline.id, exc.kind, exc)
                continue
            self.metrics.posts_deleted.labels("discord", timeline.id.feed, "deleted").inc(gone)
            removed += gone
        return removed

    async def purge_old_posts(self) -> int:
        """Delete posts older than `storage.retention`, keeping their brand counts for the digest; how many went."""
        retention = self.config.storage.retention
        if retention is None:
            return 0
        self._track(asyncio.current_task())
        purged = await asyncio.to_thread(purge, self.db, datetime.now(UTC) - retention)
        self.metrics.posts_deleted.labels("any", "any", "retention").inc(purged.removed.posts)
        log.info("retention: purged %d posts older than %s (%d brand mentions kept as counts)",
                 purged.removed.posts, format_duration(retention), purged.counted)
        return purged.removed.posts

    def _adaptive(self, timeline: Timeline) -> bool:
        return self.coverage is not None and timeline.id.source is SourceKind.MASTODON

    def _add_poll_job(
        self, scheduler: AsyncIOScheduler, timeline: Timeline, postponed: dict[str, datetime], offset: float = 0.0
    ) -> None:
        interval = self.config.schedule.poll_interval.total_seconds()
        jitter = int(self.config.schedule.poll_jitter.total_seconds())
        now = datetime.now(UTC) + timedelta(seconds=offset)
        self._polled[timeline.id] = timeline
        scheduler.add_job(
            self.poll,
            IntervalTrigger(seconds=interval, jitter=jitter or None),
            args=[timeline],
            id=timeline.id.key,
            name=f"poll {timeline.id.key}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(interval)),
            next_run_time=max(now, postponed.get(timeline.id.key, now)),
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
                degraded=self.refresh_outcomes.failing,
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
        # Slash commands ride the gateway; it runs beside the scheduler so its outages never stop a poll.
        gateway = start_gateway(self.bot_services(), self.config.discord,
                                watch_channels=bool(self.watches.cached().channels))
        self.streams = build_streams(
            self.config.mastodon.instances, lambda url: [t for u, t in self.watches.cached().timelines if u == url],
            StreamStore(self.db, self.pipeline, self.alerts.after_store), lambda: self.scheduler)
        streams = start_streams(self.streams)
        coverage = asyncio.create_task(self.coverage.run(stop)) if self.coverage is not None else None
        if self.coverage is not None:
            scheduler.add_job(self.probe_any, IntervalTrigger(minutes=5), id="probe-any", name="probe any[] support",
                              next_run_time=datetime.now(UTC), max_instances=1, coalesce=True, replace_existing=True)
        try:
            await stop.wait()
        finally:
            log.info("stopping: waiting for running polls to finish")
            # Pause first: no new job starts, while the running ones get their grace period. Shutting the scheduler
            # down first would cancel them at once (APScheduler's asyncio executor cancels its running jobs).
            scheduler.pause()
            for task in streams:
                task.cancel()
            await asyncio.gather(*streams, return_exceptions=True)
            if gateway is not None:
                gateway.cancel()
                await asyncio.gather(gateway, return_exceptions=True)
            await self._drain()
            if coverage is not None:
                # It starts nothing once `stop` is set; its polls were drained with the rest just now.
                coverage.cancel()
                await asyncio.gather(coverage, return_exceptions=True)
            scheduler.shutdown(wait=False)
            if self.ops_server is not None:
                await self.ops_server.stop()
            if self.discord is not None:
                await self.discord.close()
            self.close()

    def bot_services(self) -> BotServices:
        """What the slash commands may use: the watch list, the digest (on the effective config), the status."""

        def digests(client: discord.Client) -> DigestService:
            sink = DiscordSink(DiscordConnection.attached(client), retries=self.config.discord.digest_retries)
            return DigestService(self.effective_config, self.db, sink)

        async def status() -> list[str]:
            servers, problems = self.servers.all(), self.refresh_outcomes.lines()
            lines = await asyncio.to_thread(
                lambda: status_lines(self.db, self.watchlist(), servers=servers, problems=problems)
            )
            return lines + budget_lines(self._budgets, self.coverage, self.any_tags.honoured, self._clock())

        alerts = AlertControl(self.db, self.effective_config)
        return BotServices(WatchService(self.db, self.config), digests, status, alerts)

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
