"""Alerts end to end on a real database: found once, delivered once, storms held back and summarised."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.alerts.service import AlertService
from bot.config import Config
from bot.digest import chunk
from storage import alerts as ledger
from storage.db import Database
from tests.alerts.helpers import Clock, RecordingSink, config
from tests.digest.seeding import post, store

NOW = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)  # a Tuesday, 12:00 in Amsterdam


def service(db: Database, cfg: Config, clock: Clock, sink: RecordingSink | None = None) -> AlertService:
    return AlertService(lambda: cfg, db, sink if sink is not None else RecordingSink(), clock=clock)


def complaint(when: datetime, followers: int = 50_000, brand: str = "Acme", text: str = "acme lost my order") -> Any:
    return post(when, text, brands=[brand], sentiment="negative", cx="complaint", followers=followers,
                name="Big Account")


def history(db: Database, brand: str = "Acme", per_hour: int = 2, days: int = 14, end: datetime = NOW,
            negative_every: int = 5) -> None:
    """`per_hour` ordinary mentions every hour for `days` before `end - 1h`."""
    items = []
    start = end - timedelta(days=days)
    for hour in range(days * 24 - 1):
        for i in range(per_hour):
            when = start + timedelta(hours=hour, minutes=5 + 20 * i)
            sentiment = "negative" if (hour * per_hour + i) % negative_every == 0 else "neutral"
            items.append(post(when, f"{brand.lower()} is fine {hour}-{i}", brands=[brand], sentiment=sentiment))
    store(db, items)


def burst(db: Database, count: int, end: datetime, brand: str = "Acme", sentiment: str = "neutral",
          minutes: int = 50) -> None:
    store(db, [post(end - timedelta(minutes=minutes) + timedelta(seconds=i * minutes * 60 // count),
                    f"{brand.lower()} everywhere {end:%H%M} {i}", brands=[brand], sentiment=sentiment)
               for i in range(count)])


def sent_kinds(sink: RecordingSink) -> list[str]:
    return [p["embeds"][0]["title"] for p in sink.sent]


async def test_a_complaint_from_a_large_account_is_alerted_once_with_its_figures_and_link(db: Database) -> None:
    clock, sink = Clock(NOW), RecordingSink()
    store(db, [complaint(NOW - timedelta(minutes=3))])
    alerts = service(db, config(), clock, sink)
    report = await alerts.check()
    assert len(report.sent) == 1
    payload = sink.sent[0]
    assert "**Acme** needs an answer now" in payload["content"] and "50,000 followers" in payload["content"]
    assert "https://mastodon.example/statuses/" in payload["embeds"][0]["description"]
    assert payload["allowed_mentions"] == {"parse": []} and payload["enforce_nonce"] is True
    assert chunk.limit_problems(payload) == []
    clock.advance(timedelta(minutes=5))
    assert (await alerts.check()).sent == [] and len(sink.sent) == 1


async def test_a_post_is_alerted_only_once_even_when_it_mentions_two_brands(db: Database) -> None:
    store(db, [post(NOW - timedelta(minutes=3), "acme and bolt both broke", brands=["Acme", "Bolt"],
                    sentiment="negative", cx="complaint", followers=20_000)])
    sink = RecordingSink()
    await service(db, config(brands=["Acme", "Bolt"]), Clock(NOW), sink).check()
    assert len(sink.sent) == 1


async def test_only_the_configured_role_is_pinged_and_only_for_its_kind(db: Database) -> None:
    store(db, [complaint(NOW - timedelta(minutes=3))])
    sink = RecordingSink()
    await service(db, config(roles={"needs_answer": 555, "spike": 777}), Clock(NOW), sink).check()
    payload = sink.sent[0]
    assert payload["content"].startswith("<@&555> ")
    assert payload["allowed_mentions"] == {"parse": [], "roles": ["555"]}


async def test_a_spike_is_alerted_with_the_count_and_what_is_normal_at_that_hour(db: Database) -> None:
    history(db, per_hour=2)
    burst(db, 30, NOW)
    sink = RecordingSink()
    await service(db, config(), Clock(NOW), sink).check()
    assert sent_kinds(sink) == ["Volume spike"]
    content = sink.sent[0]["content"]
    assert "30 mentions in the last hour" in content and "normally 2.0 on a Tuesday" in content
    assert "30 mentions vs 2.0 expected (15." in sink.sent[0]["embeds"][0]["description"]


async def test_an_ordinary_busy_hour_is_not_a_spike(db: Database) -> None:
    history(db, per_hour=6)
    burst(db, 9, NOW)
    sink = RecordingSink()
    await service(db, config(), Clock(NOW), sink).check()
    assert sink.sent == []


async def test_a_spike_that_grows_edits_its_message_instead_of_posting_again(db: Database) -> None:
    history(db, per_hour=2)
    burst(db, 20, NOW)
    clock, sink = Clock(NOW), RecordingSink()
    alerts = service(db, config(), clock, sink)
    await alerts.check()
    clock.advance(timedelta(minutes=10))
    burst(db, 25, clock.now, minutes=9)
    report = await alerts.check()
    assert len(sink.sent) == 1 and report.edited == 1
    message_id, edit = sink.edits[0]
    assert message_id == "1000" and "mentions in the last hour" in edit["content"]
    assert "nonce" not in edit
    clock.advance(timedelta(minutes=5))
    assert (await alerts.check()).edited == 0, "no edit while the spike does not grow"


async def test_a_brand_with_less_than_a_day_of_history_gets_no_spike_alert_yet(db: Database) -> None:
    history(db, per_hour=2, days=1)  # 23 hours before the window
    burst(db, 30, NOW)
    sink = RecordingSink()
    await service(db, config(), Clock(NOW), sink).check()
    assert sink.sent == []


async def test_a_run_of_negative_posts_is_a_sentiment_turn(db: Database) -> None:
    history(db, per_hour=2, negative_every=10)
    burst(db, 12, NOW, sentiment="negative", minutes=170)
    sink = RecordingSink()
    await service(db, config(spike_min_count=1000), Clock(NOW), sink).check()
    assert sent_kinds(sink) == ["Sentiment turn"]
    assert "negative in the last 3 hours" in sink.sent[0]["content"]


async def test_a_storm_of_complaints_is_held_by_the_cooldown_and_summarised_after_it(db: Database) -> None:
    clock, sink = Clock(NOW), RecordingSink()
    alerts = service(db, config(cooldown="30m"), clock, sink)
    for minute in range(6):
        store(db, [complaint(clock.now - timedelta(seconds=30), text=f"acme broke again {minute}")])
        await alerts.check()
        clock.advance(timedelta(minutes=5))
    assert len(sink.sent) == 1, "one alert, the rest held by the cooldown"
    clock.now = NOW + timedelta(minutes=31)
    await alerts.check()
    assert len(sink.sent) == 2 and sent_kinds(sink)[1] == "Held alerts"
    assert "5 alerts held back since 12:05 (cooldown)" in sink.sent[1]["content"]
    assert sink.sent[1]["embeds"][0]["description"].count("https://") == 5
    clock.advance(timedelta(hours=2))
    await alerts.check()
    assert len(sink.sent) == 2, "a summary reports each held alert once"


async def test_the_hourly_cap_holds_alerts_of_many_brands(db: Database) -> None:
    brands = [f"B{i}" for i in range(5)]
    store(db, [complaint(NOW - timedelta(minutes=1), brand=b, text=f"{b} is broken") for b in brands])
    sink = RecordingSink()
    report = await service(db, config(brands=brands, max_per_hour=3), Clock(NOW), sink).check()
    assert len(sink.sent) == 3 and report.held == 2


async def test_a_muted_brand_gets_no_alerts_until_the_mute_ends(db: Database) -> None:
    clock, sink = Clock(NOW), RecordingSink()
    ledger.mute(db, "ACME", NOW + timedelta(hours=1), "test", now=NOW)
    store(db, [complaint(NOW - timedelta(minutes=1))])
    alerts = service(db, config(), clock, sink)
    assert (await alerts.check()).dropped == 1 and sink.sent == []
    clock.advance(timedelta(hours=2))
    store(db, [complaint(clock.now - timedelta(minutes=1), text="acme, still broken")])
    await alerts.check()
    assert len(sink.sent) == 1


async def test_an_alert_that_failed_to_send_is_sent_at_the_next_check(db: Database) -> None:
    clock, sink = Clock(NOW), RecordingSink()
    sink.fail_next = 1
    store(db, [complaint(NOW - timedelta(minutes=1))])
    alerts = service(db, config(), clock, sink)
    assert (await alerts.check()).failed == 1 and sink.sent == []
    clock.advance(timedelta(minutes=5))
    assert len((await alerts.check()).sent) == 1 and len(sink.sent) == 1


async def test_posts_older_than_max_age_never_alert(db: Database) -> None:
    store(db, [complaint(NOW - timedelta(hours=7))])
    sink = RecordingSink()
    await service(db, config(max_age="6h"), Clock(NOW), sink).check()
    assert sink.sent == []


async def test_without_an_alert_channel_nothing_is_checked(db: Database) -> None:
    store(db, [complaint(NOW - timedelta(minutes=1))])
    cfg = Config.model_validate({"brands": [{"name": "Acme", "terms": ["acme"]}]})
    alerts = service(db, cfg, Clock(NOW))
    assert not alerts.enabled and await alerts.after_store(1) is None


def _titles(payloads: Sequence[dict[str, Any]]) -> list[str]:
    return [p["embeds"][0]["title"] for p in payloads]


async def test_quiet_hours_hold_alerts_across_a_dst_change_and_summarise_them_after(db: Database) -> None:
    # Europe/Amsterdam springs forward on 29 March 2026 at 02:00 local: quiet 22:00-07:00 ends at 05:00 UTC, not 06:00.
    cfg = config(quiet_hours="22:00-07:00")
    night = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 00:30 CET
    clock, sink = Clock(night), RecordingSink()
    alerts = service(db, cfg, clock, sink)
    store(db, [complaint(night - timedelta(minutes=1))])
    assert (await alerts.check()).held == 1
    clock.now = datetime(2026, 3, 29, 4, 55, tzinfo=UTC)  # 06:55 CEST: still quiet
    await alerts.check()
    assert sink.sent == []
    clock.now = datetime(2026, 3, 29, 5, 1, tzinfo=UTC)  # 07:01 CEST
    await alerts.check()
    assert _titles(sink.sent) == ["Held alerts"]
    assert "1 alert held back since 00:30 (quiet hours)" in sink.sent[0]["content"]
    assert "needs an answer now" in sink.sent[0]["embeds"][0]["description"]
