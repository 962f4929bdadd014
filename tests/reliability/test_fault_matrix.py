"""The fault matrix: one instance breaks in every way instances break; the daemon shrugs it off.

For each fault, while it lasts, posts keep arriving on both instances. The broken instance's polls fail with an error
kind that says what happened (or, for a 404, read as an empty timeline); the healthy instance's polls are unaffected
and fetch everything. Once the fault is gone, the next poll of the broken instance fetches everything it missed:
every post on each server is stored exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.daemon.app import Application
from bot.ingest.ingestor import PollResult
from bot.sources.mastodon.timeline import make_client
from tests.ingest.helpers import stored
from tests.reliability.helpers import FakeClock, config_for, stored_ids
from tests.reliability.proxy import FaultyProxy, proxied

TAG_PATHS = r"^/api/v1/timelines/tag/"

Injector = Callable[[Any, FaultyProxy], AbstractContextManager[Any]]


def mock_fault(**kwargs: Any) -> Injector:
    """A fault mastodon-mock injects itself, on the hashtag timelines."""
    return lambda instance, _proxy: instance.server.fault(path_regex=TAG_PATHS, **kwargs)


def proxy_fault(mode: str) -> Injector:
    """A fault of the network or of a proxy in front of the instance."""
    return lambda _instance, proxy: proxy.broken(mode)


def iso_in(seconds: int) -> str:
    """An ISO timestamp `seconds` from now, as Mastodon writes X-RateLimit-Reset."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Fault:
    """One way an instance can break, and how the daemon should describe it."""

    inject: Injector
    kind: str | None
    """The error kind of the first failed poll; None when the fault is not an error for the daemon."""
    config: dict[str, str] = field(default_factory=dict)
    waits_at_least: float = 0.0
    """Seconds the server told us to stay away (so the next poll of that instance must wait that long)."""
    broken_request_timeout: float | None = None
    """A request timeout for the broken instance only (the server holds its answer 20 s, far past it); the healthy
    one keeps the config's, so a busy machine cannot make its polls time out."""


FAULTS = {
    "429 with X-RateLimit headers (epoch reset)": Fault(mock_fault(type="ratelimit"), "rate_limited",
                                                        waits_at_least=290),
    "429 with an ISO X-RateLimit-Reset": Fault(
        lambda i, p: i.server.fault(path_regex=TAG_PATHS, type="ratelimit",
                                    headers={"X-RateLimit-Reset": iso_in(120), "Retry-After": ""}),
        "rate_limited", waits_at_least=110,
    ),
    "429 without any header": Fault(mock_fault(type="status", status=429), "rate_limited", waits_at_least=60),
    "500": Fault(mock_fault(status=500), "server"),
    "502": Fault(mock_fault(status=502), "server"),
    "503": Fault(mock_fault(status=503), "server"),
    "502 HTML page from the proxy in front": Fault(proxy_fault("html502"), "server"),
    "200 with an HTML page instead of JSON": Fault(proxy_fault("html200"), "malformed"),
    "malformed JSON": Fault(mock_fault(type="malformed"), "malformed"),
    # The broken instance alone gets a 1 s request timeout (through the client factory) against a server that holds its
    # answer 20 s; the healthy one keeps the config's, so a loaded machine cannot time out its polls.
    "request timeout (server never answers)": Fault(mock_fault(type="timeout", delay_ms=20_000), "timeout",
                                                    broken_request_timeout=1.0),
    "connection reset": Fault(proxy_fault("reset"), "network"),
    "401 (token revoked)": Fault(mock_fault(status=401), "unauthorized"),
    "404 (tag unknown to the server)": Fault(mock_fault(status=404), None),
}


@contextmanager
def broken_and_healthy(mastodon: Any, second_mastodon: Any) -> Iterator[tuple[Any, FaultyProxy, Any]]:
    """The first instance reached through a proxy that can break; the second one reached directly."""
    with proxied(mastodon.server.port) as proxy:
        yield mastodon, proxy, second_mastodon


