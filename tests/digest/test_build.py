"""What the digest says about a day, computed from stored posts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.digest.build import build_digest, day_bounds, local_midnight, previous_local_day
from bot.digest.model import Digest
from storage.db import Database
from tests.digest.seeding import post, store

AMS = ZoneInfo("Europe/Amsterdam")
DAY = date(2026, 3, 10)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local Amsterdam time as aware UTC, the way posts are stored."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMS).astimezone(UTC)


def digest(db: Database, day: date = DAY, **kw: Any) -> Digest:
    with db.transaction() as session:
        return build_digest(session, day, zone=AMS, brands=["Acme", "Globex"], **kw)


def test_a_day_is_the_local_calendar_day_not_the_utc_one(db: Database) -> None:
    store(db, [
        post(at(DAY, 0, 30), brands=["Acme"]),                       # 23:30 UTC the day before: still today
        post(at(DAY, 23, 59), brands=["Acme"]),
        post(at(DAY + timedelta(days=1), 0, 1), brands=["Acme"]),     # tomorrow
        post(at(DAY, 12), brands=["Acme", "Globex"]),
    ])
    d = digest(db)
    acme, globex = d.brands
    assert (acme.mentions, globex.mentions) == (3, 1)


def test_a_post_matched_twice_for_a_brand_is_one_mention(db: Database) -> None:
    item = post(at(DAY, 9), brands=["Acme"])
    from bot.model import AnalysedPost, BrandMatch

    twice = AnalysedPost(item.post, (*item.matches, BrandMatch("Acme", "hashtag", "acme")), item.analysis)
    store(db, [twice])
    assert digest(db).brands[0].mentions == 1


def test_change_against_the_day_before_and_the_seven_day_average(db: Database) -> None:
    items = [post(at(DAY, 10), brands=["Acme"]) for _ in range(6)]
    items += [post(at(DAY - timedelta(days=1), 10), brands=["Acme"]) for _ in range(2)]
    items += [post(at(DAY - timedelta(days=5), 10), brands=["Acme"]) for _ in range(5)]
    items += [post(at(DAY - timedelta(days=8), 10), brands=["Acme"]) for _ in range(50)]  # outside the week
    store(db, items)
    acme = digest(db).brands[0]
    assert (acme.mentions, acme.previous_day) == (6, 2)
    assert acme.average_7d == 1.0  # (2 + 5) / 7


def test_sentiment_split_counts_unanalysed_posts_apart(db: Database) -> None:
    store(db, [
        post(at(DAY, 9), brands=["Acme"], sentiment="positive"),
        post(at(DAY, 9), brands=["Acme"], sentiment="positive"),
        post(at(DAY, 9), brands=["Acme"], sentiment="negative"),
        post(at(DAY, 9), brands=["Acme"], sentiment=None),
    ])
    assert digest(db).brands[0].sentiment == {
        "positive": 2, "neutral": 0, "negative": 1, "unknown": 1,
    }


def test_complaints_and_questions_need_an_answer_oldest_first(db: Database) -> None:
    store(db, [
        post(at(DAY, 15), "where is my order?", brands=["Acme"], cx="question"),
        post(at(DAY, 8), "broken on arrival", brands=["Acme"], cx="complaint"),
        post(at(DAY, 9), "love it", brands=["Acme"], cx="praise"),
        post(at(DAY, 20), "still broken", brands=["Acme"], cx="complaint"),
    ])
    acme = digest(db, needs_answer_limit=2).brands[0]
    assert [p.text for p in acme.needs_answer] == ["broken on arrival", "where is my order?"]
    assert acme.needs_answer_total == 3


def test_the_most_confident_complaints_and_questions_come_first(db: Database) -> None:
    store(db, [
        post(at(DAY, 8), "unsure", brands=["Acme"], cx="complaint", cx_confidence=0.41),
        post(at(DAY, 9), "older post, no confidence", brands=["Acme"], cx="question"),
        post(at(DAY, 10), "sure", brands=["Acme"], cx="complaint", cx_confidence=0.97),
        post(at(DAY, 11), "fairly sure", brands=["Acme"], cx="question", cx_confidence=0.8),
    ])
    acme = digest(db).brands[0]
    assert [p.text for p in acme.needs_answer] == ["sure", "fairly sure", "unsure", "older post, no confidence"]
    assert acme.needs_answer_total == 4


def test_top_posts_weigh_engagement_by_the_authors_reach(db: Database) -> None:
    store(db, [
        post(at(DAY, 9), "big account", brands=["Acme"], followers=100_000, reactions=(10, 20, 30)),
        post(at(DAY, 9), "small account hit", brands=["Acme"], followers=40, reactions=(2, 8, 10)),
        post(at(DAY, 9), "nobody reacted", brands=["Acme"], followers=10),
    ])
    acme = digest(db).brands[0]
    assert [p.text for p in acme.top_posts] == ["small account hit", "big account"]


def test_busiest_hashtags_sources_and_unbranded_watched_tags(db: Database) -> None:
    store(db, [
        post(at(DAY, 9), brands=["Acme"], tags=["coffee", "acme"]),
        post(at(DAY, 9), tags=["coffee"], origin="https://other.example"),
        post(at(DAY, 9), tags=["coffee", "tea"], origin="https://other.example"),
        post(at(DAY - timedelta(days=1), 9), tags=["coffee"]),
    ])
    d = digest(db, watched_tags=["coffee", "tea", "unused"])
    assert d.hashtags == [("coffee", 3), ("acme", 1), ("tea", 1)]
    assert d.sources == [("https://other.example", 2), ("https://mastodon.example", 1)]
    assert d.unbranded_tags == [("coffee", 2), ("tea", 1)]
    assert (d.total_posts, d.unbranded_posts) == (3, 2)


def test_an_empty_day_is_recognised(db: Database) -> None:
    store(db, [post(at(DAY - timedelta(days=3), 9), brands=["Acme"])])
    d = digest(db)
    assert d.is_empty
    assert [x.total for x in d.series["Acme"]][-4] == 1


def test_the_chart_series_covers_fourteen_days_ending_with_the_digest_day(db: Database) -> None:
    store(db, [post(at(DAY - timedelta(days=13), 9), brands=["Acme"], sentiment="negative")])
    series = digest(db).series["Acme"]
    assert [d.day for d in (series[0], series[-1])] == [DAY - timedelta(days=13), DAY]
    assert series[0].by_sentiment == {"negative": 1}


def test_days_around_the_dst_changes_have_23_and_25_hours() -> None:
    spring = day_bounds(date(2026, 3, 29), 1, AMS)
    autumn = day_bounds(date(2026, 10, 25), 1, AMS)
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)
    assert local_midnight(date(2026, 3, 29), AMS) == datetime(2026, 3, 28, 23, tzinfo=UTC)


def test_the_digest_sent_in_the_morning_covers_yesterday() -> None:
    assert previous_local_day(datetime(2026, 3, 29, 7, tzinfo=UTC), AMS) == date(2026, 3, 28)
    # 23:30 UTC on the 28th is already the 29th in Amsterdam.
    assert previous_local_day(datetime(2026, 3, 28, 23, 30, tzinfo=UTC), AMS) == date(2026, 3, 28)
