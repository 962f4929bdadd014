"""The running daemon: a failing source backs off alone, /healthz and /metrics tell an operator what is going on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.daemon.app import Application
from bot.ops.http import OpsServer
from bot.ops.metrics import Metrics
from tests.ingest.helpers import stored
from tests.reliability.helpers import config_for, stored_ids
from tests.reliability.test_fault_matrix import TAG_PATHS, poll

OPS = "http_enabled = true\nhttp_port = 0"


async def wait_for(condition: Any, what: str, limit: float = 30.0) -> None:
    """Wait until `condition()` holds (checked every 50 ms), failing after `limit` seconds."""
    for _ in range(int(limit / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def test_a_source_that_keeps_failing_is_tried_less_often_and_the_others_keep_their_schedule(
    sqlite_db: Any, mastodon: Any, second_mastodon: Any
) -> None:
    url = str(sqlite_db.engine.url)
    config = config_for(url, [mastodon.url, second_mastodon.url], ops=OPS, extra="")
    schedule = config.schedule.model_copy(update={"poll_interval": timedelta(minutes=1)})
    config = config.model_copy(update={"schedule": schedule})
    mastodon.post("Eerste #koffie")
    fault = mastodon.server.fault(path_regex=TAG_PATHS, status=503)
    before = Application(config, db=sqlite_db)
    for _ in range(3):
        poll(before)  # the first instance failed three times in a row before the daemon (re)started
    before.close()
    new_posts = [second_mastodon.post(f"Nieuw {i} #koffie")["id"] for i in range(4)]

    async def scenario() -> dict[str, Any]:
        app = Application(config, db=sqlite_db)
        stop = asyncio.Event()
        runner = asyncio.create_task(app.run(stop))
        await wait_for(lambda: len(stored_ids(app, second_mastodon.url)) == 4, "the healthy instance's posts")
        assert app.scheduler is not None and app.ops_server is not None
        failing = app.scheduler.get_job(f"mastodon:{mastodon.url}#koffie")
        healthy = app.scheduler.get_job(f"mastodon:{second_mastodon.url}#koffie")
        out: dict[str, Any] = {"failing_next": failing.next_run_time, "healthy_next": healthy.next_run_time}

        # Make the failing source's retry come now: it fails a fourth time and is pushed back further.
        failing.modify(next_run_time=datetime.now(UTC))
        await wait_for(lambda: app.metrics.consecutive_errors.labels("mastodon", mastodon.url, "koffie")._value.get()
                       == 4, "the fourth failure")
        out["failing_after_retry"] = app.scheduler.get_job(failing.id).next_run_time
        base = f"http://127.0.0.1:{app.ops_server.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                out["healthz"] = (response.status, await response.json())
            async with http.get(f"{base}/metrics") as response:
                out["metrics"] = await response.text()
        stop.set()
        await runner
        return out

    started = datetime.now(UTC)
    out = asyncio.run(scenario())
    fault.delete()

    assert sorted(stored_ids(before, second_mastodon.url)) == sorted(str(i) for i in new_posts)
    assert out["failing_next"] > started + timedelta(minutes=1), "after 3 failures it waits longer than the interval"
    assert out["healthy_next"] <= datetime.now(UTC) + timedelta(minutes=1, seconds=31), "the healthy one is on time"
    assert out["failing_after_retry"] > datetime.now(UTC) + timedelta(minutes=1)
    [row] = stored(before, "SELECT consecutive_errors, backoff_until FROM source_health WHERE origin = :o",
                   o=mastodon.url)
    assert row.consecutive_errors == 4 and row.backoff_until is not None

    assert out["healthz"] == (200, {"status": "ok", "scheduler": True, "database": True}), (
        "a source being down is not the daemon being down"
    )
    metrics = out["metrics"]
    labels = f'origin="{mastodon.url}",source="mastodon"'
    assert f'merkwacht_poll_errors_total{{kind="server",{labels}}} 1.0' in metrics
    assert f'merkwacht_posts_ingested_total{{origin="{second_mastodon.url}",source="mastodon"}} 4.0' in metrics
    timeline = f'origin="{mastodon.url}",scope="koffie",source="mastodon"'
    assert f"merkwacht_source_consecutive_errors{{{timeline}}} 4.0" in metrics
    for name in ("merkwacht_poll_duration_seconds_bucket", "merkwacht_source_backoff_until_timestamp_seconds",
                 "merkwacht_source_last_success_timestamp_seconds", "merkwacht_scheduler_running 1.0",
                 "merkwacht_rate_limit_remaining", "merkwacht_digests_sent"):
        assert name in metrics


@pytest.mark.parametrize(
    ("scheduler", "database", "status"),
    [(True, True, 200), (False, True, 503), (True, False, 503)],
    ids=["running", "scheduler stopped", "database down"],
)
def test_healthz_is_503_when_the_scheduler_or_the_database_is_down(
    scheduler: bool, database: bool, status: int
) -> None:
    async def ask() -> int:
        server = OpsServer(Metrics(), scheduler_running=lambda: scheduler, db_ping=lambda: database, port=0)
        await server.start()
        try:
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}/healthz") as r:
                return r.status
        finally:
            await server.stop()

    assert asyncio.run(ask()) == status


def test_two_applications_in_one_process_keep_their_own_metrics() -> None:
    first, second = Metrics(), Metrics()
    first.posts_ingested.labels("mastodon", "https://a.example").inc(5)
    assert b"https://a.example" in first.render()
    assert b"https://a.example" not in second.render()


def test_a_poll_in_flight_when_the_daemon_is_stopped_finishes_and_stores_its_posts(
    sqlite_db: Any, mastodon: Any
) -> None:
    config = config_for(str(sqlite_db.engine.url), [mastodon.url], extra="")
    posted = [mastodon.post(f"Laatste {i} #koffie")["id"] for i in range(3)]
    # The server holds every timeline answer 1 s; a first poll asks three times, well inside the 8 s grace.
    fault = mastodon.server.fault(path_regex=TAG_PATHS, type="latency", delay_ms=1_000)

    async def scenario() -> None:
        app = Application(config, db=sqlite_db)
        stop = asyncio.Event()
        runner = asyncio.create_task(app.run(stop))
        await wait_for(lambda: bool(app._in_flight), "a poll to start")
        stop.set()  # as SIGTERM does
        await runner

    asyncio.run(scenario())
    fault.delete()
    assert sorted(stored_ids(Application(config, db=sqlite_db), mastodon.url)) == sorted(str(i) for i in posted)
