"""`merkwacht worker`: polls, digests and alerts as procrastinate tasks, shared by workers on one PostgreSQL database.

Each Mastodon (instance, hashtag) poll is one task, locked by its timeline key, so a timeline is never polled by two
workers at once and never queued twice. Every request goes through the instance's `SharedBudget`, counted in the
database, so all workers together stay within the instance's limits. A worker killed mid-poll leaves its job
"doing"; the `retry_stalled` task of any live worker hands it back to the queue once the dead worker has missed its
heartbeats, and the re-run poll goes on from the stored cursor (cursor and posts commit together; a post's uri is
unique), so nothing is lost or stored twice. The digest and alert checks are tasks under one lock each; the digest
ledger (`storage.digests`) makes a digest that was sent, or partly sent, never go out twice.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import procrastinate
import psycopg
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.jobs import Status
from procrastinate.schema import SchemaManager

from bot.config.schema import Config
from bot.daemon.app import Application
from bot.model import SourceKind
from bot.sources.base import Timeline
from bot.worker.budget import SharedBudget
from storage.db import Database

log = logging.getLogger(__name__)

POLL = "merkwacht.poll"
"""The task name of one timeline's poll (its argument: the timeline key)."""
ALERTS = "merkwacht.alerts"
DIGEST_LOCK = "merkwacht:digest"
ALERT_LOCK = "merkwacht:alerts"


class WorkerSetupError(ValueError):
    """The configuration cannot run workers (say, a storage URL that is not PostgreSQL)."""


def conninfo(storage_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (`postgresql+psycopg://...` → `postgresql://...`)."""
    parts = urlsplit(storage_url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise WorkerSetupError(
            f"storage.url: workers share a PostgreSQL database, but the URL's scheme is {parts.scheme!r}; "
            "the single-process daemon (`merkwacht run`) is the one for SQLite"
        )
    return urlunsplit(("postgresql", *parts[1:]))


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How the workers plan and watch each other."""

    plan_cron: str = "* * * * * */10"
    """How often a worker looks for timelines without a queued poll (croniter, seconds last): every 10 s."""
    stalled_after: float = 30.0
    """Seconds without a heartbeat after which a worker counts as dead and its running jobs go back to the queue."""
    heartbeat: float = 5.0
    """Seconds between a worker's heartbeats."""


def _key_timeline(application: Application) -> dict[str, Timeline]:
    return {t.id.key: t for t in application.timelines() if t.id.source is SourceKind.MASTODON}


def build(
    config: Config,
    *,
    settings: WorkerSettings = WorkerSettings(),
    db: Database | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[procrastinate.App, Application]:
    """The procrastinate app of `config`'s database, with Merkwacht's tasks, and the services they run on."""
    connector = procrastinate.PsycopgConnector(conninfo=conninfo(config.storage.url))
    database = db or Database(config.storage.url)
    application = Application(
        config, db=database, clock=clock, budget_factory=lambda url: SharedBudget(database, url, clock=clock)
    )
    app = procrastinate.App(connector=connector)
    interval = config.schedule.poll_interval.total_seconds()

    async def defer_poll(key: str, seconds: float = 0.0) -> bool:
        try:
            await app.configure_task(
                POLL, lock=key, queueing_lock=key, schedule_in={"seconds": max(seconds, 0.0)}
            ).defer_async(key=key)
        except AlreadyEnqueued:
            return False  # another worker (or the plan) queued it already: one queued poll per timeline
        return True

    @app.task(name=POLL)
    async def poll(key: str) -> None:
        timeline = _key_timeline(application).get(key)
        if timeline is None:
            log.info("not polling %s: it is no longer on the watch list", key)
            return
        started = time.monotonic()
        backfill = config.mastodon.backfill
        result = await application.ingestor.poll(timeline, backfill=backfill)
        application.outcomes.report(
            timeline, result, time.monotonic() - started, application.budget(timeline.id.server)
        )
        if result.new + result.updated > 0 and application.alerts.enabled:
            with contextlib.suppress(AlreadyEnqueued):  # a check queued already sees these posts too
                await app.configure_task(ALERTS, lock=ALERT_LOCK, queueing_lock=ALERT_LOCK).defer_async(
                    stored=result.new + result.updated
                )
        if result.error_kind == "deferred" and result.retry_after:
            # The instance's budget (all workers') is spent: not a failure, the poll waits for the window.
            await defer_poll(key, result.retry_after)
        elif result.ok:
            await defer_poll(key, interval)
        else:
            wait = (result.backoff_until.timestamp() - clock()) if result.backoff_until else interval
            await defer_poll(key, max(wait, interval))

    @app.task(name=ALERTS)
    async def alerts(stored: int) -> None:
        await application.alerts.after_store(stored)

    @app.periodic(cron=settings.plan_cron, periodic_id="plan")
    @app.task(name="merkwacht.plan", queueing_lock="merkwacht:plan")
    async def plan(timestamp: int) -> None:
        # Timelines with no poll queued or running get one now: new watches, and first start.
        queued = {
            job.queueing_lock
            for status in ("todo", "doing")
            for job in await app.job_manager.list_jobs_async(task=POLL, status=status)
        }
        added = [key for key in _key_timeline(application) if key not in queued]
        for key in added:
            await defer_poll(key)
        if added:
            log.info("queued first polls of %d timeline(s)", len(added))

    @app.periodic(cron=settings.plan_cron, periodic_id="retry_stalled")
    @app.task(name="merkwacht.retry_stalled", queueing_lock="merkwacht:retry_stalled")
    async def retry_stalled(timestamp: int) -> None:
        stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=settings.stalled_after)
        for job in stalled:
            # A worker that stopped sending heartbeats died mid-job (SIGKILL, a lost machine): run the job again.
            log.warning("job %s (%s) of a dead worker goes back to the queue", job.id, job.call_string)
            assert job.id is not None
            try:
                await app.job_manager.retry_job(job)
            except (AlreadyEnqueued, UniqueViolation):
                # It had queued its successor (or the plan had) before it died: that one does the work, and this
                # one must not hold its lock forever.
                await app.job_manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=False)
        await app.job_manager.prune_stalled_workers(seconds_since_heartbeat=settings.stalled_after)

    @app.periodic(cron="* * * * *", periodic_id="digest")
    @app.task(name="merkwacht.digest", lock=DIGEST_LOCK, queueing_lock=DIGEST_LOCK)
    async def digest(timestamp: int) -> None:
        # Every minute: sends what is due and unsent (the ledger says what was sent); one at a time by the lock.
        await application.digests.catch_up(datetime.fromtimestamp(timestamp, UTC))

    return app, application


START_LOCK = 7_302_146_001
"""The PostgreSQL advisory lock that lets one starting worker at a time migrate and create the queue's tables."""


def prepare_database(storage_url: str) -> None:
    """Migrate Merkwacht's tables and create procrastinate's unless present, one starting worker at a time."""
    with psycopg.connect(conninfo(storage_url), autocommit=True) as conn:
        # Workers started together on a fresh database would otherwise all run the same migrations at once.
        conn.execute("SELECT pg_advisory_lock(%s)", (START_LOCK,))
        try:
            Database(storage_url).close()
            row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
            if not (row and row[0]):
                conn.execute(SchemaManager.get_schema().encode())
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (START_LOCK,))