def poll(app: Application) -> dict[str, PollResult]:
    """One poll of every timeline; results by instance URL (one hashtag per instance here)."""
    results = asyncio.run(app.poll_all(app.timelines()))
    return {r.timeline.server: r for r in results}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_an_instance_failing_never_costs_a_post_or_slows_the_others(
    sqlite_db: Any, mastodon: Any, second_mastodon: Any, fault: Fault, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    with broken_and_healthy(mastodon, second_mastodon) as (broken, proxy, healthy):
        config = config_for(str(sqlite_db.engine.url), [proxy.url, healthy.url], **fault.config)

        def client_factory(url: str, token: str | None, timeout: float) -> Any:
            if url == proxy.url and fault.broken_request_timeout is not None:
                timeout = fault.broken_request_timeout
            return make_client(url, token, timeout)

        app = Application(config, db=sqlite_db, clock=clock, client_factory=client_factory)
        posted = {proxy.url: [broken.post("Eerste #koffie")["id"]], healthy.url: [healthy.post("Eerste #koffie")["id"]]}
        assert all(r.ok for r in poll(app).values())

        posted[proxy.url] += [broken.post(f"Tijdens de storing {i} #koffie")["id"] for i in range(3)]
        posted[healthy.url] += [healthy.post(f"Ondertussen {i} #koffie")["id"] for i in range(3)]
        with caplog.at_level(logging.DEBUG), fault.inject(broken, proxy):
            during = [poll(app), poll(app)]

        clock.advance(3600)  # any rate-limit window the server announced has passed
        after = poll(app)

        app.close()

    first_broken, first_healthy = during[0][proxy.url], during[0][healthy.url]
    assert first_broken.error_kind == fault.kind, first_broken.error
    assert first_healthy.ok and first_healthy.new == 3, "the healthy instance is read as if nothing happened"
    assert during[1][healthy.url].ok
    if fault.kind is not None:
        # Once the server said how long to stay away, the instance's own budget holds later polls back unsent.
        assert during[1][proxy.url].error_kind in (fault.kind, "deferred")
    if fault.waits_at_least:
        assert first_broken.retry_after is not None and first_broken.retry_after >= fault.waits_at_least
        assert during[1][proxy.url].error_kind == "deferred"

    assert after[proxy.url].ok and after[proxy.url].new == 3, "the next poll after the fault fills the gap"
    for url, ids in posted.items():
        assert sorted(stored_ids(app, url)) == sorted(str(i) for i in ids), "every post stored exactly once"

    [health] = stored(app, "SELECT consecutive_errors, last_success_at FROM source_health WHERE origin = :o",
                      o=proxy.url)
    assert health.consecutive_errors == 0, "recovery ends the error streak"
    outages = stored(app, "SELECT errors FROM source_outages WHERE origin = :o", o=proxy.url)
    recorded_errors = sum(1 for d in during if d[proxy.url].error_kind not in (None, "deferred"))
    assert [o.errors for o in outages] == ([recorded_errors] if fault.kind else []), "the outage is kept for the digest"


def test_a_revoked_token_is_one_alert_not_a_log_flood(
    sqlite_db: Any, mastodon: Any, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for(str(sqlite_db.engine.url), [mastodon.url], hashtags=("koffie", "thee", "acme"))
    app = Application(config, db=sqlite_db)
    with caplog.at_level(logging.INFO), mastodon.server.fault(path_regex=TAG_PATHS, status=401):
        for _ in range(5):
            poll(app)
    app.close()

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "401" in errors[0].getMessage() and mastodon.url in errors[0].getMessage()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "401" in r.getMessage()]
    assert warnings == [], "15 failed polls of 3 hashtags: still the one alert"


@pytest.mark.slow
def test_a_server_slower_than_the_poll_deadline_fails_that_poll_as_a_timeout_and_the_next_poll_fills_the_gap(
    sqlite_db: Any, mastodon: Any
) -> None:
    # No wall-clock guess: the server holds its answer for 30 s, which no deadline below it can beat however busy
    # the machine, and the deadline only applies while the slow server is polled (a healthy poll on a loaded machine
    # may take any time; the other instance's independence is what the matrix above shows).
    config = config_for(str(sqlite_db.engine.url), [mastodon.url], request_timeout="60s")
    clock = FakeClock()
    app = Application(config, db=sqlite_db, clock=clock)
    posted = [mastodon.post("Eerste #koffie")["id"]]
    assert all(r.ok for r in poll(app).values())
    posted += [mastodon.post(f"Tijdens de storing {i} #koffie")["id"] for i in range(3)]
    with mastodon.server.fault(path_regex=TAG_PATHS, type="latency", delay_ms=30_000):
        app.ingestor.deadline = 0.5
        during = poll(app)[mastodon.url]
        app.ingestor.deadline = None
    clock.advance(3600)  # past the backoff the failed poll earned
    after = poll(app)
    app.close()

    assert during.error_kind == "timeout" and "longer than 0.5s" in (during.error or ""), during.error
    assert after[mastodon.url].ok and after[mastodon.url].new == 3, "the next poll after the fault fills the gap"
    assert sorted(stored_ids(app, mastodon.url)) == sorted(str(i) for i in posted)
